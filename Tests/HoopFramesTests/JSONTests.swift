import XCTest
@testable import HoopFrames

final class JSONTests: XCTestCase {
    func encode(_ v: JSON) -> String {
        var w = JSONWriter()
        w.value(v)
        return text(w.bytes)
    }

    func roundTrip(_ source: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let v = try JSON.parse(source)
            let again = try JSON.parse(encode(v))
            XCTAssertEqual(v, again, "round trip of \(source)", file: file, line: line)
        } catch {
            XCTFail("\(source): \(error)", file: file, line: line)
        }
    }

    func testScalars() throws {
        XCTAssertEqual(try JSON.parse("null"), .null)
        XCTAssertEqual(try JSON.parse("true"), .bool(true))
        XCTAssertEqual(try JSON.parse("false"), .bool(false))
        XCTAssertEqual(try JSON.parse("42"), .int(42))
        XCTAssertEqual(try JSON.parse("-0"), .int(0))
        XCTAssertEqual(try JSON.parse("1.5"), .double(1.5))
        XCTAssertEqual(try JSON.parse("1e5"), .double(100000))
        XCTAssertEqual(try JSON.parse("\"x\""), .string("x"))
        XCTAssertEqual(try JSON.parse(" [ ] "), .array([]))
        XCTAssertEqual(try JSON.parse("{}"), .object([:]))
    }

    func testBigIntegers() throws {
        XCTAssertEqual(try JSON.parse("9223372036854775807"), .int(Int64.max))
        XCTAssertEqual(try JSON.parse("-9223372036854775808"), .int(Int64.min))
        XCTAssertEqual(encode(.int(Int64.max)), "9223372036854775807")
        XCTAssertEqual(encode(.int(Int64.min)), "-9223372036854775808")
        roundTrip("[9223372036854775807,-9223372036854775808,9007199254740993]")
        // Beyond 64 bits jansson refuses the text rather than lose digits.
        XCTAssertThrowsError(try JSON.parse("[9223372036854775808]"))
    }

    func testAccessors() throws {
        let v = try JSON.parse(#"{"s":"x","i":3,"d":4.0,"f":4.5,"b":true,"a":[1],"o":{"k":null}}"#)
        XCTAssertEqual(v["s"]?.string, "x")
        XCTAssertEqual(v["i"]?.int, 3)
        XCTAssertEqual(v["d"]?.int, 4)
        XCTAssertNil(v["f"]?.int)
        XCTAssertEqual(v["b"]?.bool, true)
        XCTAssertEqual(v["a"]?.array, [.int(1)])
        XCTAssertEqual(v["o"]?["k"]?.isNull, true)
        XCTAssertNil(v["missing"])
        XCTAssertNil(JSON.int(1)["k"])
    }

    func testUnicode() throws {
        let v = try JSON.parse(#"{"k\u00e9y":"h\u00e9llo \u65e5\u672c \ud83d\ude00","raw":"héllo 日本 😀"}"#)
        XCTAssertEqual(v["kéy"]?.string, "héllo 日本 😀")
        XCTAssertEqual(v["raw"]?.string, "héllo 日本 😀")
        // The writer keeps non-ASCII as UTF-8 rather than escaping it.
        XCTAssertEqual(encode(.string("é😀")), "\"é😀\"")
        roundTrip(#"["é","日本語","😀","\u2028\u2029","\u007f"]"#)
    }

    func testEscapes() throws {
        let v = try JSON.parse(#""q\" b\\ s\/ \b\f\n\r\t""#)
        XCTAssertEqual(v.string, "q\" b\\ s/ \u{8}\u{c}\n\r\t")
        XCTAssertEqual(encode(v), #""q\" b\\ s/ \u0008\u000c\n\r\t""#)
        roundTrip(#"{"a\"b":"c\\d","e":"\u0001\u001f"}"#)
    }

    func testControlCharactersAreEscaped() throws {
        for c in 1..<0x20 {
            let s = String(UnicodeScalar(UInt8(c)))
            let out = encode(.string("a\(s)b"))
            XCTAssertFalse(out.utf8.contains { $0 < 0x20 }, "raw control \(c) in \(out)")
            XCTAssertEqual(try JSON.parse(out).string, "a\(s)b")
        }
        // A raw control character inside a string is not JSON.
        XCTAssertThrowsError(try JSON.parse("\"a\u{1}b\""))
        XCTAssertThrowsError(try JSON.parse("\"a\tb\""))
        // \u0000 would cut a C string short: refused.
        XCTAssertThrowsError(try JSON.parse(#""a\u0000b""#))
    }

    func testNestedRoundTrip() {
        roundTrip(#"{"a":{"b":[1,2,{"c":[[],{},[[[]]]]}],"d":null},"e":[true,false,null,-1,0.25,1e300,"x"]}"#)
        let deep = String(repeating: "[", count: 50) + String(repeating: "]", count: 50)
        roundTrip(deep)
    }

    func testDoublesEncodeAsJSON() throws {
        for d in [0.0, -0.0, 1.5, -1.5e-7, 1e300, 2.5e-308, 123456789.125, Double.leastNonzeroMagnitude] {
            let out = encode(.double(d))
            let back = try JSON.parse(out)
            guard case .double(let e) = back else { return XCTFail("\(d) encoded as \(out), read back as \(back)") }
            XCTAssertEqual(e, d, "\(out)")
        }
        XCTAssertEqual(encode(.double(.nan)), "null")
        XCTAssertEqual(encode(.double(.infinity)), "null")
    }

    func testObjectKeysSortedOnOutput() {
        XCTAssertEqual(encode(.object(["b": .int(1), "a": .int(2), "c": .null])), #"{"a":2,"b":1,"c":null}"#)
    }

    func testDuplicateKeysRejected() {
        XCTAssertThrowsError(try JSON.parse(#"{"a":1,"a":2}"#))
        XCTAssertThrowsError(try JSON.parse(#"{"a":1,"b":{"c":1,"c":1}}"#))
        XCTAssertThrowsError(try JSON.parse(#"[{"x":1,"x":1}]"#))
        XCTAssertThrowsError(try JSON.parse(#"{"a":1,"\u0061":2}"#))
        XCTAssertNoThrow(try JSON.parse(#"{"a":{"a":1},"b":{"a":1}}"#))
    }

    func testInvalidTextRejectedWithoutQuotingIt() {
        let secret = "SECRET-PHI-123"
        for bad in ["{\"a\":\"\(secret)", "{\"\(secret)\":}", "[1,]", "{'a':1}", "01", "1.", "NaN", "", "{} {}"] {
            XCTAssertThrowsError(try JSON.parse(bad), bad) { error in
                XCTAssertFalse("\(error)".contains(secret), "error quotes its input: \(error)")
            }
        }
        XCTAssertThrowsError(try JSON.parse([0x22, 0xFF, 0x22]))           // invalid UTF-8
        XCTAssertThrowsError(try JSON.parse([0x22, 0xC0, 0xAF, 0x22]))     // overlong
    }
}
