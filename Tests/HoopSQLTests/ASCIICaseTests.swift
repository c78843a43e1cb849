import XCTest
@testable import HoopSQL

final class ASCIICaseTests: XCTestCase {
    /// Every ASCII spelling PostgreSQL folds to the word is found, wherever it sits.
    func testFindsEveryASCIISpelling() {
        XCTAssertTrue("select SET_CONFIG('search_path', 'x', false)".containsIgnoringASCIICase("set_config"))
        XCTAssertTrue("select pg_catalog.Set_Config('a','b',true)".containsIgnoringASCIICase("set_config"))
        XCTAssertTrue("set_config".containsIgnoringASCIICase("set_config"))
        XCTAssertTrue("select U&\"\\0073et_config\"('a','b',true)".containsIgnoringASCIICase("u&"))
        XCTAssertTrue("SET Hoop.justification = 'x'".containsIgnoringASCIICase("hoop."))
        XCTAssertTrue("é hoop.".containsIgnoringASCIICase("HOOP."))   // after a multibyte character
        XCTAssertTrue(Substring("xx set_confiG").containsIgnoringASCIICase("set_config"))
    }

    /// No more than that: partial words, other letters, an empty text.
    func testFindsNothingElse() {
        XCTAssertFalse("select set_confi('a')".containsIgnoringASCIICase("set_config"))
        XCTAssertFalse("".containsIgnoringASCIICase("u&"))
        XCTAssertFalse("u".containsIgnoringASCIICase("u&"))
        XCTAssertFalse("select 1 -- set config".containsIgnoringASCIICase("set_config"))
        // `[` and `{` sit 0x20 above `;` and `[`: only A–Z fold.
        XCTAssertFalse("{".containsIgnoringASCIICase("["))
        XCTAssertFalse("select é".containsIgnoringASCIICase("É"))
    }
}
