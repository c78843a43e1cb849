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

    func testParametersAreSettingsWhateverTheirCase() {
        let all = StartupSettings.all(["SEARCH_PATH": "public, pg_catalog", "user": "u", "database": "d",
                                       "options": "-c search_path=pg_catalog"])
        XCTAssertEqual(all.map(\.name), ["search_path", "search_path"], "options first, then the parameters")
        XCTAssertEqual(StartupSettings.final(["Search_Path": "x", "options": "-c search_path=y"])["search_path"], "x",
                       "a parameter given after options wins, as in the server")
    }
}
