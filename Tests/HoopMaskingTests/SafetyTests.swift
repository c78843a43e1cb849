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

    func testLongPathologicalStringsAreLinear() throws {
        let cases = [String(repeating: "1", count: 200_000), String(repeating: "1-", count: 100_000),
                     String(repeating: "a@", count: 100_000), String(repeating: "Mr. ", count: 50_000),
                     String(repeating: ":", count: 200_000), String(repeating: "Ab ", count: 70_000),
                     String(repeating: "4111 ", count: 40_000), String(repeating: "www.", count: 50_000),
                     String(repeating: "PID|", count: 50_000), String(repeating: "\\n1", count: 70_000),
                     String(repeating: "+1 ", count: 70_000), String(repeating: "GB29 ", count: 40_000),
                     String(repeating: "Calle A ", count: 25_000), String(repeating: "MARIA ", count: 30_000),
                     String(repeating: "12 Oak St ^", count: 20_000), String(repeating: "1980-03-05 ", count: 40_000),
                     String(repeating: "DOB March 5, 2024 ", count: 20_000), String(repeating: "1 ", count: 100_000)]
        for text in cases {
            let start = Date()
            _ = try standardMasker.mask(text)
            XCTAssertLessThan(Date().timeIntervalSince(start), 3.0, String(text.prefix(8)))
        }
    }
}

/// The detectors' prefilters (`Detector.mayMatch` on a `ScanProfile`) are necessary
/// conditions: skipping a detector must never change what is found. Every text below is
/// scanned with the prefilters and with every detector run, and the findings compared.
final class PrefilterTests: XCTestCase {
    func unfiltered(_ text: String) -> [DetectedSpan] {
        let bytes = Array(text.utf8)
        var spans: [DetectedSpan] = []
        for d in Detectors.standard() { d.detect(bytes, into: &spans) }
        return spans.sorted { ($0.start, $0.end, $0.entity.rawValue) < ($1.start, $1.end, $1.entity.rawValue) }
    }

    func filtered(_ text: String) -> [DetectedSpan] {
        (Detectors.scan(Detectors.standard(), text)?.spans ?? [])
            .sorted { ($0.start, $0.end, $0.entity.rawValue) < ($1.start, $1.end, $1.entity.rawValue) }
    }

    func testPrefiltersNeverChangeFindings() {
        var texts = Corpus.generate().docs.map(\.text)
        texts += ["+12175550134", "9876 5432", "gb29nwbk60161331926819", "GB29 NWBK 6016 1331 9268 19", "routing 021000021",
                  "4410 willow ave apt 3", "jennifer quenwick", "pid|1||x||orchard^olive^||19300805", #"a\n2125550134"#,
                  "PID|1||MRN^^^H||QUIMBY^UMBER^||19800305|F|||12 OAK ST^^SPRINGFIELD^IL^62701||(217)555-0134",
                  "(0113)4960123", "+44(0)1174960038", "c4ca4238a0b923820dcc509a6f75849b", "march 5, 1980", "19800305",
                  "415–555–0132", "4111\u{00A0}1111\u{00A0}1111\u{00A0}1111", #"\u003cdob\u003e1980-03-05"#]
        var rng = SafetyTests.Rng(s: 7)
        let alphabet = Array("0123456789-./:@ ()+#,|^\\nabcgbXYZPID MRN Calle Dr. é\t\n–\u{00A0}\u{2009}’".unicodeScalars)
        for _ in 0..<4000 {
            var s = String.UnicodeScalarView()
            for _ in 0..<Int(rng.next() % 60) { s.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
            texts.append(String(s))
        }
        var differ = 0
        for t in texts where filtered(t) != unfiltered(t) {
            differ += 1
            if differ <= 5 { XCTFail("prefilters change the findings in \(t.debugDescription)") }
        }
        XCTAssertEqual(differ, 0)
    }
}
