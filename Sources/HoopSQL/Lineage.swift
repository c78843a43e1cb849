import HoopJSON

/// A table column a result value may carry. `column` "*" is the whole row
/// (`row_to_json(p)`, `p.*` inside an expression). `whole` is false for a piece or a
/// function of the value (`substr(ssn, 1, 3)`, `length(ssn)`, `md5(left(mrn, 1))`): a
/// strategy that keeps part of a value or hashes it applies to whole values only
/// (MaskPolicy.rule(derivedFrom:) redacts the others).
public struct SourceColumn: Hashable, Sendable, CustomStringConvertible {
    public let table: String
    public let column: String
    public let whole: Bool
    public init(_ table: String, _ column: String, whole: Bool = true) { self.table = table; self.column = column; self.whole = whole }
    public var description: String { "\(table).\(column)" + (whole ? "" : "(piece)") }

    /// What a function of the database's own returns: its body is not traced, so the
    /// value may carry anything (hoop-mask masks it whole).
    public static let untraced = SourceColumn("?", "*")
    /// What a session's settings hold (SHOW, current_setting, pg_settings): whatever
    /// its statements parked there (hoop-mask resolves it, `Traced.parks`).
    public static let setting = SourceColumn("?", "setting")
    /// What the catalog and sequences hold (object names, `currval`): whatever this
    /// gateway's sessions parked there.
    public static let catalog = SourceColumn("?", "catalog")
    /// What the catalog's definitions hold whole (a function's body, a view's or a rule's
    /// text, read by `pg_get_functiondef`, `pg_get_viewdef`): whatever code of any session
    /// wrote into them.
    public static let definition = SourceColumn("?", "definition")
    /// What a relation the catalog cannot see holds (a temporary or uncommitted table or
    /// sequence of the session): whatever the gateway's sessions wrote (hoop-mask).
    public static let written = SourceColumn("?", "written")
    /// Not a source: the value went through a form content detection cannot read as the
    /// text it came from (a cast to a number, a date, bytes; `reverse`, `translate`,
    /// `encode`, character codes), even if it ends as text again (`::int::text`).
    /// hoop-mask masks such a value of a column only detection guards whole.
    public static let encoded = SourceColumn("?", "encoded")

    /// A value computed from this one: no longer the whole value.
    public var piece: SourceColumn { whole && table != "?" ? SourceColumn(table, column, whole: false) : self }
    /// A reference to a name in a FROM clause, not a table column: lives only inside
    /// the analysis (Analyzer.identity), to link the columns a predicate relates.
    var isIdentity: Bool { table.hasPrefix("~") }
}

extension Set where Element == SourceColumn {
    public var pieces: Set<SourceColumn> { Set(map(\.piece)) }
    var withoutIdentities: Set<SourceColumn> { filter { !$0.isIdentity } }
}

/// One result column as the statement writes it.
public enum OutputColumn: Equatable, Sendable {
    /// An expression (or a plain column): the table columns its value is built from.
    case value(Set<SourceColumn>)
    /// `*` or `t.*` over a table or view: as many result columns as it has, each named
    /// by the server's catalog in the `columns` frame.
    case tableStar(String)

    /// The table columns of a `.value`; nil for a `*`.
    public var sources: Set<SourceColumn>? { if case .value(let s) = self { return s } else { return nil } }
}

/// What a statement returns, column by column, traced back to table columns.
/// `columns` is nil when the shape could not be laid out (a set operation over `*`,
/// a renamed table); then every result column may carry any of `all`.
public struct Shape: Equatable, Sendable {
    public var columns: [OutputColumn]?
    public var all: Set<SourceColumn>
    /// What the number of its rows carries (for a `count` over it).
    public var rows: Set<SourceColumn> = []
    /// By table (lower case) and column ("*": every column): what a column of that
    /// table's `*` carries besides itself, from conditions that relate it to other values.
    public var starTaint: [String: [String: Set<SourceColumn>]] = [:]

    /// What column `column` of table `table`'s `*` carries besides itself.
    public func carried(_ table: String, _ column: String) -> Set<SourceColumn> {
        guard let t = starTaint[table.lowercased()] else { return [] }
        return (t[column] ?? []).union(t["*"] ?? [])
    }

    public init(columns: [OutputColumn]?, all: Set<SourceColumn>) { self.columns = columns; self.all = all }
    static let empty = Shape(columns: [], all: [])

    /// The columns, when none is a table's `*` (each then stands for one result column).
    public var values: [Set<SourceColumn>]? {
        guard let columns else { return nil }
        let v = columns.compactMap(\.sources)
        return v.count == columns.count ? v : nil
    }

    init(_ columns: [OutputColumn]) {
        self.columns = columns
        all = Set(columns.flatMap { c -> Set<SourceColumn> in
            switch c {
            case .value(let s): return s
            case .tableStar(let t): return [SourceColumn(t, "*")]
            }
        })
    }
}

extension Shape {
    /// The shape without the sources that name `table` (a recursive CTE's references to
    /// itself once its passes hold what it reads).
    func without(table: String) -> Shape {
        func keep(_ set: Set<SourceColumn>) -> Set<SourceColumn> { set.filter { $0.table.lowercased() != table.lowercased() } }
        var out = self
        out.columns = columns?.map { c in
            if case .value(let s) = c { return .value(keep(s)) }
            return c
        }
        out.all = keep(all)
        out.rows = keep(rows)
        out.starTaint = starTaint.mapValues { $0.mapValues(keep) }
        return out
    }

    /// Every column, a table's `*` too, carries `extra`: what chose or ordered the rows
    /// they came in (a sort by a piece, an outer join's NULLs).
    public mutating func carryEverywhere(_ extra: Set<SourceColumn>) {
        guard !extra.isEmpty else { return }
        all.formUnion(extra)
        guard let columns else { return }
        for case .tableStar(let t) in columns { starTaint[t.lowercased(), default: [:]]["*", default: []].formUnion(extra) }
        self.columns = columns.map { if case .value(let v) = $0 { return .value(v.union(extra)) } else { return $0 } }
    }

    /// The same shape with every computed column (and `all`) carrying `extra` too; a
    /// table's `*` holds the table's values.
    func carrying(_ extra: SourceColumn) -> Shape {
        var s = self
        s.columns = columns?.map { if case .value(let v) = $0 { return .value(v.union([extra])) } else { return $0 } }
        s.all.insert(extra)
        return s
    }
}

extension Traced {
    /// The statement run in a session whose settings hold values it read before: what
    /// the server computes may show a setting in more ways than any lineage names
    /// (EXPLAIN's costs and settings, a time zone's name in to_char or timeofday, a
    /// DateStyle's output, random() after setseed), so each value it computes, and
    /// each error it raises, carries the settings too (hoop-mask).
    public func readingSettings() -> Traced {
        var t = self
        t.reads.insert(.setting)
        switch lineage {
        case .rows(let shape): t.lineage = .rows(shape.carrying(.setting))
        case .declareCursor(let name, let shape): t.lineage = .declareCursor(name, shape.carrying(.setting))
        case .prepare(let name, let shape): t.lineage = .prepare(name, shape.carrying(.setting))
        case .copyOut(let shape, let format): t.lineage = .copyOut(shape.carrying(.setting), format)
        default: break
        }
        return t
    }
}

/// What a statement does with rows, for hoop-mask.
public enum StatementLineage: Equatable, Sendable {
    case noRows
    case rows(Shape)
    /// DECLARE name CURSOR FOR ...: FETCH name returns this shape later.
    case declareCursor(String, Shape)
    case fetch(String)
    /// SQL-level PREPARE name AS ...; EXECUTE name returns its rows.
    case prepare(String, Shape)
    /// EXECUTE name(arguments): what the arguments carry may be in any column (a parameter
    /// may be returned whole or in pieces).
    case execute(String, arguments: Set<SourceColumn>)
    /// DEALLOCATE name (nil: ALL), CLOSE name (nil: ALL), DISCARD ALL: names end.
    case deallocate(String?)
    case closeCursor(String?)
    case discardAll
    /// COMMIT, ROLLBACK (not to a savepoint), PREPARE TRANSACTION: the transaction ends,
    /// and with it every protocol portal.
    case endTransaction
    /// COPY ... TO STDOUT: its lines, field by field.
    case copyOut(Shape, CopyFormat)
}

public struct CopyFormat: Equatable, Sendable {
    public enum Kind: String, Sendable { case text, csv, binary }
    public var kind: Kind = .text
    public var delimiter: UInt8 = 0x09
    public var quote: UInt8 = 0x22
    public var escape: UInt8 = 0x22
    public var header = false
    public init() {}
}

/// Traces each result column of a statement back to the table columns it is built
/// from, over the server's parse tree: aliases, casts, concatenation, functions,
/// aggregates, subqueries, CTEs, set operations, `*`, RETURNING, cursors and COPY.
/// It over-approximates where the tree alone cannot tell (an unqualified column in a
/// join is taken from every table in scope): a masking decision may then mask more
/// than it needs to, never less.
public enum Lineage {
    public static func analyze(_ sql: String, shadowing: Set<String> = []) throws -> [StatementLineage] {
        try trace(sql, shadowing: shadowing).map(\.lineage)
    }

    /// Each statement's lineage, with what it reads anywhere and what it writes to
    /// server state (hoop-mask: errors, parked values, shadowed names).
    public static func trace(_ sql: String, shadowing: Set<String> = []) throws -> [Traced] {
        try SQLParser.statements(sql).map { trace($0, shadowing: shadowing) }
    }

    public static func statement(_ stmt: JSON) -> StatementLineage { trace(stmt).lineage }

    /// What the extended protocol's Sync runs: the commit of an implicit transaction,
    /// which runs each WITH HOLD cursor declared in it to its end (no rows of its own).
    public static let commitOfSync: Traced = {
        var t = Traced(lineage: .noRows, reads: [.untraced], parks: [])
        t.runsStored = [.heldCursors]
        return t
    }()

    public static func trace(_ stmt: JSON, shadowing: Set<String> = []) -> Traced {
        var a = Analyzer()
        a.shadowing = shadowing
        let lineage = a.statement(stmt)
        let kind = stmt.node?.kind ?? ""
        let (targets, fromExecute) = writeTargets(stmt)
        // A data-modifying CTE (`with w as (insert ... returning ...) select ...`) writes too.
        let writes = ["InsertStmt", "UpdateStmt", "CreateTableAsStmt", "MergeStmt"].contains(kind)
            || (kind == "SelectStmt" && stmt["SelectStmt"]?["intoClause"] != nil) || !targets.isEmpty
        let defines = definedNames(stmt)
        let opaque = a.parks.contains(.code) || defines == nil
        // A DELETE's error may print any column of the rows it deletes (a trigger's, a
        // rule's): its targets are read whole. (INSERT's, UPDATE's: writesInto.)
        let deleted = Lineage.deleteTargets(stmt).map { SourceColumn($0, "*") }
        var t = Traced(lineage: lineage, reads: a.readLog.withoutIdentities.union(deleted), parks: a.parks, channels: a.channels, writes: writes,
                      writesInto: targets, writesUnseen: fromExecute || installing.contains(kind) || computesDefaults(stmt, shadowing),
                      defines: defines, renames: renaming.contains(kind) || opaque,
                      // SELECT INTO makes a table; a SELECT over a data-modifying CTE makes none (a
                      // nameless table column of its result is not one the session made).
                      creates: creating.contains(kind) || (kind == "SelectStmt" && stmt["SelectStmt"]?["intoClause"] != nil) || opaque)
        t.runsStored = a.stored
        return t
    }

    /// The relations a statement deletes rows from, anywhere in it, by name.
    static func deleteTargets(_ node: JSON) -> Set<String> {
        var out: Set<String> = []
        func walk(_ n: JSON) {
            switch n {
            case .array(let a): a.forEach(walk)
            case .object(let o):
                if let r = o["DeleteStmt"]?["relation"]?["relname"]?.string { out.insert(r) }
                o.values.forEach(walk)
            default: break
            }
        }
        walk(node)
        return out
    }

    /// The relations a statement writes rows into, anywhere in it (a CTE's INSERT
    /// included): INSERT, UPDATE and MERGE targets, CREATE TABLE AS and SELECT INTO.
    /// Also whether it writes what an EXECUTE returns (`CREATE TABLE AS EXECUTE`), which
    /// its own reads do not show.
    static func writeTargets(_ node: JSON) -> (Set<String>, Bool) {
        var out: Set<String> = []
        var execute = false
        func walk(_ n: JSON) {
            switch n {
            case .array(let a): a.forEach(walk)
            case .object(let o):
                if o["ExecuteStmt"] != nil { execute = true }
                for k in ["InsertStmt", "UpdateStmt", "MergeStmt"] {
                    if let r = o[k]?["relation"]?["relname"]?.string { out.insert(r) }
                }
                if let r = o["IntoClause"]?["rel"]?["relname"]?.string { out.insert(r) }
                if let r = o["intoClause"]?["rel"]?["relname"]?.string { out.insert(r) }
                if let r = o["into"]?["rel"]?["relname"]?.string { out.insert(r) }
                o.values.forEach(walk)
            default: break
            }
        }
        walk(node)
        return (out, execute && !out.isEmpty)
    }

    /// Statements that make the server run code when rows are written (a trigger, a
    /// rule): what it writes, and where, the statements that write do not show.
    static let installing: Set<String> = ["CreateTrigStmt", "RuleStmt", "CreateEventTrigStmt"]

    /// A column default or generated expression (CREATE TABLE, ALTER TABLE, a domain)
    /// that reads anything or runs the database's own code: an INSERT that fires it
    /// writes what it computes, which the INSERT does not show. Constants and built-ins
    /// of nothing (`now()`, `gen_random_uuid()`) are fine.
    static func computesDefaults(_ stmt: JSON, _ shadowing: Set<String>) -> Bool {
        guard let kind = stmt.node?.kind, ["CreateStmt", "AlterTableStmt", "CreateDomainStmt"].contains(kind) else { return false }
        var expressions: [JSON] = []
        func walk(_ n: JSON) {
            switch n {
            case .array(let a): a.forEach(walk)
            case .object(let o):
                if let c = o["Constraint"], ["CONSTR_DEFAULT", "CONSTR_GENERATED"].contains(c["contype"]?.string ?? ""),
                   let e = c["raw_expr"] { expressions.append(e) }
                if let cmd = o["AlterTableCmd"], cmd["subtype"]?.string == "AT_ColumnDefault", let e = cmd["def"] { expressions.append(e) }
                o.values.forEach(walk)
            default: break
            }
        }
        walk(stmt)
        for e in expressions {
            var a = Analyzer()
            a.shadowing = shadowing
            if !a.expression(e, []).withoutIdentities.isEmpty || !a.parks.isEmpty || !a.readLog.isEmpty { return true }
        }
        return false
    }

    /// Statements that make relations.
    static let creating: Set<String> = [
        "CreateStmt", "CreateTableAsStmt", "ViewStmt", "CreateSchemaStmt", "CreateSeqStmt", "CompositeTypeStmt",
        "CreateForeignTableStmt",
    ]

    /// Statements that change an existing relation's names or a view's definition.
    static let renaming: Set<String> = [
        "RenameStmt", "AlterTableStmt", "ViewStmt", "AlterObjectSchemaStmt", "RuleStmt", "DropStmt", "CreateSchemaStmt",
        "CompositeTypeStmt", "AlterCompositeTypeStmt", "RefreshMatViewStmt",
    ]

    /// Statements that never return rows.
    static let noRows: Set<String> = [
        "CreateTableAsStmt", "TransactionStmt", "VariableSetStmt", "CreateStmt", "AlterTableStmt", "DropStmt",
        "IndexStmt", "ViewStmt", "CreateFunctionStmt", "DoStmt", "GrantStmt", "GrantRoleStmt", "TruncateStmt",
        "CommentStmt", "RenameStmt", "CreateSchemaStmt", "CreateSeqStmt", "AlterSeqStmt", "ClosePortalStmt",
        "DeallocateStmt", "DiscardStmt", "LockStmt", "VacuumStmt", "CreateRoleStmt", "AlterRoleStmt",
        "DropRoleStmt", "CreateExtensionStmt", "CreateDomainStmt", "CompositeTypeStmt", "CreateEnumStmt",
        "AlterFunctionStmt", "CreateTrigStmt", "RuleStmt", "NotifyStmt", "ListenStmt", "UnlistenStmt",
        "CheckPointStmt", "ReindexStmt", "ClusterStmt", "RefreshMatViewStmt", "AlterOwnerStmt", "AlterObjectSchemaStmt",
        "CreatePolicyStmt", "AlterPolicyStmt", "ConstraintsSetStmt", "LoadStmt", "AlterDefaultPrivilegesStmt",
    ]

    /// The relations whose rows a DDL or maintenance statement computes over, by name
    /// (nil: every table, or names it cannot tell).
    static func relationsComputedOver(_ kind: String, _ body: JSON) -> Set<String>? {
        switch kind {
        case "VacuumStmt":
            let rels = (body["rels"]?.array ?? []).compactMap { $0["VacuumRelation"]?["relation"]?["relname"]?.string }
            return rels.isEmpty ? nil : Set(rels)
        case "ReindexStmt":
            // REINDEX INDEX names an index, SCHEMA or DATABASE many tables.
            guard body["kind"]?.string == "REINDEX_OBJECT_TABLE", let r = body["relation"]?["relname"]?.string else { return nil }
            return [r]
        default:
            guard let r = body["relation"]?["relname"]?.string else { return nil }
            return [r]
        }
    }

    /// An option's value: a string, a number (`DELIMITER 0` parses as an integer), a boolean.
    static func optionValue(_ arg: JSON?) -> String? {
        guard let arg else { return nil }
        if let s = arg.sval { return s }
        if let i = arg["Integer"] { return String(i["ival"]?.int ?? 0) }
        if let b = arg["Boolean"] { return b["boolval"]?.bool == true ? "true" : "false" }
        if let f = arg["Float"]?["fval"]?.string { return f }
        return nil
    }

    static func copyFormat(_ options: [JSON]) -> CopyFormat {
        var f = CopyFormat()
        var escapeSet = false
        for o in options {
            guard let d = o["DefElem"], let name = d["defname"]?.string else { continue }
            let arg = optionValue(d["arg"])
            switch name {
            case "format": f.kind = CopyFormat.Kind(rawValue: (arg ?? "text").lowercased()) ?? .binary
            case "delimiter": if let b = arg?.utf8.first { f.delimiter = b }
            case "quote": if let b = arg?.utf8.first { f.quote = b }
            case "escape": if let b = arg?.utf8.first { f.escape = b; escapeSet = true }
            case "header": f.header = d["arg"] == nil || !["false", "off", "0"].contains(arg?.lowercased() ?? "true")
            case "force_quote", "force_not_null", "force_null", "null", "default", "encoding", "freeze": break
            default: f.kind = .binary   // an option not understood here: the lines are not split (refused)
            }
        }
        if f.kind == .csv && !options.contains(where: { $0["DefElem"]?["defname"]?.string == "delimiter" }) { f.delimiter = 0x2C }
        if !escapeSet { f.escape = f.quote }
        return f
    }
}

/// A name in a FROM clause and what its columns carry.
/// One statement's trace for hoop-mask.
public struct Traced: Equatable, Sendable {
    public var lineage: StatementLineage
    /// Every table column the statement reads anywhere (select list, WHERE, JOIN,
    /// ORDER BY, function arguments, sub-selects, what EXPLAIN ANALYZE runs): an error
    /// or notice it raises may print any of them.
    public var reads: Set<SourceColumn>
    /// Where it writes values into server state: its session's settings (set_config),
    /// the catalog and sequences (setval, large objects), notifications (pg_notify, on
    /// `channels`); code the parser cannot see into (DO, CALL, a function of the
    /// database's own) its session's settings and what that session reads of the
    /// catalog. What it reads may come back from there (hoop-mask). What code the
    /// parser cannot see into writes elsewhere is hoop-approve's to review (`hidden`).
    public var parks: Parks
    /// The channels its pg_notify calls name; "*" for one computed at run time.
    public var channels: Set<String> = []
    /// It writes rows (INSERT, UPDATE, CREATE TABLE AS, SELECT INTO, MERGE): what it
    /// reads may come back from the table it wrote.
    public var writes: Bool = false
    /// The relations it writes rows into, by name (`writeTargets`).
    public var writesInto: Set<String> = []
    /// It writes what its reads do not show (CREATE TABLE AS EXECUTE), or makes later
    /// writes run code (a trigger, a rule).
    public var writesUnseen: Bool = false
    /// Names of the functions, aggregates and operators it defines, which may shadow a
    /// built-in; nil when it runs code that may define any (DO, CALL, CREATE EXTENSION).
    public var defines: Set<String>?
    /// It may change what an existing relation's names are, or what a view reads (a
    /// rename, ALTER TABLE, CREATE OR REPLACE VIEW, a schema move, a rule; or code the
    /// parser cannot see into): until its transaction ends, only its own session sees
    /// that, and names read from the catalog by another connection may be older.
    public var renames: Bool = false
    /// It may make relations (CREATE TABLE, CREATE TABLE AS, SELECT INTO, a view, or code
    /// the parser cannot see into): until its transaction ends, the catalog connections
    /// cannot see them, and they hold what the session wrote.
    public var creates: Bool = false
    /// Queries stored earlier that it runs, whose reads its own text does not show: a
    /// cursor's (FETCH, MOVE), a prepared statement's (EXECUTE, inside EXPLAIN ANALYZE or
    /// CREATE TABLE AS too), the WITH HOLD cursors' that COMMIT runs to their end. An
    /// error it raises may print what those read (hoop-mask).
    public var runsStored: Set<StoredQuery> = []
}

/// A query a statement runs that was stored by an earlier one (Traced.runsStored).
public enum StoredQuery: Hashable, Sendable {
    case cursor(String)
    case prepared(String)
    /// Every WITH HOLD cursor open in the session.
    case heldCursors
}

public struct Parks: OptionSet, Hashable, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let settings = Parks(rawValue: 1)
    public static let catalog = Parks(rawValue: 2)
    public static let notify = Parks(rawValue: 4)
    /// Code the parser cannot see into (DO, CALL, a function of the database's own):
    /// its session's settings, and the catalog names that session reads.
    public static let code = Parks(rawValue: 8)
}

extension Lineage {
    /// What a statement adds to the names that may not be the built-ins they look like.
    static func definedNames(_ stmt: JSON) -> Set<String>? {
        guard let (kind, body) = stmt.node else { return [] }
        switch kind {
        case "DoStmt", "CallStmt", "CreateExtensionStmt", "AlterExtensionStmt", "AlterExtensionContentsStmt":
            return nil
        case "CreateFunctionStmt":
            return Set([body["funcname"]?.array?.last?.sval].compactMap { $0 })
        case "DefineStmt":
            return Set([body["defnames"]?.array?.last?.sval].compactMap { $0 })
        case "RenameStmt":
            return Set([body["newname"]?.string].compactMap { $0 })
        case "AlterObjectSchemaStmt":
            // A function or operator moved to another schema keeps its name.
            let obj = body["object"]
            let name = obj?["ObjectWithArgs"]?["objname"]?.array?.last?.sval ?? obj?["List"]?["items"]?.array?.last?.sval
            return Set([name].compactMap { $0 })
        default:
            return []
        }
    }
}

/// A name in a FROM clause and what its columns carry.
struct ScopeItem {
    enum Relation {
        case table(String)
        case derived(Shape)
        /// Any column of it may carry any of these (a function in FROM, a renamed table).
        case opaque(Set<SourceColumn>)
    }
    let name: String
    let relation: Relation
    /// Its number in the statement: predicates link its columns by it (Analyzer.identity).
    var id = 0
    /// What the number of its rows carries: a function in FROM, a derived table built
    /// from a value (`generate_series(1, ascii(ssn))`, `regexp_matches(ssn, '1', 'g')`).
    var rows: Set<SourceColumn> = []

    func column(_ c: String) -> Set<SourceColumn> {
        switch relation {
        case .table(let t): return [SourceColumn(t, c)]
        case .opaque(let s): return s
        case .derived(let shape):
            // Without its columns' names (Analyzer.names resolves those): any of them.
            return shape.all
        }
    }

    var wholeRow: Set<SourceColumn> {
        switch relation {
        case .table(let t): return [SourceColumn(t, "*")]
        case .opaque(let s): return s
        case .derived(let shape): return shape.all
        }
    }

    var isTable: Bool { if case .table = relation { return true } else { return false } }
}

struct Analyzer {
    static let statistics: Set<String> = ["pg_stats", "pg_stats_ext", "pg_stats_ext_exprs", "pg_statistic", "pg_statistic_ext_data"]
    /// A `*` over a USING or NATURAL join lists the join columns first: not laid out.
    var reorderingJoin = false
    /// CTEs visible at this point, innermost last.
    var ctes: [[String: Shape]] = []
    /// Derived tables' result column names, to resolve `s.x` to the one column x.
    var names: [String: [String: Set<SourceColumn>]] = [:]
    /// Names given twice in one statement (an inner `s` and an outer `s`): their columns
    /// are not resolved by name (any column of it may carry anything it reads).
    var assigned: Set<String> = []
    var ambiguous: Set<String> = []
    /// Function and operator names that may not be the built-ins they look like: the
    /// database defines one of that name outside pg_catalog (hoop-connect reads the
    /// catalog). "*": not known, no name is trusted.
    var shadowing: Set<String> = []
    /// Every column (and FROM item column) read so far, anywhere in the statement.
    var readLog: Set<SourceColumn> = []
    var parks: Parks = []
    var channels: Set<String> = []
    /// Queries stored earlier that the statement runs (Traced.runsStored).
    var stored: Set<StoredQuery> = []
    var items = 0
    /// JOIN ... ON conditions of the select being read, innermost select last.
    var quals: [[JSON]] = []
    /// What an outer join's NULLs answer in the select being read (its ON condition, what
    /// chooses the nullable side's rows), innermost select last.
    var nulling: [Set<SourceColumn>] = []
    /// Conditions LATERAL sub-selects put on the select being read.
    var lateral: [[Set<SourceColumn>]] = []
    /// What `count` carries in the select being read, innermost last.
    var counted: [Set<SourceColumn>] = []
    /// What the named windows of the selects being read order and partition by.
    var namedWindows: [Set<SourceColumn>] = []
    /// The table columns each FROM item column named so far stands for.
    var identitySources: [SourceColumn: Set<SourceColumn>] = [:]

    mutating func statement(_ stmt: JSON) -> StatementLineage {
        guard let (kind, body) = stmt.node else { return .noRows }
        switch kind {
        case "SelectStmt":
            let shape = select(body, outer: [])
            return body["intoClause"] != nil ? .noRows : .rows(shape)
        case "InsertStmt", "UpdateStmt", "DeleteStmt":
            let returning = body["returningList"]?.array ?? []
            let shape = modify(body, returning: returning, inserts: kind == "InsertStmt")
            return returning.isEmpty ? .noRows : .rows(shape)
        case "ExplainStmt":
            // The plan names columns and constants, not values; what the statement
            // reads still counts for its errors (EXPLAIN ANALYZE runs it). But the planner
            // folds a call of constants to its value: a function of the database's own,
            // a setting, a sequence give theirs (`Output: '<value>'::text`).
            let before = readLog
            let inner = statement(body["query"] ?? .null)
            var plan = readLog.subtracting(before).filter { $0.table == "?" }
            // ANALYZE runs it and prints how many rows each step made (`actual rows=`):
            // what chooses or makes those rows is in the plan, a piece of it.
            let options = body["options"]?.array ?? []
            let analyze = options.contains { o in
                o["DefElem"]?["defname"]?.string == "analyze" && o["DefElem"]?["arg"]?["Boolean"]?["boolval"]?.bool != false
                    && o["DefElem"]?["arg"]?["String"]?["sval"]?.string.map { ["false", "off", "0"].contains($0.lowercased()) } != true
            }
            if analyze {
                plan.formUnion(readLog.subtracting(before).withoutIdentities.pieces)
                if case .rows(let shape) = inner { plan.formUnion(shape.rows.union(shape.all).withoutIdentities.pieces) }
                else { plan.insert(.untraced) }   // EXECUTE q, a write: what it counts is not traced here
            }
            return .rows(Shape([.value(plan)]))
        case "CreateTableAsStmt":
            _ = statement(body["query"] ?? .null)
            return .noRows
        case "VariableShowStmt":
            // A setting holds whatever set_config put there (hoop-mask: parked values).
            readLog.insert(.setting)
            return .rows(Shape([.value([.setting])]))
        case "DeclareCursorStmt":
            return .declareCursor(body["portalname"]?.string ?? "", query(body["query"]))
        case "DeallocateStmt":
            return .deallocate(body["name"]?.string)
        case "ClosePortalStmt":
            return .closeCursor(body["portalname"]?.string)
        case "DiscardStmt":
            return (body["target"]?.string ?? "DISCARD_ALL") == "DISCARD_ALL" ? .discardAll : .noRows
        case "FetchStmt":
            // MOVE runs the cursor's query as FETCH does, and may fail as it would.
            stored.insert(.cursor(body["portalname"]?.string ?? ""))
            return body["ismove"]?.bool == true ? .noRows : .fetch(body["portalname"]?.string ?? "")
        case "PrepareStmt":
            guard case .rows(let shape) = statement(body["query"] ?? .null) else { return .prepare(body["name"]?.string ?? "", .empty) }
            return .prepare(body["name"]?.string ?? "", shape)
        case "ExecuteStmt":
            let arguments = expression(body["params"] ?? .null, []).withoutIdentities.pieces
            stored.insert(.prepared(body["name"]?.string ?? ""))
            return .execute(body["name"]?.string ?? "", arguments: arguments)
        case "CopyStmt":
            if body["is_from"]?.bool == true { return .noRows }
            let format = Lineage.copyFormat(body["options"]?.array ?? [])
            if let q = body["query"] { return .copyOut(query(q), format) }
            guard let rel = body["relation"]?["relname"]?.string else { return .noRows }
            let cols = (body["attlist"]?.array ?? []).compactMap(\.sval)
            readLog.formUnion(cols.isEmpty ? [SourceColumn(rel, "*")] : cols.map { SourceColumn(rel, $0) })
            return .copyOut(Shape(cols.isEmpty ? [.tableStar(rel)] : cols.map { .value([SourceColumn(rel, $0)]) }), format)
        case "TransactionStmt" where ["TRANS_STMT_COMMIT", "TRANS_STMT_ROLLBACK", "TRANS_STMT_PREPARE"].contains(body["kind"]?.string ?? ""):
            // A commit runs each WITH HOLD cursor declared in the transaction to its end,
            // and the deferred constraints and triggers of every write in it (code and
            // rows this text does not show): its errors may print anything.
            if body["kind"]?.string != "TRANS_STMT_ROLLBACK" { stored.insert(.heldCursors); readLog.insert(.untraced) }
            return .endTransaction
        case "ConstraintsSetStmt":
            // SET CONSTRAINTS ... IMMEDIATE checks the deferred ones now: as a commit does.
            readLog.insert(.untraced)
            return .noRows
        case "IndexStmt", "AlterTableStmt", "RefreshMatViewStmt", "ClusterStmt", "ReindexStmt", "VacuumStmt":
            // Computed over every row of the relations they name (an index's expressions, a
            // column's USING, a constraint checked, a materialized view's query): an error
            // may print any of their values. VACUUM or ANALYZE of every table: anything.
            let named = Lineage.relationsComputedOver(kind, body)
            if let named { readLog.formUnion(named.map { SourceColumn($0, "*") }) } else { readLog.insert(.untraced) }
            return .noRows
        case "DoStmt":
            // Code whose reads and writes are not traced.
            readLog.insert(.untraced); parks.insert(.code)
            return .noRows
        case _ where Lineage.noRows.contains(kind):
            return .noRows
        default:
            // Anything else that may return rows (CALL with OUT parameters, utility
            // commands) has no traced shape: its columns are untraced.
            readLog.insert(.untraced); parks.insert(.code)
            return .rows(Shape(columns: nil, all: [.untraced]))
        }
    }

    /// A query node (`{"SelectStmt": ...}` or a RETURNING statement) as a shape.
    mutating func query(_ node: JSON?) -> Shape {
        guard let (kind, body) = node?.node else { return .empty }
        switch kind {
        case "SelectStmt": return select(body, outer: [])
        case "InsertStmt", "UpdateStmt", "DeleteStmt": return modify(body, returning: body["returningList"]?.array ?? [], inserts: kind == "InsertStmt")
        default: return .empty
        }
    }

    mutating func with(_ clause: JSON?, outer: [[ScopeItem]]) {
        var frame: [String: Shape] = [:]
        ctes.append(frame)
        for cte in clause?["ctes"]?.array ?? [] {
            guard let c = cte["CommonTableExpr"], let name = c["ctename"]?.string else { continue }
            // A recursive CTE refers to itself: a second pass sees the first's shape.
            var shape = subquery(c["ctequery"], outer: outer)
            if clause?["recursive"]?.bool == true {
                frame[name] = shape; ctes[ctes.count - 1] = frame
                shape = subquery(c["ctequery"], outer: outer)
                // What the first pass read of itself is what it read of the tables: the
                // second pass holds both, so the CTE's own name is no source of its own;
                // unless its body reads a table of that name too (only a schema-qualified
                // name can: unqualified, the name is the CTE's), whose sources keep it.
                if !Self.readsQualified(c["ctequery"], name) { shape = shape.without(table: name) }
            }
            let renamed = (c["aliascolnames"]?.array ?? []).compactMap(\.sval)
            frame[name] = shape
            if clause?["recursive"]?.bool == true { assigned.remove("cte:" + name) }
            setNames("cte:" + name, renamed.isEmpty ? named(c["ctequery"], shape) : named(shape, renamed))
            ctes[ctes.count - 1] = frame
        }
    }

    mutating func setNames(_ key: String, _ map: [String: Set<SourceColumn>]?) {
        if assigned.contains(key) { ambiguous.insert(key); names[key] = nil; return }
        assigned.insert(key)
        names[key] = map
    }

    mutating func subquery(_ node: JSON?, outer: [[ScopeItem]]) -> Shape {
        guard let (kind, body) = node?.node else { return .empty }
        if kind == "SelectStmt" { return select(body, outer: outer) }
        return query(node)
    }

    func cte(_ name: String) -> Shape? {
        for frame in ctes.reversed() { if let s = frame[name] { return s } }
        return nil
    }

    mutating func select(_ s: JSON, outer: [[ScopeItem]]) -> Shape {
        let depth = ctes.count
        defer { ctes.removeLast(ctes.count - depth) }
        if s["withClause"] != nil { with(s["withClause"], outer: outer) }

        if let op = s["op"]?.string, op != "SETOP_NONE" {
            let l = select(s["larg"] ?? .null, outer: outer), r = select(s["rarg"] ?? .null, outer: outer)
            // A set operation's row count: both sides', and which rows are equal (UNION, INTERSECT, EXCEPT).
            var rows = l.rows.union(r.rows).union(op == "SETOP_UNION" && s["all"]?.bool == true ? [] : l.all.union(r.all).pieces)
            // Its LIMIT and OFFSET make its row count theirs, as a select's do, and pick which
            // rows come back.
            var limits: Set<SourceColumn> = []
            for key in ["limitCount", "limitOffset"] { limits.formUnion(expression(s[key] ?? .null, outer).withoutIdentities.pieces) }
            rows.formUnion(limits)
            guard let lv = l.values, let rv = r.values, lv.count == rv.count
            else { var shape = Shape(columns: nil, all: l.all.union(r.all)); shape.rows = rows; return shape }
            // A set operation's columns have no catalog origin: each is traced through both sides.
            var columns = zip(lv, rv).map { $0.union($1) }
            // Its ORDER BY sorts rows of both sides together: one side's constants among the
            // other's values calibrate the order, so a key carries a piece of its column.
            var ordering: Set<SourceColumn> = []
            for k in s["sortClause"]?.array ?? [] {
                let node = k["SortBy"]?["node"] ?? k
                if let n = node["A_Const"]?["ival"]?["ival"]?.int, n >= 1, n <= columns.count { ordering.formUnion(columns[Int(n) - 1].pieces) }
                else if let i = Self.setOperationColumn(node, s), i < columns.count { ordering.formUnion(columns[i].pieces) }
                else { ordering.formUnion(l.all.union(r.all).pieces) }
            }
            // Any but UNION ALL compares whole rows, sorting them by every column where it
            // cannot hash (a `bit` column has none): the rows come in the order of the first
            // column, a piece of a value too (`select substr(ssn, 5, 1), id, B'1' ... union
            // select ...`: the ids in runs, one a digit, calibrated by the other side's rows).
            if !(op == "SETOP_UNION" && s["all"]?.bool == true) { for c in columns { ordering.formUnion(c.pieces) } }
            ordering = ordering.withoutIdentities.union(limits)
            if !ordering.isEmpty { columns = columns.map { $0.union(ordering) } }
            var shape = Shape(columns.map { .value($0) })
            shape.rows = rows.union(s["limitOption"]?.string == "LIMIT_OPTION_WITH_TIES" ? ordering : [])
            return shape
        }

        if let rows = s["valuesLists"]?.array {
            var columns: [Set<SourceColumn>] = []
            for row in rows {
                for (i, e) in (row["List"]?["items"]?.array ?? []).enumerated() {
                    if i == columns.count { columns.append([]) }
                    columns[i].formUnion(expression(e, outer).withoutIdentities)
                }
            }
            return Shape(columns.map { .value($0) })
        }

        var scope: [ScopeItem] = []
        quals.append([])
        lateral.append([])
        nulling.append([])
        for item in s["fromClause"]?.array ?? [] { from(item, outer: outer, into: &scope) }
        let scopes = [scope] + outer
        let joins = quals.removeLast()
        let nulls = nulling.removeLast()

        // The predicates: each AND-ed condition of WHERE, JOIN ... ON and HAVING, with
        // everything it reads (its sub-selects too). A column it relates to a value
        // carries that value (`g = ascii(ssn)`: g is ascii(ssn) on every row returned).
        var conditions: [Set<SourceColumn>] = []
        for clause in joins + [s["whereClause"], s["havingClause"]].compactMap({ $0 }) {
            for c in conjuncts(clause) { conditions.append(reads(c, scopes)) }
        }
        let correlated = lateral.removeLast()
        conditions += correlated
        // How many rows come back carries what makes rows: functions in FROM, derived
        // tables built from values, and conditions that relate two FROM items or a
        // FROM item that is no table (`g <= ascii(p.ssn)`). A condition on one table's
        // own columns (`ssn like '1%'`) answers yes or no per row: a side channel that
        // masking cannot close (docs/masking.md).
        var rows = scope.reduce(into: Set<SourceColumn>()) { $0.formUnion($1.rows) }
        let tables = Set(scope.filter(\.isTable).map { Self.itemKey($0.id) })
        for c in conditions {
            let linked = Set(c.filter(\.isIdentity).map(\.table))
            // A query inside an expression (EXISTS, IN, a scalar count) answers for each row
            // of the one around it: every condition's columns are in what it returns
            // (`exists (select 1 from patients q where q.id = p.id and substr(q.ssn, 3, 1) =
            // '7')`, ninety of them a row, is every SSN).
            if linked.count > 1 || !linked.isSubset(of: tables) || !outer.isEmpty { rows.formUnion(c.withoutIdentities.pieces) }
        }
        let relating = relatingPieces(conditions, correlated: correlated, scope: scope)
        var grouping: Set<SourceColumn> = []
        let targetList = s["targetList"]?.array ?? []
        for key in ["groupClause", "distinctClause"] {
            for k in s[key]?.array ?? [] { grouping.formUnion(reads(Self.named(k, by: targetList), scopes).withoutIdentities.pieces) }
        }
        // LIMIT and OFFSET choose how many rows there are: a count over them is their value
        // (`(select count(*) from (select 1 from generate_series(1, 10000) limit
        // ascii(ssn)) x)` was a character a column).
        var limits: Set<SourceColumn> = []
        for key in ["limitCount", "limitOffset"] { limits.formUnion(expression(s[key] ?? .null, scopes).withoutIdentities.pieces) }
        // FETCH FIRST n ROWS WITH TIES: the sort keys then choose how many rows come back.
        if s["limitOption"]?.string == "LIMIT_OPTION_WITH_TIES" {
            for k in s["sortClause"]?.array ?? [] { limits.formUnion(reads(Self.named(k, by: targetList), scopes).withoutIdentities.pieces) }
        }
        // A named window (`OVER w` with `WINDOW w AS (...)`) orders and partitions the rows of
        // the functions that use it, as one written inline does.
        namedWindows.append(reads(s["windowClause"] ?? .null, scopes).withoutIdentities.pieces)
        defer { namedWindows.removeLast() }
        // ORDER BY chooses rows as a condition does, with or without a LIMIT: a row's place
        // is what its sort key made it (`order by abs(g - ascii(ssn))` puts g = ascii(ssn)
        // first, whoever reads the first row: an outer DISTINCT ON or aggregate, a FETCH, the
        // client). Only the columns the key relates to a value carry it. DISTINCT ON too.
        for key in ["sortClause", "distinctClause"] {
            for k in s[key]?.array ?? [] { conditions.append(reads(Self.named(k, by: targetList), scopes)) }
        }
        // A condition on a computed column of a derived table (`where s.r = 1` over
        // `rank() over (order by abs(g - ascii(ssn))) r`) chooses among its rows: every
        // column of it carries what that column was computed from.
        for item in scope where !item.isTable {
            let key = Self.itemKey(item.id)
            for c in conditions where c.contains(where: { $0.table == key }) {
                let computed = c.filter { $0.table == key }.flatMap { identitySources[$0] ?? [] }.filter { !$0.whole }
                if !computed.isEmpty { conditions.append(Set(computed).union([SourceColumn(key, "*")])) }
            }
        }

        // The order of the rows is what their sort keys made it, and whoever reads them
        // sees it: sorted by a piece of a value (`order by substr(ssn, 5, 1), id`: the ids
        // come in runs, one a digit; a window's ORDER BY or PARTITION BY, a GROUP BY, a
        // DISTINCT ON sort them too), every column carries that piece, so that the rows
        // it ordered look alike. Sorted by a stored value whole, the rows disclose that
        // value's order only, as the column itself would (docs/masking.md).
        var ordering: Set<SourceColumn> = []
        func key(_ k: JSON) {
            let named = Self.named(k, by: targetList)
            let e = expression(named, scopes)
            // Whole only as a table's own column: a derived table's may mix in rows the
            // query made (a UNION's markers sorted among the patients calibrate the order).
            ordering.formUnion(Self.storedColumn(named, scope) ? e.filter { !$0.whole } : e.withoutIdentities.pieces)
        }
        for clause in ["sortClause", "distinctClause", "groupClause"] { for k in s[clause]?.array ?? [] { key(k) } }
        // A plain SELECT DISTINCT sorts by its whole select list where it cannot hash (a
        // `bit` column has no hash operator class): every item is a sort key
        // (`select distinct substr(ssn, 5, 1), id, B'1'` gives the ids in runs, one a digit).
        if let distinct = s["distinctClause"]?.array, distinct.allSatisfy({ $0 == .null || $0.object?.isEmpty == true }) {
            for t in targetList { key(t["ResTarget"]?["val"] ?? .null) }
        }
        for window in Self.windows(in: .array([s["targetList"] ?? .null, s["windowClause"] ?? .null])) {
            for k in (window["partitionClause"]?.array ?? []) + (window["orderClause"]?.array ?? []) { key(k) }
        }
        // A set-returning function in the select list (or a sort key) makes as many rows as
        // its arguments say (`select p.id, generate_series(1, ascii(ssn))`: each id as many
        // times as a character's code): every column carries them too.
        let made = setReturning(.array(["targetList", "sortClause", "windowClause", "groupClause", "distinctClause"].map { s[$0] ?? .null }), scopes)
        ordering = ordering.withoutIdentities.union(nulls).union(made)

        counted.append(rows)
        var shape = targets(s["targetList"]?.array ?? [], scopes, conditions: conditions)
        counted.removeLast()
        shape.carryEverywhere(relating)
        shape.carryEverywhere(ordering)
        // A derived table's row count also carries its grouping and what its set-returning
        // functions were given (`select regexp_split_to_table(ssn, '')`).
        // SELECT DISTINCT: how many different values the select list has.
        if s["distinctClause"] != nil { grouping.formUnion(shape.all.pieces) }
        // A LIMIT or OFFSET computed from a value picks which rows come back (`offset (select
        // substr(ssn, 5, 1)::int ...) limit 1` over a series is the digit): every column.
        shape.carryEverywhere(limits)
        shape.rows = rows.union(grouping).union(limits).union(made)
        return shape
    }

    /// An ORDER BY, DISTINCT ON or GROUP BY item as what it sorts or groups by: a number
    /// is the select list's column at that place, a bare name one of its columns' names
    /// (`order by 2`, `group by k` for `... as k`), as the server reads them; the item
    /// itself otherwise (and as well: a name may be an input column too).
    static func named(_ item: JSON, by targets: [JSON]) -> JSON {
        let node = item["SortBy"]?["node"] ?? item
        if let c = node["A_Const"], let ival = c["ival"] {
            let n = Int(ival["ival"]?.int ?? 0)
            if n >= 1, n <= targets.count { return .array([item, targets[n - 1]["ResTarget"]?["val"] ?? .null]) }
            return item
        }
        if let fields = node["ColumnRef"]?["fields"]?.array, fields.count == 1, let name = fields[0].sval {
            // An output name, given or the server's own (`substr(...)` is "substr").
            let named = targets.filter { outputName($0["ResTarget"]) == name }.map { $0["ResTarget"]?["val"] ?? .null }
            if !named.isEmpty { return .array([item] + named) }
        }
        return item
    }

    /// The column a set operation's sort key names: an output name of the leftmost select's
    /// list, as the server matches it (an alias, else a column's or function's name).
    static func setOperationColumn(_ node: JSON, _ s: JSON) -> Int? {
        guard let fields = node["ColumnRef"]?["fields"]?.array, fields.count == 1, let name = fields[0].sval else { return nil }
        var left = s
        while let op = left["op"]?.string, op != "SETOP_NONE", let l = left["larg"] { left = l }
        return (left["targetList"]?.array ?? []).firstIndex { outputName($0["ResTarget"]) == name }
    }

    /// A sort or group key that is a stored column of a table in `scope` (by its table's
    /// name, or unqualified where every FROM item is a table), through `named`'s forms.
    static func storedColumn(_ item: JSON, _ scope: [ScopeItem]) -> Bool {
        if case .array(let forms) = item { return !forms.isEmpty && forms.allSatisfy { storedColumn($0, scope) } }
        let node = item["SortBy"]?["node"] ?? item
        guard let fields = node["ColumnRef"]?["fields"]?.array, fields.last?.sval != nil else { return false }
        if fields.count == 2, let q = fields[0].sval { return scope.contains { $0.name == q && $0.isTable } }
        return fields.count == 1 && !scope.isEmpty && scope.allSatisfy(\.isTable)
    }

    /// The window definitions (`OVER (...)`, `WINDOW w AS (...)`) in a select list or
    /// WINDOW clause; not those of a query inside it, which order that query's rows.
    static func windows(in e: JSON) -> [JSON] {
        switch e {
        case .object(let o):
            if let w = o["WindowDef"] { return [w] }
            if o["SubLink"] != nil || o["SelectStmt"] != nil { return [] }
            // A function's OVER (...) is its WindowDef's fields, unwrapped.
            return (o["over"].map { [$0] } ?? []) + o.filter { $0.key != "over" }.values.flatMap(windows(in:))
        case .array(let a): return a.flatMap(windows(in:))
        default: return []
        }
    }

    /// The AND-ed parts of a condition.
    func conjuncts(_ e: JSON) -> [JSON] {
        if let b = e["BoolExpr"], b["boolop"]?.string == "AND_EXPR" { return (b["args"]?.array ?? []).flatMap(conjuncts) }
        return [e]
    }

    /// Everything an expression reads, with the FROM items' columns it names.
    mutating func reads(_ e: JSON, _ scopes: [[ScopeItem]]) -> Set<SourceColumn> {
        let before = readLog
        readLog = []
        _ = expression(e, scopes)
        let r = readLog
        readLog = before.union(r)
        return r
    }


    /// What the set-returning functions of a select list (and sort keys) were given.
    mutating func setReturning(_ targets: JSON?, _ scopes: [[ScopeItem]]) -> Set<SourceColumn> {
        var out: Set<SourceColumn> = []
        func walk(_ e: JSON, _ a: inout Analyzer) {
            switch e {
            case .array(let xs): for x in xs { walk(x, &a) }
            case .object(let o):
                if o["SubLink"] != nil || o["SelectStmt"] != nil { return }
                // A built-in that returns a set, or the database's own function (it may).
                if let f = o["FuncCall"], let parts = f["funcname"]?.array?.compactMap(\.sval),
                   Bounds.setReturning.contains(Substring(parts.last ?? "")) || !ClassWalker.isBuiltin(parts) {
                    out.formUnion(a.reads(f["args"] ?? .null, scopes).withoutIdentities.pieces)
                }
                for (k, v) in o where k != "location" { walk(v, &a) }
            default: break
            }
        }
        walk(targets ?? .null, &self)
        return out
    }

    /// INSERT/UPDATE/DELETE ... RETURNING: the target table and the FROM/USING items.
    mutating func modify(_ s: JSON, returning: [JSON], inserts: Bool) -> Shape {
        let depth = ctes.count
        defer { ctes.removeLast(ctes.count - depth) }
        if s["withClause"] != nil { with(s["withClause"], outer: []) }
        var scope: [ScopeItem] = []
        if let rel = s["relation"] { from(.object(["RangeVar": rel]), outer: [], into: &scope) }
        // UPDATE ... SET a = v.a FROM v: the SET expressions read the FROM items too.
        quals.append([])
        nulling.append([])
        lateral.append([])
        for item in (s["fromClause"]?.array ?? []) + (s["usingClause"]?.array ?? []) { from(item, outer: [], into: &scope) }
        let joins = quals.removeLast()
        let nulls = nulling.removeLast()
        let related = lateral.removeLast()
        // RETURNING of the target table gives back what the write stored there:
        // INSERT ... SELECT last_name ... RETURNING a carries last_name.
        var stored = subquery(s["selectStmt"], outer: []).all
        if s["selectStmt"] == nil {
            for t in s["targetList"]?.array ?? [] { stored.formUnion(expression(t["ResTarget"]?["val"] ?? .null, [scope]).withoutIdentities) }
        }
        // A column's default, which an INSERT stores in every column it does not give and
        // SET col = DEFAULT stores too, is the catalog's code: a sequence's nextval gives
        // back whatever a setval parked there.
        if inserts || (s["targetList"]?.array ?? []).contains(where: { $0["ResTarget"]?["val"]?["SetToDefault"] != nil }) {
            stored.insert(.catalog); readLog.insert(.catalog)
        }
        // INSERT ... ON CONFLICT DO UPDATE SET a = v: what the SET stores (read from the row
        // there, from EXCLUDED, from a sub-select) is stored too, and its WHERE chooses rows.
        let conflict = s["onConflictClause"]
        for t in conflict?["targetList"]?.array ?? [] {
            stored.formUnion(expression(t["ResTarget"]?["val"] ?? .null, [scope]).withoutIdentities)
        }
        if !stored.isEmpty, let target = scope.first, case .table(let t) = target.relation {
            scope[0] = ScopeItem(name: target.name, relation: .opaque(stored.union([SourceColumn(t, "*")])), id: target.id)
        }
        var conditions: [Set<SourceColumn>] = []
        for clause in joins + [s["whereClause"], conflict?["whereClause"]].compactMap({ $0 }) {
            for c in conjuncts(clause) { conditions.append(reads(c, [scope])) }
        }
        conditions += related
        // An outer join in FROM or USING: which rows it filled with NULLs, as in a select;
        // a row of FROM or USING a condition picked or repeated by a piece, too.
        var shape = targets(returning, [scope], conditions: conditions)
        shape.carryEverywhere(nulls.union(relatingPieces(conditions, correlated: related, scope: scope)))
        return shape
    }

    /// What picks or repeats the rows of one FROM item for each row of another: a condition
    /// relating two or more of them (`join d on d.k = substr(p.ssn, 1, 1)`: the lookup row
    /// is a function of that piece in every column; `join (values ...) g(g) on g <=
    /// substr(p.ssn, 5, 1)::int`: each patient's row repeats as often as the digit; `order
    /// by g, p.id`: the ids come in runs), a LATERAL item's correlated conditions, a
    /// function's or derived table's own row count (`cross join lateral generate_series(0,
    /// ...)`). Every column of the select carries it, as it carries an order made by a
    /// piece: the rows it made look alike. Stored columns compared whole too: a reference
    /// table's row picked by a birth date (`join dim_date c on c.date = p.date_of_birth`)
    /// gives its year, month and day. A join on keys no rule names (`e.patient_id = p.id`)
    /// carries nothing a rule masks.
    func relatingPieces(_ conditions: [Set<SourceColumn>], correlated: [Set<SourceColumn>],
                        scope: [ScopeItem]) -> Set<SourceColumn> {
        let items = Set(scope.map { Self.itemKey($0.id) })
        var out = scope.reduce(into: Set<SourceColumn>()) { $0.formUnion($1.rows) }
        for c in correlated { out.formUnion(c.withoutIdentities.pieces) }
        for c in conditions where Set(c.filter(\.isIdentity).map(\.table)).intersection(items).count > 1 {
            out.formUnion(c.withoutIdentities.pieces)
        }
        return out.withoutIdentities
    }

    mutating func targets(_ list: [JSON], _ scopes: [[ScopeItem]], conditions: [Set<SourceColumn>] = []) -> Shape {
        var columns: [OutputColumn] = []
        var laidOut = true
        var all: Set<SourceColumn> = []
        // Each table `*` and the conditions that name its columns.
        var starTaint: [String: [String: Set<SourceColumn>]] = [:]
        for t in list {
            guard let val = t["ResTarget"]?["val"] else { continue }
            if let fields = val["ColumnRef"]?["fields"]?.array, fields.last?["A_Star"] != nil {
                let qualifier = fields.count >= 2 ? fields[fields.count - 2].sval : nil
                let items = qualifier.map { q in lookup(q, scopes).map { [$0] } ?? [] } ?? (scopes.first ?? [])
                if items.isEmpty || qualifier == nil && reorderingJoin { laidOut = false }
                for item in items {
                    readLog.formUnion(item.wholeRow)
                    let carried = linked([Self.identity(item, "*")], conditions).withoutIdentities
                    switch item.relation {
                    case .table(let t):
                        columns.append(.tableStar(t))
                        // Each column a condition names carries what that condition relates it to.
                        let named = Set(conditions.flatMap { $0.filter { $0.table == Self.itemKey(item.id) } })
                        for id in named {
                            let c = linked([id], conditions).withoutIdentities
                            if !c.isEmpty { starTaint[t.lowercased(), default: [:]][id.column, default: []].formUnion(c) }
                        }
                    case .derived(let shape):
                        if let c = shape.columns {
                            columns += c.map { c in
                                guard case .value(let s) = c, !carried.isEmpty else { return c }
                                return .value(s.union(carried))
                            }
                        } else { laidOut = false }
                        all.formUnion(shape.all)
                    case .opaque(let s): laidOut = false; all.formUnion(s)
                    }
                    all.formUnion(item.wholeRow); all.formUnion(carried)
                }
            } else {
                let sources = linked(expression(val, scopes), conditions).withoutIdentities
                columns.append(.value(sources))
                all.formUnion(sources)
            }
        }
        var shape = Shape(columns)
        shape.all.formUnion(all)
        shape.starTaint = starTaint
        if !laidOut { shape.columns = nil }
        return shape
    }

    /// A value with what the conditions relating its columns carry, to a fixed point
    /// (`a.x = b.y and b.y = ssn`: x carries ssn). What a condition carries is taken as
    /// a piece of its values (the column equals some function of them), less what the
    /// column itself holds (`where ssn like '9%'` adds nothing to ssn).
    func linked(_ sources: Set<SourceColumn>, _ conditions: [Set<SourceColumn>]) -> Set<SourceColumn> {
        guard !conditions.isEmpty else { return sources }
        var out = sources
        var used = Set<Int>()
        var changed = true
        while changed {
            changed = false
            let ids = out.filter(\.isIdentity)
            guard !ids.isEmpty else { break }
            for (i, c) in conditions.enumerated() where !used.contains(i) {
                let hit = c.contains { x in
                    x.isIdentity && ids.contains { $0.table == x.table && ($0.column == x.column || x.column == "*" || $0.column == "*") }
                }
                guard hit else { continue }
                used.insert(i)
                let own = Set(ids.flatMap { identitySources[$0] ?? [] }.map { "\($0.table.lowercased()).\($0.column.lowercased())" })
                out.formUnion(c.filter(\.isIdentity))
                out.formUnion(c.withoutIdentities.pieces.filter { !own.contains("\($0.table.lowercased()).\($0.column.lowercased())") })
                changed = true
            }
        }
        return out
    }

    static func itemKey(_ id: Int) -> String { "~\(id)" }
    static func identity(_ item: ScopeItem, _ column: String) -> SourceColumn { SourceColumn(itemKey(item.id), column) }

    mutating func append(_ item: ScopeItem, to scope: inout [ScopeItem]) {
        var item = item
        items += 1
        item.id = items
        scope.append(item)
    }

    mutating func from(_ item: JSON, outer: [[ScopeItem]], into scope: inout [ScopeItem]) {
        guard let (kind, body) = item.node else { return }
        let alias = body["alias"]?["aliasname"]?.string
        let renamed = (body["alias"]?["colnames"]?.array ?? []).compactMap(\.sval)
        switch kind {
        case "RangeVar":
            guard let rel = body["relname"]?.string else { return }
            let name = alias ?? rel
            let schema = body["schemaname"]?.string
            if let state = Self.serverRelation(rel, schema: schema) {
                append(ScopeItem(name: name, relation: .opaque([state])), to: &scope)
            } else if schema == nil, let shape = cte(rel) {
                append(ScopeItem(name: name, relation: .derived(shape), rows: shape.rows), to: &scope)
                setNames(name, ambiguous.contains("cte:" + rel) ? nil : renamed.isEmpty ? names["cte:" + rel] : named(shape, renamed))
            } else if renamed.isEmpty {
                append(ScopeItem(name: name, relation: .table(rel)), to: &scope)
            } else {
                // Renamed columns of a table cannot be matched to its own names here.
                append(ScopeItem(name: name, relation: .opaque([SourceColumn(rel, "*")])), to: &scope)
            }
        case "RangeSubselect":
            let before = readLog
            readLog = []
            let shape = subquery(body["subquery"], outer: [scope] + outer)
            let inner = readLog
            readLog = before.union(inner)
            // LATERAL: its rows are chosen per row of the items before it, as a condition
            // would (`generate_series(0, 999) g, lateral (select 1 ... where ascii(ssn) = g)`).
            let enclosing = Set(([scope] + outer).flatMap { $0.map { Self.itemKey($0.id) } })
            let correlated = inner.filter { $0.isIdentity && enclosing.contains($0.table) }
            if !correlated.isEmpty, !shape.rows.isEmpty, !lateral.isEmpty { lateral[lateral.count - 1].append(shape.rows.union(correlated)) }
            let name = alias ?? ""
            append(ScopeItem(name: name, relation: .derived(shape), rows: shape.rows), to: &scope)
            setNames(name, renamed.isEmpty ? named(body["subquery"], shape) : named(shape, renamed))
        case "JoinExpr":
            if body["usingClause"] != nil || body["isNatural"]?.bool == true { reorderingJoin = true }
            let first = scope.count
            from(body["larg"] ?? .null, outer: outer, into: &scope)
            let second = scope.count
            from(body["rarg"] ?? .null, outer: outer, into: &scope)
            if let q = body["quals"], !quals.isEmpty { quals[quals.count - 1].append(q) }
            // USING compares the columns of those names on both sides, as ON would; NATURAL,
            // those both sides have, which the text does not say: any of them.
            if !lateral.isEmpty, body["usingClause"] != nil || body["isNatural"]?.bool == true {
                var compared: Set<SourceColumn> = []
                let names = (body["usingClause"]?.array ?? []).compactMap(\.sval)
                let field = { (name: String) -> JSON in .object(["String": .object(["sval": .string(name)])]) }
                for item in scope[first...] {
                    if item.name.isEmpty || names.isEmpty {
                        compared.formUnion(item.wholeRow.union([Self.identity(item, "*")]))
                        continue
                    }
                    for n in names {
                        compared.formUnion(reads(.object(["ColumnRef": .object(["fields": .array([field(item.name), field(n)])])]),
                                                 [Array(scope[first...])] + outer))
                    }
                }
                lateral[lateral.count - 1].append(compared)
            }
            // An outer join's NULLs are its condition's answer for each row (`left join
            // (select 1 k) x on substr(p.ssn, 11, 1) = '0'`: x.k is 1 or NULL by a digit),
            // and so is what chooses the rows of its nullable side (a LATERAL's WHERE):
            // every column of the select carries them, as of an order made by a piece.
            let kind = body["jointype"]?.string ?? "JOIN_INNER"
            if kind != "JOIN_INNER", !nulling.isEmpty {
                var answer = reads(body["quals"] ?? .null, [scope] + outer).withoutIdentities.pieces
                // USING or NATURAL compares columns of both sides by name: any of them.
                if body["usingClause"] != nil || body["isNatural"]?.bool == true {
                    for item in scope[first...] { answer.formUnion(item.wholeRow.withoutIdentities.pieces) }
                }
                let nullable = kind == "JOIN_LEFT" ? scope[second...] : kind == "JOIN_RIGHT" ? scope[first..<second] : scope[first...]
                for item in nullable { answer.formUnion(item.rows.withoutIdentities) }
                nulling[nulling.count - 1].formUnion(answer)
            }
            if let alias {
                let all = scope.reduce(into: Set<SourceColumn>()) { $0.formUnion($1.wholeRow) }
                append(ScopeItem(name: alias, relation: .opaque(all)), to: &scope)
            }
        case "RangeFunction":
            // A function in FROM (unnest, json_to_recordset, a set-returning function):
            // its columns, and how many rows it makes, carry whatever its arguments carry.
            let sources = expression(body["functions"] ?? .null, [scope] + outer).withoutIdentities
            let name = alias ?? (body["functions"]?.array?.first?.array?.first?["FuncCall"]?["funcname"]?.array?.last?.sval ?? "")
            append(ScopeItem(name: name, relation: .opaque(sources), rows: sources.pieces), to: &scope)
        default:
            // Anything else (TABLESAMPLE, XMLTABLE, JSON_TABLE...): every table in it, whole.
            let tables = relations(in: item)
            let read = expression(item, [scope] + outer).withoutIdentities
            let all = Set(tables.map { SourceColumn($0, "*") }).union(read).union([.untraced])
            append(ScopeItem(name: alias ?? "", relation: .opaque(all), rows: all), to: &scope)
        }
    }

    /// Relations whose rows are server state, not table data: other sessions' queries,
    /// settings and locks (untraced), statistics' sample values (untraced), and the
    /// catalog's names and sequences (what this gateway's sessions parked there).
    static func serverRelation(_ rel: String, schema: String?) -> SourceColumn? {
        let system = schema == nil || schema == "pg_catalog" || schema == "information_schema"
        guard system else { return nil }
        if statistics.contains(rel) || otherSessions.contains(rel) || rel.hasPrefix("pg_stat_progress_") { return .untraced }
        if ["pg_settings", "pg_file_settings", "pg_db_role_setting"].contains(rel) { return .setting }
        if schema != nil || rel.hasPrefix("pg_") { return .catalog }
        return nil
    }

    /// Views of what every session on the server is doing (their queries, application
    /// names, lock keys), sessions that need not come through this gateway.
    static let otherSessions: Set<String> = [
        "pg_stat_activity", "pg_locks", "pg_stat_statements", "pg_stat_statements_info", "pg_prepared_xacts",
        "pg_stat_replication", "pg_stat_wal_receiver", "pg_stat_subscription", "pg_replication_slots",
        "pg_stat_ssl", "pg_stat_gssapi", "pg_backend_memory_contexts", "pg_prepared_statements", "pg_cursors",
    ]

    /// Result column names of a derived table, when its select list names them.
    func named(_ node: JSON?, _ shape: Shape) -> [String: Set<SourceColumn>]? {
        guard let list = node?["SelectStmt"]?["targetList"]?.array, let cols = shape.columns, cols.count == list.count else { return nil }
        var out: [String: Set<SourceColumn>] = [:]
        for (t, c) in zip(list, cols) {
            guard case .value(let s) = c, let name = Self.outputName(t["ResTarget"]) else { return nil }
            out[name, default: []].formUnion(s)
        }
        return out
    }

    func named(_ shape: Shape, _ renamed: [String]) -> [String: Set<SourceColumn>]? {
        // A partial rename keeps the other columns' own names: not followed here (nil:
        // any column of it may carry anything it reads).
        guard let cols = shape.columns, cols.count == renamed.count else { return nil }
        var out: [String: Set<SourceColumn>] = [:]
        for (name, c) in zip(renamed, cols) {
            guard case .value(let s) = c else { return nil }
            out[name, default: []].formUnion(s)
        }
        return out
    }

    /// The name the server gives a result column (FigureColname, for the cases that matter).
    static func outputName(_ target: JSON?) -> String? {
        if let n = target?["name"]?.string { return n }
        var v = target?["val"]
        while let cast = v?["TypeCast"] { v = cast["arg"] }
        if let f = v?["ColumnRef"]?["fields"]?.array { return f.last?.sval }
        if let f = v?["FuncCall"]?["funcname"]?.array { return f.last?.sval }
        return nil
    }

    func lookup(_ name: String, _ scopes: [[ScopeItem]]) -> ScopeItem? {
        for scope in scopes { if let item = scope.last(where: { $0.name == name }) { return item } }
        return nil
    }

    /// A column of a FROM item by name. A name that is none of a derived table's columns,
    /// or a built-in's that takes a whole row, may be PostgreSQL's attribute notation:
    /// `s.to_json` is `to_json(s)`, `p.quote_literal` is `quote_literal(p)`, the whole row.
    func column(_ item: ScopeItem, _ c: String, qualified: Bool = false) -> Set<SourceColumn> {
        if case .derived = item.relation, !ambiguous.contains(item.name), let n = names[item.name] {
            // Unqualified, a name it does not have is another item's.
            return n[c] ?? (qualified ? item.wholeRow : [])
        }
        if qualified, case .table = item.relation, BuiltinFunctions.wholeRow.contains(Substring(c.lowercased())) {
            return item.column(c).union(item.wholeRow)
        }
        return item.column(c)
    }

    /// Node kinds whose value is one of their inputs' whole values (or all of them side
    /// by side); any other node computes something from them: a piece.
    static let wholeNodes: Set<String> = [
        "ColumnRef", "CollateClause", "CoalesceExpr", "MinMaxExpr", "A_ArrayExpr", "RowExpr",
        "ResTarget", "List", "SortBy", "NamedArgExpr", "ParamRef", "A_Const",
    ]
    /// Whether a node reads a relation `name` qualified by a schema anywhere in it.
    static func readsQualified(_ node: JSON?, _ name: String) -> Bool {
        switch node {
        case .object(let o)?:
            if let r = o["RangeVar"], r["schemaname"] != nil, r["relname"]?.string?.lowercased() == name.lowercased() { return true }
            return o.values.contains { readsQualified($0, name) }
        case .array(let a)?:
            return a.contains { readsQualified($0, name) }
        default:
            return false
        }
    }

    /// Type names whose values content detection reads as the text they hold.
    static let textTypes: Set<String> = ["text", "varchar", "bpchar", "json", "jsonb", "xml", "citext", "unknown"]
    /// Built-ins whose value holds their input in a form content detection cannot read as
    /// that text (`Lineage.encoded`).
    static let encodingFunctions: Set<String> = [
        "reverse", "translate", "encode", "decode", "convert_to", "convert_from", "convert", "to_hex", "ascii", "chr",
        "md5", "sha224", "sha256", "sha384", "sha512", "digest", "to_ascii", "overlay", "regexp_replace", "replace",
        "string_to_array", "regexp_split_to_array", "regexp_split_to_table", "regexp_matches", "regexp_match",
        "array_to_string", "unistr", "quote_literal", "quote_ident", "quote_nullable", "to_number", "to_date",
        "to_timestamp", "to_char", "get_byte", "get_bit", "substring", "substr", "left", "right", "split_part",
        "lpad", "rpad", "repeat", "bit_length", "octet_length", "length", "char_length", "character_length", "position",
        "strpos", "starts_with", "width_bucket", "hashtext", "hashtextextended", "crc32", "crc32c", "format",
        "textsend", "bytea", "to_tsvector", "jsonb_to_tsvector", "json_to_tsvector", "array_to_tsvector", "setweight", "strip",
        "ts_headline", "to_tsquery", "plainto_tsquery", "phraseto_tsquery", "websearch_to_tsquery", "tsvector_to_array",
        "regexp_substr", "regexp_count", "regexp_instr", "regexp_like", "unnest", "string_to_table", "initcap_bytes",
        "normalize", "bit_count", "varbit", "bit", "soundex", "difference", "metaphone", "dmetaphone", "levenshtein",
    ]
    /// Functions whose value is the input a comparison chose.
    static let comparing: Set<String> = ["min", "max", "mode", "percentile_disc"]
    /// Functions whose value is one of their inputs' whole values, or them side by side.
    static let wholeFunctions: Set<String> = [
        "min", "max", "first_value", "last_value", "nth_value", "lag", "lead", "any_value", "mode", "percentile_disc",
        "concat", "concat_ws", "string_agg", "array_agg", "textcat", "coalesce", "unnest",
    ]
    /// Aggregates and window functions: the classifier's aggregates, and those only a
    /// window or a newer server has (counting more is safe here: they carry their rows).
    static let aggregates = Bounds.aggregates.union([
        "rank", "dense_rank", "percent_rank", "cume_dist", "any_value", "json_agg_strict", "jsonb_agg_strict",
        "json_objectagg", "json_arrayagg",
    ])
    /// Built-ins that write their arguments into server state.
    static let parkingFunctions: [String: Parks] = [
        "set_config": .settings, "setval": .catalog, "nextval": .catalog, "pg_notify": .notify,
        // The seed of the session's random numbers: two random() values give it back whole.
        "setseed": .settings,
        "lo_from_bytea": .catalog, "lo_put": .catalog, "lo_import": .catalog, "lo_create": .catalog,
    ]
    /// Built-ins whose value is server state: a setting, a sequence, a catalog name.
    static let stateFunctions: [String: SourceColumn] = {
        var m: [String: SourceColumn] = [:]
        for f in ["current_setting", "pg_show_all_settings", "pg_settings_get_flags", "current_schema", "current_schemas",
                  "random", "random_normal"] { m[f] = .setting }
        for f in ["currval", "lastval", "pg_sequence_last_value", "pg_sequence_parameters", "current_user", "session_user",
                  "current_database", "current_catalog", "obj_description", "col_description", "shobj_description", "format_type",
                  "to_regclass", "to_regtype", "to_regproc", "to_regprocedure", "to_regoper", "to_regoperator", "to_regnamespace",
                  "to_regrole", "to_regcollation", "to_regtypemod", "pg_describe_object", "pg_identify_object",
                  "pg_identify_object_as_address", "pg_get_userbyid", "getpgusername", "nextval"] { m[f] = .catalog }
        // Definitions the catalog holds whole, by OID or by name as text: code may have
        // written a value into a function's body, a view or a rule. (Those psql's `\d` shows
        // beside a table, its indexes', constraints', defaults' and triggers', are not
        // marked: a DO block anywhere would mask them all.)
        for f in ["pg_get_functiondef", "pg_get_function_sqlbody", "pg_get_viewdef", "pg_get_ruledef"] { m[f] = .definition }
        return m
    }()

    /// The table columns an expression's value may carry, and the FROM items' columns
    /// it names (identities, for the conditions that relate them).
    mutating func expression(_ e: JSON, _ scopes: [[ScopeItem]]) -> Set<SourceColumn> {
        switch e {
        case .array(let items):
            return items.reduce(into: []) { $0.formUnion(expression($1, scopes)) }
        case .object(let o):
            guard o.count == 1, let (kind, body) = o.first, kind.first?.isUppercase == true else {
                var out: Set<SourceColumn> = []
                for (k, v) in o where k != "location" { out.formUnion(expression(v, scopes)) }
                return out
            }
            return node(kind, body, scopes)
        default:
            return []
        }
    }

    mutating func node(_ kind: String, _ body: JSON, _ scopes: [[ScopeItem]]) -> Set<SourceColumn> {
        switch kind {
        case "ColumnRef":
            let r = columnRef(body["fields"]?.array ?? [], scopes)
            readLog.formUnion(r)
            return r
        case "FuncCall":
            return function(body, scopes)
        case "NullTest":
            // `col is null`: a stored value's null-ness carries nothing of it. Of anything
            // computed it may carry a digit (`nullif(substr(ssn, 3, 1), '7') is null`, or a
            // derived table's column that is such a value): a piece.
            let tested = reads(body, scopes).withoutIdentities
            return body["arg"]?["ColumnRef"] != nil && tested.allSatisfy(\.whole) ? [] : tested.pieces
        case "A_Expr":
            let op = (body["name"]?.array ?? []).compactMap(\.sval)
            var out = fields(body, scopes)
            // An operator of another schema, or one the database defines with a built-in's
            // name, is the database's own code.
            if op.count > 1 ? op[0] != "pg_catalog" : op.first.map(isShadowed) == true { out.insert(.untraced); parks.insert(.code) }
            if let name = op.last, ["->>", "->", "#>", "#>>"].contains(name) {
                // doc->>'first_name': a JSON member named like a column carries what that column would.
                out = out.pieces
                if let key = body["rexpr"]?["A_Const"]?["sval"]?["sval"]?.string {
                    if name.hasPrefix("#") {
                        // A path, '{a,b}': every element may name a member.
                        for k in key.trimmingCharacters(in: ["{", "}"]).split(separator: ",") {
                            out.insert(SourceColumn("*", k.trimmingCharacters(in: [" ", "\""])))
                        }
                    } else {
                        out.insert(SourceColumn("*", key))
                    }
                } else {
                    out.insert(.untraced)   // a key computed at run time
                }
                return out
            }
            // NULLIF(x, y) is x or NULL by whether x = y: a test of x, a piece of it
            // (`nullif(last_name, 'a guess')` is NULL for that name only).
            return body["kind"]?.string == "AEXPR_OP" && op == ["||"] ? out : out.pieces
        case "A_Indirection":
            // doc['last_name'], (p).ssn, arr[1]: a piece of the base, and a named member's rules.
            var out = expression(body["arg"] ?? .null, scopes).pieces
            for i in body["indirection"]?.array ?? [] {
                if let field = i.sval { out.insert(SourceColumn("*", field)) }
                if let idx = i["A_Indices"] {
                    if let key = idx["uidx"]?["A_Const"]?["sval"]?["sval"]?.string { out.insert(SourceColumn("*", key)) }
                    out.formUnion(expression(idx, scopes).pieces)
                }
            }
            return out
        case "TypeCast":
            // A cast to a length (char(3), varchar(4), numeric(2)) keeps a piece; casts to
            // reg* types turn numbers into catalog names.
            let out = expression(body["arg"] ?? .null, scopes)
            let type = (body["typeName"]?["names"]?.array ?? []).compactMap(\.sval).last ?? ""
            if type.hasPrefix("reg") { readLog.insert(.catalog); return out.pieces.union([.catalog]) }
            // A cast the database defined runs its function: what that reads is not traced.
            if shadowing.contains("::" + type.lowercased()) { readLog.insert(.untraced); return out.union([.untraced]) }
            // A length cuts (`note::varchar(1)`, one character a statement); another type
            // turns the text into what detection does not read (Lineage.encoded).
            let cut = body["typeName"]?["typmods"] != nil
            let cast = cut ? out.pieces : out
            if Self.textTypes.contains(type.lowercased()) && !cut || out.isEmpty { return cast }
            return cast.union([.encoded])
        case "SubLink":
            let type = body["subLinkType"]?.string ?? ""
            let test = expression(body["testexpr"] ?? .null, scopes)
            // A sub-select's value, and whether it has rows at all, carry what chooses its
            // rows (`exists (select 1 from patients p where ascii(p.ssn) = g)` is true for
            // one g). EXISTS yields nothing else; IN / ANY / ALL compare with its values.
            let shape = subquery(body["subselect"], outer: scopes)
            switch type {
            case "EXISTS_SUBLINK": return shape.rows
            case "ANY_SUBLINK", "ALL_SUBLINK", "ROWCOMPARE_SUBLINK": return test.union(shape.all).union(shape.rows).pieces
            default: return shape.all.union(shape.rows)
            }
        case "SelectStmt":
            return subquery(.object([kind: body]), outer: scopes).all
        case "CaseExpr", "CaseWhen":
            // The value is one of the results, whole; what chooses it (the argument
            // tested, each condition) carries a piece of what it reads: `case last_name
            // when 'a guess' then null else 1 end` tells that name from the others.
            guard case .object(let o) = body else { return [] }
            var out: Set<SourceColumn> = []
            for (k, v) in o where k != "location" {
                let e = expression(v, scopes)
                out.formUnion(k == "arg" || k == "expr" ? e.pieces : e)
            }
            return out
        case "SQLValueFunction":
            // CURRENT_USER, CURRENT_SCHEMA...: names from the catalog and settings.
            let op = body["op"]?.string ?? ""
            guard ["USER", "ROLE", "SCHEMA", "CATALOG"].contains(where: op.hasSuffix) else { return [] }
            readLog.insert(.catalog)
            return [.catalog]
        case "MinMaxExpr":
            // GREATEST and LEAST choose by comparing: a constant among their arguments shows
            // when it wins (`greatest(ssn, '123')`): whole only among stored columns alone.
            let out = fields(body, scopes)
            return (body["args"]?.array ?? []).allSatisfy({ Self.storedColumn($0, scopes.first ?? []) }) ? out : out.pieces
        default:
            let out = fields(body, scopes)
            return Self.wholeNodes.contains(kind) ? out : out.pieces
        }
    }

    mutating func fields(_ body: JSON, _ scopes: [[ScopeItem]]) -> Set<SourceColumn> {
        guard case .object(let o) = body else { return expression(body, scopes) }
        var out: Set<SourceColumn> = []
        for (k, v) in o where k != "location" { out.formUnion(expression(v, scopes)) }
        return out
    }

    func isShadowed(_ name: String) -> Bool { shadowing.contains(name) || shadowing.contains("*") }

    mutating func function(_ f: JSON, _ scopes: [[ScopeItem]]) -> Set<SourceColumn> {
        let name = (f["funcname"]?.array ?? []).compactMap(\.sval)
        let schema = name.count > 1 ? name[name.count - 2] : "pg_catalog"
        let fn = name.last ?? ""
        let builtin = ["pg_catalog", "information_schema"].contains(schema) && BuiltinFunctions.names.contains(Substring(fn))
            && !(name.count == 1 && isShadowed(fn))
        var args = expression(f["args"] ?? .null, scopes)
        // The value of an ordered-set aggregate comes from its ORDER BY
        // (percentile_disc(0.5) WITHIN GROUP (ORDER BY ssn)).
        args.formUnion(expression(f["agg_order"] ?? .null, scopes))
        // FILTER (WHERE ...) chooses the rows it aggregates, OVER (...) orders them.
        var window = reads(.array([f["agg_filter"] ?? .null, f["over"] ?? .null]), scopes).withoutIdentities.pieces
        if f["over"] != nil { window.formUnion(namedWindows.last ?? []) }
        if !builtin {
            // The database's own code: its value may carry anything, and it may set anything.
            parks.insert(.code); readLog.insert(.untraced)
            return args.pieces.union([.untraced])
        }
        if let kind = Self.parkingFunctions[fn] { parks.insert(kind) }
        if fn == "pg_notify" { channels.insert(f["args"]?.array?.first?["A_Const"]?["sval"]?["sval"]?.string ?? "*") }
        // An aggregate or window function's value carries what makes the rows it is
        // computed over (a function in FROM, a set built from a value: `sum(1) from
        // generate_series(1, ascii(ssn))`), and its window's order and partition.
        let aggregate = Self.aggregates.contains(fn) || f["over"] != nil || f["agg_star"]?.bool == true
        let context = aggregate ? (counted.last ?? []).union(window) : []
        if fn == "count" {
            // count(DISTINCT x) also carries how many different x there are; count of
            // anything but a column, which of its values are null (`count(nullif(substr(ssn,
            // 3, 1), '7'))`).
            let stored = (f["args"]?.array ?? []).allSatisfy { $0["ColumnRef"] != nil } && args.allSatisfy(\.whole)
            return f["agg_distinct"]?.bool == true || !stored ? context.union(args.pieces) : context
        }
        // A value chosen by comparing (min, max, mode, percentile_disc) is one of its inputs
        // whole only when those are a table's stored column: over a derived table's or a
        // VALUES list's column, a constant there may be chosen instead, and `partial` would
        // show which (`max(v) from (values (p.ssn), ('5'))` is '5' when the SSN is smaller).
        // (`mode() within group (order by v)`: its input is its sort key.)
        let inputs = (f["args"]?.array ?? []) + (f["agg_order"]?.array ?? [])
        let chosenAmongOthers = Self.comparing.contains(fn) && (inputs.isEmpty || !inputs.allSatisfy { Self.storedColumn($0, scopes.first ?? []) })
        var out = (Self.wholeFunctions.contains(fn) && !chosenAmongOthers ? args : args.pieces).union(context)
        if Self.encodingFunctions.contains(fn), !args.isEmpty { out.insert(.encoded) }
        if let state = Self.stateFunctions[fn] { out.insert(state); readLog.insert(state) }
        if BuiltinFunctions.untraced.contains(fn) || BuiltinFunctions.untracedPrefixes.contains(where: fn.hasPrefix) {
            out.insert(.untraced); readLog.insert(.untraced)
        }
        if ["json_extract_path", "json_extract_path_text", "jsonb_extract_path", "jsonb_extract_path_text"].contains(fn) {
            for a in (f["args"]?.array ?? []).dropFirst() {
                if let key = a["A_Const"]?["sval"]?["sval"]?.string { out.insert(SourceColumn("*", key)) } else { out.insert(.untraced) }
            }
        }
        return out
    }

    /// A column reference: the table columns it may carry, and the FROM item column it
    /// names (an identity).
    mutating func columnRef(_ fields: [JSON], _ scopes: [[ScopeItem]]) -> Set<SourceColumn> {
        let r = resolve(fields, scopes)
        for id in r.filter(\.isIdentity) where identitySources[id] == nil {
            identitySources[id] = r.withoutIdentities
        }
        return r
    }

    func resolve(_ fields: [JSON], _ scopes: [[ScopeItem]]) -> Set<SourceColumn> {
        let names = fields.compactMap(\.sval)
        let star = fields.last?["A_Star"] != nil
        if star {
            if let q = names.last, let item = lookup(q, scopes) { return item.wholeRow.union([Self.identity(item, "*")]) }
            return (scopes.first ?? []).reduce(into: []) { $0.formUnion($1.wholeRow); $0.insert(Self.identity($1, "*")) }
        }
        guard let c = names.last else { return [] }
        if names.count >= 2 {
            let q = names[names.count - 2]
            if let item = lookup(q, scopes) { return column(item, c, qualified: true).union([Self.identity(item, c)]) }
            // `(p).x`, a schema-qualified name, or a composite field: any table in scope.
        }
        var out: Set<SourceColumn> = []
        for scope in scopes { for item in scope { out.formUnion(column(item, c)); out.insert(Self.identity(item, c)) } }
        // A bare name may also be a whole row (`row_to_json(p)`).
        if names.count == 1, let item = lookup(c, scopes) { out.formUnion(item.wholeRow); out.insert(Self.identity(item, "*")) }
        return out
    }

    func relations(in node: JSON) -> [String] {
        switch node {
        case .array(let a): return a.flatMap(relations)
        case .object(let o):
            if let rv = o["RangeVar"], let r = rv["relname"]?.string { return [r] }
            return o.values.flatMap(relations)
        default: return []
        }
    }
}
