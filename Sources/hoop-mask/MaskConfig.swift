import Foundation
import HoopFrames
import HoopMasking

/// A connection's `masking` section (docs/masking.md). A connection without one is
/// still masked: every detector, every finding redacted.
enum MaskConfig {
    static func policies(_ cfg: GatewayConfig) throws -> [String: MaskPolicy] {
        var out: [String: MaskPolicy] = [:]
        for (name, c) in cfg.json["connections"]?.object ?? [:] {
            guard let m = c["masking"] else { out[name] = MaskPolicy(); continue }
            let key = try cfg.secret(m["hash_key"]).map(HashKey.init)
            func strategy(_ s: String?) throws -> MaskStrategy {
                switch s ?? "redact" {
                case "redact": return .redact
                case "null": return .null
                case "keep": return .keep
                case "hash":
                    guard let key else { throw ConfigError("masking of \(name): \"hash\" needs a hash_key") }
                    return .hash(key: key)
                case let p where p.hasPrefix("partial:"):
                    guard let n = Int(p.dropFirst(8)), n >= 0 else { throw ConfigError("masking of \(name): bad \(p)") }
                    return .partial(keepLast: n)
                case let other: throw ConfigError("masking of \(name): unknown strategy \(other)")
                }
            }
            var entities: [Entity: MaskStrategy] = [:]
            for (k, v) in m["entities"]?.object ?? [:] {
                guard let e = Entity(rawValue: k) else { throw ConfigError("masking of \(name): unknown entity \(k)") }
                entities[e] = try strategy(v.string)
            }
            let rules = try (m["columns"]?.array ?? []).map { r in
                ColumnRule(table: r["table"]?.string ?? "*", column: r["column"]?.string ?? "",
                           strategy: try strategy(r["strategy"]?.string), entity: r["entity"]?.string.flatMap(Entity.init))
            }
            var policy = MaskPolicy(columnRules: rules, entityStrategies: entities, defaultStrategy: try strategy(m["default"]?.string))
            if let patterns = m["mrn_patterns"]?.array?.compactMap(\.string), !patterns.isEmpty { policy.mrnPatterns = patterns }
            // An AWS connection's PHI resources and their field rules (hoop-approve reads the same list).
            policy.resourceRules = try (m["resources"]?.array ?? []).enumerated().map { n, r in
                let what = "connections.\(name).masking.resources[\(n)]"
                let selector = try ResourceSelector(r, what: what)
                let fields = try (r["fields"]?.array ?? []).map { f in
                    guard let field = f["field"]?.string else { throw ConfigError("\(what).fields: each needs a \"field\"") }
                    var entity: Entity? = nil
                    if let e = f["entity"]?.string {
                        guard let known = Entity(rawValue: e) else { throw ConfigError("\(what): unknown entity \(e)") }
                        entity = known
                    }
                    do { return try FieldRule(field: field, strategy: try strategy(f["strategy"]?.string), entity: entity) }
                    catch let e as SelectorError { throw ConfigError("\(what): \(e)") }
                }
                return ResourceRule(selector: selector, fields: fields)
            }
            out[name] = policy
        }
        return out
    }
}
