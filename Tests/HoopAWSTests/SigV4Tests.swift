import Foundation
import XCTest
@testable import HoopAWS

final class SigV4Tests: XCTestCase {
    let key = try! GatewayKey(bytes: Array(repeating: 7, count: 32))

    /// AWS's documented example (Signature Version 4, "Create a signed request": IAM ListUsers).
    func testTheDocumentedExampleSignature() {
        var r = SigV4.Request(method: "GET", path: "/", query: "Action=ListUsers&Version=2010-05-08",
                              headers: [("host", "iam.amazonaws.com"), ("content-type", "application/x-www-form-urlencoded; charset=utf-8")], body: [])
        let date = SigV4.parseAmzDate("20150830T123600Z")!
        SigV4.sign(&r, accessKey: "AKIDEXAMPLE", secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: nil,
                   region: "us-east-1", service: "iam", date: date)
        XCTAssertEqual(r.header("authorization"), "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
                       + "SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")
    }

    func credentials(expires: Double = Date().timeIntervalSince1970 + 600) -> (String, String, String) {
        let akid = GatewayKey.newAccessKeyId()
        let claims = GatewayKey.Claims(accessKeyId: akid, issuer: "https://issuer", subject: "s1", user: "ana", groups: ["g"],
                                       kind: "agent", connection: "aws", expires: expires, issued: Date().timeIntervalSince1970)
        return (akid, key.secret(for: akid), key.sessionToken(claims))
    }

    func signed(_ body: String = "{}", date: Date = Date(), expires: Double = Date().timeIntervalSince1970 + 600) -> SigV4.Request {
        let (akid, secret, token) = credentials(expires: expires)
        var r = SigV4.Request(method: "POST", path: "/", query: "", headers: [("host", "127.0.0.1:4566"),
                              ("x-amz-target", "DynamoDB_20120810.GetItem"), ("content-type", "application/x-amz-json-1.0")], body: Array(body.utf8))
        SigV4.sign(&r, accessKey: akid, secret: secret, sessionToken: token, region: "us-east-1", service: "dynamodb", date: date)
        return r
    }

    func testASignedRequestVerifiesAndNamesItsIdentity() throws {
        let v = try SigV4Verifier(key: key).verify(signed())
        XCTAssertEqual(v.claims.user, "ana")
        XCTAssertEqual(v.scope.service, "dynamodb")
        XCTAssertEqual(v.signedHeaders, ["content-type", "host", "x-amz-date", "x-amz-security-token", "x-amz-target"])
    }

    func testEveryTamperingIsRefused() {
        let verifier = SigV4Verifier(key: key)
        func code(_ r: SigV4.Request) -> String? {
            do { _ = try verifier.verify(r); return nil } catch let e as AWSError { return e.code } catch { return "?" }
        }
        var body = signed(); body.body = Array(#"{"TableName":"x"}"#.utf8)
        XCTAssertEqual(code(body), "SignatureDoesNotMatch")
        var target = signed(); target.setHeader("x-amz-target", "DynamoDB_20120810.DeleteTable")
        XCTAssertEqual(code(target), "SignatureDoesNotMatch")
        var other = signed()
        let otherKey = try! GatewayKey(bytes: Array(repeating: 9, count: 32))
        let c = GatewayKey.Claims(accessKeyId: "ASIAXXXXXXXXXXXXXXXX", issuer: "i", subject: "s", user: "u", groups: [], kind: "person",
                                  connection: "aws", expires: Date().timeIntervalSince1970 + 60, issued: 0)
        other.setHeader("x-amz-security-token", otherKey.sessionToken(c))
        XCTAssertEqual(code(other), "InvalidClientTokenId")
        XCTAssertEqual(code(signed(date: Date(timeIntervalSinceNow: -301))), "RequestExpired")
        XCTAssertEqual(code(signed(expires: Date().timeIntervalSince1970 - 1)), "ExpiredToken")
        var none = signed(); none.headers.removeAll { $0.0 == "authorization" }
        XCTAssertEqual(code(none), "MissingAuthenticationToken")
        var unsignedHost = signed()
        unsignedHost.setHeader("authorization", unsignedHost.header("authorization")!.replacingOccurrences(of: "host;", with: ""))
        XCTAssertEqual(code(unsignedHost), "SignatureDoesNotMatch")
    }

    func testTheSecretIsDerivedNotStoredAndDiffersPerKey() {
        XCTAssertEqual(key.secret(for: "ASIAAAAAAAAAAAAAAAAA"), key.secret(for: "ASIAAAAAAAAAAAAAAAAA"))
        XCTAssertNotEqual(key.secret(for: "ASIAAAAAAAAAAAAAAAAA"), key.secret(for: "ASIAAAAAAAAAAAAAAAAB"))
        XCTAssertEqual(key.secret(for: "ASIAAAAAAAAAAAAAAAAA").count, 40)
        let (_, _, token) = credentials()
        XCTAssertNotNil(key.verify(token: token))
        XCTAssertNil(key.verify(token: token + "x"))
        // A character inside the token: the last one can carry only padding bits, which
        // decode the same whatever they are.
        var tampered = Array(token)
        let i = tampered.count / 2
        tampered[i] = tampered[i] == "A" ? "B" : "A"
        XCTAssertNil(key.verify(token: String(tampered)))
    }

    func testAwsChunkedBodiesAreDecodedAndTheTrailerKept() throws {
        let chunked = "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n"
        var r = SigV4.Request(method: "PUT", path: "/b/k", query: "", headers: [("content-encoding", "aws-chunked"),
                              ("x-amz-decoded-content-length", "11"), ("x-amz-trailer", "x-amz-checksum-crc32")], body: Array(chunked.utf8))
        try AWSChunked.decode(&r)
        XCTAssertEqual(String(decoding: r.body, as: UTF8.self), "hello world")
        XCTAssertEqual(r.header("x-amz-checksum-crc32"), "DUoRhQ==")
        XCTAssertNil(r.header("content-encoding"))
        XCTAssertNil(r.header("x-amz-decoded-content-length"))
        var broken = SigV4.Request(method: "PUT", path: "/b/k", query: "", headers: [], body: Array("ff\r\nshort\r\n".utf8))
        XCTAssertThrowsError(try AWSChunked.decode(&broken))
    }

    func testCanonicalForms() {
        XCTAssertEqual(SigV4.canonicalQuery("b=2&a=1&a=0&c=x%2Fy&d=a+b&e"), "a=0&a=1&b=2&c=x%2Fy&d=a%2Bb&e=")
        XCTAssertEqual(SigV4.canonicalURI("/a b/../c/%41", service: "lambda"), "/c/%2541")
        XCTAssertEqual(SigV4.canonicalURI("/bucket/my%20key", service: "s3"), "/bucket/my%20key")
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF43926)
    }
}

extension SigV4Tests {
    func testAnAwsChunkedSizeNearIntMaxIsRefusedNotATrap() {
        var r = SigV4.Request(method: "PUT", path: "/b/k", query: "", headers: [], body: Array("7fffffffffffffff\r\nab".utf8))
        XCTAssertThrowsError(try AWSChunked.decode(&r))
    }
}
