import Foundation
import HoopJSON
import XCTest
@testable import HoopAWS

/// Hunt aws3: a label decoded twice upstream, `x-amz-*` members in a query, page tokens the
/// client wrote (integration/test_aws_hunt3.py runs them against the stand-in).
final class Hunt3Tests: XCTestCase {
    func ops() throws -> Operations {
        try XCTUnwrap(OperationsTests.table, "generated/aws-operations.json is missing: scripts/setup (scripts/aws-tables) makes it")
    }

    func identify(_ method: String, _ path: String, _ query: String = "", headers: [(String, String)] = [],
                  body: String = "", service: String) throws -> Operations.Identified {
        try ops().identify(SigV4.Request(method: method, path: path, query: query, headers: headers, body: Array(body.utf8)),
                           signingName: service, form: [])
    }

    func testAPercentLeftInALabelIsRefusedButInAnObjectKey() throws {
        for (method, path, query, service) in [("GET", "/clinic%252Dexports/exports/patients.csv", "", "s3"),
                                               ("GET", "/clinic%252Dexports", "list-type=2", "s3"),
                                               ("GET", "/clinic%25", "", "s3"),
                                               ("GET", "/2015-03-31/functions/patient%252Dlookup/configuration", "", "lambda")] {
            XCTAssertThrowsError(try identify(method, path, query, service: service), path) {
                XCTAssertEqual(($0 as? AWSError)?.code, "InvalidURI")
            }
        }
        // An object key may hold a `%`: read once by the door, S3 and the stand-in alike.
        let get = try identify("GET", "/clinic-exports/exports%252Fpatients.csv", service: "s3")
        XCTAssertEqual(get.operation.name, "GetObject")
        XCTAssertEqual(get.labels["Bucket"], "clinic-exports")
        XCTAssertEqual(get.labels["Key"], "exports%2Fpatients.csv")
        XCTAssertEqual(try identify("GET", "/2015-03-31/functions/patient-lookup/configuration", service: "lambda").labels["FunctionName"],
                       "patient-lookup")
    }

    func testXAmzMembersInTheQueryAreReadAsTheirHeader() throws {
        let r = SigV4.Request(method: "PUT", path: "/clinic-exports/k", query: "x-amz-acl=public-read", headers: [], body: [])
        let op = try ops().identify(r, signingName: "s3", form: [])
        XCTAssertEqual(try CallParams.decode(r, op, form: [])["ACL"], .string("public-read"))
        // Beside the header: both values, each judged.
        let both = SigV4.Request(method: "PUT", path: "/clinic-exports/k", query: "X-Amz-Acl=public-read",
                                 headers: [("x-amz-acl", "private")], body: [])
        let params = try CallParams.decode(both, try ops().identify(both, signingName: "s3", form: []), form: [])
        XCTAssertEqual(Set((params["ACL"]?.array ?? []).compactMap(\.string)), ["private", "public-read"])
        // A copy's source in the query is not the one the door read from its header.
        let copy = SigV4.Request(method: "PUT", path: "/b/k", query: "x-amz-copy-source=clinic-exports%2Fexports%2Fpatients.csv",
                                 headers: [("x-amz-copy-source", "b/other")], body: [])
        XCTAssertThrowsError(try CallParams.decode(copy, try ops().identify(copy, signingName: "s3", form: []), form: []))
    }

    func testOnlyTokensTheServiceIssuedArePages() throws {
        let query = try identify("POST", "/", headers: [("x-amz-target", "DynamoDB_20120810.Query")], service: "dynamodb")
        XCTAssertEqual(query.operation.pagingOut, ["LastEvaluatedKey"])
        let answer = #"{"Count": 1, "Items": [], "LastEvaluatedKey": {"mrn": {"S": "MRN1"}, "dob": {"S": "[DATE]"}}}"#
        let issued = PageTokens.issued(query, body: answer)
        XCTAssertEqual(issued, [#"{"dob":{"S":"[DATE]"},"mrn":{"S":"MRN1"}}"#])
        var session = IssuedTokens()
        issued.forEach { session.insert(PageTokens.key(query, ["TableName": .string("T")], $0)) }
        // The same key sent back (members in another order) is a page; a key the client wrote is not.
        let back: [String: JSON] = ["TableName": .string("T"),
                                    "ExclusiveStartKey": try JSON.parse(Array(#"{"mrn": {"S": "MRN1"}, "dob": {"S": "[DATE]"}}"#.utf8))]
        XCTAssertEqual(PageTokens.paging(query, back) { session.contains($0) }, ["ExclusiveStartKey"])
        let guessed: [String: JSON] = ["TableName": .string("T"),
                                       "ExclusiveStartKey": try JSON.parse(Array(#"{"mrn": {"S": "MRN1"}, "dob": {"S": "1984-03-08"}}"#.utf8))]
        XCTAssertEqual(PageTokens.paging(query, guessed) { session.contains($0) }, [])
        // The same key delivered by another table's answer starts no page of this one (review, s45).
        var other: [String: JSON] = back
        other["TableName"] = .string("Patients")
        XCTAssertEqual(PageTokens.paging(query, other) { session.contains($0) }, [])
        // The first page (no token) keeps its paging members: nothing to judge there.
        XCTAssertEqual(PageTokens.paging(query, ["TableName": .string("T")]) { _ in false }, ["ExclusiveStartKey"])

        // S3's V1 listing: NextMarker, or any key shown (Contents[-1].Key), URL-encoded or not.
        let list = try identify("GET", "/clinic-exports", service: "s3")
        let xml = "<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>exports/a%26b.csv</Key></Contents>"
            + "<Contents><Key>exports/p&amp;q.csv</Key></Contents></ListBucketResult>"
        let keys = Set(PageTokens.issued(list, body: xml))
        XCTAssertTrue(keys.isSuperset(of: ["exports/a%26b.csv", "exports/a&b.csv", "exports/p&q.csv"]), "\(keys)")
        XCTAssertEqual(PageTokens.issued(list, body: "<ListBucketResult><NextMarker>n1</NextMarker></ListBucketResult>"), ["n1"])
        // A token of another operation is not this one's.
        XCTAssertNotEqual(PageTokens.key(list, [:], "n1"), PageTokens.key(query, [:], "n1"))
        XCTAssertNotEqual(PageTokens.key(list, ["Bucket": .string("a")], "n1"), PageTokens.key(list, ["Bucket": .string("b")], "n1"))
    }

    func testTheTokensOfASessionAreBounded() {
        var s = IssuedTokens()
        for i in 0..<(PageTokens.maxPerSession + 5) { s.insert("t\(i)") }
        XCTAssertEqual(s.count, PageTokens.maxPerSession)
        XCTAssertFalse(s.contains("t0"))
        XCTAssertTrue(s.contains("t\(PageTokens.maxPerSession + 4)"))
    }
}
