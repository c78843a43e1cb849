import HoopFrames
import HoopMasking

/// JSON documents (json, jsonb values): a member named like a column a rule covers
/// ("first_name", "ssn", "date_of_birth") is masked by that rule, wherever the document
/// came from — a JSON column filled from a table, `to_jsonb(p)` stored elsewhere.
/// Content detection then reads what is left.
enum JSONMembers {
    static func mask(_ text: String, _ masker: Masker, rule: (String) -> ColumnRule?) throws -> MaskResult {
        guard let doc = try? JSON.parse(text) else {
            // The server sent it as JSON; what cannot be read here is not passed in clear.
            return try masker.mask(text, rule: ResponseMasking.untraced, typeOID: 25)
        }
        var counts: [String: Int] = [:]
        let masked = try walk(doc, masker, rule, &counts)
        guard !counts.isEmpty else { return MaskResult(text, counts: [:]) }
        var w = JSONWriter()
        w.value(masked)
        return MaskResult(String(decoding: w.bytes, as: UTF8.self), counts: counts)
    }

    static func walk(_ v: JSON, _ masker: Masker, _ rule: (String) -> ColumnRule?, _ counts: inout [String: Int]) throws -> JSON {
        switch v {
        case .object(let members):
            var out: [String: JSON] = [:]
            for (k, m) in members {
                if let r = rule(k) {
                    // The whole member, whatever it holds, as text masked by the rule.
                    let text: String
                    if case .string(let s) = m { text = s } else { var w = JSONWriter(); w.value(m); text = String(decoding: w.bytes, as: UTF8.self) }
                    if case .null = m { out[k] = m; continue }
                    let r = try masker.mask(text, rule: r, typeOID: 25)
                    counts.merge(r.counts, uniquingKeysWith: +)
                    out[k] = r.value.map(JSON.string) ?? .null
                } else {
                    out[k] = try walk(m, masker, rule, &counts)
                }
            }
            return .object(out)
        case .array(let items):
            return .array(try items.map { try walk($0, masker, rule, &counts) })
        default:
            return v
        }
    }
}
