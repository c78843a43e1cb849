/// A masking policy (per connection, from the configuration): column rules first, then
/// per-entity strategies for what content detection finds, then a default.
public struct MaskPolicy: Sendable {
    public var columnRules: [ColumnRule]
    public var entityStrategies: [Entity: MaskStrategy]
    public var defaultStrategy: MaskStrategy
    /// Entities content detection looks for; all by default.
    public var enabledEntities: Set<Entity>
    public var mrnPatterns: [String]
    /// An AWS connection's `resources`: what its calls name that is PHI, and the field
    /// rules of their answers (AWSAnswers.swift).
    public var resourceRules: [ResourceRule] = []

    public init(columnRules: [ColumnRule] = [], entityStrategies: [Entity: MaskStrategy] = [:],
                defaultStrategy: MaskStrategy = .redact, enabledEntities: Set<Entity> = Set(Entity.allCases),
                mrnPatterns: [String] = MRNDetector.defaultPatterns) {
        self.columnRules = columnRules
        self.entityStrategies = entityStrategies
        self.defaultStrategy = defaultStrategy
        self.enabledEntities = enabledEntities
        self.mrnPatterns = mrnPatterns
    }

    public func strategy(for entity: Entity) -> MaskStrategy { entityStrategies[entity] ?? defaultStrategy }

    /// The first rule whose table and column patterns both match.
    public func rule(table: String?, column: String?) -> ColumnRule? {
        columnRules.first { $0.matches(table: table, column: column) }
    }
}

/// A column rule: glob patterns (`*`, `?`, case-insensitive) on the table and column
/// names the `columns` frame reports. A result column with no known table (an
/// expression, an alias) matches only a rule whose table pattern is `*`.
public struct ColumnRule: Sendable {
    public var table: String
    public var column: String
    public var strategy: MaskStrategy
    /// The entity the column holds, for the counts in the masking frame; nil counts
    /// the column under "COLUMN".
    public var entity: Entity?
    /// A rule for a value computed from pieces of columns (`make_date(1000 +
    /// split_part(ssn, '-', 1)::int, 1, 1)`): a date or time it masks keeps no year, which
    /// would carry four digits of anything (a stored date keeps its year, Safe Harbor's).
    public var pieces = false

    public init(table: String = "*", column: String, strategy: MaskStrategy, entity: Entity? = nil) {
        self.table = table
        self.column = column
        self.strategy = strategy
        self.entity = entity
    }

    public var label: String { entity?.rawValue ?? "COLUMN" }

    public func matches(table t: String?, column c: String?) -> Bool {
        guard let c, Glob.matches(column, c) else { return false }
        guard let t else { return table == "*" }
        return Glob.matches(table, t)
    }
}

public enum Glob {
    /// Iterative glob match with single-star backtracking: linear-ish, never exponential.
    /// Case-insensitive by Unicode's lower case; when both are ASCII (column rules run
    /// on every rows frame) that is A-Z to a-z, compared in place.
    public static func matches(_ pattern: String, _ text: String) -> Bool {
        var pattern = pattern, text = text
        let ascii = pattern.withUTF8 { p in text.withUTF8 { t in
            p.allSatisfy { $0 < 0x80 } && t.allSatisfy { $0 < 0x80 } ? match(p, t, fold: asciiLower) : nil
        } }
        if let ascii { return ascii }
        let p = Array(pattern.lowercased().utf8), s = Array(text.lowercased().utf8)
        return p.withUnsafeBufferPointer { p in s.withUnsafeBufferPointer { s in match(p, s, fold: { $0 }) } }
    }

    private static func asciiLower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }

    private static func match(_ p: UnsafeBufferPointer<UInt8>, _ s: UnsafeBufferPointer<UInt8>, fold: (UInt8) -> UInt8) -> Bool {
        var i = 0, j = 0, star = -1, mark = 0
        while j < s.count {
            if i < p.count, p[i] == ch("?") || fold(p[i]) == fold(s[j]) { i += 1; j += 1 }
            else if i < p.count, p[i] == ch("*") { star = i; mark = j; i += 1 }
            else if star >= 0 { i = star + 1; mark += 1; j = mark }
            else { return false }
        }
        while i < p.count, p[i] == ch("*") { i += 1 }
        return i == p.count
    }
}
