import Foundation
import XCTest
@testable import HoopAWS
import HoopJSON

final class RDSAuthTokenTests: XCTestCase {
    static let keys = AWSCredentials(accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                     sessionToken: nil)
    static let temporaryKeys = AWSCredentials(accessKeyId: "ASIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                              sessionToken: "IQoJb3JpZ2luX2VjE//session+token==")
    /// 2026-01-01T00:00:00Z.
    static let at = Date(timeIntervalSince1970: 1_767_225_600)

    // Both expected tokens come from botocore 1.43.11's `generate_db_auth_token` (an `rds`
    // client made with these keys; botocore.auth.get_current_datetime patched to return
    // 2026-01-01T00:00:00 UTC), run once by hand; integration/test_rds_iam.py compares
    // many more inputs with botocore live.

    func testLongTermKeysGiveBotocoresToken() {
        let token = RDSAuthToken.make(host: "clinic.cluster-c9akciq32.eu-west-1.rds.amazonaws.com", port: 5432, user: "hoop_iam",
                                      region: "eu-west-1", credentials: Self.keys, at: Self.at)
        XCTAssertEqual(token, "clinic.cluster-c9akciq32.eu-west-1.rds.amazonaws.com:5432/?Action=connect&DBUser=hoop_iam"
                       + "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260101%2Feu-west-1%2Frds-db%2Faws4_request"
                       + "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host"
                       + "&X-Amz-Signature=3457a6a0c3682eab731c49d26b5f1fe17542564a67b4272d433f24c3adde4864")
    }

    /// Temporary keys (the session token after SignedHeaders), a user that needs
    /// percent-encoding (UTF-8, space, `'`, `+`, `@`, `=`), a host in mixed case (signed
    /// lower-case) on https's own port (signed without it).
    func testTemporaryKeysAndAnEncodedUserGiveBotocoresToken() {
        let token = RDSAuthToken.make(host: "Clinic.Example.COM", port: 443, user: "Zoë o'Neil+ops@example.org=x y",
                                      region: "us-gov-west-1", credentials: Self.temporaryKeys, at: Self.at)
        XCTAssertEqual(token, "Clinic.Example.COM:443/?Action=connect&DBUser=Zo%C3%AB%20o%27Neil%2Bops%40example.org%3Dx%20y"
                       + "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAIOSFODNN7EXAMPLE%2F20260101%2Fus-gov-west-1%2Frds-db%2Faws4_request"
                       + "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host"
                       + "&X-Amz-Security-Token=IQoJb3JpZ2luX2VjE%2F%2Fsession%2Btoken%3D%3D"
                       + "&X-Amz-Signature=fd1013f10fe1208f1a0935180654a94b5bb8abf382d391feb29e9607d5509329")
    }

    /// The renewal rule on a clock: every token is dated by the clock when it is asked
    /// for (one per upstream connection), so one asked for 11 minutes after another is
    /// not the earlier one and is valid for 15 minutes from then.
    func testEachTokenIsDatedWhenItIsAskedFor() throws {
        final class Clock: @unchecked Sendable { var now = RDSAuthTokenTests.at }
        let clock = Clock()
        let source = RDSAuthTokenSource(host: "db.example.com", port: 5432, user: "hoop_iam", region: "us-east-1",
                                        credentials: { Self.keys }, clock: { clock.now })
        let first = try source.token()
        XCTAssertTrue(first.contains("X-Amz-Date=20260101T000000Z"))
        XCTAssertEqual(try source.token(), first, "same inputs, same second: the same token")
        clock.now = Self.at.addingTimeInterval(1)
        let second = try source.token()
        XCTAssertNotEqual(second, first, "a second later: a new token, not a kept one")
        XCTAssertTrue(second.contains("X-Amz-Date=20260101T000001Z"))
        clock.now = Self.at.addingTimeInterval(660)
        XCTAssertTrue(try source.token().contains("X-Amz-Date=20260101T001100Z"), "11 minutes on: dated then, never the old one")
    }

    /// Keys are read for each token: a rotated key is used at once, and keys that cannot
    /// be read fail the token (and so that connection), not the stage.
    func testCredentialsAreReadForEachToken() throws {
        final class Keys: @unchecked Sendable { var current: AWSCredentials? = RDSAuthTokenTests.keys }
        let keys = Keys()
        let source = RDSAuthTokenSource(host: "db.example.com", port: 5432, user: "u", region: "us-east-1",
                                        credentials: { guard let k = keys.current else { throw AWSCredentials.LoadError("gone") }; return k },
                                        clock: { Self.at })
        XCTAssertTrue(try source.token().contains("X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F"))
        keys.current = Self.temporaryKeys
        let rotated = try source.token()
        XCTAssertTrue(rotated.contains("X-Amz-Credential=ASIAIOSFODNN7EXAMPLE%2F") && rotated.contains("X-Amz-Security-Token="))
        keys.current = nil
        XCTAssertThrowsError(try source.token())
    }

    /// The presigned query the client side makes is one the gateway's verifier side reads
    /// with the same canonical request: recomputing the signature over the query less
    /// X-Amz-Signature gives the signature it carries.
    func testThePresignedQueryUsesTheSharedCanonicalRequest() {
        let r = SigV4.Request(method: "GET", path: "/", query: "Action=connect&DBUser=a%20b", headers: [("host", "h:5432")], body: [])
        let query = SigV4.presignedQuery(r, accessKey: "AK", secret: "SK", sessionToken: "T/+", region: "us-east-1",
                                         service: "rds-db", date: Self.at, expires: 900)
        let signature = String(query.split(separator: "&").last!.dropFirst("X-Amz-Signature=".count))
        var signed = r; signed.query = query
        let canonical = SigV4.canonicalRequest(signed, service: "rds-db", signed: ["host"], payloadHash: SigV4.emptySHA256,
                                               skipQuery: "X-Amz-Signature")
        let scope = SigV4.Scope(date: "20260101", region: "us-east-1", service: "rds-db")
        XCTAssertEqual(signature, SigV4.signature(secret: "SK", scope: scope,
                                                  stringToSign: SigV4.stringToSign(amzDate: "20260101T000000Z", scope: scope, canonicalRequest: canonical)))
    }

    func testCredentialsNeverPrintThemselves() {
        for k in [Self.keys, Self.temporaryKeys] {
            for text in ["\(k)", String(describing: k), String(reflecting: k)] {
                XCTAssertFalse(text.contains(k.accessKeyId) || text.contains(k.secretAccessKey) || text.contains("session+token"), text)
            }
        }
    }

    func testCredentialsLoadFromFilesAndEnvironment() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hoop-rds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "AKIAFILE\n".write(to: dir.appendingPathComponent("akid"), atomically: true, encoding: .utf8)
        let c: JSON = .object(["access_key_id_file": .string("akid"), "secret_access_key_env": .string("SK_VAR"),
                               "session_token_env": .string("TOKEN_VAR")])
        let k = try AWSCredentials.load(connection: c, name: "keys", path: { dir.appendingPathComponent($0).path },
                                        environment: ["SK_VAR": "secret", "TOKEN_VAR": "tok"])
        XCTAssertEqual([k.accessKeyId, k.secretAccessKey, k.sessionToken], ["AKIAFILE", "secret", "tok"])
        XCTAssertThrowsError(try AWSCredentials.load(connection: c, name: "keys", path: { dir.appendingPathComponent($0).path },
                                                     environment: ["SK_VAR": "secret"])) { e in
            XCTAssertEqual("\(e)", "connections.keys.session_token_env: TOKEN_VAR is not set")
        }
        XCTAssertThrowsError(try AWSCredentials.load(connection: .object([:]), name: "keys", path: { $0 }, environment: [:]))
    }
}
