import XCTest
@testable import HoopFrames

/// `JSONReader` (the frame decoder) against jansson with the flags hoop used:
/// the same value for every text jansson accepts, a refusal for every text it refuses.
final class JSONReaderTests: XCTestCase {
    enum Outcome: Equatable { case value(JSON), refused }

    func both(_ bytes: [UInt8]) -> (reader: Outcome, jansson: Outcome) {
        bytes.withUnsafeBytes { b in
            let r = (try? JSON.parse(b)).map(Outcome.value) ?? .refused
            let j = (try? JSON.parseWithJansson(b)).map(Outcome.value) ?? .refused
            return (r, j)
        }
    }

    func assertAgree(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        assertAgree(Array(text.utf8), file: file, line: line)
    }

    func assertAgree(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        let (r, j) = both(bytes)
        // jansson reads a NUL byte as the end of its input and accepts what came
        // before; the reader refuses it (a frame with a NUL in it is not one).
        if bytes.contains(0), r == .refused { return }
        XCTAssertEqual(r, j, "\(bytes.count) bytes: \(String(decoding: bytes.prefix(80), as: UTF8.self))", file: file, line: line)
    }

    static let frames = [
        #"{"type":"query","session":"s1-1","seq":3,"sql":"select 1","stamp:auth":true}"#,
        #"{"type":"rows","session":"s1-1","seq":4,"rows":[["1","tok_ab"],[null,"x\ty\n\"q\"\\"]],"stamp:mask":true}"#,
        #"{"type":"bind","session":"s","seq":1,"params":["é🐘",{"base64":"AP8="},null],"param_formats":[0,1],"result_formats":[1]}"#,
        #"{"type":"columns","session":"s","seq":2,"fields":[{"name":"a","type_oid":23,"type_mod":-1,"format":0}]}"#,
        #"  {"a" : [1, -0, 2.5, -1e-3, 1E+2, 9223372036854775807, -9223372036854775808, true, false, null, {}, []]}  "#,
        #""\u00e9\ud83d\udc18\/\b\f\r""#, "123", "-1.5e300", "[]", "{}", #""""#,
    ]

    static let refused = [
        "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "[01]", "[1.]", "[.5]", "[1e]", "[+1]", "[-]",
        "[9223372036854775808]", "[-9223372036854775809]", "[1e400]", "\"\\u0000\"", "\"\\ud800\"", "\"\\udc00\"",
        "\"\\ud800\\u0041\"", "\"\\x\"", "\"abc", "\"a\nb\"", "\"\t\"", "[true false]", "tru", "nul", "[1] [2]",
        "{\"a\":1,\"a\":2}", "{\"a\":{\"b\":1,\"b\":1}}", "[NaN]", "[Infinity]", "\"\\u12\"", "\"\\uZZZZ\"",
    ]

    func testAgreesWithJanssonOnFramesAndOddities() {
        for f in Self.frames {
            assertAgree(f)
            XCTAssertNotEqual(both(Array(f.utf8)).reader, .refused, f)
        }
        for f in Self.refused {
            assertAgree(f)
            XCTAssertEqual(both(Array(f.utf8)).reader, .refused, f)
        }
    }

    func testInvalidUTF8AndDepth() {
        for bad: [UInt8] in [[0x22, 0xC3, 0x22], [0x22, 0xC0, 0xAF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22],
                             [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0xFF, 0x22], [0x22, 0x00, 0x22]] {
            assertAgree(bad)
            XCTAssertEqual(both(bad).reader, .refused)
        }
        let deep = String(repeating: "[", count: 2048) + String(repeating: "]", count: 2048)
        let tooDeep = String(repeating: "[", count: 2049) + String(repeating: "]", count: 2049)
        assertAgree(deep)
        assertAgree(tooDeep)
        XCTAssertEqual(both(Array(tooDeep.utf8)).reader, .refused)
    }

    /// The reader takes ASCII as it is and validates the rest: a bad byte anywhere in a
    /// string (after ASCII, after an escape, alone) is refused, and valid text is the same
    /// String the standard library's validation gives.
    func testUTF8TextTakesASCIIAsItIsAndValidatesTheRest() {
        let bad: [[UInt8]] = [[0xC3], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF], [0x80]]
        for b in bad {
            for wrapped in [b, Array("select ".utf8) + b, b + Array(" x".utf8), Array("a\\n".utf8) + b] {
                XCTAssertNil(wrapped.withUnsafeBytes { String(utf8Text: $0) }, "\(wrapped)")
                assertAgree([0x22] + wrapped + [0x22])
                XCTAssertEqual(both([0x22] + wrapped + [0x22]).reader, .refused, "\(wrapped)")
            }
        }
        for good in ["", "select 1", "caf\u{e9}", "\u{1F600} ok", "K\u{212A}", "\u{7f}"] {
            let bytes = Array(good.utf8)
            XCTAssertEqual(bytes.withUnsafeBytes { String(utf8Text: $0) }, good)
            XCTAssertEqual(bytes.withUnsafeBytes { String(utf8Text: $0) }?.utf8.elementsEqual(bytes), true, "byte for byte")
        }
    }

    /// Every one-byte change, deletion and truncation of the frames above: the two agree.
    func testAgreesOnMutations() {
        let alphabet: [UInt8] = Array("{}[]\",:\\ 0-1e.tnu\u{7f}".utf8) + [0x00, 0x0A, 0xC3, 0xA9, 0xFF]
        var checked = 0
        for f in Self.frames {
            let bytes = Array(f.utf8)
            for i in 0..<bytes.count {
                var cut = bytes; cut.remove(at: i); assertAgree(cut)
                assertAgree(Array(bytes[..<i]))
                for c in alphabet where c != bytes[i] {
                    var m = bytes; m[i] = c; assertAgree(m)
                    checked += 1
                }
            }
        }
        XCTAssertGreaterThan(checked, 5000)
    }

    /// Frames written by `JSONWriter` read back as the values written.
    func testRoundTripsWhatTheWriterWrites() throws {
        var rng = SystemRandomNumberGenerator()
        func value(_ depth: Int) -> JSON {
            switch Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &rng) {
            case 0: return .null
            case 1: return .bool(Bool.random(using: &rng))
            case 2: return .int(Int64.random(in: .min ... .max, using: &rng))
            case 3: return .double(Double.random(in: -1e12...1e12, using: &rng))
            case 4: return .string(String((0..<Int.random(in: 0..<12, using: &rng)).map { _ in
                Character(Unicode.Scalar([0x41, 0x22, 0x5C, 0x0A, 0x01, 0xE9, 0x1F418, 0x7F].randomElement(using: &rng)!)!) }))
            case 5: return .array((0..<Int.random(in: 0..<4, using: &rng)).map { _ in value(depth + 1) })
            default:
                var o: [String: JSON] = [:]
                for k in 0..<Int.random(in: 0..<4, using: &rng) { o["k\(k)\u{e9}"] = value(depth + 1) }
                return .object(o)
            }
        }
        for _ in 0..<2000 {
            let v = value(0)
            var w = JSONWriter()
            w.value(v)
            XCTAssertEqual(try JSON.parse(w.bytes), v)
            assertAgree(w.bytes)
        }
    }
}
