import XCTest
@testable import HoopMasking

/// Any input is safe: no crash, valid UTF-8 out, no quadratic blow-up.
final class SafetyTests: XCTestCase {
    /// A deterministic generator (SplitMix64) so failures reproduce.
    struct Rng { var s: UInt64; mutating func next() -> UInt64 { s &+= 0x9E3779B97F4A7C15; var z = s
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) &* 0x94D049BB133111EB; return z ^ (z >> 31) } }

    func testRandomStrings() throws {
        var rng = Rng(s: 42)
        let alphabet = Array("0123456789-./:@ ()+#,abcXYZ MRN-SSN Dr. é日\u{0}\t\n|^\\nPID|GB29Calle ".unicodeScalars)
        for _ in 0..<3000 {
            let len = Int(rng.next() % 120)
            var s = String.UnicodeScalarView()
            for _ in 0..<len { s.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
            let text = String(s)
            let r = try standardMasker.mask(text)
            for span in standardMasker.detect(text) { XCTAssertTrue(span.start < span.end && span.end <= text.utf8.count) }
            XCTAssertNotNil(r.value)
        }
        // Random bytes, including invalid UTF-8 (decoded with replacement characters).
        for _ in 0..<500 {
            let bytes = (0..<Int(rng.next() % 200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            _ = try standardMasker.mask(String(decoding: bytes, as: UTF8.self))
        }
    }

    func testLongPathologicalStringsAreLinear() throws {
        let cases = [String(repeating: "1", count: 200_000), String(repeating: "1-", count: 100_000),
                     String(repeating: "a@", count: 100_000), String(repeating: "Mr. ", count: 50_000),
                     String(repeating: ":", count: 200_000), String(repeating: "Ab ", count: 70_000),
                     String(repeating: "4111 ", count: 40_000), String(repeating: "www.", count: 50_000),
                     String(repeating: "PID|", count: 50_000), String(repeating: "\\n1", count: 70_000),
                     String(repeating: "+1 ", count: 70_000), String(repeating: "GB29 ", count: 40_000),
                     String(repeating: "Calle A ", count: 25_000), String(repeating: "MARIA ", count: 30_000),
                     String(repeating: "12 Oak St ^", count: 20_000)]
        for text in cases {
            let start = Date()
            _ = try standardMasker.mask(text)
            XCTAssertLessThan(Date().timeIntervalSince(start), 3.0, String(text.prefix(8)))
        }
    }
}
