import Crypto
import Foundation

/// AWS Signature Version 4 (docs/aws.md, "Signatures"): one implementation of the
/// canonical request, used by the AWS door to verify what a client signed and by
/// hoop-connect-aws to sign what it forwards.
public enum SigV4 {
    public static let algorithm = "AWS4-HMAC-SHA256"
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    public static let emptySHA256 = hex(SHA256.hash(data: [UInt8]()))

    /// An HTTP request as signed: the path and query exactly as they travel (percent-encoded).
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: String
        /// Header names lower-case; a repeated header keeps its values in order.
        public var headers: [(String, String)]
        public var body: [UInt8]

        public init(method: String, path: String, query: String, headers: [(String, String)], body: [UInt8]) {
            self.method = method; self.path = path; self.query = query; self.headers = headers; self.body = body
        }

        public func header(_ name: String) -> String? { headers.first { $0.0 == name }?.1 }
        public mutating func setHeader(_ name: String, _ value: String) {
            headers.removeAll { $0.0 == name }
            headers.append((name, value))
        }
    }

    /// The scope of a signature: date (yyyymmdd), region, service.
    public struct Scope: Equatable, Sendable {
        public var date: String, region: String, service: String
        public init(date: String, region: String, service: String) { self.date = date; self.region = region; self.service = service }
        public var text: String { "\(date)/\(region)/\(service)/aws4_request" }
    }

    // MARK: the canonical request

    /// The canonical URI: S3 signs the path as sent; every other service signs it
    /// normalized (dot segments removed) and encoded once more.
    public static func canonicalURI(_ path: String, service: String) -> String {
        let p = path.isEmpty ? "/" : path
        if service == "s3" || service == "s3-object-lambda" { return p }
        return uriEncode(removeDotSegments(p), keepSlash: true)
    }

    /// The canonical query string: pairs decoded (only %XX; `+` is a plus), encoded
    /// the AWS way and sorted by name, then value. `skip` leaves out a parameter (the
    /// presigned form's own signature).
    public static func canonicalQuery(_ query: String, skip: String? = nil) -> String {
        var pairs: [(String, String)] = []
        for (name, value) in queryPairs(query) where name != skip {
            pairs.append((uriEncode(name, keepSlash: false), uriEncode(value, keepSlash: false)))
        }
        pairs.sort { (a: (String, String), b: (String, String)) -> Bool in a.0 != b.0 ? a.0 < b.0 : a.1 < b.1 }
        return pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    public static func canonicalHeaders(_ headers: [(String, String)], signed: [String]) -> String {
        signed.map { name in
            let values = headers.filter { $0.0 == name }.map { collapseSpaces($0.1) }
            return "\(name):\(values.joined(separator: ","))\n"
        }.joined()
    }

    public static func canonicalRequest(_ r: Request, service: String, signed: [String], payloadHash: String,
                                        skipQuery: String? = nil) -> String {
        [r.method, canonicalURI(r.path, service: service), canonicalQuery(r.query, skip: skipQuery),
         canonicalHeaders(r.headers, signed: signed), signed.joined(separator: ";"), payloadHash].joined(separator: "\n")
    }

    public static func stringToSign(amzDate: String, scope: Scope, canonicalRequest: String) -> String {
        [algorithm, amzDate, scope.text, hex(SHA256.hash(data: Array(canonicalRequest.utf8)))].joined(separator: "\n")
    }

    public static func signingKey(secret: String, scope: Scope) -> SymmetricKey {
        var key = SymmetricKey(data: Array(("AWS4" + secret).utf8))
        for part in [scope.date, scope.region, scope.service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return key
    }

    public static func signature(secret: String, scope: Scope, stringToSign: String) -> String {
        hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: signingKey(secret: secret, scope: scope)))
    }

    // MARK: signing (hoop-connect-aws)

    /// Signs `r` in the header form: sets host (if missing), x-amz-date, the session
    /// token, x-amz-content-sha256 (S3 always, others when given) and Authorization.
    public static func sign(_ r: inout Request, accessKey: String, secret: String, sessionToken: String?,
                            region: String, service: String, date: Date = Date(), payloadHash: String? = nil) {
        let amzDate = amzDateFormat(date)
        let scope = Scope(date: String(amzDate.prefix(8)), region: region, service: service)
        r.headers.removeAll { $0.0 == "authorization" || $0.0 == "x-amz-date" || $0.0 == "x-amz-security-token" }
        r.setHeader("x-amz-date", amzDate)
        if let sessionToken { r.setHeader("x-amz-security-token", sessionToken) }
        let hash = payloadHash ?? (service == "s3" ? hex(SHA256.hash(data: r.body)) : nil)
        if let hash { r.setHeader("x-amz-content-sha256", hash) }
        let signed = Set(r.headers.map(\.0)).filter(shouldSign).sorted()
        let canonical = canonicalRequest(r, service: service, signed: signed, payloadHash: hash ?? hex(SHA256.hash(data: r.body)))
        let sig = signature(secret: secret, scope: scope, stringToSign: stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: canonical))
        r.setHeader("authorization", "\(algorithm) Credential=\(accessKey)/\(scope.text), SignedHeaders=\(signed.joined(separator: ";")), Signature=\(sig)")
    }

    /// Presigns `r` in the query form, as botocore's SigV4QueryAuth does, and returns the
    /// query as it travels: the request's own query (already encoded), then
    /// X-Amz-Algorithm, -Credential, -Date, -Expires, -SignedHeaders and, for temporary
    /// credentials, -Security-Token (in that order, not sorted: byte-for-byte what the
    /// SDKs make), then X-Amz-Signature. The signed headers are the request's own (`host`
    /// at least); the payload is the body's hash (empty for a GET).
    public static func presignedQuery(_ r: Request, accessKey: String, secret: String, sessionToken: String?,
                                      region: String, service: String, date: Date, expires: Int) -> String {
        let amzDate = amzDateFormat(date)
        let scope = Scope(date: String(amzDate.prefix(8)), region: region, service: service)
        let signed = Set(r.headers.map(\.0)).filter(shouldSign).sorted()
        var auth = [("X-Amz-Algorithm", algorithm), ("X-Amz-Credential", "\(accessKey)/\(scope.text)"), ("X-Amz-Date", amzDate),
                    ("X-Amz-Expires", String(expires)), ("X-Amz-SignedHeaders", signed.joined(separator: ";"))]
        if let sessionToken { auth.append(("X-Amz-Security-Token", sessionToken)) }
        var presigned = r
        presigned.query = (r.query.isEmpty ? "" : r.query + "&")
            + auth.map { "\($0.0)=\(uriEncode($0.1, keepSlash: false))" }.joined(separator: "&")
        let canonical = canonicalRequest(presigned, service: service, signed: signed, payloadHash: hex(SHA256.hash(data: r.body)))
        let sig = signature(secret: secret, scope: scope, stringToSign: stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: canonical))
        return presigned.query + "&X-Amz-Signature=" + sig
    }

    /// Headers a signer covers: host, content-type, content-md5 and every x-amz-* one
    /// (not the ones proxies rewrite, like user-agent or connection).
    static func shouldSign(_ name: String) -> Bool {
        name == "host" || name == "content-type" || name == "content-md5" || name.hasPrefix("x-amz-")
    }

    // MARK: text helpers

    /// AWS's URI encoding: every byte but A-Z a-z 0-9 - . _ ~ (and `/` when kept) as %XX.
    public static func uriEncode(_ s: String, keepSlash: Bool) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(b))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out += String(format: "%%%02X", b)
            }
        }
        return out
    }

    /// %XX decoding only (a `+` stays a plus); nil for a broken escape or non-UTF-8.
    public static func percentDecode(_ s: Substring) -> String? {
        guard s.contains("%") else { return String(s) }
        var bytes: [UInt8] = []
        var i = s.utf8.startIndex
        let u = s.utf8
        while i < u.endIndex {
            if u[i] == UInt8(ascii: "%") {
                let h1 = u.index(after: i)
                guard h1 < u.endIndex, u.index(after: h1) < u.endIndex,
                      let hi = hexValue(u[h1]), let lo = hexValue(u[u.index(after: h1)]) else { return nil }
                bytes.append(hi << 4 | lo)
                i = u.index(h1, offsetBy: 2)
            } else {
                bytes.append(u[i]); i = u.index(after: i)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// The query's name/value pairs, decoded; a pair that cannot be decoded keeps its raw text.
    public static func queryPairs(_ query: String) -> [(String, String)] {
        query.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = percentDecode(parts[0]) ?? String(parts[0])
            let value = parts.count > 1 ? (percentDecode(parts[1]) ?? String(parts[1])) : ""
            return (name, value)
        }
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    static func collapseSpaces(_ s: String) -> String {
        s.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    /// RFC 3986 dot-segment removal, as the SDKs normalize a path before signing.
    static func removeDotSegments(_ path: String) -> String {
        var out: [Substring] = []
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        for (i, p) in parts.enumerated() {
            if p == "." { if i == parts.count - 1 { out.append("") }; continue }
            if p == ".." { if out.count > 1 { out.removeLast() }; if i == parts.count - 1 { out.append("") }; continue }
            out.append(p)
        }
        let joined = out.joined(separator: "/")
        return joined.hasPrefix("/") ? joined : "/" + joined
    }

    public static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    public static func amzDateFormat(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return f.string(from: date)
    }

    public static func parseAmzDate(_ s: String) -> Date? {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        guard s.count == 16 else { return nil }
        return f.date(from: s)
    }
}

extension SHA256.Digest {
    var bytes: [UInt8] { Array(self) }
}
