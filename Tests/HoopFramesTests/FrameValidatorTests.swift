import XCTest
@testable import HoopFrames

final class FrameValidatorTests: XCTestCase {
    func valid(_ b: [UInt8]) -> Bool { b.withUnsafeBytes { FrameValidator.isValidObject($0) } }

    /// `{"v":` + value + `}` as bytes.
    func member(_ value: [UInt8]) -> [UInt8] { bytes(#"{"v":"#) + value + bytes("}") }
    func str(_ content: [UInt8]) -> [UInt8] { member([0x22] + content + [0x22]) }

    static let validObjects: [String] = [
        "{}", " {} ", "\t{\r\n}\n", #"{"a":1}"#, #"{ "a" : 1 , "b" : [ 1 , 2 ] }"#,
        #"{"a":{"b":{"c":[[],{},[[[]]]]}},"d":null,"e":true,"f":false}"#,
        #"{"":""}"#, #"{"a":"\"\\\/\b\f\n\r\t\u0001\u001F\uABCD\uabcd"}"#,
        #"{"a":"\ud83d\ude00"}"#, #"{"a":"é日本😀"}"#, "{\"a\":\"\u{7f}\u{2028}\"}",
        #"{"n":[0,-0,1,-1,10,1.5,-1.5,0.0,-0.0,1e5,1E5,1e+5,1e-5,1.5E-300,9223372036854775807,-9223372036854775808]}"#,
    ]

    static let invalidObjects: [String] = [
        "", " ", "[]", "[1]", "1", "\"a\"", "null", "{", "}", "{}}", "{}{}", "{} x", #"{"a":1} 1"#,
        #"{"a"}"#, #"{"a":}"#, #"{"a" 1}"#, #"{"a":1,}"#, "{,}", #"{"a":1,,"b":2}"#, #"{"a":1 "b":2}"#,
        "{a:1}", "{'a':1}", #"{"a":'x'}"#, #"{"a":[1,]}"#, #"{"a":[,1]}"#, #"{"a":[1 2]}"#, #"{"a":["#,
        #"{"a":01}"#, #"{"a":-01}"#, #"{"a":00}"#, #"{"a":1.}"#, #"{"a":.5}"#, #"{"a":-}"#, #"{"a":+1}"#,
        #"{"a":1e}"#, #"{"a":1e+}"#, #"{"a":1.e5}"#, #"{"a":0x10}"#, #"{"a":NaN}"#, #"{"a":Infinity}"#,
        #"{"a":-Infinity}"#, #"{"a":tru}"#, #"{"a":True}"#, #"{"a":nul}"#, #"{"a":nulll}"#,
        #"{"a":"\x"}"#, #"{"a":"\u12"}"#, #"{"a":"\u12G4"}"#, #"{"a":"\U0041"}"#, #"{"a":"\'"}"#,
        #"{"a":"\u0000"}"#, #"{"a":"abc}"#, #"{"a":"\"}"#, #"{"a":1/*c*/}"#, "{\"a\":1}//c",
        #"{"a":1e400}"#, #"{"a":-1e400}"#, #"{"a":9223372036854775808}"#,
    ]

    func testValidTable() {
        for s in Self.validObjects { XCTAssertTrue(valid(bytes(s)), s) }
    }

    func testInvalidTable() {
        for s in Self.invalidObjects { XCTAssertFalse(valid(bytes(s)), s) }
    }

    func testControlCharacters() {
        for c: UInt8 in 0..<0x20 { XCTAssertFalse(valid(str([0x61, c, 0x62])), "raw \(c) in a string") }
        XCTAssertTrue(valid(str([0x7F])))
        // Whitespace between tokens is fine; other control bytes are not.
        XCTAssertTrue(valid(bytes("{\"a\":\t1\r\n}")))
        XCTAssertFalse(valid(bytes("{\"a\":\u{0B}1}")))
        XCTAssertFalse(valid(bytes("{\"a\":1}\u{0C}")))
    }

    func testUTF8() {
        let good: [[UInt8]] = [
            [0x41], [0xC2, 0x80], [0xDF, 0xBF],                       // 1 and 2 bytes
            [0xE0, 0xA0, 0x80], [0xE1, 0x80, 0x80], [0xED, 0x9F, 0xBF], [0xEE, 0x80, 0x80], [0xEF, 0xBF, 0xBF],
            [0xF0, 0x90, 0x80, 0x80], [0xF0, 0x9F, 0x98, 0x80], [0xF3, 0xBF, 0xBF, 0xBF], [0xF4, 0x8F, 0xBF, 0xBF],
        ]
        for g in good { XCTAssertTrue(valid(str(g)), "\(g)") }
        let bad: [[UInt8]] = [
            [0x80], [0xBF],                                            // lone continuation bytes
            [0xC0, 0xAF], [0xC1, 0xBF],                                // overlong 2-byte
            [0xE0, 0x80, 0xAF], [0xE0, 0x9F, 0xBF],                    // overlong 3-byte
            [0xF0, 0x80, 0x80, 0xAF], [0xF0, 0x8F, 0xBF, 0xBF],        // overlong 4-byte
            [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF],                    // UTF-16 surrogates
            [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xF7, 0xBF, 0xBF, 0xBF], // above U+10FFFF
            [0xF8, 0x88, 0x80, 0x80, 0x80], [0xFE], [0xFF],
            [0xC2], [0xE2, 0x82], [0xF0, 0x9F, 0x98],                  // truncated sequences
            [0xC2, 0x41], [0xE2, 0x41, 0x80], [0xF0, 0x9F, 0x41, 0x80], // bad continuation
            [0xC2, 0xC2, 0x80],
        ]
        for b in bad { XCTAssertFalse(valid(str(b)), "\(b)") }
        // Truncated at the very end of the line, inside a string.
        XCTAssertFalse(valid(bytes(#"{"v":""#) + [0xE2, 0x82]))
        XCTAssertFalse(valid(bytes(#"{"v":""#) + [0xF0]))
        // Invalid UTF-8 in a key.
        XCTAssertFalse(valid([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D]))
    }

    func testDepthLimit() {
        func nested(_ n: Int) -> [UInt8] { member(bytes(String(repeating: "[", count: n) + String(repeating: "]", count: n))) }
        XCTAssertTrue(valid(nested(63)))
        XCTAssertFalse(valid(nested(64)))
        XCTAssertFalse(valid(nested(100_000)), "deep nesting is refused, not a stack overflow")
    }

    func testBigValues() {
        let big = bytes(#"{"type":"x","blob":""#) + [UInt8](repeating: 0x61, count: 1 << 20) + bytes(#""}"#)
        XCTAssertTrue(valid(big))
    }

    /// What the validator accepts, jansson must accept too (duplicate keys aside, which
    /// the validator documents it leaves to the full parse); otherwise a frame passes
    /// a stage or not depending on whether that stage decodes it.
    func testValidatorAgreesWithParser() {
        var cases = Self.validObjects + Self.invalidObjects
        cases += [#"{"a":"\ud800"}"#, #"{"a":"\udc00\ud800"}"#, #"{"a":99999999999999999999}"#]
        // Keys the decoder takes as one (Swift strings: canonically equivalent spellings).
        cases += ["{\"\u{E9}\":1,\"e\u{301}\":2}", "{\"K\":1,\"\u{212A}\":2}", "{\"a\":{\"\u{E9}\":1,\"e\u{301}\":2}}",
                  "{\"\u{E9}\":1,\"\\u00e9\":2}", "{\"\u{E9}\":1,\"\u{E8}\":2}"]
        for s in cases {
            let v = valid(bytes(s))
            let p = (try? JSON.parse(s))?.object != nil
            XCTAssertEqual(v, p, "validator says \(v), jansson says \(p): \(s)")
        }
    }
}
