import XCTest
@testable import HoopFrames

/// The ring's ownership rules (docs/frames.md, "Doors, upstreams and kinds") and the
/// stamp they rest on.
final class RingTests: XCTestCase {
    func round(_ s: String) -> Bool { Array(s.utf8).withUnsafeBytes { Ring.hasBeenRound($0) } }

    func testAFrameHasBeenRoundWhenItCarriesRecordsStampAtTheTopLevel() {
        XCTAssertTrue(round(#"{"type":"rows","session":"pg:a","seq":1,"rows":[],"stamp:record":true}"#))
        XCTAssertTrue(round(#"{"stamp:record":true,"type":"x"}"#))
        XCTAssertFalse(round(#"{"type":"query","session":"pg:a","seq":1,"sql":"select 1"}"#))
        XCTAssertFalse(round(#"{"type":"x","stamp:record":false}"#))
        // A member of that name inside a request's own data is the client's, not a stamp.
        XCTAssertFalse(round(#"{"type":"call","session":"aws:a","seq":1,"params":{"stamp:record":true}}"#))
        XCTAssertFalse(round(#"{"type":"call","session":"aws:a","seq":1,"params":[{"stamp:record":true}],"n":1}"#))
        XCTAssertFalse(round(#"{"type":"query","session":"pg:a","seq":1,"sql":"\"stamp:record\":true"}"#))
    }

    func testDoorPrefixes() {
        XCTAssertEqual(Ring.door(of: "pg:s0001-1"), "pg:")
        XCTAssertEqual(Ring.door(of: "t1:x"), "t1:")
        XCTAssertNil(Ring.door(of: "s0001-1"))
        XCTAssertNil(Ring.door(of: ":x"))
        XCTAssertTrue(Ring.isDoorPrefix("pg:"))
        XCTAssertTrue(Ring.isDoorPrefix("mcp:"))
        XCTAssertFalse(Ring.isDoorPrefix("pg"))
        XCTAssertFalse(Ring.isDoorPrefix("p-g:"))
        XCTAssertFalse(Ring.isDoorPrefix(":"))
    }

    func testAStampLeavesEscapesInValuesAsTheyAre() throws {
        func stamp(_ s: String) -> String {
            var out: [UInt8] = []
            Array(s.utf8).withUnsafeBytes { appendStamp("record", to: $0, into: &out) }
            return String(decoding: out.dropLast(), as: UTF8.self)
        }
        let escaped = #"{"type":"x","session":"t1:a","text":"h\u00e9llo \"q\" \ud83d\ude00"}"#
        XCTAssertEqual(stamp(escaped), String(escaped.dropLast()) + #","stamp:record":true}"#)
        // A key that spells the stamp with escapes is decoded: no duplicate key.
        let spelled = #"{"type":"x","stamp\u003arecord":false}"#
        let out = stamp(spelled)
        let decoded = try Array(out.utf8).withUnsafeBytes { try Frame.decode($0) }
        XCTAssertEqual(decoded["stamp:record"], .bool(true))
        XCTAssertFalse(out.contains(#"\u003a"#))
    }
}
