import XCTest
@testable import HoopFrames

final class FrameTests: XCTestCase {
    func peek(_ s: String) -> FrameHeader? {
        bytes(s).withUnsafeBytes { FrameHeader.peek($0) }
    }

    func salvage(_ b: [UInt8]) -> (session: String?, seq: Int64?) {
        b.withUnsafeBytes { FrameHeader.salvage($0) }
    }

    func stamp(_ stage: String, _ line: String) -> String {
        var out: [UInt8] = []
        bytes(line).withUnsafeBytes { appendStamp(stage, to: $0, into: &out) }
        return text(out)
    }

    // MARK: encoded()

    func testEncodedPutsHeaderFirst() {
        let f = Frame("rows", session: "s1", seq: 4, ["rows": .array([.array([.string("a"), .null])]),
                                                      "aardvark": .int(1), "seq2": .bool(true)])
        XCTAssertEqual(text(f.encoded()), #"{"type":"rows","session":"s1","seq":4,"aardvark":1,"rows":[["a",null]],"seq2":true}"# + "\n")
        XCTAssertEqual(text(Frame("credit").encoded()), #"{"type":"credit"}"# + "\n")
        XCTAssertEqual(text(Frame("x", session: "s").encoded()), #"{"type":"x","session":"s"}"# + "\n")
        XCTAssertEqual(text(Frame("x", seq: 0).encoded()), #"{"type":"x","seq":0}"# + "\n")
    }

    func testEncodedEscapesAndIsOneLine() throws {
        let f = Frame("query", session: "s", seq: 1, ["sql": .string("select '\n\"é\"\\'\u{1}")])
        let line = f.encoded()
        XCTAssertEqual(line.last, 0x0A)
        XCTAssertEqual(line.filter { $0 == 0x0A }.count, 1)
        XCTAssertEqual(try Frame.decode(Array(line.dropLast())), f)
    }

    func testEncodedHeaderIsWhatPeekReads() {
        let f = Frame("complete", session: "a.b:c-d_9", seq: 123456789, ["tag": .string("SELECT 1")])
        let line = Array(f.encoded().dropLast())
        XCTAssertEqual(line.withUnsafeBytes { FrameHeader.peek($0) },
                       FrameHeader(type: "complete", session: "a.b:c-d_9", seq: 123456789))
    }

    // MARK: decode()

    func testDecodeAcceptsAnyKeyOrder() throws {
        let a = try Frame.decode(bytes(#"{"type":"q","session":"s","seq":2,"sql":"x"}"#))
        let b = try Frame.decode(bytes(#"{"sql":"x","seq":2,"session":"s","type":"q"}"#))
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.type, "q")
        XCTAssertEqual(a.session, "s")
        XCTAssertEqual(a.seq, 2)
        XCTAssertEqual(a["sql"], .string("x"))
        XCTAssertNil(a["type"], "header keys are not fields")
    }

    func testDecodeRejects() {
        for bad in [
            #"[1]"#, #"42"#, #""x""#, #"{"session":"s"}"#, #"{"type":1}"#, #"{"type":null}"#,
            #"{"type":"x","session":""}"#, #"{"type":"x","session":"a b"}"#, #"{"type":"x","session":5}"#,
            #"{"type":"x","session":"\#(String(repeating: "a", count: 65))"}"#,
            #"{"type":"x","session":"é"}"#,
            #"{"type":"x","seq":-1}"#, #"{"type":"x","seq":1.5}"#, #"{"type":"x","seq":"1"}"#,
            #"{"type":"x","type":"y"}"#, #"{"type":"x""#,
        ] {
            XCTAssertThrowsError(try Frame.decode(bytes(bad)), bad)
        }
        XCTAssertNoThrow(try Frame.decode(bytes(#"{"type":"x","session":"\#(String(repeating: "a", count: 64))"}"#)))
        XCTAssertNoThrow(try Frame.decode(bytes(#"{"type":""}"#)))
    }

    func testStampedAndStageError() throws {
        let f = try Frame.decode(bytes(#"{"type":"q","stamp:auth":true,"stamp:mask":false}"#))
        XCTAssertTrue(f.stamped(by: "auth"))
        XCTAssertFalse(f.stamped(by: "mask"))
        XCTAssertFalse(f.stamped(by: "record"))

        let e = Frame.stageError(stage: "hoop-x", session: "s", seq: 3, code: "08P01", message: "malformed frame: y")
        XCTAssertEqual(e.type, "error")
        XCTAssertEqual(e["fatal"], .bool(true))
        XCTAssertEqual(e["code"], .string("08P01"))
        XCTAssertNil(e["dropped_bytes"])
        XCTAssertTrue(text(e.encoded()).hasPrefix(#"{"type":"error","session":"s","seq":3,"#))
        let ring = Frame.stageError(stage: "hoop-x", session: nil, seq: nil, code: "54000", message: "frame too large",
                                    droppedBytes: 99)
        XCTAssertEqual(ring["dropped_bytes"], .int(99))
        XCTAssertTrue(text(ring.encoded()).hasPrefix(#"{"type":"error","code":"54000","#))
    }

    // MARK: peek()

    func testPeekGoodPrefixes() {
        XCTAssertEqual(peek(#"{"type":"rows","session":"s1","seq":4,"rows":[]}"#), FrameHeader(type: "rows", session: "s1", seq: 4))
        XCTAssertEqual(peek(#"{"type":"x"}"#), FrameHeader(type: "x"))
        // A seq could follow the other key: not a complete header, so the caller decodes;
        // except a credit, which has no seq by contract (one per rows frame: the hot path).
        XCTAssertNil(peek(#"{"type":"complete","session":"s","tag":"x","seq":1}"#))
        XCTAssertEqual(peek(#"{"type":"credit","session":"s","batches":1}"#), FrameHeader(type: "credit", session: "s"))
        XCTAssertEqual(peek(#"{"type":"credit","session":"s","seq":1,"batches":1}"#), FrameHeader(type: "credit", session: "s", seq: 1))
        XCTAssertEqual(peek(#"{"type":"credit","session":"s"}"#), FrameHeader(type: "credit", session: "s"))
        XCTAssertEqual(peek(#"{"type":"q","session":"s","seq":0}"#), FrameHeader(type: "q", session: "s", seq: 0))
        XCTAssertEqual(peek(#"{"type":"q","session":"s","seq":123456789012345678}"#),
                       FrameHeader(type: "q", session: "s", seq: 123456789012345678))
        let s64 = String(repeating: "z", count: 64)
        XCTAssertEqual(peek(#"{"type":"q","session":"\#(s64)"}"#), FrameHeader(type: "q", session: s64))
        // Only a prefix is read: what follows need not be complete.
        XCTAssertEqual(peek(#"{"type":"q","session":"s","seq":9,"sql":"sel"#), FrameHeader(type: "q", session: "s", seq: 9))
    }

    func testPeekDeclinesOddPrefixes() {
        for odd in [
            #"{"seq":1,"type":"x"}"#, #"{"session":"s","type":"x"}"#, #"{ "type":"x"}"#, #"{"type" :"x"}"#,
            #"{"type":"a\"b"}"#, #"{"type":"a b"}"#, #"{"type":""}"#, #"{"type":"é"}"#, #"{"type":1}"#,
            #"{"type":"x","session":"a b"}"#, #"{"type":"x","session":""}"#,
            #"{"type":"x","session":"\#(String(repeating: "z", count: 65))"}"#,
            #"{"type":"x"#, "", "{", "[1]",
        ] {
            XCTAssertNil(peek(odd), odd)
        }
    }

    /// peek is a fast path: for any frame that decodes, it returns nil (the caller then
    /// decodes) or exactly the decoded header — never a wrong or partial one, since
    /// StageLoop routes (and hoop-record files) on what it returns.
    func testPeekNeverReturnsAWrongHeader() throws {
        for line in [
            #"{"type":"x","seq":1,"session":"a"}"#,
            #"{"type":"x","session":"a","sql":"y","seq":3}"#,
            #"{"type":"x","other":1,"session":"a","seq":3}"#,
            #"{"type":"x","session":"a","seq":3}"#,
            #"{"type":"x","session":"a", "seq":3}"#,
        ] {
            let f = try Frame.decode(bytes(line))
            if let h = peek(line) {
                XCTAssertEqual(h, FrameHeader(type: f.type, session: f.session, seq: f.seq), line)
            }
        }
    }

    /// A line that decode refuses for its header must not get a header from peek either:
    /// otherwise the verdict depends on key order.
    func testPeekDeclinesHeadersDecodeRefuses() {
        for line in [
            #"{"type":"x","session":"a","seq":1.5}"#,
            #"{"type":"x","session":"a","seq":1e3}"#,
            #"{"type":"x","session":"a","seq":-1}"#,
            #"{"type":"x","session":5}"#,
            #"{"type":"x","session":"a","seq":12345678901234567890123}"#,
        ] {
            XCTAssertThrowsError(try Frame.decode(bytes(line)), line)
            XCTAssertNil(peek(line), "peek read a header decode refuses: \(line)")
        }
    }

    // MARK: salvage()

    func testSalvage() {
        var r = salvage(bytes(#"{"type":"x","session":"s1","seq":7,"v":"trunc"#))
        XCTAssertEqual(r.session, "s1"); XCTAssertEqual(r.seq, 7)
        r = salvage(bytes(#"{"v":1,"seq":12,"session":"late"} junk"#))
        XCTAssertEqual(r.session, "late"); XCTAssertEqual(r.seq, 12)
        r = salvage(bytes(#"{"type":"x","session":"s1""#))
        XCTAssertEqual(r.session, "s1"); XCTAssertNil(r.seq)
        r = salvage(bytes(#"{"type":"x","seq":5"#))
        XCTAssertNil(r.session); XCTAssertEqual(r.seq, 5)
        r = salvage(bytes("[1]"))
        XCTAssertNil(r.session); XCTAssertNil(r.seq)
        r = salvage([])
        XCTAssertNil(r.session); XCTAssertNil(r.seq)
        r = salvage(bytes(#"{"session":"bad id","seq":-1}"#))
        XCTAssertNil(r.session, "a session with a space is not a session"); XCTAssertNil(r.seq)
        r = salvage(bytes(#"{"session":"unterminated"#))
        XCTAssertNil(r.session)
        r = salvage(bytes(#"{"session":"\#(String(repeating: "a", count: 65))"}"#))
        XCTAssertNil(r.session, "longer than 64 bytes")
        r = salvage(bytes(#"{"session":"\#(String(repeating: "a", count: 64))"}"#))
        XCTAssertEqual(r.session?.count, 64)
        r = salvage(bytes(#"{"session": "spaced","seq": 3}"#))
        XCTAssertNil(r.session); XCTAssertNil(r.seq)
        r = salvage([0xFF, 0xFE] + bytes(#","session":"s2","seq":0,"#) + [0xC0, 0xAF])
        XCTAssertEqual(r.session, "s2"); XCTAssertEqual(r.seq, 0)
        // Only the first 4 KiB are searched.
        r = salvage(bytes("{\"pad\":\"" + String(repeating: "p", count: 5000) + "\",\"session\":\"far\"}"))
        XCTAssertNil(r.session)
    }

    // MARK: appendStamp()

    func testAppendStamp() {
        XCTAssertEqual(stamp("auth", #"{"type":"q","session":"s","seq":1}"#), #"{"type":"q","session":"s","seq":1,"stamp:auth":true}"# + "\n")
        XCTAssertEqual(stamp("auth", "{}"), #"{"stamp:auth":true}"# + "\n")
        XCTAssertEqual(stamp("auth", "{ }"), #"{ "stamp:auth":true}"# + "\n")
        XCTAssertEqual(stamp("mask", #"{"a":1}   "#), #"{"a":1,"stamp:mask":true}"# + "\n")
        XCTAssertEqual(stamp("mask", "{\"a\":1}\r"), #"{"a":1,"stamp:mask":true}"# + "\n")
        XCTAssertEqual(stamp("mask", #"{"a":{"b":[]} }"#), #"{"a":{"b":[]} ,"stamp:mask":true}"# + "\n")
        // Other stages' stamps do not count.
        XCTAssertEqual(stamp("approve", #"{"type":"q","stamp:auth":true}"#), #"{"type":"q","stamp:auth":true,"stamp:approve":true}"# + "\n")
        XCTAssertEqual(stamp("auth", #"{"type":"q","stamp:authx":true}"#), #"{"type":"q","stamp:authx":true,"stamp:auth":true}"# + "\n")
        // Not an object: unchanged.
        XCTAssertEqual(stamp("auth", "[1]"), "[1]\n")
        XCTAssertEqual(stamp("auth", ""), "\n")
    }

    func testAppendStampAlreadyStamped() {
        XCTAssertEqual(stamp("auth", #"{"type":"q","stamp:auth":true}"#), #"{"type":"q","stamp:auth":true}"# + "\n")
        XCTAssertEqual(stamp("auth", #"{"stamp:auth":true,"type":"q"}"#), #"{"stamp:auth":true,"type":"q"}"# + "\n")
        XCTAssertEqual(stamp("auth", #"{"stamp:auth":true}"#), #"{"stamp:auth":true}"# + "\n")
    }

    /// Whatever appendStamp does with a frame that already has the stamp's key in
    /// another spelling, it must not write a duplicate key (docs/frames.md: keys are
    /// unique; "a frame that already carries the stamp is not stamped twice").
    func testAppendStampNeverMakesADuplicateKey() {
        for line in [
            #"{"type":"q","stamp:auth" : true}"#,
            #"{"type":"q","stamp:auth":false}"#,
            #"{"type":"q","stamp:auth":true }"#,
            #"{"type":"q","stamp\u003aauth":true}"#,
        ] {
            let out = stamp("auth", line)
            XCTAssertNoThrow(try JSON.parse(String(out.dropLast())), "\(line) became \(out)")
        }
    }

    // MARK: RawFrame.decode(only:)

    func decodeOnly(_ line: String, _ keys: Set<String>) throws -> Frame {
        try bytes(line).withUnsafeBytes { raw in
            let header = FrameHeader.peek(raw) ?? { let f = try? Frame.decode(raw); return FrameHeader(type: f?.type ?? "", session: f?.session, seq: f?.seq) }()
            return try RawFrame(bytes: raw, header: header).decode(only: keys)
        }
    }

    /// The fields asked for are exactly what the whole decode reads there, in every
    /// spelling a writer may use; the others are left out.
    func testDecodeOnlyReadsWhatDecodeReads() throws {
        let keys: Set<String> = ["sql", "status", "stamp:record", "fatal", "n"]
        for line in [
            #"{"type":"query","session":"s1","seq":4,"sql":"select '\"x\"' \u00e9","stamp:auth":true,"stamp:record":true}"#,
            #"{"type":"ready","session":"s1","seq":4,"nested":{"sql":"no","status":"no"},"status":"I"}"#,
            #"{"type":"ready","session":"s1","seq":4,"list":[1,{"status":"T"},"]}"],"st\u0061tus" : "E" ,"n":-1.5e3}"#,
            #"{"session":"s1","type":"complete","seq":9,"fatal":true,"tag":"SELECT 1"}"#,
            #"{"type":"complete","session":"s1","seq":9}"#,
            #"{"type":"query","session":"s1","seq":1,"sql":null,"n":18446744073}"#,
        ] {
            var whole = try Frame.decode(bytes(line))
            whole.fields = whole.fields.filter { keys.contains($0.key) }
            XCTAssertEqual(try decodeOnly(line, keys), whole, line)
        }
    }

    /// A field asked for that the whole decode refuses is refused too (the rest is only
    /// stepped over); a key given twice is refused, however it is spelled.
    func testDecodeOnlyRefusesWhatItReads() {
        for line in [
            #"{"type":"ready","session":"s1","seq":4,"status":"\ud800"}"#,
            #"{"type":"ready","session":"s1","seq":4,"status":99999999999999999999}"#,
            #"{"type":"ready","session":"s1","seq":4,"status":"I","st\u0061tus":"T"}"#,
            #"{"type":"ready","session":"s1","seq":4,"status":"I","status":"I"}"#,
        ] {
            XCTAssertThrowsError(try decodeOnly(line, ["status"]), line)
        }
        // Not asked for: not read.
        XCTAssertEqual(try decodeOnly(#"{"type":"ready","session":"s1","seq":4,"big":99999999999999999999,"status":"I"}"#, ["status"]),
                       Frame("ready", session: "s1", seq: 4, ["status": .string("I")]))
    }
}
