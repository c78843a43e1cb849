import XCTest
@testable import HoopAWS
import HoopJSON

/// PartiQL calls are judged by their statements' verbs, not by the one IAM action the
/// tables give ExecuteStatement (PartiQLSelect, Read).
final class PartiQLTests: XCTestCase {
    func access(_ statements: String...) -> String {
        let params: [String: JSON] = statements.count == 1
            ? ["Statement": .string(statements[0])]
            : ["TransactStatements": .array(statements.map { .object(["Statement": .string($0)]) })]
        return PartiQL.access(params).access
    }

    func testEachVerbAndTheStrictestOfABatch() {
        XCTAssertEqual(access("SELECT * FROM \"Patients\" WHERE mrn = 'x'"), "Read")
        XCTAssertEqual(access("  select * from Patients"), "Read")
        XCTAssertEqual(access("INSERT INTO Patients VALUE {'mrn': 'x'}"), "Write")
        XCTAssertEqual(access("update Patients SET a = 1 WHERE mrn = 'x'"), "Write")
        XCTAssertEqual(access("/* SELECT */ DELETE FROM Patients WHERE mrn = 'x'"), "Write")
        XCTAssertEqual(access("-- SELECT\nDELETE FROM Patients WHERE mrn = 'x'"), "Write")
        XCTAssertEqual(access("SELECT a FROM t", "DELETE FROM t WHERE k = 1"), "Write")
        XCTAssertEqual(PartiQL.access(["TransactStatements": .array([.object(["Statement": .string("EXISTS(SELECT * FROM t WHERE k = 1)")]),
                                                                      .object(["Statement": .string("SELECT * FROM t")])])]).access, "Read")
    }

    func testWhatIsNotAKnownVerbHasNoAccessLevel() {
        XCTAssertEqual(access("(SELECT 1)"), "")
        XCTAssertEqual(access("/* unterminated SELECT"), "")
        XCTAssertEqual(access("UPSERT INTO t VALUE {}"), "")
        XCTAssertEqual(PartiQL.access([:]).access, "")
    }

    /// A comment's end read two ways (a carriage return ends it, or only a line feed): a
    /// verb that depends on it is not known.
    func testAVerbThatDependsOnWhereACommentEndsIsNotKnown() {
        XCTAssertEqual(access("-- x\rDELETE FROM t WHERE k = 1 --\nSELECT * FROM t"), "")
        XCTAssertEqual(access("-- x\r\nDELETE FROM t WHERE k = 1"), "Write")
        XCTAssertEqual(access("-- x\r\nSELECT * FROM t"), "Read")
        XCTAssertEqual(access("-- x\rSELECT * FROM t\nSELECT 1"), "Read")
    }
}
