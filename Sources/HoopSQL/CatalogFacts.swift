/// What only the database's catalog can tell about a statement: which of the names it
/// uses run the database's own code (issue 16). hoop-approve reads the facts through a
/// catalog role (hoop-approve's CatalogWatch) and adds what they say to a statement's
/// hidden work; the classifier records what to look up (`StatementClass.functionsCalled`,
/// `operatorsUsed`, `typesCast`, the tables it reads and writes).
///
/// Relations and types are known by "schema.name" and by their bare name; a bare name
/// stands for every schema's object of that name, so its reasons are the union's, unless
/// the session's search_path is known to mean one schema's relation (`label`).
public struct CatalogFacts: Equatable, Sendable {
    /// Names of functions outside pg_catalog and information_schema: a call of a built-in's
    /// name without a schema may resolve to one of them (other argument types, or a
    /// search_path that puts their schema first).
    public var functionNames: Set<String> = []
    /// Names of operators outside pg_catalog.
    public var operatorNames: Set<String> = []
    /// Types whose values run the database's own code when made (a domain's check, an
    /// input function, a cast): why.
    public var types: [String: String] = [:]
    /// Relations whose reading runs it (a view calling its functions or volatile ones, a
    /// row security policy): why.
    public var reads: [String: String] = [:]
    /// Relations whose writing runs it (a trigger, a rule, a default, check, generated
    /// column or index expression, a column of such a type, a cascade or a partition or
    /// view base that does): why.
    public var writes: [String: String] = [:]
    /// The unique keys of tables, each a set of column names: a unique index of plain
    /// columns, valid, checked at once (not deferrable), without a predicate, on a table
    /// with no inheritance children (a parent's index does not cover its children's rows;
    /// a partitioned table's does, as it holds the partition key). By "schema.name", and
    /// by bare name the keys every relation of that name has (any may be the one meant).
    public var uniqueKeys: [String: [Set<String>]] = [:]
    /// Whose rows a write of a relation lands in too, by "schema.name" and bare name: a
    /// view's base relations (`*`: its columns may be renamed, so every column), a
    /// partition's or child's parents (the same column names), through views of views
    /// and partitions of partitions. A write through them is judged as one of those too
    /// (a `hash` rule on `patients` covers `insert into patients_v …`).
    public var rowsOf: [String: [(relation: String, sameColumns: Bool)]] = [:]
    /// Tables another table's foreign key follows when their rows change, by "schema.name"
    /// and bare name: "" when a delete cascades (or sets null or a default), and each
    /// referenced column an update cascades from. A delete of 150 providers emptied
    /// encounters: such a write is unbounded, whatever rows it names.
    public var cascades: [String: Set<String>] = [:]
    /// What the planner's statistics say of plain tables' columns, by "schema.name" and
    /// bare name (the worst of every relation of that name; none if one has none): the
    /// most rows one value of a column had at the last ANALYZE, and the rows modified
    /// since (any of which may hold the value asked for). Read every look, not only when
    /// the signature changes: ANALYZE and writes change them, not the catalog's xmins.
    public var rowsPerValue: [String: [String: Double]] = [:]
    public var modifiedSince: [String: Double] = [:]
    /// How many relations each label names (build), for `setStatistics`.
    public var relationsByLabel: [String: Int] = [:]
    /// The schemas of each bare relation name more than one schema has (build).
    public var schemasOf: [String: Set<String>] = [:]
    /// Schemas named after a role (`$user` may be any of them), and the search_path a
    /// session starts with when nothing sets it; nil: not known. Each look (setSessionDefaults).
    public var roleSchemas: Set<String>? = nil
    public var defaultSearchPath: String? = nil
    /// The search paths one session may have, as schema lists (SearchPath.schemas); nil:
    /// not known, and a bare name many schemas have stands for all of them (`label`).
    public var searchPaths: [[String]]? = nil

    public init() {}

    /// One column's statistics as the catalog's query gives them (pg_stats' fields).
    public struct ColumnStats: Sendable {
        public var nullFraction: Double, distinct: Double, mostCommonMax: Double, mostCommonSum: Double, mostCommonCount: Int
        public init(nullFraction: Double, distinct: Double, mostCommonMax: Double, mostCommonSum: Double, mostCommonCount: Int) {
            self.nullFraction = nullFraction; self.distinct = distinct
            self.mostCommonMax = mostCommonMax; self.mostCommonSum = mostCommonSum; self.mostCommonCount = mostCommonCount
        }

        /// The most rows any one value had, of `rows` (reltuples): the largest most-common
        /// frequency, or for a value not among them the rest spread over the other
        /// distinct values, whichever is larger (nil: the statistics say too little).
        public func rowsPerValue(of rows: Double) -> Double? {
            guard rows >= 0, distinct != 0, nullFraction.isFinite, distinct.isFinite else { return nil }
            // n_distinct below zero: a fraction of the rows (-1: unique).
            let values = distinct < 0 ? -distinct * rows : distinct
            let others = max(0, values - Double(mostCommonCount))
            let rest = max(0, 1 - nullFraction - mostCommonSum)
            let restEach = others >= 1 ? rest / others : rest
            return max(mostCommonMax, restEach) * rows
        }
    }

    /// Sets `rowsPerValue` and `modifiedSince` from each plain table's statistics (by the
    /// labels it goes by) and the labels of every relation: a bare name many relations
    /// share gets the worst of them, and none when one of them has no statistics.
    public mutating func setStatistics(_ tables: [(labels: [String], rows: Double, modified: Double, columns: [String: ColumnStats])]) {
        var perValue: [String: [String: Double]] = [:], modified: [String: Double] = [:], seen: [String: Int] = [:]
        var columnSeen: [String: [String: Int]] = [:]
        for t in tables {
            for label in t.labels {
                seen[label, default: 0] += 1
                modified[label] = max(modified[label] ?? 0, t.modified)
                for (column, stats) in t.columns {
                    guard let n = stats.rowsPerValue(of: t.rows) else { continue }
                    perValue[label, default: [:]][column] = max(perValue[label]?[column] ?? 0, n)
                    columnSeen[label, default: [:]][column, default: 0] += 1
                }
            }
        }
        for (label, n) in seen where n != (relationsByLabel[label] ?? n) { perValue[label] = nil; modified[label] = nil }
        for (label, columns) in perValue {
            perValue[label] = columns.filter { columnSeen[label]?[$0.key] == seen[label] }
        }
        rowsPerValue = perValue
        modifiedSince = modified
    }

    /// Whether a read the text bounded by key names (KeyedRead) is bounded as it said: its
    /// pinned columns hold a unique key with at most `rows` combinations of values, or
    /// one of them has statistics by which its values hold at most `rows` rows: each
    /// value's most at the last ANALYZE, plus every row modified since.
    public func confirms(_ r: KeyedRead) -> Bool {
        if uniqueKeyRows(PinnedColumns(relation: r.relation, columns: r.columns, limit: r.rows)) != nil { return true }
        let relation = label(r.relation)
        guard let stats = rowsPerValue[relation], let modified = modifiedSince[relation] else { return false }
        return r.columns.contains { column, values in
            guard let each = stats[column] else { return false }
            return Double(values) * each.rounded(.up) + modified <= Double(r.rows)
        }
    }

    /// Whether a write reaches rows of other tables through a cascading foreign key.
    public func cascadesFrom(_ s: StatementClass) -> Bool {
        guard !cascades.isEmpty, s.kind == .write else { return false }
        if ["DELETE", "MERGE", "TRUNCATE"].contains(s.command), s.tablesWritten.contains(where: { cascades[label($0)]?.contains("") == true }) {
            return true
        }
        return s.columnsWritten.contains { w in
            guard let dot = w.lastIndex(of: "."), let keys = cascades[label(String(w[..<dot]))] else { return false }
            let column = String(w[w.index(after: dot)...])
            return column == "*" ? keys.contains { !$0.isEmpty } : keys.contains(column)
        }
    }

    public static func == (a: CatalogFacts, b: CatalogFacts) -> Bool {
        a.functionNames == b.functionNames && a.operatorNames == b.operatorNames && a.types == b.types && a.reads == b.reads
            && a.writes == b.writes && a.uniqueKeys == b.uniqueKeys && a.cascades == b.cascades
            && a.rowsPerValue == b.rowsPerValue && a.modifiedSince == b.modifiedSince
            && a.schemasOf == b.schemasOf && a.roleSchemas == b.roleSchemas && a.defaultSearchPath == b.defaultSearchPath
            && a.searchPaths == b.searchPaths
            && a.rowsOf.mapValues { $0.map { "\($0.relation)\($0.sameColumns)" } } == b.rowsOf.mapValues { $0.map { "\($0.relation)\($0.sameColumns)" } }
    }

    /// `table.column` as written, and the same write as the relations it lands in see it.
    public func columnsWrittenThrough(_ written: Set<String>) -> Set<String> {
        guard !rowsOf.isEmpty else { return written }
        var out = written
        for w in written {
            guard let dot = w.lastIndex(of: ".") else { continue }
            let relation = String(w[..<dot]), column = String(w[w.index(after: dot)...])
            for (other, same) in rowsOf[label(relation)] ?? [] { out.insert(other + "." + (same ? column : "*")) }
        }
        return out
    }

    /// Whether pinned columns of a relation hold one of its unique keys with few enough
    /// values: a WHERE that pins a key's columns names one row per combination of their
    /// values (`region IN (100 values) AND seq IN (100 values)`: 10,000).
    public func holdsUniqueKey(_ pinned: PinnedColumns) -> Bool { uniqueKeyRows(pinned) != nil }

    /// The rows pinned columns name by a unique key they hold (the fewest of any such key),
    /// if no more than the piece's limit.
    public func uniqueKeyRows(_ pinned: PinnedColumns) -> Int? {
        let counts = (uniqueKeys[label(pinned.relation)] ?? []).compactMap { key -> Int? in
            guard !key.isEmpty, key.allSatisfy({ pinned.columns[$0] != nil }) else { return nil }
            let n = key.reduce(1) { n, c in n > pinned.limit ? n : n * max(1, pinned.columns[c]!) }
            return n <= pinned.limit ? n : nil
        }
        return counts.min()
    }

    /// The label a relation name is looked up by: a bare name many schemas have, by the
    /// one schema every search path the session may have resolves it to (`resolve`);
    /// else as written (a bare name: the worst of every schema's).
    public func label(_ name: String) -> String {
        guard let paths = searchPaths, let schemas = schemasOf[name],
              let schema = Self.resolve(name, in: schemas, paths: paths, roleSchemas: roleSchemas) else { return name }
        return schema + "." + name
    }

    /// The schema a bare relation name means under every one of `paths`, or nil. Every
    /// schema of a path that has the name counts, not only the first: the server skips a
    /// schema the session's role may not use, which this stage does not know; `$user`
    /// may be any schema named after a role. pg_catalog, searched first unless named,
    /// has only `pg_` names (and is not in the facts); information_schema is not either.
    /// Temporary tables (searched first) are the caller's to rule out.
    public static func resolve(_ name: String, in schemas: Set<String>, paths: [[String]], roleSchemas: Set<String>?) -> String? {
        guard !name.hasPrefix("pg_") else { return nil }
        var found: Set<String> = []
        for path in paths {
            if path.contains("information_schema") { return nil }
            for entry in path {
                if entry == "$user" {
                    guard let roleSchemas else { return nil }
                    found.formUnion(schemas.intersection(roleSchemas))
                } else if schemas.contains(entry) {
                    found.insert(entry)
                }
            }
        }
        return found.count == 1 ? found.first : nil
    }

    /// Each look: the schemas named after roles, and the role's default search_path.
    public mutating func setSessionDefaults(roleSchemas: Set<String>?, defaultSearchPath: String?) {
        self.roleSchemas = roleSchemas
        self.defaultSearchPath = defaultSearchPath
    }

    /// In `writesPlanned`: every table (ANALYZE without a list).
    public static let everyRelation = "*"

    /// The reasons the facts add to one statement, in a fixed order. On the hot path
    /// of every statement: nothing is allocated unless a fact applies.
    public func hiddenWork(_ s: StatementClass) -> [String] {
        var why: [String] = []
        for f in s.functionsCalled where functionNames.contains(f) {
            why.append("function \(f): the database has a function of its own with that name, which the server may choose")
        }
        for o in s.operatorsUsed where operatorNames.contains(o) {
            why.append("operator \(o): the database has an operator of its own with that name")
        }
        if !types.isEmpty { for t in s.typesCast { if let r = types[t] { why.append("a cast to \(t): \(r)") } } }
        if !reads.isEmpty { for t in s.tablesRead { if let r = reads[label(t)] { why.append("reading \(t): \(r)") } } }
        // EXPLAIN plans the write: the planner folds what its defaults and rules call.
        if !writes.isEmpty {
            for t in s.kind == .write ? s.tablesWritten.union(s.writesPlanned) : s.writesPlanned {
                if let r = writes[label(t)] { why.append("writing \(t): \(r)") }
            }
            if s.writesPlanned.contains(Self.everyRelation), let (t, r) = writes.min(by: { $0.key < $1.key }) {
                why.append("every table: \(t): \(r)")
            }
        }
        return why.count > 1 ? why.sorted() : why
    }

    /// Every statement's hidden work, with what the facts add.
    public func apply(_ c: Classification) -> Classification {
        var c = c
        for i in c.statements.indices {
            // A write whose text pins only columns with no key's name: bounded when they
            // hold a unique key of each table it writes that way.
            let st = c.statements[i]
            // The pieces' rows added up, within what the statement's other writes left
            // (each piece's limit: twenty CTEs of a thousand keys each are not bounded).
            let rows = st.pinnedColumns.map(uniqueKeyRows)
            if st.unboundedWrite, !st.unboundedAnyway, !st.pinnedColumns.isEmpty, rows.allSatisfy({ $0 != nil }),
               rows.reduce(0) { Bounds.sum($0, $1!) } <= st.pinnedColumns.map(\.limit).min()! {
                c.statements[i].unboundedWrite = false
            }
            // A read bounded by key names alone: by the catalog's word, or not at all.
            if st.readsBounded, !st.keyedReads.allSatisfy(confirms) { c.statements[i].readsBounded = false }
            c.statements[i].columnsWritten = columnsWrittenThrough(c.statements[i].columnsWritten)
            c.statements[i].countersWritten = columnsWrittenThrough(c.statements[i].countersWritten)
            if cascadesFrom(c.statements[i]) { c.statements[i].unboundedWrite = true; c.statements[i].unboundedAnyway = true }
            let why = hiddenWork(c.statements[i])
            if why.isEmpty { continue }
            for r in why where !c.statements[i].hidden.contains(r) { c.statements[i].hidden.append(r) }
        }
        return c
    }

    /// Without the facts, a statement that needs them is hidden work: held, never allowed.
    public static func unknown(_ c: Classification, because why: String) -> Classification {
        var c = c
        for i in c.statements.indices where c.statements[i].needsCatalog {
            c.statements[i].hidden.append("the database's catalog is needed to judge it: \(why)")
        }
        return c
    }
}

extension CatalogFacts {
    /// One node of the catalog's graph: a relation or a type, by OID.
    public struct Node: Hashable, Sendable {
        public enum Kind: String, Sendable { case relation = "rel", type }
        public let kind: Kind
        public let oid: UInt32
        public init(_ kind: Kind, _ oid: UInt32) { self.kind = kind; self.oid = oid }
    }

    /// Builds the facts from the rows of the catalog queries: names of nodes, the code
    /// each node runs itself (`reads`, `writes`: why), and what passes it on (`readFlows`,
    /// `writeFlows`: from a node to the nodes that run its code too: a view of a
    /// relation, a table cascaded to, a partition, a domain over a type, a table with a
    /// column of it).
    public static func build(functionNames: Set<String>, operatorNames: Set<String>,
                             names: [Node: (schema: String, name: String)],
                             reads: [Node: String], writes: [Node: String],
                             readFlows: [Node: [Node]], writeFlows: [Node: [Node]],
                             uniqueKeys: [Node: [Set<String>]] = [:],
                             rowsOf: [Node: [(Node, sameColumns: Bool)]] = [:],
                             cascades: [Node: Set<String>] = [:]) -> CatalogFacts {
        var f = CatalogFacts()
        for (node, keys) in cascades {
            guard let name = names[node] else { continue }
            for label in [name.schema + "." + name.name, name.name] { f.cascades[label, default: []].formUnion(keys) }
        }
        // Through views of views and partitions of partitions: every relation reached,
        // keeping the column names only while every step keeps them.
        for (start, _) in rowsOf {
            guard let name = names[start] else { continue }
            var reached: [Node: Bool] = [:]
            var queue = [(start, true)]
            while let (n, same) = queue.popLast() {
                for (next, keeps) in rowsOf[n] ?? [] where reached[next] == nil || (reached[next] == false && same && keeps) {
                    reached[next] = same && keeps
                    queue.append((next, same && keeps))
                }
            }
            let list = reached.compactMap { n, same in names[n].map { (relation: $0.schema + "." + $0.name, sameColumns: same) } }
                .sorted { $0.relation < $1.relation }
            for label in [name.schema + "." + name.name, name.name] { f.rowsOf[label, default: []] += list }
        }
        f.functionNames = functionNames
        f.operatorNames = operatorNames
        // By bare name, only the keys that every relation of that name has (and so for
        // two relations one text names: a relation whose own name has a dot).
        for (node, name) in names where node.kind == .relation {
            let keys = uniqueKeys[node] ?? []
            for label in [name.schema + "." + name.name, name.name] {
                f.relationsByLabel[label, default: 0] += 1
                f.uniqueKeys[label] = f.uniqueKeys[label].map { $0.filter(keys.contains) } ?? keys
            }
            f.schemasOf[name.name, default: []].insert(name.schema)
        }
        f.schemasOf = f.schemasOf.filter { $0.value.count > 1 && !$0.key.contains(".") }
        func label(_ n: Node) -> String { names[n].map { $0.schema + "." + $0.name } ?? "\(n.kind.rawValue) \(n.oid)" }
        // A type's code runs wherever a value of it is made: on reading too (a view that
        // casts to a checked domain).
        let typeCode = propagate(writes.filter { $0.key.kind == .type }, writeFlows, label).filter { $0.key.kind == .type }
        for (node, why) in propagate(reads.merging(typeCode) { a, _ in a }, readFlows, label) where node.kind == .relation {
            f.record(&f.reads, names[node], why)
        }
        for (node, why) in propagate(writes, writeFlows, label) {
            if node.kind == .type {
                f.record(&f.types, names[node], why)
                // By OID too: a Parse names its parameters' types by OID.
                if f.types["#\(node.oid)"] == nil { f.types["#\(node.oid)"] = why }
            } else {
                f.record(&f.writes, names[node], why)
            }
        }
        return f
    }

    private func record(_ map: inout [String: String], _ name: (schema: String, name: String)?, _ why: String) {
        guard let name else { return }
        for key in [name.schema + "." + name.name, name.name] where map[key] == nil { map[key] = why }
    }

    /// Every node reached from one that runs code, with the first reason that reached it.
    static func propagate(_ seeds: [Node: String], _ flows: [Node: [Node]], _ label: (Node) -> String) -> [Node: String] {
        var out = seeds
        var queue = seeds.keys.sorted { ($0.kind.rawValue, $0.oid) < ($1.kind.rawValue, $1.oid) }
        while let n = queue.popLast() {
            for next in flows[n] ?? [] where out[next] == nil {
                out[next] = "through \(label(n)), " + out[n]!
                queue.append(next)
            }
        }
        return out
    }
}
