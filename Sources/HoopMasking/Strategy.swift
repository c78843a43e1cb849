import Crypto

/// The key for the `hash` strategy. It lives in the gateway's configuration; the same
/// key gives the same tokens across sessions, so joins and GROUP BY on masked values
/// still line up without revealing them.
public struct HashKey: Sendable, Equatable {
    let key: SymmetricKey
    private let fingerprint: [UInt8]

    public init(_ bytes: [UInt8]) {
        key = SymmetricKey(data: bytes)
        fingerprint = Array(SHA256.hash(data: bytes))
    }
    public init(_ string: String) { self.init(Array(string.utf8)) }

    public static func == (a: HashKey, b: HashKey) -> Bool { a.fingerprint == b.fingerprint }

    /// HMAC-SHA256 of `value`, first `bytes` bytes.
    func mac(_ value: some Sequence<UInt8>, bytes: Int = 8) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(value), using: key).prefix(bytes))
    }
}

/// What a detected span or a ruled column becomes.
public enum MaskStrategy: Sendable, Equatable {
    /// A fixed marker: `[SSN]` for an entity, `[REDACTED]` for a column rule.
    case redact
    /// Letters and digits replaced by `*` except the last `keepLast`; punctuation kept
    /// so the shape stays readable (`***-**-6789`).
    case partial(keepLast: Int)
    /// A deterministic keyed token, `tok_` + 16 hex digits of HMAC-SHA256.
    case hash(key: HashKey)
    /// SQL NULL for a whole value. Inside text a span cannot be NULL, so it is redacted.
    case null
    /// Leave as it is: for allow-listing columns (event times, product codes).
    case keep

    static let hex = Array("0123456789abcdef".utf8)

    /// The text that replaces `value` (a span or a whole text value).
    public func text(for value: ArraySlice<UInt8>, marker: String) -> String {
        switch self {
        case .redact, .null: return marker
        case .keep: return String(decoding: value, as: UTF8.self)
        case .partial(let keep):
            let alnumCount = value.reduce(0) { $0 + (isAlnum($1) ? 1 : 0) }
            var seen = 0, inNonASCII = false
            var out = [UInt8]()
            out.reserveCapacity(value.count)
            for c in value {
                if c >= 0x80 {
                    // Non-ASCII text (names in other scripts) is never kept: one * per run.
                    if !inNonASCII { out.append(ch("*")) }
                    inNonASCII = true
                    continue
                }
                inNonASCII = false
                if isAlnum(c) { seen += 1; out.append(seen > alnumCount - keep ? c : ch("*")) } else { out.append(c) }
            }
            return String(decoding: out, as: UTF8.self)
        case .hash(let key):
            return "tok_" + String(decoding: key.mac(value).flatMap { [Self.hex[Int($0 >> 4)], Self.hex[Int($0 & 15)]] }, as: UTF8.self)
        }
    }
}
