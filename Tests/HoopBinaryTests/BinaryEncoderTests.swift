import XCTest
@testable import HoopBinary

final class BinaryEncoderTests: XCTestCase {
    func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }

    func encode(_ text: String, _ oid: UInt32) throws -> [UInt8] {
        var out: [UInt8] = []
        try BinaryEncoder.encode(Array(text.utf8)[...], oid: oid, into: &out)
        return out
    }

    /// Every value the server printed, in text, encodes to the bytes the server sent in binary.
    func testMatchesTheServersBinaryOutput() throws {
        XCTAssertGreaterThan(serverCases.count, 120)
        for c in serverCases {
            XCTAssertTrue(BinaryTypes.supports(c.oid), "type \(c.oid)")
            let got = try encode(c.text, c.oid)
            XCTAssertEqual(hex(got), c.binary, "\(c.setting): type \(c.oid) text \(c.text)")
        }
    }

    /// Text that is not the server's output of the type is refused, never guessed at.
    func testRefusesWhatItCannotRead() {
        let bad: [(String, UInt32)] = [
            ("yes", BinaryTypes.bool), ("", BinaryTypes.int4), ("1.5", BinaryTypes.int4), ("40000", BinaryTypes.int2),
            ("9223372036854775808", BinaryTypes.int8), ("-1", BinaryTypes.oid), ("1e5", BinaryTypes.numeric),
            ("1.", BinaryTypes.numeric), (".5", BinaryTypes.numeric), ("--1", BinaryTypes.numeric), ("abc", BinaryTypes.float8),
            ("\\x0", BinaryTypes.bytea), ("\\xzz", BinaryTypes.bytea), ("\\12", BinaryTypes.bytea),
            ("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1", BinaryTypes.uuid), ("a0eebc999c0b4ef8bb6d6bb9bd380a11", BinaryTypes.uuid),
            ("03/05/2024", BinaryTypes.date), ("Tue Mar 05 2024", BinaryTypes.date), ("2024-13-01", BinaryTypes.date),
            ("2024-03-05", BinaryTypes.timestamp), ("2024-03-05 10:00:00", BinaryTypes.timestamptz),
            ("Tue Mar 05 10:00:00 2024 PST", BinaryTypes.timestamptz), ("10:00", BinaryTypes.time),
            ("P1Y2M", BinaryTypes.interval), ("@ 1 year", BinaryTypes.interval), ("1 fortnight", BinaryTypes.interval),
            ("{1,2", 1007), ("{{1,2},{3}}", 1007), ("{{1,2},3}", 1007), ("{1,x}", 1007), ("[1:2]={1}x", 1007),
            ("{\"a}", 1009), ("{1,,2}", 1007), ("ab", BinaryTypes.char),
        ]
        for (text, oid) in bad {
            XCTAssertThrowsError(try encode(text, oid), "\(text) as \(oid)")
        }
        XCTAssertThrowsError(try encode("(1,2)", 600)) { XCTAssertTrue($0 is BinaryEncodingError) }   // point: no binary form here
        XCTAssertFalse(BinaryTypes.supports(600))
    }

    /// Huge values are encoded whole (no fixed buffers).
    func testLargeValues() throws {
        let big = String(repeating: "x", count: 1 << 20)
        XCTAssertEqual(try encode(big, BinaryTypes.text).count, 1 << 20)
        let digits = "1" + String(repeating: "0", count: 1000) + "." + String(repeating: "5", count: 999)
        let numeric = try encode(digits, BinaryTypes.numeric)
        XCTAssertEqual(numeric.count, 8 + 2 * ((1001 + 3) / 4 + (999 + 3) / 4) - 0)   // every group non-zero at the ends
        let array = "{" + (0..<10_000).map(String.init).joined(separator: ",") + "}"
        XCTAssertEqual(try encode(array, 1007).count, 20 + 10_000 * 8)
    }
}

final class BinaryDecoderTests: XCTestCase {
    func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            out.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    /// The server's binary output reads back as its text output (timestamptz in UTC,
    /// bytea in hex); arrays are not read (nil).
    func testReadsTheServersBinaryOutputBackAsItsText() {
        var checked = 0
        for c in serverCases where c.setting == "TimeZone = 'UTC'" {
            let text = BinaryDecoder.text(bytes(c.binary)[...], oid: c.oid)
            if BinaryTypes.element(of: c.oid) != nil { XCTAssertNil(text); continue }
            XCTAssertEqual(text, c.text, "type \(c.oid) binary \(c.binary)")
            checked += 1
        }
        XCTAssertGreaterThan(checked, 80)
    }

    func testRefusesMalformedBinary() {
        XCTAssertNil(BinaryDecoder.text([0, 1, 2][...], oid: BinaryTypes.int4))
        XCTAssertNil(BinaryDecoder.text([0, 1, 0, 0, 0][...], oid: BinaryTypes.int4))
        XCTAssertNil(BinaryDecoder.text([0xff, 0xfe][...], oid: BinaryTypes.text))
        XCTAssertNil(BinaryDecoder.text([2, 0x7b, 0x7d][...], oid: BinaryTypes.jsonb))
        XCTAssertNil(BinaryDecoder.text([0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10][...], oid: BinaryTypes.numeric))   // digit 10000
        XCTAssertNil(BinaryDecoder.text([1, 2, 3][...], oid: BinaryTypes.uuid))
        XCTAssertNil(BinaryDecoder.text([0, 0, 0, 1][...], oid: 600))
    }
}
