import HoopBinary

/// Column rules for values a query derived from table columns: a cast, a concatenation,
/// an aggregate, `row_to_json` (docs/masking.md, "Derived columns"). hoop-mask traces
/// each result column to its table columns (HoopSQL's lineage) and masks the whole
/// value by the rules of those columns.
extension MaskPolicy {
    /// The rule for a value built from `sources` (table, column; column "*" for a whole
    /// row): nil when no rule covers any of them (content detection then decides).
    /// One rule's strategy when all agree; otherwise `redact`, the one that reveals nothing.
    public func rule(derivedFrom sources: some Sequence<(table: String, column: String)>) -> ColumnRule? {
        rule(derivedFrom: sources.map { (table: $0.table, column: $0.column, whole: true) })
    }

    /// The same for sources that may be pieces of a value (`whole` false: `substr(ssn,
    /// 1, 3)`, `length(ssn)`): a strategy that keeps part of a value, or hashes it,
    /// applies to whole values only. A piece under such a rule is redacted: its last
    /// digits would be other digits of the value, and the hash of one character a
    /// codebook's entry.
    public func rule(derivedFrom sources: some Sequence<(table: String, column: String, whole: Bool)>) -> ColumnRule? {
        var found: [ColumnRule] = []
        for (t, c, whole) in sources {
            var matched: [ColumnRule]
            if t == "*" {
                // A JSON member or a column of any table named c.
                matched = columnRules.filter { !$0.keeps && Glob.matches($0.column, c) }
            } else if c == "*" {
                matched = columnRules.filter { !$0.keeps && Glob.matches($0.table, t) }
            } else if let r = rule(table: t, column: c), !r.keeps {
                matched = [r]
            } else {
                matched = []
            }
            if !whole { matched = matched.map { $0.forPieces } }
            found += matched
        }
        guard let first = found.first else { return nil }
        let entity = found.allSatisfy { $0.entity == first.entity } ? first.entity : nil
        let strategy = found.allSatisfy { $0.strategy == first.strategy } ? first.strategy : .redact
        var rule = ColumnRule(table: "*", column: "*", strategy: strategy, entity: entity)
        rule.pieces = found.contains(where: \.pieces)
        return rule
    }
}

extension ColumnRule {
    public var keeps: Bool { if case .keep = strategy { return true } else { return false } }

    /// This rule for a piece of its column's value: only strategies that reveal nothing
    /// of the value stay (redact, null), and a date keeps no year (`pieces`).
    var forPieces: ColumnRule {
        var rule = self
        if case .partial = strategy { rule.strategy = .redact }
        if case .hash = strategy { rule.strategy = .redact }
        rule.pieces = true
        return rule
    }
}

extension Masker {
    /// True when content detection finds something in these UTF-8 bytes (the fast
    /// path for values that hold nothing: the caller's reused buffer, no String).
    public func detects(_ value: UnsafeRawBufferPointer, scratch: inout [UInt8]) -> Bool {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: value)
        return !detect(scratch).isEmpty
    }

    /// Masks a whole value by `rule`, keeping it valid for its type.
    public func mask(_ value: String, rule: ColumnRule, typeOID: UInt32?) throws -> MaskResult {
        if rule.keeps { return MaskResult(value: value, counts: [:]) }
        if rule.pieces, case .redact = rule.strategy, BinaryTypes.element(of: typeOID ?? 0) != nil {
            // An array computed from pieces: its length could be one (`array_fill(0,
            // array[ascii(ssn)])`), so it is the empty array, whatever it held.
            return MaskResult(value: "{}", counts: [rule.label: 1])
        }
        return MaskResult(value: try whole(value, oid: typeOID ?? 0, strategy: rule.strategy, marker: "[REDACTED]", keepsYear: !rule.pieces),
                          counts: [rule.label: 1])
    }

    /// What a NULL becomes under `rule`: nil when it stays NULL. A stored value's NULL
    /// says nothing of it, but a value computed from pieces is NULL or not by what the
    /// computation found (`case when substr(ssn, 1, 1) = '7' then null else 0 end`,
    /// `nullif(last_name, 'a guess')`): it is masked as any of that column's values is,
    /// so that NULL and not NULL look alike.
    public func maskedNull(rule: ColumnRule, typeOID: UInt32?) throws -> MaskResult? {
        guard rule.pieces, !rule.keeps else { return nil }
        if case .null = rule.strategy { return nil }
        return try mask("", rule: rule, typeOID: typeOID)
    }
}

extension MaskResult {
    /// For stages that assemble a result from masked parts (COPY lines).
    public init(_ value: String?, counts: [String: Int]) { self.init(value: value, counts: counts) }
}

