import XCTest
@testable import HoopMasking

/// Errors of statements that read ruled columns print values quoted or not: their
/// data-bearing parts go, the message's words stay (docs/masking.md, "Errors").
final class ErrorValuesTests: XCTestCase {
    func testDataBearingPartsGoWhateverTheirQuoting() {
        let cases: [(String, String)] = [
            ("invalid input syntax for type integer: \"123-45-6789\"", "invalid input syntax for type integer: \"[REDACTED]\""),
            ("date field value out of range: 2000-48-01", "date field value out of range: [REDACTED]"),
            ("index 48213 out of valid range, 0..0", "index [REDACTED] out of valid range, [REDACTED]"),
            ("requested character too large for encoding: 1234567", "requested character too large for encoding: [REDACTED]"),
            ("invalid byte sequence for encoding \"UTF8\": 0xf0 0x73", "invalid byte sequence for encoding \"[REDACTED]\": [REDACTED]"),
            ("relation \"smith\" does not exist", "relation \"[REDACTED]\" does not exist"),
            ("line 1: Start tag expected, '<' not found\nsmith\n^", "line [REDACTED]: [REDACTED]"),
            ("operator does not exist: smith", "operator does not exist: [REDACTED]"),
            ("smallint out of range", "smallint out of range"),
        ]
        for (text, want) in cases {
            XCTAssertEqual(ErrorValues.redactData(text).0, want, text)
        }
        XCTAssertEqual(ErrorValues.redactData("smallint out of range").1, 0)
    }
}
