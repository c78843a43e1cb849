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
        // A backslash as the last byte after every shape the field rule reads (it crashed once).
        for s in ["1980-03-05\\", "03/05/1980 \\", "19800305\\", "021000021\\", "14155550132\\", "12 Gray\\", "\\", "a\\u00"] {
            XCTAssertNotNil(try standardMasker.mask(s).value, s)
        }
        // Random bytes, including invalid UTF-8 (decoded with replacement characters).
        for _ in 0..<500 {
            let bytes = (0..<Int(rng.next() % 200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            _ = try standardMasker.mask(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// Linear, not quadratic: masking four times the text takes well under sixteen
    /// times as long. A ratio of the best of two runs each, not a wall-clock limit,
    /// so that a loaded machine does not fail it.
    func testLongPathologicalStringsAreLinear() throws {
        let units: [(String, Int)] = [("1", 25000), ("1-", 12500), ("a@", 12500), ("Mr. ", 6250), (":", 25000),
                                      ("Ab ", 8750), ("4111 ", 5000), ("www.", 6250), ("PID|", 6250), ("\\n1", 8750),
                                      ("+1 ", 8750), ("GB29 ", 5000), ("Calle A ", 3125), ("MARIA ", 3750),
                                      ("12 Oak St ^", 2500), ("1980-03-05 ", 5000), ("DOB March 5, 2024 ", 2500), ("1 ", 12500)]
        func best(_ text: String) throws -> Double {
            var t = Double.infinity
            for _ in 0..<2 {
                let start = Date()
                _ = try standardMasker.mask(text)
                t = min(t, Date().timeIntervalSince(start))
            }
            return max(t, 1e-4)
        }
        for (unit, n) in units {
            let small = try best(String(repeating: unit, count: n))
            let large = try best(String(repeating: unit, count: 4 * n))
            XCTAssertLessThan(large / small, 10, "\(unit): \(small) s for \(n), \(large) s for \(4 * n)")
        }
    }
}
