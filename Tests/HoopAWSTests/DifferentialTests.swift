import Foundation
import HoopJSON
import XCTest
@testable import HoopAWS

/// Requests the door would judge as one call and a server (moto's, AWS) would run as
/// another: each is refused (hunt s44), and the SDKs' own shape of the same call still reads.
final class DifferentialTests: XCTestCase {
    func ops() throws -> Operations {
        try XCTUnwrap(OperationsTests.table, "generated/aws-operations.json is missing: scripts/setup (scripts/aws-tables) makes it")
    }

    func params(_ method: String, _ path: String, _ query: String = "", headers: [(String, String)] = [], body: String = "",
                service: String) throws -> [String: JSON] {
        let r = SigV4.Request(method: method, path: path, query: query, headers: headers, body: Array(body.utf8))
        let form = method == "POST" && CallParams.mimetype(r.header("content-type")) == "application/x-www-form-urlencoded"
            ? SigV4.queryPairs(body.replacingOccurrences(of: "+", with: "%20")) : []
        let op = try ops().identify(r, signingName: service, form: form)
        return try CallParams.decode(r, op, form: form)
    }

    func refused(_ code: String, _ f: () throws -> Any, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try f(), file: file, line: line) { e in
            XCTAssertEqual((e as? AWSError)?.code, code, "\(e)", file: file, line: line)
            XCTAssertEqual((e as? AWSError)?.status, 400, file: file, line: line)
        }
    }

    func testTheTableSaysWhichRESTOperationsTakeABody() throws {
        XCTAssertTrue(try ops().statesBodies)
        let s3 = try XCTUnwrap(ops().services(signingName: "s3").first { $0.name == "s3" })
        XCTAssertEqual(s3.operations["PutObject"]?.hasBody, true)
        XCTAssertEqual(s3.operations["DeleteObjects"]?.hasBody, true)
        XCTAssertEqual(s3.operations["ListObjectsV2"]?.hasBody, false)
        XCTAssertEqual(s3.operations["GetObject"]?.hasBody, false)
        XCTAssertNil(try ops().services(signingName: "iam").first?.operations["ListUsers"]?.hasBody)
    }

    // 1. The query protocols: the operation and its parameters from one place.

    func testAQueryBesideAFormIsRefusedActionAndVersionToo() throws {
        let form = [("content-type", "application/x-www-form-urlencoded; charset=utf-8")]
        refused("SerializationException") {
            try self.params("POST", "/", "Action=ListUsers&Version=2010-05-08", headers: form, body: "UserName=u&CertificateBody=c", service: "iam")
        }
        refused("SerializationException") {
            try self.params("POST", "/", "Version=2010-05-08", headers: form, body: "Action=ListUsers", service: "iam")
        }
        // Controls: the SDKs' form, and a query alone (no body).
        XCTAssertEqual(try params("POST", "/", headers: form, body: "Action=ListUsers&Version=2010-05-08&MaxItems=5", service: "iam")["MaxItems"],
                       .string("5"))
        XCTAssertEqual(try params("GET", "/", "Action=ListUsers&Version=2010-05-08&MaxItems=5", service: "iam")["MaxItems"], .string("5"))
    }

    func testAFormWithoutAnActionIsRefused() throws {
        let form = [("content-type", "application/x-www-form-urlencoded")]
        let r = SigV4.Request(method: "POST", path: "/", query: "", headers: form, body: Array("UserName=u".utf8))
        // Identified by the query's Action were there one; with none in either place the call is no operation at all.
        XCTAssertThrowsError(try ops().identify(r, signingName: "iam", form: [("UserName", "u")]))
        let op = try ops().identify(SigV4.Request(method: "POST", path: "/", query: "", headers: form, body: []),
                                    signingName: "iam", form: [("Action", "ListUsers")])
        refused("SerializationException") { try CallParams.decode(r, op, form: [("UserName", "u")]) }
    }

    // 2. and 4. REST: no form, and no body where the model has none.

    func testAFormInARESTCallIsRefused() throws {
        let b = "hunt44"
        let multipart = "--\(b)\r\nContent-Disposition: form-data; name=\"Action\"\r\n\r\nDeletePublicAccessBlock\r\n--\(b)--\r\n"
        refused("SerializationException") {
            try self.params("GET", "/v20180820/configuration/publicAccessBlock",
                            headers: [("x-amz-account-id", "123456789012"), ("content-type", "multipart/form-data; boundary=\(b)")],
                            body: multipart, service: "s3")
        }
        refused("SerializationException") {
            try self.params("GET", "/clinic-exports", "list-type=2", headers: [("content-type", "application/x-www-form-urlencoded")],
                            body: "start-after=exports/patients.json", service: "s3")
        }
        // A form type on an operation that has a body (PutObject's payload) is refused too,
        // and with no body at all; an object of another type is stored as ever.
        refused("SerializationException") {
            try self.params("PUT", "/b/k", headers: [("content-type", " Application/X-WWW-Form-URLEncoded ; charset=utf-8")],
                            body: "uploadId=1&partNumber=2", service: "s3")
        }
        refused("SerializationException") {
            try self.params("GET", "/b", "list-type=2", headers: [("content-type", "multipart/form-data")], service: "s3")
        }
        XCTAssertNoThrow(try params("PUT", "/b/k", headers: [("content-type", "text/csv")], body: "a,b", service: "s3"))
        XCTAssertNoThrow(try params("GET", "/b", "list-type=2", service: "s3"))
        // Two Content-Types: refused, whatever they are.
        refused("SerializationException") {
            try self.params("PUT", "/b/k", headers: [("content-type", "text/plain"), ("content-type", "text/csv")], body: "x", service: "s3")
        }
        // Nor in the JSON protocol.
        refused("SerializationException") {
            try self.params("POST", "/", headers: [("x-amz-target", "DynamoDB_20120810.ListTables"), ("content-type", "multipart/form-data")],
                            body: "{}", service: "dynamodb")
        }
    }

    func testABodyWhereTheOperationHasNoneIsRefused() throws {
        refused("SerializationException") {
            try self.params("GET", "/clinic-exports", headers: [("content-type", "text/plain")], body: "prefix=exports/pat&marker=x", service: "s3")
        }
        refused("SerializationException") { try self.params("GET", "/clinic-exports/k", body: "x", service: "s3") }
        refused("SerializationException") {
            try self.params("GET", "/2015-03-31/functions/patient-lookup", body: "Action=DeleteFunction", service: "lambda")
        }
        // Controls: no body; an empty JSON object of a rest-json call; a body where the model has one.
        XCTAssertNoThrow(try params("GET", "/2015-03-31/functions/patient-lookup", service: "lambda"))
        XCTAssertNoThrow(try params("GET", "/2015-03-31/functions/patient-lookup", headers: [("content-type", "application/json")],
                                    body: "{}", service: "lambda"))
        XCTAssertNoThrow(try params("POST", "/b", "delete", headers: [("content-type", "application/xml")],
                                    body: "<Delete><Object><Key>k</Key></Object></Delete>", service: "s3"))
        XCTAssertEqual(try params("POST", "/2015-03-31/functions/patient-lookup/invocations", body: "{\"mrn\":\"x\"}",
                                  service: "lambda")["FunctionName"], .string("patient-lookup"))
    }

    // 3. `;` in a REST path.

    func testARawSemicolonInAPathIsRefused() throws {
        XCTAssertThrowsError(try RequestTarget.split("/clinic-exports;x?list-type=2")) { XCTAssertEqual(($0 as? AWSError)?.code, "InvalidURI") }
        XCTAssertThrowsError(try RequestTarget.split("/b/exports/a;b")) { XCTAssertEqual(($0 as? AWSError)?.code, "InvalidURI") }
        // The other bytes a URL parser reads specially are refused raw as before.
        for raw in ["/b/a#b", "/b/a\\b", "/b/a b", "/b/a\tb", "/b/a+b", "/b/%zz"] {
            XCTAssertThrowsError(try RequestTarget.split(raw), raw)
        }
        // In a query, a ';' is data (no parser splits on it); encoded, it is data in a path too.
        XCTAssertEqual(try RequestTarget.split("/b?prefix=a;b").query, "prefix=a;b")
        XCTAssertEqual(try RequestTarget.split("/b/a%3Bb").path, "/b/a%3Bb")
    }

    func testAnEncodedSemicolonIsRefusedInALabelButAnObjectKey() throws {
        for path in ["/clinic-exports%3Bx", "/clinic-exports%3bx", "/clinic-exports%3B"] {
            XCTAssertThrowsError(try ops().identify(SigV4.Request(method: "GET", path: path, query: "list-type=2", headers: [], body: []),
                                                    signingName: "s3", form: []), path) { XCTAssertEqual(($0 as? AWSError)?.code, "InvalidURI") }
        }
        XCTAssertThrowsError(try ops().identify(SigV4.Request(method: "GET", path: "/clinic-exports%3Bx/k", query: "", headers: [], body: []),
                                                signingName: "s3", form: []))
        XCTAssertThrowsError(try ops().identify(SigV4.Request(method: "GET", path: "/2015-03-31/functions/f%3Bx", query: "", headers: [], body: []),
                                                signingName: "lambda", form: []))
        // A key's ';' (the SDKs send it encoded) is the key's, to the door, S3 and the stand-in alike.
        let get = try ops().identify(SigV4.Request(method: "GET", path: "/b/semi%3Bcolon%3Aat%40", query: "", headers: [], body: []),
                                     signingName: "s3", form: [])
        XCTAssertEqual(get.operation.name, "GetObject")
        XCTAssertEqual(get.labels["Key"], "semi;colon:at@")
    }

    // 5. The copy source as S3 reads it.

    func testACopySourceIsReadAsS3ReadsIt() throws {
        var s = try CallParams.copySource("clinic-exports/exports/patients.csv")
        XCTAssertEqual(s.bucket, "clinic-exports"); XCTAssertEqual(s.key, "exports/patients.csv"); XCTAssertNil(s.versionId)
        s = try CallParams.copySource("/clinic-exports/a%20b/%C3%BC%3Bx%2B%23?versionId=3HL4kqtJlcpXroDTDmJ%2Brmsh")
        XCTAssertEqual(s.key, "a b/ü;x+#")
        XCTAssertEqual(s.bucket, "clinic-exports")
        XCTAssertEqual(s.versionId, "3HL4kqtJlcpXroDTDmJ+rmsh")
        // A key's encoded '?' and '#' are the key's; the rules' text reads the key up to a '?', so one is refused there.
        XCTAssertThrowsError(try CallParams.copySource("clinic-exports/a%3Fb"))
        s = try CallParams.copySource("clinic-exports/a%3Bb%23c%25d")
        XCTAssertEqual(s.key, "a;b#c%d")
        XCTAssertEqual(s.text, "clinic-exports/a;b#c%d")
        // An access point's ARN as botocore encodes it stays whole.
        s = try CallParams.copySource("arn%3Aaws%3As3%3Aus-west-2%3A123456789012%3Aaccesspoint/ap/object/k")
        XCTAssertTrue(s.text.hasPrefix("arn:aws:s3:us-west-2:123456789012:accesspoint/"))
    }

    func testACopySourceAURLParserReadsOtherwiseIsRefused() {
        for source in ["//x/clinic-exports/exports/patients.csv", "///clinic-exports/k", "/%2Fx/clinic-exports/k",
                       "%2F%2Fx/clinic-exports/k", "s3://clinic-exports/k", "arn:aws:s3:::clinic-exports/k", "x:y/clinic-exports/k",
                       "clinic-exports;x/k", "clinic-exports%3Bx/k", "clinic-exports/k;x", "clinic-exports/k#x",
                       "clinic-exports/k x", "clinic-exports/k+x", "clinic-exports%2Fk", "clinic-exports/", "clinic-exports",
                       "/clinic-exports", "clinic-exports/k?versionId=", "clinic-exports/k?versionId=a&versionId=b",
                       "clinic-exports/k?partNumber=1", "clinic-exports/k%", "clinic-exports/%FF", "CLINIC EXPORTS/k",
                       "clinic-exports\\x/k"] {
            XCTAssertThrowsError(try CallParams.copySource(source), source) { e in
                XCTAssertEqual((e as? AWSError)?.code, "InvalidArgument", source)
            }
        }
    }

    func testTheCopySourceParameterIsTheOneS3Reads() throws {
        let p = try params("PUT", "/agent-scratch/k", headers: [("x-amz-copy-source", "/clinic-exports/exports/a%20b.csv?versionId=v1")],
                           service: "s3")
        XCTAssertEqual(p["CopySource"], .string("clinic-exports/exports/a b.csv?versionId=v1"))
        refused("InvalidArgument") {
            try self.params("PUT", "/agent-scratch/k", headers: [("x-amz-copy-source", "//x/clinic-exports/exports/patients.csv")], service: "s3")
        }
        refused("InvalidArgument") {
            try self.params("PUT", "/agent-scratch/k", headers: [("x-amz-copy-source", "x/k"), ("x-amz-copy-source", "clinic-exports/k")],
                            service: "s3")
        }
        // UploadPartCopy reads it the same way.
        refused("InvalidArgument") {
            try self.params("PUT", "/agent-scratch/k", "partNumber=1&uploadId=u",
                            headers: [("x-amz-copy-source", "//x/clinic-exports/exports/patients.csv")], service: "s3")
        }
    }
}
