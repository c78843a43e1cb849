import Foundation
import XCTest
@testable import HoopAWS

/// Which operation a request is, in each protocol, from the table set-up generates.
final class OperationsTests: XCTestCase {
    static let table: Operations? = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try? Operations(file: root.appendingPathComponent("generated/aws-operations.json").path)
    }()

    func ops() throws -> Operations {
        try XCTUnwrap(Self.table, "generated/aws-operations.json is missing: scripts/setup (scripts/aws-tables) makes it")
    }

    func identify(_ method: String, _ path: String, _ query: String = "", headers: [(String, String)] = [],
                  form: [(String, String)] = [], service: String) throws -> Operations.Identified {
        try ops().identify(SigV4.Request(method: method, path: path, query: query, headers: headers, body: []),
                           signingName: service, form: form)
    }

    func testRestXMLByMethodTemplateFixedQueryAndRequiredMembers() throws {
        XCTAssertEqual(try identify("GET", "/", service: "s3").operation.name, "ListBuckets")
        XCTAssertEqual(try identify("GET", "/b", "list-type=2&prefix=x", service: "s3").operation.name, "ListObjectsV2")
        XCTAssertEqual(try identify("GET", "/b", service: "s3").operation.name, "ListObjects")
        let get = try identify("GET", "/b/dir/a%20b.txt", service: "s3")
        XCTAssertEqual(get.operation.name, "GetObject")
        XCTAssertEqual(get.labels["Key"], "dir/a b.txt")
        XCTAssertEqual(get.operation.iamAction, "s3:GetObject")
        XCTAssertEqual(try identify("PUT", "/b/k", service: "s3").operation.name, "PutObject")
        XCTAssertEqual(try identify("PUT", "/b/k", headers: [("x-amz-copy-source", "/a/b")], service: "s3").operation.name, "CopyObject")
        XCTAssertEqual(try identify("POST", "/b/k", "uploads", service: "s3").operation.name, "CreateMultipartUpload")
        XCTAssertEqual(try identify("PUT", "/b/k", "partNumber=1&uploadId=u", service: "s3").operation.name, "UploadPart")
        XCTAssertEqual(try identify("GET", "/b", "policy", service: "s3").operation.name, "GetBucketPolicy")
    }

    func testJSONByTargetQueryByActionRestJSONByTemplate() throws {
        let getItem = try identify("POST", "/", headers: [("x-amz-target", "DynamoDB_20120810.GetItem")], service: "dynamodb")
        XCTAssertEqual(getItem.operation.iamAction, "dynamodb:GetItem")
        XCTAssertEqual(getItem.operation.access, "Read")
        XCTAssertEqual(try identify("POST", "/", form: [("Action", "RunInstances")], service: "ec2").operation.access, "Write")
        XCTAssertEqual(try identify("POST", "/", form: [("Action", "CreateAccessKey")], service: "iam").operation.access, "Permissions management")
        let invoke = try identify("POST", "/2015-03-31/functions/patient-lookup/invocations", service: "lambda")
        XCTAssertEqual(invoke.operation.iamAction, "lambda:InvokeFunction")
        XCTAssertEqual(invoke.labels["FunctionName"], "patient-lookup")
    }

    func testAnAPIWithSeveralModelsIsReadByItsOwn() throws {
        // rds signs DocumentDB's, Neptune's and RDS's calls alike: RDS's model is the API's.
        let describe = try identify("POST", "/", form: [("Action", "DescribeDBInstances")], service: "rds")
        XCTAssertEqual(describe.service.name, "rds")
        let models = try ops().services(signingName: "rds")
        XCTAssertEqual(describe.operation.revealsSecrets, models.contains { $0.operations["DescribeDBInstances"]?.revealsSecrets == true })
    }

    func testUnknownsAreRefusedNotGuessed() throws {
        XCTAssertThrowsError(try identify("POST", "/", headers: [("x-amz-target", "DynamoDB_20120810.NoSuchThing")], service: "dynamodb"))
        XCTAssertThrowsError(try identify("POST", "/", form: [("Action", "NoSuchAction")], service: "ec2"))
        XCTAssertThrowsError(try identify("GET", "/", service: "no-such-service"))
        XCTAssertThrowsError(try identify("POST", "/service/x/operation/y", headers: [("content-type", "application/cbor"),
                                          ("smithy-protocol", "rpc-v2-cbor")], service: "s3")) { e in
            XCTAssertEqual((e as? AWSError)?.code, "NotImplemented")
        }
    }
}

extension OperationsTests {
    /// A query name that selects another operation of the same method and path is refused:
    /// the call could be read as one operation here and run as another upstream.
    func testQueryNamesOfAnotherOperationAreRefused() throws {
        for query in ["select&select-type=2&restore", "select&select-type=2&uploadId=x", "select&select-type=2&uploads"] {
            XCTAssertThrowsError(try identify("POST", "/b/k", query, service: "s3"), query) { e in
                XCTAssertEqual((e as? AWSError)?.code, "InvalidRequest")
            }
        }
        XCTAssertEqual(try identify("PUT", "/b/k", "partNumber=1&uploadId=u", service: "s3").operation.name, "UploadPart")
        XCTAssertEqual(try identify("PUT", "/b", "tagging", service: "s3").operation.name, "PutBucketTagging")
        XCTAssertEqual(try identify("GET", "/b/k", "versionId=v&partNumber=1", service: "s3").operation.name, "GetObject")
    }

    func testRegionsAndServicesHaveTheirShapes() {
        XCTAssertTrue(SigV4Verifier.isRegion("us-east-1"))
        XCTAssertTrue(SigV4Verifier.isRegion("us-gov-west-1"))
        XCTAssertFalse(SigV4Verifier.isRegion("x@evil.example?"))
        XCTAssertFalse(SigV4Verifier.isRegion("us-east-1.evil"))
        XCTAssertFalse(SigV4Verifier.isRegion("useast1"))
    }
}
