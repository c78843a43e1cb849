/// What a function of SQL text returns (a classification, a lineage), cached two
/// ways, for short texts only and by count (a cache of big texts would hold their PHI
/// and memory): by the exact text, and by its shape (libpg_query's normalisation:
/// literals replaced by $n, so no PHI is kept) when the shape gives exactly what the
/// text gave. A literal then changed nothing, and a bind parameter in its place is
/// judged as strictly as any literal could be: `WHERE aid = 42` and `WHERE aid = 43`
/// share one parse, `LIMIT 5` and `LIMIT $1` differ, so texts with a LIMIT are
/// computed each time. Not thread-safe: its owner serialises calls.
public final class ShapeCache<Value: Equatable> {
    let limit: Int
    private var exact: [String: Value] = [:]
    private var shapes: [String: Value] = [:]

    public init(limit: Int = 4096) { self.limit = limit }

    /// `scope` separates callers whose `compute` differs for the same text (options).
    public func value(_ sql: String, scope: String = "", _ compute: (String) -> Value) -> Value {
        if let hit = exact[scope + "\u{0}" + sql] { return hit }
        let short = sql.utf8.count <= 4096
        let shape = short ? SQLParser.normalize(sql) : nil
        if let shape, let hit = shapes[scope + "\u{0}" + shape] { return hit }
        let v = compute(sql)
        guard short else { return v }
        Self.insert(v, scope + "\u{0}" + sql, into: &exact, limit: limit)
        if let shape, shape != sql, compute(shape) == v {
            Self.insert(v, scope + "\u{0}" + shape, into: &shapes, limit: limit)
        }
        return v
    }

    static func insert(_ v: Value, _ key: String, into cache: inout [String: Value], limit: Int) {
        if cache.count >= limit { cache.removeAll(keepingCapacity: true) }
        cache[key] = v
    }
}
