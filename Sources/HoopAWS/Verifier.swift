import Crypto
import Foundation

/// Checks a call's SigV4 signature, header or presigned form, against the gateway's
/// temporary credentials (docs/aws.md, "What the door checks"). Nothing is forwarded
/// unless this says yes.
public struct SigV4Verifier: Sendable {
    public let key: GatewayKey
    /// How far X-Amz-Date may be from now, either way (AWS's own limit).
    public var maxSkew: Double = 300
    public static let maxPresignedExpiry = 604_800.0

    public init(key: GatewayKey) { self.key = key }

    /// What a valid signature establishes.
    public struct Verified: Sendable {
        public var claims: GatewayKey.Claims
        public var token: String
        public var scope: SigV4.Scope
        public var signedHeaders: [String]
        /// The payload hash the client signed (a hex digest, UNSIGNED-PAYLOAD or a streaming form).
        public var payloadHash: String
        public var presigned: Bool
    }

    public enum Streaming { public static let unsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER" }

    public func verify(_ r: SigV4.Request, now: Double = Date().timeIntervalSince1970) throws -> Verified {
        let query = SigV4.queryPairs(r.query)
        func q(_ name: String) -> String? { query.first { $0.0 == name }?.1 }
        if q("X-Amz-Algorithm") != nil || q("X-Amz-Signature") != nil {
            return try verifyPresigned(r, q, now: now)
        }
        if q("AWSAccessKeyId") != nil || q("Signature") != nil {
            throw AWSError("AccessDenied", 403, "hoop accepts only Signature Version 4 (AWS4-HMAC-SHA256); presign with signature_version = s3v4")
        }
        guard let auth = r.header("authorization") else { throw AWSError.missingAuthentication() }
        guard auth.hasPrefix(SigV4.algorithm + " ") else {
            throw AWSError("IncompleteSignature", 400, "hoop accepts only Signature Version 4 (AWS4-HMAC-SHA256)")
        }
        var fields: [String: String] = [:]
        for part in auth.dropFirst(SigV4.algorithm.count + 1).split(separator: ",") {
            let kv = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { continue }
            fields[String(kv[0])] = String(kv[1])
        }
        guard let credential = fields["Credential"], let signedList = fields["SignedHeaders"], let signature = fields["Signature"] else {
            throw AWSError("IncompleteSignature", 400, "The Authorization header lacks Credential, SignedHeaders or Signature")
        }
        guard let amzDate = r.header("x-amz-date") else {
            throw AWSError("IncompleteSignature", 400, "The request has no X-Amz-Date header")
        }
        let (akid, scope) = try parseCredential(credential)
        try checkDate(amzDate, scope: scope, now: now, window: maxSkew)
        guard let token = r.header("x-amz-security-token") else { throw AWSError.invalidToken() }
        let claims = try checkToken(token, accessKeyId: akid, now: now)
        let signed = try signedHeaders(signedList, r)
        let payload = try payloadHash(r, declared: r.header("x-amz-content-sha256"), service: scope.service, presigned: false)
        let canonical = SigV4.canonicalRequest(r, service: scope.service, signed: signed, payloadHash: payload)
        try compare(signature, claims: claims, scope: scope, amzDate: amzDate, canonical: canonical)
        return Verified(claims: claims, token: token, scope: scope, signedHeaders: signed, payloadHash: payload, presigned: false)
    }

    func verifyPresigned(_ r: SigV4.Request, _ q: (String) -> String?, now: Double) throws -> Verified {
        guard q("X-Amz-Algorithm") == SigV4.algorithm else {
            throw AWSError("AuthorizationQueryParametersError", 400, "X-Amz-Algorithm must be AWS4-HMAC-SHA256")
        }
        guard let credential = q("X-Amz-Credential"), let amzDate = q("X-Amz-Date"), let expiresText = q("X-Amz-Expires"),
              let signedList = q("X-Amz-SignedHeaders"), let signature = q("X-Amz-Signature") else {
            throw AWSError("AuthorizationQueryParametersError", 400,
                           "A presigned URL needs X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders and X-Amz-Signature")
        }
        guard let expires = Double(expiresText), expires >= 1, expires <= Self.maxPresignedExpiry else {
            throw AWSError("AuthorizationQueryParametersError", 400, "X-Amz-Expires must be between 1 and 604800 seconds")
        }
        let (akid, scope) = try parseCredential(credential)
        guard let date = SigV4.parseAmzDate(amzDate), amzDate.hasPrefix(scope.date) else {
            throw AWSError("AuthorizationQueryParametersError", 400, "X-Amz-Date is malformed or does not match the credential scope")
        }
        guard date.timeIntervalSince1970 <= now + maxSkew else {
            throw AWSError("RequestTimeTooSkewed", 403, "The request's date is too far in the future")
        }
        guard now <= date.timeIntervalSince1970 + expires else { throw AWSError("AccessDenied", 403, "Request has expired") }
        guard let token = q("X-Amz-Security-Token") else { throw AWSError.invalidToken() }
        let claims = try checkToken(token, accessKeyId: akid, now: now)
        let signed = try signedHeaders(signedList, r)
        let payload = try payloadHash(r, declared: q("X-Amz-Content-Sha256"), service: scope.service, presigned: true)
        let canonical = SigV4.canonicalRequest(r, service: scope.service, signed: signed, payloadHash: payload, skipQuery: "X-Amz-Signature")
        try compare(signature, claims: claims, scope: scope, amzDate: amzDate, canonical: canonical)
        return Verified(claims: claims, token: token, scope: scope, signedHeaders: signed, payloadHash: payload, presigned: true)
    }

    func parseCredential(_ credential: String) throws -> (String, SigV4.Scope) {
        let parts = credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5, parts[4] == "aws4_request", parts[1].count == 8, !parts[2].isEmpty, !parts[3].isEmpty else {
            throw AWSError("IncompleteSignature", 400, "The credential must be ACCESS_KEY/yyyymmdd/region/service/aws4_request")
        }
        // The region and service become part of the upstream's host name: only their own
        // shapes pass ("us-east-1", "s3"), never a character that could name another host.
        guard Self.isRegion(parts[2]), parts[3].utf8.allSatisfy({ Self.isNameByte($0) }), parts[1].allSatisfy(\.isNumber) else {
            throw AWSError("IncompleteSignature", 400, "The credential scope's date, region or service is malformed")
        }
        return (parts[0], SigV4.Scope(date: parts[1], region: parts[2], service: parts[3]))
    }

    /// An AWS region's shape: lower-case words and a number, joined by `-` ("us-east-1",
    /// "us-gov-west-1", "ap-southeast-4").
    public static func isRegion(_ r: String) -> Bool {
        let parts = r.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 3, r.utf8.count <= 32, let last = parts.last, !last.isEmpty, last.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
        return parts.dropLast().allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isLowercase } }
    }

    static func isNameByte(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2D
    }

    func checkDate(_ amzDate: String, scope: SigV4.Scope, now: Double, window: Double) throws {
        guard let date = SigV4.parseAmzDate(amzDate), amzDate.hasPrefix(scope.date) else {
            throw AWSError("IncompleteSignature", 400, "X-Amz-Date is malformed or does not match the credential scope")
        }
        guard abs(date.timeIntervalSince1970 - now) <= window else {
            throw AWSError("RequestExpired", 403, "Request has expired: X-Amz-Date is more than 5 minutes from the gateway's time")
        }
    }

    /// The token must be this gateway's, for this access key, and unexpired.
    func checkToken(_ token: String, accessKeyId: String, now: Double) throws -> GatewayKey.Claims {
        guard let claims = key.verify(token: token), claims.accessKeyId == accessKeyId else { throw AWSError.invalidToken() }
        guard claims.expires > now else { throw AWSError.expiredToken() }
        return claims
    }

    func signedHeaders(_ list: String, _ r: SigV4.Request) throws -> [String] {
        let signed = list.split(separator: ";").map { String($0) }
        guard signed.contains("host"), signed == signed.sorted(), Set(signed).count == signed.count,
              signed.allSatisfy({ $0 == $0.lowercased() && r.header($0) != nil }) else {
            throw AWSError.signatureMismatch()
        }
        return signed
    }

    /// The payload hash the client declared, checked against the body when it is a digest.
    func payloadHash(_ r: SigV4.Request, declared: String?, service: String, presigned: Bool) throws -> String {
        guard let declared else {
            return presigned && service == "s3" ? SigV4.unsignedPayload : SigV4.hex(SHA256.hash(data: r.body))
        }
        switch declared {
        case SigV4.unsignedPayload, Streaming.unsignedTrailer:
            // Only S3 lets a body go unsigned; for any other service the body is the call.
            guard service == "s3" || service == "s3-object-lambda" else {
                throw AWSError("IncompleteSignature", 400, "\(declared) is accepted for S3 only: sign the body")
            }
            return declared
        case _ where declared.hasPrefix("STREAMING-"):
            throw AWSError("NotImplemented", 501,
                           "hoop accepts uploads signed as UNSIGNED-PAYLOAD or STREAMING-UNSIGNED-PAYLOAD-TRAILER, not per-chunk signatures (\(declared))")
        default:
            guard declared.count == 64, declared == SigV4.hex(SHA256.hash(data: r.body)) else {
                throw AWSError("XAmzContentSHA256Mismatch", 400, "The provided 'x-amz-content-sha256' header does not match what was computed.")
            }
            return declared
        }
    }

    func compare(_ signature: String, claims: GatewayKey.Claims, scope: SigV4.Scope, amzDate: String, canonical: String) throws {
        let expected = SigV4.signature(secret: key.secret(for: claims.accessKeyId), scope: scope,
                                       stringToSign: SigV4.stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: canonical))
        // Constant time: the comparison must not tell how much of a guess was right.
        let a = Array(expected.utf8), b = Array(signature.utf8)
        guard a.count == b.count, zip(a, b).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else { throw AWSError.signatureMismatch() }
    }
}
