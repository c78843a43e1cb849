/// What a function of SQL text returns (a classification, a lineage), cached two
/// ways, for short texts only and by count (a cache of big texts would hold their PHI
/// and memory): by the exact text, and by its shape (libpg_query's normalisation:
/// literals replaced by $n, so no PHI is kept) when the shape gives exactly what the
/// text gave. A literal then changed nothing, and a bind parameter in its place is
/// judged as strictly as any literal could be: `WHERE aid = 42` and `WHERE aid = 43`
/// share one parse, `LIMIT 5` and `LIMIT $1` differ, so texts with a LIMIT are
/// computed each time. Not thread-safe: its owner serialises calls.
///
/// Normalising is a parse, the costliest step of a hit by shape: a text whose plain
/// literals a scan can find (SQLParser.quickShape) is looked up by the scan first,
/// among shapes that the parse confirmed for a text of the same literal kinds.
public final class ShapeCache<Value: Equatable> {
    let limit: Int
    private var exact: [String: Value] = [:]
    private var shapes: [String: Value] = [:]
    private var quick: [String: Value] = [:]
    /// Texts normalised by a parse (a figure for tests).
    private(set) var parsed = 0

    public init(limit: Int = 4096) { self.limit = limit }

    /// `scope` separates callers whose `compute` differs for the same text (options).
    public func value(_ sql: String, scope: String = "", _ compute: (String) -> Value) -> Value {
        if let hit = exact[scope + "\u{0}" + sql] { return hit }
        let short = sql.utf8.count <= 4096
        let scanned = short ? SQLParser.quickShape(sql) : nil
        let quickKey = scanned.map { scope + "\u{0}" + $0.kinds + "\u{0}" + $0.shape }
        if let quickKey, let hit = quick[quickKey] { return hit }
        if short { parsed += 1 }
        let shape = short ? SQLParser.normalize(sql) : nil
        if let shape, let hit = shapes[scope + "\u{0}" + shape] {
            // A text that is its own shape (parameters, no literals: the extended
            // protocol's usual Parse) is kept by its text too, or each use parsed it again
            // once texts with literals had put that shape here first.
            if shape == sql { Self.insert(hit, scope + "\u{0}" + sql, into: &exact, limit: limit) }
            return hit
        }
        let v = compute(sql)
        guard short else { return v }
        Self.insert(v, scope + "\u{0}" + sql, into: &exact, limit: limit)
        if let shape, shape != sql, compute(shape) == v {
            Self.insert(v, scope + "\u{0}" + shape, into: &shapes, limit: limit)
            // The scan found the very literals the parse replaced: any text that scans
            // to this shape with literals of these kinds parses to it too.
            if let scanned, let quickKey, scanned.shape == shape { Self.insert(v, quickKey, into: &quick, limit: limit) }
        }
        return v
    }

    static func insert(_ v: Value, _ key: String, into cache: inout [String: Value], limit: Int) {
        if cache.count >= limit { cache.removeAll(keepingCapacity: true) }
        cache[key] = v
    }
}

extension SQLParser {
    /// The text with its plain literals replaced by $1, $2 ... in order, found by a scan
    /// rather than a parse, and their kinds ("i" an integer of at most nine digits, "f"
    /// a decimal, "s" a quoted string). Nil when the text holds anything the scan cannot
    /// read exactly as PostgreSQL's lexer does: a dollar sign (parameters, dollar
    /// quotes), a backslash, a comment, a prefixed literal (E'', B'', X'', N'', U&''), a
    /// quote inside a string, strings that continue one another, a number that runs into
    /// a name or has ten digits or more (its token then depends on its value). Used only
    /// as a key where the parse confirmed the same shape (ShapeCache).
    public static func quickShape(_ sql: String) -> (shape: String, kinds: String)? {
        var out: [UInt8] = []
        out.reserveCapacity(sql.utf8.count)
        var kinds: [UInt8] = []
        let bytes = Array(sql.utf8)
        let n = bytes.count
        func isWord(_ b: UInt8) -> Bool {
            (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x5F || b >= 0x80
        }
        func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        func parameter() {
            out.append(0x24)
            out.append(contentsOf: Array(String(kinds.count).utf8))
        }
        var i = 0
        while i < n {
            let b = bytes[i]
            let next: UInt8 = i + 1 < n ? bytes[i + 1] : 0
            switch b {
            case 0x24, 0x5C:   // $ \
                return nil
            case 0x2D where next == 0x2D, 0x2F where next == 0x2A:   // -- /*
                return nil
            case 0x22:   // "identifier": copied whole ("" inside closes and reopens)
                if i > 0 && bytes[i - 1] == 0x26 { return nil }   // U&"..."
                guard let close = bytes[(i + 1)...].firstIndex(of: 0x22) else { return nil }
                out.append(contentsOf: bytes[i...close])
                i = close + 1
            case 0x27:   // 'string'
                if i > 0 && (isWord(bytes[i - 1]) || bytes[i - 1] == 0x26) { return nil }
                guard let close = bytes[(i + 1)...].firstIndex(of: 0x27),
                      !bytes[(i + 1)..<close].contains(0x5C) else { return nil }
                var after = close + 1
                if after < n && isWord(bytes[after]) { return nil }
                while after < n && (bytes[after] == 0x20 || bytes[after] == 0x09 || bytes[after] == 0x0A
                                    || bytes[after] == 0x0D || bytes[after] == 0x0C) { after += 1 }
                if after < n && bytes[after] == 0x27 { return nil }   // '' inside, or a continued string
                kinds.append(0x73)
                parameter()
                i = close + 1
            case _ where isDigit(b) || (b == 0x2E && isDigit(next)):
                if i > 0 && (isWord(bytes[i - 1]) || bytes[i - 1] == 0x2E) { return nil }
                var j = i
                while j < n && isDigit(bytes[j]) { j += 1 }
                var decimal = false
                if j < n && bytes[j] == 0x2E {
                    decimal = true; j += 1
                    while j < n && isDigit(bytes[j]) { j += 1 }
                }
                if j < n && (isWord(bytes[j]) || bytes[j] == 0x2E) { return nil }
                if !decimal && j - i > 9 { return nil }
                kinds.append(decimal ? 0x66 : 0x69)
                parameter()
                i = j
            case _ where isWord(b):
                var j = i
                while j < n && isWord(bytes[j]) { j += 1 }
                if j < n && (bytes[j] == 0x27 || bytes[j] == 0x24) { return nil }
                out.append(contentsOf: bytes[i..<j])
                i = j
            default:
                out.append(b)
                i += 1
            }
        }
        return (String(decoding: out, as: UTF8.self), String(decoding: kinds, as: UTF8.self))
    }
}
