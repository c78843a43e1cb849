import Crypto
import Foundation
import HoopJSON

/// The temporary credentials the AWS door hands out (docs/aws.md, "Credentials"):
/// an access key id, a secret derived from it with the gateway key (never stored,
/// never in a frame) and a session token that is the gateway's signed statement of
/// who, for which connection, until when. AWS knows none of them; a gateway with the
/// same key honours them after a restart.
public struct GatewayKey: Sendable {
    let key: SymmetricKey
    public static let tokenPrefix = "hoop1."

    public init(bytes: [UInt8]) throws {
        guard bytes.count >= 32 else { throw AWSError("InternalFailure", 500, "the gateway key must be at least 32 bytes") }
        key = SymmetricKey(data: bytes)
    }

    /// Reads the key file (raw bytes or text; at least 32 bytes).
    public init(file: String) throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw AWSError("InternalFailure", 500, "cannot read the gateway key file \(file)")
        }
        try self.init(bytes: Array(data))
    }

    /// What a session token states.
    public struct Claims: Equatable, Sendable {
        public var accessKeyId: String
        public var issuer: String, subject: String, user: String
        public var groups: [String]
        public var kind: String
        public var connection: String
        public var expires: Double
        public var issued: Double

        public init(accessKeyId: String, issuer: String, subject: String, user: String, groups: [String], kind: String,
                    connection: String, expires: Double, issued: Double) {
            self.accessKeyId = accessKeyId; self.issuer = issuer; self.subject = subject; self.user = user
            self.groups = groups; self.kind = kind; self.connection = connection; self.expires = expires; self.issued = issued
        }

        var json: JSON {
            .object(["akid": .string(accessKeyId), "iss": .string(issuer), "sub": .string(subject), "user": .string(user),
                     "groups": .array(groups.map(JSON.string)), "kind": .string(kind), "conn": .string(connection),
                     "exp": .int(Int64(expires)), "iat": .int(Int64(issued))])
        }

        init?(_ j: JSON) {
            guard let akid = j["akid"]?.string, let iss = j["iss"]?.string, let sub = j["sub"]?.string,
                  let user = j["user"]?.string, let conn = j["conn"]?.string, let exp = j["exp"]?.int, let iat = j["iat"]?.int
            else { return nil }
            self.init(accessKeyId: akid, issuer: iss, subject: sub, user: user,
                      groups: (j["groups"]?.array ?? []).compactMap(\.string), kind: j["kind"]?.string ?? "agent",
                      connection: conn, expires: Double(exp), issued: Double(iat))
        }
    }

    /// A new access key id in AWS's shape for temporary keys.
    public static func newAccessKeyId() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var rng = SystemRandomNumberGenerator()
        return "ASIA" + String((0..<16).map { _ in alphabet[Int(rng.next(upperBound: UInt32(alphabet.count)))] })
    }

    /// The secret that goes with `accessKeyId`: derived, so nothing needs to be stored.
    public func secret(for accessKeyId: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(("hoop-aws-secret\n" + accessKeyId).utf8), using: key)
        return Data(Array(mac).prefix(30)).base64EncodedString()
    }

    public func sessionToken(_ claims: Claims) -> String {
        let payload = base64URL(claims.json.encodedString.utf8)
        return Self.tokenPrefix + payload + "." + base64URL(mac(payload))
    }

    /// The claims of a token this key signed, whatever its expiry (the caller checks
    /// that); nil when it is not one (another key, altered, not a hoop token).
    public func verify(token: String) -> Claims? {
        guard token.hasPrefix(Self.tokenPrefix), token.utf8.count <= 8192 else { return nil }
        let parts = token.dropFirst(Self.tokenPrefix.count).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let sig = fromBase64URL(parts[1]),
              HMAC<SHA256>.isValidAuthenticationCode(sig, authenticating: Array(("hoop-aws-token\n" + parts[0]).utf8), using: key),
              let payload = fromBase64URL(parts[0]), let j = try? JSON.parse(payload) else { return nil }
        return Claims(j)
    }

    func mac(_ payload: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(("hoop-aws-token\n" + payload).utf8), using: key))
    }
}

func base64URL<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
    Data(Array(bytes)).base64EncodedString().replacingOccurrences(of: "+", with: "-")
        .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
}

func fromBase64URL(_ s: Substring) -> [UInt8]? {
    var t = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    guard !t.contains("=") else { return nil }
    while t.count % 4 != 0 { t += "=" }
    return Data(base64Encoded: t).map(Array.init)
}
