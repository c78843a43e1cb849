import XCTest
@testable import HoopFrames

/// The naming rules of a PostgreSQL session, one test each. Every stage that follows
/// names (hoop-listen, hoop-approve, hoop-connect, hoop-mask, hoop-audit) uses this book;
/// test_ring_extended.py checks the same rules against the server through the ring.
final class StatementBookTests: XCTestCase {
    /// Payloads are texts; a name given twice becomes "old|new" (what it may mean).
    func book() -> StatementBook<String, String> {
        StatementBook(mergeStatements: { "\($0)|\($1)" }, mergePortals: { "\($0)|\($1)" })
    }

    func testParseReplacesTheUnnamedStatement() {
        var b = book()
        XCTAssertEqual(b.parse("", "select 1"), .made)
        XCTAssertEqual(b.parse("", "select 2"), .replaced)
        XCTAssertEqual(b[statement: ""], "select 2")
    }

    func testANamedStatementNeedsACloseBeforeItIsMadeAgain() {
        var b = book()
        XCTAssertEqual(b.parse("s1", "select 1"), .made)
        // The server refuses the second (42P05) unless the first failed: either, to the book.
        XCTAssertEqual(b.parse("s1", "select 2"), .taken)
        XCTAssertEqual(b[statement: "s1"], "select 1|select 2")
        b.closeStatement("s1")
        XCTAssertNil(b[statement: "s1"])
        XCTAssertEqual(b.parse("s1", "select 3"), .made)
        XCTAssertEqual(b[statement: "s1"], "select 3")
    }

    func testSQLPrepareSharesTheStatementNamespace() {
        var b = book()
        XCTAssertEqual(b.parse("q", "PREPARE q AS select 1"), .made)   // SQL PREPARE
        XCTAssertEqual(b.parse("q", "select 2"), .taken)                 // then a Parse of the same name
        b.closeAllStatements()                                            // DEALLOCATE ALL
        XCTAssertTrue(b.statements.isEmpty)
    }

    func testBindSnapshotsItsStatement() {
        var b = book()
        b.parse("", "select 'bound'")
        XCTAssertEqual(b.bind("", statement: "") { "portal of " + ($0 ?? "nothing") }, .made)
        b.parse("", "select 'later'")
        XCTAssertEqual(b[portal: ""], "portal of select 'bound'")
        XCTAssertEqual(b.portals[""]?.snapshot, "select 'bound'")
        XCTAssertEqual(b.portals[""]?.statement, "")
        // A Bind to a statement the book never saw gets nil: the stage decides (hidden work, untraced).
        b.bind("p", statement: "never") { $0 ?? "unknown" }
        XCTAssertEqual(b[portal: "p"], "unknown")
    }

    func testTheUnnamedPortalIsReplacedANamedOneNeedsAClose() {
        var b = book()
        b.parse("s", "select 1")
        b.bind("", statement: "s") { _ in "a" }
        XCTAssertEqual(b.bind("", statement: "s") { _ in "b" }, .replaced)
        XCTAssertEqual(b[portal: ""], "b")
        b.bind("p", statement: "s") { _ in "first" }
        XCTAssertEqual(b.bind("p", statement: "s") { _ in "second" }, .taken)   // 42P03 at the server
        XCTAssertEqual(b[portal: "p"], "first|second")
        b.closePortal("p")
        XCTAssertEqual(b.bind("p", statement: "s") { _ in "third" }, .made)
    }

    func testDeclareSharesThePortalNamespace() {
        var b = book()
        b.declare("c", "cursor", hold: false)
        XCTAssertEqual(b.bind("c", statement: "") { _ in "bound" }, .taken)
        XCTAssertEqual(b.declare("c", "again", hold: false), .taken)
    }

    func testCloseTakesAStatementOrAPortalAndClosingNothingIsNoError() {
        var b = book()
        b.parse("x", "select 1")
        b.bind("x", statement: "x") { _ in "portal x" }
        b.closePortal("x")
        XCTAssertNotNil(b[statement: "x"], "closing the portal leaves the statement of the same name")
        b.bind("y", statement: "x") { _ in "portal y" }
        b.closeStatement("x")
        XCTAssertEqual(b[portal: "y"], "portal y", "portals bound to a closed statement stay")
        b.closeStatement("nope")
        b.closePortal("nope")
        XCTAssertEqual(b.statements.count, 0)
        XCTAssertEqual(b.portals.count, 1)
    }

    func testTheEndOfATransactionEndsPortalsAndCursorsNotHeld() {
        var b = book()
        b.parse("s", "select 1")
        b.bind("", statement: "s") { _ in "unnamed" }
        b.bind("named", statement: "s") { _ in "named" }
        b.declare("c", "cursor", hold: false)
        b.declare("h", "held cursor", hold: true)
        b.endTransaction()
        XCTAssertEqual(Set(b.portals.keys), ["h"])
        XCTAssertEqual(b[statement: "s"], "select 1", "statements outlive transactions")
    }

    func testGenerationsTellAnOldAnswerFromANewDefinition() {
        var b = book()
        b.parse("", "select 1")
        let described = b.generation(statement: "")
        b.parse("", "select 2")
        XCTAssertNotEqual(b.generation(statement: ""), described)
        b.bind("p", statement: "") { _ in "p" }
        XCTAssertEqual(b.portals["p"]?.statementGeneration, b.generation(statement: ""))
        XCTAssertEqual(b.generation(statement: "none"), 0)
        XCTAssertEqual(b.generation(portal: "none"), 0)
    }

    func testPayloadsChangeInPlaceButNamesAreNotMadeThatWay() {
        var b = book()
        b[statement: "ghost"] = "set"
        XCTAssertNil(b[statement: "ghost"])
        b.parse("s", "select 1")
        b[statement: "s"]? += " -- described"
        XCTAssertEqual(b[statement: "s"], "select 1 -- described")
        b.bind("p", statement: "s") { _ in "rows: 0" }
        b[portal: "p"] = "rows: 5"
        XCTAssertEqual(b[portal: "p"], "rows: 5")
        b.update(statements: { $0 = "unknown" }, portals: { $0 = "unknown" })
        XCTAssertEqual(b[statement: "s"], "unknown")
        XCTAssertEqual(b[portal: "p"], "unknown")
    }

    func testAStageUndoesWhatTheServerSkippedLastFirst() {
        // A Close and a Parse of one name in a pipeline whose earlier request fails: the
        // server skips both and keeps the first statement.
        var b = book()
        b.parse("s", "select 'first'")
        let beforeClose = b.statements["s"]
        b.closeStatement("s")
        let beforeParse = b.statements["s"]
        XCTAssertEqual(b.parse("s", "select 'second'"), .made)
        for (name, before) in [("s", beforeClose), ("s", beforeParse)].reversed() { b.restore(statement: name, before) }
        XCTAssertEqual(b[statement: "s"], "select 'first'")
        XCTAssertEqual(b.generation(statement: "s"), beforeClose?.generation)
    }
}
