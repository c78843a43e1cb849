import Crypto
import Foundation
import HoopJSON

/// Pagination tokens the service issued. An approval of a listing covers its further
/// pages, which differ from it by their tokens only (hoop-approve leaves the call's
/// `paging` members out of its fingerprint). That holds for a token the service wrote in
/// an answer; a token the client writes itself is a question: DynamoDB's
/// `ExclusiveStartKey` is any key, and the items after it, in the sort key's order,
/// answer where a masked sort key lies (a binary search, one call per probe). So a token
/// is a page's only when it is one the door delivered in an answer of the same operation
/// on the same session; any other value is part of the call that is judged and approved.
public enum PageTokens {
    /// Tokens remembered per session: past this many, the oldest are forgotten (a page
    /// token sent after that is judged as any parameter: held again, not run).
    public static let maxPerSession = 10_000

    /// A token's identity: the operation, the resources it was issued for (a table's,
    /// a bucket's: a key another table's or bucket's answer delivered, which a client
    /// may have written there itself, starts no page of this one), and the value as the
    /// client sends it back.
    public static func key(_ op: Operations.Identified, _ params: [String: JSON], _ value: String) -> String {
        let scope = JSON.object(CallParams.resources(params)).encodedString
        let text = "\(op.service.signingName) \(op.operation.name)\n\(scope)\n\(value)"
        return SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// An input token's value as text: a string as it is, any other JSON encoded (its members sorted).
    public static func text(_ v: JSON) -> String { v.string ?? v.encodedString }

    /// Whether a parameter's value asks for no page in particular (absent, empty).
    public static func isEmpty(_ v: JSON?) -> Bool {
        guard let v else { return true }
        return v == .null || v == .string("") || v == .object([:])
    }

    /// The values of the next-page tokens an answer (as delivered) carries, by the
    /// operation's `pagingOut` expressions: `A.B`, `A[-1].B`, alternatives joined by `||`.
    /// JSON answers by path; XML answers by the last step's element name, wherever it is
    /// (`NextMarker`; every `Key` of a V1 listing, where the client may start after any
    /// key it was shown). An S3 listing's URL-encoded values are remembered decoded too.
    public static func issued(_ op: Operations.Identified, body: String) -> [String] {
        let exprs = op.operation.pagingOut.flatMap { $0.components(separatedBy: "||") }
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !exprs.isEmpty else { return [] }
        var out: [String] = []
        let head = body.first(where: { !$0.isWhitespace })
        if head == "{", let doc = try? JSON.parse(body) {
            for e in exprs {
                if let v = at(doc, steps(e)), !isEmpty(v) { out.append(text(v)) }
            }
        } else if head == "<" {
            for e in exprs {
                guard let last = steps(e).last?.name, !last.isEmpty else { continue }
                out += elements(last, in: body)
            }
        }
        var all: [String] = []
        for v in out where !v.isEmpty {
            all.append(v)
            if let decoded = v.removingPercentEncoding, decoded != v { all.append(decoded) }
        }
        return all
    }

    struct Step { let name: String; let last: Bool }

    /// `A.B[-1].C` as member names, each maybe indexed (only `[-1]`, the last, is used).
    static func steps(_ e: String) -> [Step] {
        e.split(separator: ".").map { part in
            if let b = part.firstIndex(of: "[") { return Step(name: String(part[..<b]), last: true) }
            return Step(name: String(part), last: false)
        }
    }

    static func at(_ doc: JSON, _ path: [Step]) -> JSON? {
        var v: JSON? = doc
        for s in path {
            v = v?[s.name]
            if s.last { v = v?.array?.last }
        }
        return v
    }

    /// The text of every `<name>…</name>` element (no attributes: the services write
    /// their tokens so), entities decoded.
    static func elements(_ name: String, in xml: String) -> [String] {
        var out: [String] = []
        let open = "<\(name)>", close = "</\(name)>"
        var rest = xml[...]
        while let a = rest.range(of: open), let b = rest.range(of: close, range: a.upperBound..<rest.endIndex) {
            out.append(XMLText.unescaped(String(rest[a.upperBound..<b.lowerBound])))
            rest = rest[b.upperBound...]
        }
        return out
    }

    /// The `paging` members a call frame names: the operation's input tokens, less those
    /// whose value is one the session was not issued (`wasIssued`), which stay in the
    /// call judged and fingerprinted.
    public static func paging(_ op: Operations.Identified, _ params: [String: JSON], wasIssued: (String) -> Bool) -> [String] {
        op.operation.paging.filter { name in
            guard let v = params[name], !isEmpty(v) else { return true }
            return wasIssued(key(op, params, text(v)))
        }
    }
}

/// The page tokens delivered on one session, the oldest forgotten first.
public struct IssuedTokens: Sendable {
    private var order: [String] = []
    private var head = 0
    private var known: Set<String> = []
    public init() {}

    public mutating func insert(_ key: String) {
        guard known.insert(key).inserted else { return }
        order.append(key)
        if known.count > PageTokens.maxPerSession {
            known.remove(order[head])
            head += 1
            if head > PageTokens.maxPerSession { order.removeFirst(head); head = 0 }
        }
    }

    public func contains(_ key: String) -> Bool { known.contains(key) }
    public var count: Int { known.count }
}
