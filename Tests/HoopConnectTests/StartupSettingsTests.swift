import HoopPostgres
import XCTest

/// The server's reading of a StartupMessage's settings, which hoop-approve judges and
/// hoop-connect forwards: a reading of its own in either let `search_path` through.
final class StartupSettingsTests: XCTestCase {
    func testOptionsAreSplitOnAnyWhitespaceWithEscapes() {
        let pairs = StartupSettings.options("-c\nsearch_path=a\u{0B}--Lock-Timeout=5 -c hoop.justification=ticket\\ 42")
        XCTAssertEqual(pairs.map(\.name), ["search_path", "lock_timeout", "hoop.justification"])
        XCTAssertEqual(pairs.map(\.value), ["a", "5", "ticket 42"])
    }

    /// Byte by byte, as the server: "\r\n" is two bytes, and a backslash escapes one.
    func testCarriageReturnAndLineFeedAreTwoBytes() {
        let pairs = StartupSettings.options("-c search_path=a\\\r\n-csearch_path=b")
        XCTAssertEqual(pairs.map(\.value), ["a\r", "b"], "the escaped \\r stays, the \\n splits")
        XCTAssertEqual(StartupSettings.escaped("x\r\ny z\\"), "x\\\r\\\ny\\ z\\\\")
        let value = "pg_catalog,x\r\n-csearch_path=public,pg_catalog"
        XCTAssertEqual(StartupSettings.options("-c search_path=" + StartupSettings.escaped(value)).map(\.value), [value],
                       "what hoop-connect forwards is read back as the one value hoop-approve judged")
    }

    func testParametersAreSettingsWhateverTheirCase() {
        let all = StartupSettings.all(["SEARCH_PATH": "public, pg_catalog", "user": "u", "database": "d",
                                       "options": "-c search_path=pg_catalog"])
        XCTAssertEqual(all.map(\.name), ["search_path", "search_path"], "options first, then the parameters")
        XCTAssertEqual(StartupSettings.final(["Search_Path": "x", "options": "-c search_path=y"])["search_path"], "x",
                       "a parameter given after options wins, as in the server")
    }
}
