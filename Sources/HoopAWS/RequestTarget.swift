/// A request's target as the SDKs send it: a path and a query, each byte one RFC 3986
/// allows there, every other one percent-encoded. Anything else would be read two ways:
/// a `#` starts a fragment that the upstream's URL parser drops (what was judged as
/// GetObject of `bucket#` ran as a listing of `bucket`), a raw `+` is a plus to the
/// signature and a space to the service (a query's; S3's path's too), and a `;` in the
/// path starts a segment's parameters (RFC 2396; Python's urlparse, which the stand-in
/// reads paths with, cuts them off: `GET /clinic-exports;x` was judged as bucket
/// `clinic-exports;x` and listed `clinic-exports`). No SDK sends a raw `;` in a path (they
/// encode every byte but the unreserved ones and `/`). Refused, not rewritten.
///
/// One rule for every byte a URL parser treats specially in a path: raw, it is refused
/// here (`#`, `?` past the first, `\`, `;`, control bytes, space, `+`); percent-encoded,
/// it is data, decoded once, the same way by the door, S3 and the stand-in (whose
/// server re-encodes a decoded path before parsing it again, all but `;`: an encoded `;`
/// is refused where it would become a parameter, Operations.identify).
public enum RequestTarget {
    public static func split(_ uri: String) throws -> (path: String, query: String) {
        let bytes = Array(uri.utf8)
        func refuse(_ why: String) -> AWSError { AWSError("InvalidURI", 400, "hoop: the request target \(why); percent-encode it") }
        guard bytes.first == UInt8(ascii: "/") else { throw refuse("is not a path") }
        var inQuery = false
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "?") where !inQuery: inQuery = true
            case UInt8(ascii: "%"):
                guard i + 2 < bytes.count, isHex(bytes[i + 1]), isHex(bytes[i + 2]) else { throw refuse("has a % that encodes nothing") }
                i += 2
            case UInt8(ascii: "+"): throw refuse("has a raw + (a space to some services, S3's paths too)")
            case UInt8(ascii: ";") where !inQuery:
                throw refuse("has a raw ; in its path (where URL parsers start a segment's parameters)")
            case _ where targetBytes.contains(c): break
            default: throw refuse("has a byte (\(c)) that must be percent-encoded")
            }
            i += 1
        }
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
    }

    /// RFC 3986's unreserved characters, sub-delimiters but `+`, ":", "@", "/" and "?" (in a query).
    /// (`;` is one of them, in a query only: `split` refuses it in a path.)
    public static let targetBytes: Set<UInt8> = Set(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*,;=:@/?".utf8))

    static func isHex(_ c: UInt8) -> Bool { SigV4.hexValue(c) != nil }
}
