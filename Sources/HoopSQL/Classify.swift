import Foundation
import CPgQuery
import HoopJSON

/// What kind of statement it is, for hoop-approve's policy.
public enum StatementKind: String, Sendable, CaseIterable { case read, write, ddl, dcl, utility, transaction }

/// Something a statement does that a policy may want to see on its own.
public enum StatementFlag: String, Sendable, CaseIterable {
    case alterSystem = "alter_system"            // ALTER SYSTEM
    case copyProgram = "copy_program"            // COPY ... TO/FROM PROGRAM
    case serverFile = "server_file"              // COPY to/from a server file; pg_read_file, lo_import/lo_export, pg_ls_dir...
    case setRole = "set_role"                    // SET ROLE / RESET ROLE / SET LOCAL ROLE / set_config('role',...)
    case setSessionAuthorization = "set_session_authorization"  // SET/RESET SESSION AUTHORIZATION, set_config('session_authorization',...)
    case dynamicSQL = "dynamic_sql"              // DO, dblink*, query_to_xml family: SQL given as text
    case userFunction = "user_function"          // a function that is not a PG15 built-in: its body is unseen
    case loadLibrary = "load_library"            // LOAD
    case adminFunction = "admin_function"        // pg_terminate_backend, pg_reload_conf..., set_config of a name computed at run time
    case lexerSetting = "lexer_setting"          // SET / set_config of standard_conforming_strings, backslash_quote, client_encoding to another value: changes how the server reads SQL text
    case exclusiveLock = "exclusive_lock"        // LOCK (SHARE and stronger), CLUSTER, VACUUM FULL, REINDEX, SET TABLESPACE, REFRESH MATERIALIZED VIEW: stalls every session using the table
    case statistics = "statistics"               // ANALYZE (VACUUM ANALYZE), SET / set_config of default_statistics_target: moves the planner's statistics, which bound a read by a key
}

/// Columns of a written relation ("schema.table" or "table", as in tablesWritten) that a
/// WHERE clause pins to constants, each with how many values; `limit`: how many rows may
/// be named (maxBoundedLimit).
public struct PinnedColumns: Hashable, Sendable {
    public var relation: String
    public var columns: [String: Int]
    public var limit: Int
    public init(relation: String, columns: [String: Int], limit: Int = 1000) {
        self.relation = relation; self.columns = columns; self.limit = limit
    }
}

/// A read the text bounds only by taking pinned columns of a table for a key by their
/// names (`id`, `*_id`, `key_columns`: Bounds.keyCount): bounded only when the catalog
/// says those pins name at most `rows` rows (CatalogFacts.confirms). `columns`: every
/// column of the relation ("schema.table" or "table", as in tablesRead) the WHERE pins,
/// each with how many values.
public struct KeyedRead: Hashable, Sendable {
    public var relation: String
    public var columns: [String: Int]
    public var rows: Int
    public init(relation: String, columns: [String: Int], rows: Int) {
        self.relation = relation; self.columns = columns; self.rows = rows
    }
}

/// One statement, classified from its parse tree alone (no catalog).
public struct StatementClass: Equatable, Sendable {
    public var kind: StatementKind
    /// Upper-case, like the server's command tag ("SELECT", "CREATE TABLE AS", "DROP INDEX"...).
    public var command: String
    /// A transaction block it opens (BEGIN, START TRANSACTION: true) or ends (COMMIT,
    /// ROLLBACK, PREPARE TRANSACTION without AND CHAIN: false); nil for the rest
    /// (ROLLBACK TO and RELEASE stay in the block).
    public var opensBlock: Bool? = nil
    /// Relations read ("schema.table" when qualified; quoted names keep their case). CTE names are not tables.
    public var tablesRead: Set<String> = []
    /// Relations written: DML targets (also inside data-modifying CTEs), TRUNCATE, COPY FROM,
    /// DDL targets (the table, index, view... the statement creates, alters or drops), CTAS / SELECT INTO.
    public var tablesWritten: Set<String> = []
    /// "table.column" for INSERT column lists, UPDATE SET and ON CONFLICT / MERGE targets;
    /// "table.*" for an INSERT or COPY FROM without a column list.
    public var columnsWritten: Set<String> = []
    /// "table.column" a counter writes (`n = n + 1`, `note = note || ' seen'`): no copy
    /// of the row, but a column whose mask shows a part (a date as its year, a number's
    /// last digits) can be probed by shifting it and reading it back, so the policy counts
    /// one on a column its masking rules name as an export.
    public var countersWritten: Set<String> = []
    /// UPDATE/DELETE without WHERE (anywhere in the statement) or with a WHERE that is constant
    /// true; TRUNCATE; MERGE ... ON true with a matched UPDATE/DELETE.
    public var unboundedWrite = false
    /// UPDATEs and DELETEs unbounded by their text alone though their WHERE pins columns of
    /// the target to constants, none of them a key by name (`where mrn = $1`, `where
    /// status = 'open'`): bounded when the catalog says those columns hold one of the
    /// table's unique keys (CatalogFacts.uniqueKeys), unless `unboundedAnyway`.
    public var pinnedColumns: [PinnedColumns] = []
    /// Unbounded whatever the catalog says: a write that pins nothing, TRUNCATE, an upsert
    /// or a MERGE that nothing bounds.
    public var unboundedAnyway = false
    /// Whether the rows the statement reads out are bounded (see `Bounds` in ClassifyWalk.swift).
    public var readsBounded = true
    /// What `readsBounded` took on trust from column names: unbounded unless the catalog
    /// confirms every one (CatalogFacts.apply).
    public var keyedReads: Set<KeyedRead> = []
    /// COPY ... TO, CREATE TABLE AS, SELECT INTO, CREATE MATERIALIZED VIEW (with data).
    public var export = false
    /// Why part of its effect cannot be seen from the text, human-readable.
    public var hidden: [String] = []
    public var flags: Set<StatementFlag> = []
    /// PREPARE name / EXECUTE name / DEALLOCATE name.
    public var preparedName: String?
    /// For PREPARE: the classification of the prepared statement (one element).
    public var preparedBody: [StatementClass] = []
    /// What the database's catalog decides (CatalogFacts): built-in function names called
    /// without a schema (a function of the database's own with that name may be chosen)
    /// and the last names of qualified columns (`x.f` calls f(x) when x has no column f),
    /// operators named without a schema, and the types values are cast to ("schema.type"
    /// or "type"; not pg_catalog's).
    public var functionsCalled: Set<String> = []
    public var operatorsUsed: Set<String> = []
    public var typesCast: Set<String> = []
    /// Tables whose write-time code runs though nothing is written: for EXPLAIN without
    /// ANALYZE, what the planner folds of their defaults and rules; for ANALYZE, their
    /// index expressions (`CatalogFacts.everyRelation`: every table).
    public var writesPlanned: Set<String> = []
    /// Whether the catalog's facts decide part of its effect: it names a relation, a
    /// function, an operator or a type.
    public var needsCatalog: Bool {
        !(tablesRead.isEmpty && tablesWritten.isEmpty && writesPlanned.isEmpty && functionsCalled.isEmpty && operatorsUsed.isEmpty && typesCast.isEmpty)
    }

    public init(kind: StatementKind, command: String) {
        self.kind = kind
        self.command = command
    }

    /// Why an EXECUTE's effect is not in its text: the prepared statement's body.
    public static func executeUnseen(_ name: String) -> String { "EXECUTE of prepared statement \(name)" }

    /// This statement (a prepared one's body) as an EXECUTE runs it: the EXECUTE's
    /// arguments are expressions the server evaluates first (a function that changes a
    /// setting, ends a session, reads a table), so what they do counts with the body.
    /// The EXECUTE's own mark that its body is not in its text (`bodyUnseen`) does not.
    public func executed(with arguments: StatementClass, bodyUnseen: String) -> StatementClass {
        var s = self
        s.flags.formUnion(arguments.flags)
        s.hidden += arguments.hidden.filter { $0 != bodyUnseen && !s.hidden.contains($0) }
        s.tablesRead.formUnion(arguments.tablesRead)
        s.tablesWritten.formUnion(arguments.tablesWritten)
        s.columnsWritten.formUnion(arguments.columnsWritten)
        s.countersWritten.formUnion(arguments.countersWritten)
        s.functionsCalled.formUnion(arguments.functionsCalled)
        s.operatorsUsed.formUnion(arguments.operatorsUsed)
        s.typesCast.formUnion(arguments.typesCast)
        s.writesPlanned.formUnion(arguments.writesPlanned)
        s.unboundedWrite = s.unboundedWrite || arguments.unboundedWrite
        s.unboundedAnyway = s.unboundedAnyway || arguments.unboundedAnyway
        s.readsBounded = s.readsBounded && arguments.readsBounded
        s.keyedReads.formUnion(arguments.keyedReads)
        s.export = s.export || arguments.export
        return s
    }

    /// {"kind","command","tables_read","tables_written","columns_written","unbounded_write",
    /// "reads_bounded","export","hidden","flags"} (+ "prepared_name", "counters_written",
    /// "prepared_body" when set).
    public func json() -> HoopJSON.JSON {
        func sorted(_ s: Set<String>) -> HoopJSON.JSON { .array(s.sorted().map { .string($0) }) }
        var o: [String: HoopJSON.JSON] = [
            "kind": .string(kind.rawValue),
            "command": .string(command),
            "tables_read": sorted(tablesRead),
            "tables_written": sorted(tablesWritten),
            "columns_written": sorted(columnsWritten),
            "unbounded_write": .bool(unboundedWrite),
            "reads_bounded": .bool(readsBounded),
            "export": .bool(export),
            "hidden": .array(hidden.map { .string($0) }),
            "flags": sorted(Set(flags.map(\.rawValue))),
        ]
        if let preparedName { o["prepared_name"] = .string(preparedName) }
        if !countersWritten.isEmpty { o["counters_written"] = sorted(countersWritten) }
        if !preparedBody.isEmpty { o["prepared_body"] = .array(preparedBody.map { $0.json() }) }
        return .object(o)
    }
}

public struct Classification: Equatable, Sendable {
    public var statements: [StatementClass]
    /// The parser's message when the text does not parse (statements then empty).
    public var parseError: String?
    public init(statements: [StatementClass], parseError: String? = nil) {
        self.statements = statements
        self.parseError = parseError
    }
}

public struct ClassifyOptions: Sendable {
    /// LIMIT / FETCH FIRST n counts as bounded only when n <= this.
    public var maxBoundedLimit: Int = 1000 { didSet { cacheScope = Self.scope(maxBoundedLimit, keyColumns) } }
    /// Extra key column names (besides "id" and names ending in "_id").
    public var keyColumns: Set<String> = [] { didSet { cacheScope = Self.scope(maxBoundedLimit, keyColumns) } }
    /// The options as a key, for a cache of classifications (kept, not built per statement).
    public private(set) var cacheScope = ClassifyOptions.scope(1000, [])
    public init() {}

    private static func scope(_ limit: Int, _ keys: Set<String>) -> String {
        "\(limit)|" + keys.sorted().joined(separator: "\u{0}")
    }
}

/// Classifies statements for hoop-approve over the server's own parse tree: what kind of
/// statement, which tables it reads and writes, whether a write is unbounded, whether what
/// it reads out is bounded, and what it does that the text does not show (DO blocks,
/// prepared statements, functions whose bodies are not seen, server files, roles).
public enum Classifier {
    public static func classify(_ sql: String, options: ClassifyOptions = .init()) -> Classification {
        let trees: [JSON]
        do {
            trees = try SQLParser.statements(sql)
        } catch let e as SQLParseError {
            return Classification(statements: [], parseError: e.message)
        } catch {
            return Classification(statements: [], parseError: "\(error)")
        }
        return Classification(statements: trees.map { classify(statement: $0, options: options) })
    }

    /// One statement's parse tree (an element of `SQLParser.statements`).
    public static func classify(statement: JSON, options: ClassifyOptions = .init()) -> StatementClass {
        guard let (kind, body) = statement.node else { return StatementClass(kind: .utility, command: "UNKNOWN") }
        var w = ClassWalker(options: options)
        var c = StatementClass(kind: .utility, command: "")
        let bounds = Bounds(options: options, keyed: Bounds.KeyedReads())

        switch kind {
        case "SelectStmt":
            if let into = body["intoClause"] {
                c.kind = .ddl; c.command = "SELECT INTO"; c.export = into["skipData"]?.bool != true
            } else {
                c.kind = .read; c.command = "SELECT"
            }
            w.walk(statement)
            c.readsBounded = bounds.statement(statement, [:])
        case "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt":
            c.kind = .write
            c.command = String(kind.dropLast(4)).uppercased()
            w.walk(statement)
            c.readsBounded = bounds.statement(statement, [:])
        case "CopyStmt":
            c.command = "COPY"
            let isFrom = body["is_from"]?.bool == true
            let rel = ClassWalker.relationName(body["relation"])
            if isFrom {
                c.kind = .write
                if let rel {
                    w.c.tablesWritten.insert(rel)
                    let cols = (body["attlist"]?.array ?? []).compactMap(\.sval)
                    w.c.columnsWritten.formUnion(cols.isEmpty ? [rel + ".*"] : cols.map { rel + "." + $0 })
                }
            } else {
                c.kind = .read
                // A query that reads no table and calls nothing (`copy (select 1) to stdout`)
                // copies no value of the database's.
                c.export = rel != nil || body["query"].map { bounds.touchesTables($0, [:]) || Self.holds("FuncCall", $0) } ?? true
                if let rel { w.c.tablesRead.insert(rel); c.readsBounded = false }
                if let q = body["query"] { w.walk(q); c.readsBounded = bounds.statement(q, [:]) }
            }
            w.walk(body["whereClause"])
            if body["is_program"]?.bool == true {
                w.flag(.copyProgram, "COPY ... PROGRAM runs a command on the server", -1)
            } else if body["filename"]?.string != nil {
                w.flag(.serverFile, isFrom ? "COPY from a server file" : "COPY to a server file", -1)
            }
        case "CreateTableAsStmt":
            let matview = body["objtype"]?.string == "OBJECT_MATVIEW"
            c.kind = .ddl
            c.command = matview ? "CREATE MATERIALIZED VIEW" : body["is_select_into"]?.bool == true ? "SELECT INTO" : "CREATE TABLE AS"
            c.export = body["into"]?["skipData"]?.bool != true
            if let rel = ClassWalker.relationName(body["into"]?["rel"]) { w.c.tablesWritten.insert(rel) }
            w.walk(body["query"])
            c.readsBounded = !c.export || bounds.statement(body["query"], [:])
        case "ExplainStmt":
            let inner = classify(statement: body["query"] ?? .null, options: options)
            if Self.explainAnalyze(body["options"]?.array ?? []) {
                var r = inner
                r.command = "EXPLAIN"
                return r
            }
            // Planning runs code: the planner folds immutable and stable functions on
            // constants, views' and rules' included. What the statement would run of the
            // database's own code is judged as if it ran; its writes, bounds and built-in
            // effects (volatile, never run by the planner) are not.
            c.kind = .utility; c.command = "EXPLAIN"
            c.tablesRead = inner.tablesRead
            c.writesPlanned = inner.tablesWritten
            c.hidden = inner.hidden
            c.flags = inner.flags.intersection([.userFunction])
            c.functionsCalled = inner.functionsCalled
            c.operatorsUsed = inner.operatorsUsed
            c.typesCast = inner.typesCast
            return c
        case "DeclareCursorStmt":
            var r = classify(statement: body["query"] ?? .null, options: options)
            r.command = "DECLARE CURSOR"
            if r.kind != .write { r.kind = .read }
            return r
        case "PrepareStmt":
            c.kind = .utility; c.command = "PREPARE"
            c.preparedName = body["name"]?.string
            var prepared = classify(statement: body["query"] ?? .null, options: options)
            // Its parameters are made as their types when EXECUTE gives them.
            var types = ClassWalker(options: options)
            types.walk(body["argtypes"])
            prepared.typesCast.formUnion(types.c.typesCast)
            c.preparedBody = [prepared]
            return c
        case "ExecuteStmt":
            c.kind = .utility; c.command = "EXECUTE"
            c.preparedName = body["name"]?.string
            w.walk(statement)
        case "DeallocateStmt":
            c.kind = .utility
            c.preparedName = body["name"]?.string
            c.command = c.preparedName == nil ? "DEALLOCATE ALL" : "DEALLOCATE"
        case "DoStmt":
            c.kind = .utility; c.command = "DO"
            w.flag(.dynamicSQL, "DO block", -1)
        case "CallStmt":
            c.kind = .utility; c.command = "CALL"
            let f = body["funccall"]?["FuncCall"] ?? body["funccall"]
            let parts = (f?["funcname"]?.array ?? []).compactMap(\.sval)
            w.hide("CALL of procedure \(parts.joined(separator: "."))", -1)
            if !ClassWalker.isBuiltin(parts) { w.c.flags.insert(.userFunction) }
            w.walk(f?["args"])
        case "LoadStmt":
            c.kind = .utility; c.command = "LOAD"
            w.flag(.loadLibrary, "LOAD of a shared library", -1)
        case "AlterSystemStmt":
            c.kind = .utility; c.command = "ALTER SYSTEM"
            w.c.flags.insert(.alterSystem)
        case "VariableSetStmt":
            let name = body["name"]?.string ?? ""
            let reset = ["VAR_RESET", "VAR_RESET_ALL"].contains(body["kind"]?.string ?? "")
            c.command = reset ? "RESET" : "SET"
            c.kind = name.hasPrefix("TRANSACTION") ? .transaction : .utility
            // SET of a setting the lexer reads to any other value than the gateway's (TO
            // DEFAULT too: the server's default is not known here); RESET returns to the
            // session's start, which hoop-approve checked.
            if !reset, LexerSettings.names.contains(name.lowercased()),
               !((body["args"]?.array ?? []).first.flatMap { Constants.value($0) }.map { LexerSettings.safe(name, $0) } ?? false) {
                w.c.flags.insert(.lexerSetting)
            }
            switch name.lowercased() {
            case "default_statistics_target": w.c.flags.insert(.statistics)
            case "role": w.c.flags.insert(.setRole)
            case "session_authorization": w.c.flags.insert(.setSessionAuthorization)
            case "search_path":
                let schemas = (body["args"]?.array ?? []).map { Constants.value($0) }.map { v -> String? in
                    if case .string(let s)? = v { return s } else { return nil }
                }
                // A value not written out (a parameter: the shape `set search_path = $1, $2`
                // ShapeCache would keep for every text of that form) may be any schema: held,
                // for a reason no written text has, so that no text shares the shape's verdict
                // (the shape is then never cached: each text is judged by its own schemas).
                if schemas.contains(nil) {
                    w.hide("search_path from a parameter: its schemas are not known", -1)
                } else if SearchPath.shadowsCatalog(schemas.compactMap { $0 }.joined(separator: ",")) {
                    w.hide("search_path puts a schema before pg_catalog (its functions would shadow built-ins)", -1)
                }
            default: break
            }
        case "VariableShowStmt":
            c.kind = .read; c.command = "SHOW"
        case "FetchStmt":
            let move = body["ismove"]?.bool == true
            c.kind = move ? .utility : .read
            c.command = move ? "MOVE" : "FETCH"
            c.readsBounded = move || (body["howMany"]?.int ?? 0) <= Int64(options.maxBoundedLimit)
        case "TransactionStmt":
            c.kind = .transaction
            let kind = body["kind"]?.string ?? ""
            c.command = Self.transactionTags[kind] ?? "TRANSACTION"
            if ["TRANS_STMT_BEGIN", "TRANS_STMT_START"].contains(kind) { c.opensBlock = true }
            if ["TRANS_STMT_COMMIT", "TRANS_STMT_ROLLBACK", "TRANS_STMT_PREPARE"].contains(kind), body["chain"]?.bool != true {
                c.opensBlock = false
            }
        case "ConstraintsSetStmt":
            c.kind = .transaction; c.command = "SET CONSTRAINTS"
        case "TruncateStmt":
            c.kind = .write; c.command = "TRUNCATE"
            for r in body["relations"]?.array ?? [] {
                if let n = ClassWalker.relationName(r["RangeVar"]) { w.c.tablesWritten.insert(n) }
            }
            w.c.unboundedWrite = true; w.c.unboundedAnyway = true
        case "VacuumStmt":
            c.kind = .utility; c.command = body["is_vacuumcmd"]?.bool == true ? "VACUUM" : "ANALYZE"
            if c.command == "VACUUM", option(body["options"]?.array ?? [], "full") {
                w.c.flags.insert(.exclusiveLock)
            }
            if c.command == "ANALYZE" || option(body["options"]?.array ?? [], "analyze") { w.c.flags.insert(.statistics) }
            w.walk(body["rels"])
            // ANALYZE computes index expressions and statistics on expressions, VACUUM
            // summarises BRIN ranges: the tables' code runs as if written (every
            // table's when none is named).
            let named = (body["rels"]?.array ?? []).compactMap { ClassWalker.relationName($0["VacuumRelation"]?["relation"]) }
            c.writesPlanned = named.isEmpty ? [CatalogFacts.everyRelation] : Set(named)
        case "DiscardStmt":
            c.kind = .utility
            let t = (body["target"]?.string ?? "DISCARD_ALL").replacingOccurrences(of: "_", with: " ")
            c.command = t == "DISCARD TEMP" ? "DISCARD TEMP" : t
        case "ClosePortalStmt":
            c.kind = .utility; c.command = body["portalname"] == nil ? "CLOSE CURSOR ALL" : "CLOSE CURSOR"
        case _ where Self.plainUtility[kind] != nil:
            c.kind = .utility; c.command = Self.plainUtility[kind]!
            switch kind {
            case "LockStmt":
                // LOCK's default is ACCESS EXCLUSIVE (8); SHARE (5) and stronger block writers.
                let mode = body["mode"]?.int ?? 8
                if mode >= 4 { w.c.flags.insert(.exclusiveLock) }
            case "ClusterStmt":
                w.c.flags.insert(.exclusiveLock)
                c.writesPlanned = Set([ClassWalker.relationName(body["relation"]) ?? CatalogFacts.everyRelation])
            case "ReindexStmt":
                // Without CONCURRENTLY it blocks writes; with it, it still rebuilds every
                // index of the table: maintenance, for review either way.
                w.c.flags.insert(.exclusiveLock)
                c.writesPlanned = Set([ClassWalker.relationName(body["relation"]) ?? CatalogFacts.everyRelation])
            default: break
            }
        case _ where Self.dclTags[kind] != nil:
            c.kind = .dcl; c.command = Self.dclTags[kind]!
            if kind == "GrantStmt" || kind == "GrantRoleStmt" {
                let grant = body["is_grant"]?.bool == true
                c.command = kind == "GrantStmt" ? (grant ? "GRANT" : "REVOKE") : (grant ? "GRANT ROLE" : "REVOKE ROLE")
            }
        default:
            c.kind = .ddl
            c.command = Self.ddlCommand(kind, body)
            if c.command == "ALTER ROLE" { c.kind = .dcl }
            Self.ddlObjects(kind, body, &w)
            if Self.rewrites(kind, body) { w.c.flags.insert(.exclusiveLock) }
            // REFRESH runs the materialized view's definition; CREATE INDEX computes its
            // expressions over the table (with the table's other code, as a write).
            if kind == "RefreshMatViewStmt" || kind == "IndexStmt", let rel = ClassWalker.relationName(body["relation"]) {
                c.writesPlanned.insert(rel)
            }
        }

        // Every INSERT, UPDATE and MERGE in it, at the top or nested (a data-modifying
        // CTE, EXPLAIN ANALYZE, COPY (…) TO): values copied where the source's masking
        // rules no longer apply are an export, and the counters are named.
        for (kind, body) in Self.writes(in: statement) {
            let found = Self.copies(kind, body, bounds)
            if found.export { c.export = true }
            c.countersWritten.formUnion(found.counters)
        }
        // What the walk found.
        c.tablesRead = w.c.tablesRead
        c.tablesWritten.formUnion(w.c.tablesWritten)
        c.columnsWritten = w.c.columnsWritten
        c.unboundedWrite = w.c.unboundedWrite
        c.pinnedColumns = w.c.pinnedColumns
        c.unboundedAnyway = w.c.unboundedAnyway
        if c.readsBounded { c.keyedReads = bounds.keyed?.reads ?? [] }
        c.flags.formUnion(w.c.flags)
        c.functionsCalled = w.c.functionsCalled
        c.operatorsUsed = w.c.operatorsUsed
        c.typesCast = w.c.typesCast
        c.writesPlanned.formUnion(w.c.writesPlanned)
        c.hidden = w.orderedHidden()
        // A built-in that destroys a large object runs once per row it is computed for
        // (`select count(lo_unlink(oid)) from pg_largeobject_metadata`, from a series, in a
        // write's SET or RETURNING): as many as the rows, which nothing here counts. Only a
        // SELECT of no rows (`select lo_unlink(16384)`) is bounded.
        if w.destroysLargeObjects, c.kind != .read || Self.readsRows(statement) { c.unboundedWrite = true; c.unboundedAnyway = true }
        // Values it read stored in large objects: copied where masking's rules no longer apply.
        if w.storesReadValues { c.export = true }
        // A data-modifying statement nested in a read (a CTE, a subquery, COPY (DELETE ...) TO).
        if w.dml && c.kind == .read { c.kind = .write }
        return c
    }

    static func explainAnalyze(_ options: [JSON]) -> Bool { option(options, "analyze") }

    /// Whether a statement reads rows anywhere: a FROM item, a VALUES list, or a function
    /// that returns a set (a built-in's, or the database's own: it may).
    static func readsRows(_ j: JSON) -> Bool {
        switch j {
        case .array(let a): return a.contains(where: readsRows)
        case .object(let o):
            if let from = o["fromClause"]?.array, !from.isEmpty { return true }
            if let values = o["valuesLists"]?.array, values.count > 1 { return true }
            if let f = o["FuncCall"], let parts = f["funcname"]?.array?.compactMap(\.sval),
               BuiltinFunctions.setReturning.contains(Substring(parts.last ?? "")) || !ClassWalker.isBuiltin(parts) { return true }
            return o.contains { $0.key != "location" && readsRows($0.value) }
        default: return false
        }
    }

    /// The INSERT, UPDATE and MERGE nodes anywhere in a tree, with their kinds; not in a
    /// PREPARE's body, which runs nothing until an EXECUTE is judged by it, nor in an
    /// EXPLAIN without ANALYZE, which runs nothing.
    static func writes(in j: JSON) -> [(String, JSON)] {
        switch j {
        case .array(let a): return a.flatMap { writes(in: $0) }
        case .object(let o):
            var found: [(String, JSON)] = []
            for (key, value) in o where key != "PrepareStmt" {
                if key == "ExplainStmt", !explainAnalyze(value["options"]?.array ?? []) { continue }
                if key == "InsertStmt" || key == "UpdateStmt" || key == "MergeStmt" { found.append((key, value)) }
                found += writes(in: value)
            }
            return found
        default: return []
        }
    }

    /// Whether one write copies values past their masking rules, and the columns it counts.
    static func copies(_ kind: String, _ body: JSON, _ bounds: Bounds) -> (export: Bool, counters: Set<String>) {
        let target = ClassWalker.relationName(body["relation"])
        func named(_ columns: [String]) -> Set<String> { target.map { t in Set(columns.map { t + "." + $0 }) } ?? [] }
        switch kind {
        case "InsertStmt":
            // INSERT ... SELECT from a table copies rows into another table, where the
            // masking rules of the source no longer apply.
            if let source = body["selectStmt"], bounds.touchesTables(source, [:]) { return (true, []) }
            // ON CONFLICT DO UPDATE SET is an UPDATE of the row in the way: the same rules
            // (`excluded` is the row the INSERT proposed, judged as the INSERT's).
            guard let upsert = body["onConflictClause"] else { return (false, []) }
            let alias = body["relation"]?["alias"]?["aliasname"]?.string ?? body["relation"]?["relname"]?.string
            let row = readsTheRow(upsert["targetList"], others: alias == "excluded" ? [] : ["excluded"])
            return (copiesValues(upsert["targetList"], from: nil, bounds) || row.copies, named(row.counters))
        case "UpdateStmt":
            // New values from other tables (FROM, a sub-select, `string_agg`), whichever
            // table they write, or read from the row it writes.
            let others = itemNames(body["fromClause"]).subtracting(targetNames(body["relation"]))
            let row = readsTheRow(body["targetList"], others: others)
            return (copiesValues(body["targetList"], from: body["fromClause"], bounds) || row.copies
                        || chosenByTheRow(body["targetList"], body["whereClause"], others: others), named(row.counters))
        case "MergeStmt":
            let clauses = (body["mergeWhenClauses"]?.array ?? []).compactMap { $0["MergeWhenClause"] }
            let values = clauses.flatMap { [$0["targetList"] ?? .null, $0["values"] ?? .null] }
            let set = JSON.array(clauses.flatMap { $0["targetList"]?.array ?? [] })
            let others = itemNames(body["sourceRelation"]).subtracting(targetNames(body["relation"]))
            let row = readsTheRow(set, others: others)
            return (copiesValues(.array(values), from: body["sourceRelation"], bounds) || row.copies
                        || chosenByTheRow(set, body["joinCondition"], others: others), named(row.counters))
        default:
            return (false, [])
        }
    }

    /// The names the written table goes by in its statement: its alias, else its name.
    static func targetNames(_ relation: JSON?) -> Set<String> {
        Set([relation?["alias"]?["aliasname"]?.string, relation?["relname"]?.string].compactMap { $0 })
    }

    /// Whether values from a FROM item or MERGE source (constants when it reads no table)
    /// are written where the condition that picks them reads the written row: a lookup
    /// (`set state = g.n from generate_series(0, 99) g where substr(ssn, 1, 2)::int = g.n`)
    /// writes the masked value itself.
    /// A key's equality (`t.id = s.id`, `patient_id = 5`) picks a row, not a value: such
    /// conjuncts are left out; a key is a column named `id` or ending in `_id`.
    static func chosenByTheRow(_ targetList: JSON?, _ condition: JSON?, others: Set<String>) -> Bool {
        func isKeyEquality(_ j: JSON) -> Bool {
            guard let e = j["A_Expr"], e["kind"]?.string == "AEXPR_OP", e["name"]?.array?.first?.sval == "=",
                  e["name"]?.array?.count == 1 else { return false }
            func isKey(_ side: JSON?) -> Bool {
                guard let fields = side?["ColumnRef"]?["fields"]?.array, let name = fields.last?.sval else { return false }
                let qualifier = fields.count >= 2 ? fields[fields.count - 2].sval : nil
                return !(qualifier.map(others.contains) ?? false) && (name == "id" || name.hasSuffix("_id"))
            }
            func isOther(_ side: JSON?) -> Bool { side.map { !readsColumn($0, others: others) } ?? false }
            return (isKey(e["lexpr"]) && isOther(e["rexpr"])) || (isKey(e["rexpr"]) && isOther(e["lexpr"]))
        }
        let conjuncts: [JSON]
        if let b = condition?["BoolExpr"], b["boolop"]?.string == "AND_EXPR" { conjuncts = b["args"]?.array ?? [] }
        else { conjuncts = condition.map { [$0] } ?? [] }
        let rest = conjuncts.filter { !isKeyEquality($0) }
        guard !others.isEmpty, readsColumn(.array(rest), others: others) else { return false }
        return (targetList?.array ?? []).contains { item in item["ResTarget"]?["val"].map { mentionsQualified($0, by: others) } ?? false }
    }

    /// A column reference qualified by one of `names`.
    static func mentionsQualified(_ j: JSON, by names: Set<String>) -> Bool {
        switch j {
        case .array(let a): return a.contains { mentionsQualified($0, by: names) }
        case .object(let o):
            if let fields = o["ColumnRef"]?["fields"]?.array, fields.count >= 2, let q = fields[fields.count - 2].sval { return names.contains(q) }
            return o.values.contains { mentionsQualified($0, by: names) }
        default: return false
        }
    }

    /// Whether new values (a SET list) read the row they are written to: a column of it,
    /// the same or another, or the whole row. The value of a masked column copied to a
    /// column whose rules differ, or written back transformed (reversed, cut, shifted by
    /// a division) where its mask shows a part, is read unmasked by the next session.
    /// Only a counter is no copy (`counters`): a column plus or minus a number or a
    /// parameter, or with a constant text appended after whitespace (`ssn || 'x'` would
    /// hide a dashed SSN from the detectors; a shape they find only when it fills the
    /// value, such as an undashed one, is moved out of that position even so: a limit
    /// docs/approval.md states).
    /// A reference qualified by one of `others` (a FROM item, MERGE's source, ON
    /// CONFLICT's `excluded`) is another rule's; an unqualified one may be the row's.
    static func readsTheRow(_ targetList: JSON?, others: Set<String>) -> (copies: Bool, counters: [String]) {
        var copies = false, counters: [String] = []
        for item in targetList?.array ?? [] {
            guard let target = item["ResTarget"], let val = target["val"], readsColumn(val, others: others) else { continue }
            if target["indirection"] == nil, let name = target["name"]?.string, isCounter(val, of: name, others: others) {
                // A column set to itself changes nothing: no counter either.
                if val["ColumnRef"] == nil { counters.append(name) }
            } else {
                copies = true
            }
        }
        return (copies, counters)
    }

    /// `n`, `n + 1`, `n - $1`, `n + 1::int`, `n || ' seen'` for the column `n`.
    static func isCounter(_ val: JSON, of column: String, others: Set<String>) -> Bool {
        func isColumn(_ j: JSON?) -> Bool {
            guard let fields = j?["ColumnRef"]?["fields"]?.array, let last = fields.last?.sval else { return false }
            return last == column && (fields.count == 1 || (fields.count == 2 && !others.contains(fields[0].sval ?? "")))
        }
        func isNumber(_ j: JSON?) -> Bool {
            guard let j else { return false }
            if let c = j["A_Const"] { return c["ival"] != nil || c["fval"] != nil }
            return j["ParamRef"] != nil || j["TypeCast"].map { isNumber($0["arg"]) } ?? false
        }
        func text(_ j: JSON?) -> String? { j?["A_Const"]?["sval"]?["sval"]?.string }
        if isColumn(val) { return true }
        guard let e = val["A_Expr"], e["kind"]?.string == "AEXPR_OP", let op = e["name"]?.array, op.count == 1,
              let sign = op[0].sval else { return false }
        switch sign {
        case "+", "-":
            return (isCounter(e["lexpr"] ?? .null, of: column, others: others) && isNumber(e["rexpr"]))
                || (sign == "+" && isNumber(e["lexpr"]) && isCounter(e["rexpr"] ?? .null, of: column, others: others))
        case "||":
            if let after = text(e["rexpr"]), after.first?.isWhitespace == true { return isCounter(e["lexpr"] ?? .null, of: column, others: others) }
            if let before = text(e["lexpr"]), before.last?.isWhitespace == true { return isCounter(e["rexpr"] ?? .null, of: column, others: others) }
            return false
        default:
            return false
        }
    }

    /// A column reference anywhere in `j` (sub-selects too: a correlated one reads the row)
    /// not qualified by one of `others`.
    static func readsColumn(_ j: JSON, others: Set<String>) -> Bool {
        switch j {
        case .array(let a): return a.contains { readsColumn($0, others: others) }
        case .object(let o):
            if let fields = o["ColumnRef"]?["fields"]?.array {
                guard fields.count >= 2, let qualifier = fields[fields.count - 2].sval else { return true }
                return !others.contains(qualifier)
            }
            return o.values.contains { readsColumn($0, others: others) }
        default: return false
        }
    }

    /// The names a FROM list's (or MERGE source's) items go by: aliases, else relation names.
    static func itemNames(_ j: JSON?) -> Set<String> {
        guard let j else { return [] }
        let items = j.array ?? [j]
        var names: Set<String> = []
        for item in items {
            guard case .object(let o) = item, let node = o.values.first else { continue }
            if let alias = node["alias"]?["aliasname"]?.string {
                names.insert(alias)
                continue   // an aliased JOIN hides the names inside it
            }
            if let rel = node["relname"]?.string { names.insert(rel) }
            if let larg = node["larg"] { names.formUnion(itemNames(larg)) }   // a JOIN's sides
            if let rarg = node["rarg"] { names.formUnion(itemNames(rarg)) }
        }
        return names
    }

    /// Written values that come from tables: a sub-select that reads one, or a column of
    /// a FROM / USING source that reads one.
    static func copiesValues(_ values: JSON?, from source: JSON?, _ bounds: Bounds) -> Bool {
        if bounds.touchesTables(values, [:]) { return true }
        return bounds.touchesTables(source, [:]) && Constants.mentionsColumn(values ?? .null)
    }

    /// Whether a node of this kind is anywhere in the tree.
    static func holds(_ kind: String, _ j: JSON) -> Bool {
        switch j {
        case .array(let a): return a.contains { holds(kind, $0) }
        case .object(let o): return o[kind] != nil || o.values.contains { holds(kind, $0) }
        default: return false
        }
    }

    /// A boolean option of an option list (EXPLAIN, VACUUM, ...) as the server reads it:
    /// the last mention wins (`explain (analyze false, analyze true)` runs the statement);
    /// a name without a value is true.
    static func option(_ options: [JSON], _ name: String) -> Bool {
        var on = false
        for o in options {
            guard let d = o["DefElem"], d["defname"]?.string?.lowercased() == name else { continue }
            on = Lineage.optionValue(d["arg"]).map { !["false", "off", "0", "no"].contains($0.lowercased()) } ?? true
        }
        return on
    }

    /// DDL that rewrites a table or holds it exclusively for as long as it runs: moving it
    /// to another tablespace, changing a column's type, REFRESH MATERIALIZED VIEW without
    /// CONCURRENTLY.
    static func rewrites(_ kind: String, _ body: JSON) -> Bool {
        switch kind {
        case "AlterTableMoveAllStmt": return true
        case "RefreshMatViewStmt": return body["concurrent"]?.bool != true
        case "AlterTableStmt":
            let rewriting: Set<String> = ["AT_SetTableSpace", "AT_AlterColumnType", "AT_SetLogged", "AT_SetUnLogged",
                                          "AT_ClusterOn", "AT_SetAccessMethod"]
            return (body["cmds"]?.array ?? []).contains { rewriting.contains($0["AlterTableCmd"]?["subtype"]?.string ?? "") }
        default: return false
        }
    }

    static let transactionTags: [String: String] = [
        "TRANS_STMT_BEGIN": "BEGIN", "TRANS_STMT_START": "START TRANSACTION", "TRANS_STMT_COMMIT": "COMMIT",
        "TRANS_STMT_ROLLBACK": "ROLLBACK", "TRANS_STMT_SAVEPOINT": "SAVEPOINT", "TRANS_STMT_RELEASE": "RELEASE",
        "TRANS_STMT_ROLLBACK_TO": "ROLLBACK", "TRANS_STMT_PREPARE": "PREPARE TRANSACTION",
        "TRANS_STMT_COMMIT_PREPARED": "COMMIT PREPARED", "TRANS_STMT_ROLLBACK_PREPARED": "ROLLBACK PREPARED",
    ]

    static let plainUtility: [String: String] = [
        "ListenStmt": "LISTEN", "NotifyStmt": "NOTIFY", "UnlistenStmt": "UNLISTEN", "CheckPointStmt": "CHECKPOINT",
        "LockStmt": "LOCK TABLE", "ClusterStmt": "CLUSTER", "ReindexStmt": "REINDEX",
    ]

    static let dclTags: [String: String] = [
        "GrantStmt": "GRANT", "GrantRoleStmt": "GRANT ROLE", "CreateRoleStmt": "CREATE ROLE", "AlterRoleStmt": "ALTER ROLE",
        "AlterRoleSetStmt": "ALTER ROLE", "DropRoleStmt": "DROP ROLE", "AlterDefaultPrivilegesStmt": "ALTER DEFAULT PRIVILEGES",
        "ReassignOwnedStmt": "REASSIGN OWNED", "DropOwnedStmt": "DROP OWNED", "SecLabelStmt": "SECURITY LABEL",
    ]

    /// Statements whose tag does not depend on an object type.
    static let ddlTags: [String: String] = [
        "CreateStmt": "CREATE TABLE", "CreateForeignTableStmt": "CREATE FOREIGN TABLE", "ViewStmt": "CREATE VIEW",
        "IndexStmt": "CREATE INDEX", "CreateTrigStmt": "CREATE TRIGGER", "CreateEventTrigStmt": "CREATE EVENT TRIGGER",
        "AlterEventTrigStmt": "ALTER EVENT TRIGGER", "CreatePLangStmt": "CREATE LANGUAGE", "CreateSchemaStmt": "CREATE SCHEMA",
        "CreateExtensionStmt": "CREATE EXTENSION", "AlterExtensionStmt": "ALTER EXTENSION",
        "AlterExtensionContentsStmt": "ALTER EXTENSION", "CreateSeqStmt": "CREATE SEQUENCE", "AlterSeqStmt": "ALTER SEQUENCE",
        "CreateDomainStmt": "CREATE DOMAIN", "AlterDomainStmt": "ALTER DOMAIN", "CompositeTypeStmt": "CREATE TYPE",
        "CreateEnumStmt": "CREATE TYPE", "CreateRangeStmt": "CREATE TYPE", "AlterEnumStmt": "ALTER TYPE",
        "AlterTypeStmt": "ALTER TYPE", "CreatePolicyStmt": "CREATE POLICY", "AlterPolicyStmt": "ALTER POLICY",
        "RuleStmt": "CREATE RULE", "CommentStmt": "COMMENT", "RefreshMatViewStmt": "REFRESH MATERIALIZED VIEW",
        "CreatedbStmt": "CREATE DATABASE", "DropdbStmt": "DROP DATABASE", "AlterDatabaseStmt": "ALTER DATABASE",
        "AlterDatabaseSetStmt": "ALTER DATABASE", "AlterDatabaseRefreshCollStmt": "ALTER DATABASE",
        "CreateTableSpaceStmt": "CREATE TABLESPACE", "DropTableSpaceStmt": "DROP TABLESPACE",
        "AlterTableSpaceOptionsStmt": "ALTER TABLESPACE", "CreateFdwStmt": "CREATE FOREIGN DATA WRAPPER",
        "AlterFdwStmt": "ALTER FOREIGN DATA WRAPPER", "CreateForeignServerStmt": "CREATE SERVER",
        "AlterForeignServerStmt": "ALTER SERVER", "CreateUserMappingStmt": "CREATE USER MAPPING",
        "AlterUserMappingStmt": "ALTER USER MAPPING", "DropUserMappingStmt": "DROP USER MAPPING",
        "ImportForeignSchemaStmt": "IMPORT FOREIGN SCHEMA", "CreateConversionStmt": "CREATE CONVERSION",
        "CreateCastStmt": "CREATE CAST", "CreateOpClassStmt": "CREATE OPERATOR CLASS", "CreateOpFamilyStmt": "CREATE OPERATOR FAMILY",
        "AlterOpFamilyStmt": "ALTER OPERATOR FAMILY", "AlterOperatorStmt": "ALTER OPERATOR",
        "AlterTSDictionaryStmt": "ALTER TEXT SEARCH DICTIONARY", "AlterTSConfigurationStmt": "ALTER TEXT SEARCH CONFIGURATION",
        "CreateAmStmt": "CREATE ACCESS METHOD", "CreateTransformStmt": "CREATE TRANSFORM",
        "CreatePublicationStmt": "CREATE PUBLICATION", "AlterPublicationStmt": "ALTER PUBLICATION",
        "CreateSubscriptionStmt": "CREATE SUBSCRIPTION", "AlterSubscriptionStmt": "ALTER SUBSCRIPTION",
        "DropSubscriptionStmt": "DROP SUBSCRIPTION", "CreateStatsStmt": "CREATE STATISTICS", "AlterStatsStmt": "ALTER STATISTICS",
        "AlterCollationStmt": "ALTER COLLATION",
    ]

    static let objectNames: [String: String] = [
        "OBJECT_ACCESS_METHOD": "ACCESS METHOD", "OBJECT_AGGREGATE": "AGGREGATE", "OBJECT_CAST": "CAST",
        "OBJECT_COLLATION": "COLLATION", "OBJECT_CONVERSION": "CONVERSION", "OBJECT_DATABASE": "DATABASE",
        "OBJECT_DOMAIN": "DOMAIN", "OBJECT_DOMCONSTRAINT": "DOMAIN", "OBJECT_EVENT_TRIGGER": "EVENT TRIGGER",
        "OBJECT_EXTENSION": "EXTENSION", "OBJECT_FDW": "FOREIGN DATA WRAPPER", "OBJECT_FOREIGN_SERVER": "SERVER",
        "OBJECT_FOREIGN_TABLE": "FOREIGN TABLE", "OBJECT_FUNCTION": "FUNCTION", "OBJECT_INDEX": "INDEX",
        "OBJECT_LANGUAGE": "LANGUAGE", "OBJECT_LARGEOBJECT": "LARGE OBJECT", "OBJECT_MATVIEW": "MATERIALIZED VIEW",
        "OBJECT_OPCLASS": "OPERATOR CLASS", "OBJECT_OPERATOR": "OPERATOR", "OBJECT_OPFAMILY": "OPERATOR FAMILY",
        "OBJECT_AMOP": "OPERATOR FAMILY", "OBJECT_AMPROC": "OPERATOR FAMILY", "OBJECT_POLICY": "POLICY",
        "OBJECT_PROCEDURE": "PROCEDURE", "OBJECT_PUBLICATION": "PUBLICATION", "OBJECT_PUBLICATION_NAMESPACE": "PUBLICATION",
        "OBJECT_PUBLICATION_REL": "PUBLICATION", "OBJECT_ROLE": "ROLE", "OBJECT_ROUTINE": "ROUTINE", "OBJECT_RULE": "RULE",
        "OBJECT_SCHEMA": "SCHEMA", "OBJECT_SEQUENCE": "SEQUENCE", "OBJECT_SUBSCRIPTION": "SUBSCRIPTION",
        "OBJECT_STATISTIC_EXT": "STATISTICS", "OBJECT_TABLE": "TABLE", "OBJECT_TABCONSTRAINT": "TABLE",
        "OBJECT_COLUMN": "TABLE", "OBJECT_DEFAULT": "TABLE", "OBJECT_TABLESPACE": "TABLESPACE", "OBJECT_TRANSFORM": "TRANSFORM",
        "OBJECT_TRIGGER": "TRIGGER", "OBJECT_TSCONFIGURATION": "TEXT SEARCH CONFIGURATION",
        "OBJECT_TSDICTIONARY": "TEXT SEARCH DICTIONARY", "OBJECT_TSPARSER": "TEXT SEARCH PARSER",
        "OBJECT_TSTEMPLATE": "TEXT SEARCH TEMPLATE", "OBJECT_TYPE": "TYPE", "OBJECT_ATTRIBUTE": "TYPE", "OBJECT_VIEW": "VIEW",
        "OBJECT_USER_MAPPING": "USER MAPPING",
    ]

    /// Object types that are relations: a DROP / COMMENT of one names a table-like object.
    static let relationObjects: Set<String> = [
        "OBJECT_TABLE", "OBJECT_INDEX", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_SEQUENCE", "OBJECT_FOREIGN_TABLE",
    ]
    /// Objects that belong to a table (`DROP TRIGGER tr ON t`): their name list ends with the object's own name.
    static let tableMembers: Set<String> = ["OBJECT_TRIGGER", "OBJECT_POLICY", "OBJECT_RULE", "OBJECT_COLUMN", "OBJECT_TABCONSTRAINT"]

    static func object(_ type: String?) -> String { objectNames[type ?? ""] ?? "OBJECT" }

    static func ddlCommand(_ kind: String, _ body: JSON) -> String {
        if let tag = ddlTags[kind] { return tag }
        switch kind {
        case "AlterTableStmt", "AlterTableMoveAllStmt": return "ALTER " + object(body["objtype"]?.string)
        case "DropStmt": return "DROP " + object(body["removeType"]?.string)
        case "RenameStmt":
            let t = body["renameType"]?.string
            if t == "OBJECT_COLUMN" || t == "OBJECT_TABCONSTRAINT" { return "ALTER " + object(body["relationType"]?.string) }
            return "ALTER " + object(t)
        case "AlterObjectSchemaStmt", "AlterOwnerStmt", "AlterObjectDependsStmt": return "ALTER " + object(body["objectType"]?.string)
        case "AlterFunctionStmt": return "ALTER " + object(body["objtype"]?.string)
        case "DefineStmt": return "CREATE " + object(body["kind"]?.string)
        case "CreateFunctionStmt": return body["is_procedure"]?.bool == true ? "CREATE PROCEDURE" : "CREATE FUNCTION"
        default:
            // A statement this table does not know: its node name, upper-cased.
            return String(kind.hasSuffix("Stmt") ? kind.dropLast(4) : Substring(kind)).uppercased()
        }
    }

    /// The objects a DDL statement creates, alters or drops (tables written), and a walk of its
    /// expressions (defaults, checks, index expressions, view queries) for reads and functions.
    static func ddlObjects(_ kind: String, _ body: JSON, _ w: inout ClassWalker) {
        func write(_ rangeVar: JSON?) { if let n = ClassWalker.relationName(rangeVar) { w.c.tablesWritten.insert(n) } }
        func listName(_ j: JSON?) -> [String] { (j?["List"]?["items"]?.array ?? j?.array ?? []).compactMap(\.sval) }
        func walk(except keys: Set<String>) {
            for (k, v) in (body.object ?? [:]).sorted(by: { $0.key < $1.key }) where !keys.contains(k) { w.walk(v) }
        }
        switch kind {
        case "CreateStmt", "CreateForeignTableStmt":
            let b = body["base"] ?? body
            write(b["relation"])
            for p in b["inhRelations"]?.array ?? [] { write(p["RangeVar"]) }
            w.walk(b["tableElts"]); w.walk(b["partspec"])
        case "AlterTableStmt", "CreateTrigStmt", "RuleStmt", "RefreshMatViewStmt":
            write(body["relation"])
            walk(except: ["relation", "actions", "funcname"])
        case "IndexStmt":
            write(body["relation"])
            if let n = body["idxname"]?.string {
                let schema = body["relation"]?["schemaname"]?.string
                w.c.tablesWritten.insert(schema.map { $0 + "." + n } ?? n)
            }
            w.walk(body["indexParams"]); w.walk(body["whereClause"])
        case "ViewStmt":
            write(body["view"])
            w.walk(body["query"])
        case "CreateSeqStmt", "AlterSeqStmt":
            write(body["sequence"])
        case "CreatePolicyStmt", "AlterPolicyStmt":
            write(body["table"])
            w.walk(body["qual"]); w.walk(body["with_check"])
        case "DropStmt":
            let type = body["removeType"]?.string ?? ""
            for o in body["objects"]?.array ?? [] {
                let parts = listName(o)
                if relationObjects.contains(type), !parts.isEmpty { w.c.tablesWritten.insert(parts.joined(separator: ".")) }
                if tableMembers.contains(type), parts.count > 1 { w.c.tablesWritten.insert(parts.dropLast().joined(separator: ".")) }
            }
        case "RenameStmt", "AlterObjectSchemaStmt", "AlterOwnerStmt":
            write(body["relation"])
        case "CommentStmt":
            let type = body["objtype"]?.string ?? ""
            let parts = listName(body["object"])
            if relationObjects.contains(type), !parts.isEmpty { w.c.tablesWritten.insert(parts.joined(separator: ".")) }
            if tableMembers.contains(type), parts.count > 1 { w.c.tablesWritten.insert(parts.dropLast().joined(separator: ".")) }
        case "CreateSchemaStmt":
            for e in body["schemaElts"]?.array ?? [] {
                let inner = classify(statement: e, options: w.options)
                w.c.tablesWritten.formUnion(inner.tablesWritten)
                w.c.tablesRead.formUnion(inner.tablesRead)
                w.c.flags.formUnion(inner.flags)
                for h in inner.hidden { w.hide(h, -1) }
            }
        case "CreateFunctionStmt", "AlterFunctionStmt", "DefineStmt", "CreateEventTrigStmt", "CreateTransformStmt",
             "CreateCastStmt", "CreateOpClassStmt", "CreateOpFamilyStmt", "AlterOpFamilyStmt", "CreatePLangStmt":
            // Bodies and support functions are definitions, not run now.
            break
        default:
            walk(except: [])
        }
    }
}

extension SQLParser {
    /// The statement with its literals replaced by $1, $2 ... (libpg_query's pg_query_normalize);
    /// nil when it does not parse.
    public static func normalize(_ sql: String) -> String? {
        let result = pg_query_normalize(sql)
        defer { pg_query_free_normalize_result(result) }
        guard result.error == nil, let q = result.normalized_query else { return nil }
        return String(cString: q)
    }
}

/// Settings that change how PostgreSQL's lexer reads SQL text: hoop-approve parses with
/// the server's defaults (standard_conforming_strings on, backslash_quote
/// safe_encoding, UTF-8), so a session that changes them could hide a second statement
/// or a wider WHERE inside what the gateway reads as a string literal (issue 16).
public enum LexerSettings {
    public static let names: Set<String> = ["standard_conforming_strings", "backslash_quote", "client_encoding"]

    /// True when `value` keeps the text read as the gateway reads it (or `name` is
    /// another setting).
    public static func safe(_ name: String, _ value: Constants.Value) -> Bool {
        let text: String
        switch value {
        case .string(let s): text = s
        case .bool(let b): text = b ? "on" : "off"
        case .number(let n): text = n == 1 ? "on" : n == 0 ? "off" : String(n)
        case .null: return false
        }
        return safe(name, text)
    }

    public static func safe(_ name: String, _ text: String) -> Bool {
        // asyncpg sends client_encoding='utf-8' at start-up, quotes included.
        let v = text.trimmingCharacters(in: CharacterSet(charactersIn: " \t'\"")).lowercased()
        switch name.lowercased() {
        case "standard_conforming_strings": return ["on", "true", "yes", "1", "t", "y"].contains(v)
        case "backslash_quote": return v == "safe_encoding"
        case "client_encoding": return ["utf8", "utf-8", "unicode"].contains(v)
        default: return true
        }
    }
}

/// A search_path that names pg_catalog after another schema lets that schema's
/// functions and operators take the place of the built-ins the classifier trusts.
public enum SearchPath {
    public static func shadowsCatalog(_ value: String) -> Bool {
        let schemas = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"")).lowercased() }
        guard let i = schemas.firstIndex(of: "pg_catalog") else { return false }
        return i > 0
    }

    /// A search_path value's schemas as the server reads it (SplitIdentifierString): comma
    /// separated, a quoted name as written (`""` a quote), an unquoted one in lower case
    /// (ASCII), each cut to 63 bytes; `$user` as is. nil when the server would refuse it.
    public static func schemas(_ value: String) -> [String]? {
        var out: [String] = []
        var chars = Substring(value).unicodeScalars[...]
        func skipSpace() { while let c = chars.first, c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\u{0B}" || c == "\u{0C}" { chars.removeFirst() } }
        skipSpace()
        if chars.isEmpty { return [] }
        while true {
            var name = String.UnicodeScalarView()
            if chars.first == "\"" {
                chars.removeFirst()
                while true {
                    guard let c = chars.popFirst() else { return nil }
                    if c == "\"" { if chars.first == "\"" { chars.removeFirst() } else { break } }
                    name.append(c)
                }
            } else {
                while let c = chars.first, c != ",", !(c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\u{0B}" || c == "\u{0C}") {
                    name.append(c.value >= 65 && c.value <= 90 ? Unicode.Scalar(c.value + 32)! : c)
                    chars.removeFirst()
                }
            }
            while String(name).utf8.count > 63 { name.removeLast() }     // by character, as the server cuts
            if name.isEmpty { return nil }
            out.append(String(name))
            skipSpace()
            guard let c = chars.popFirst() else { return out }
            guard c == "," else { return nil }
            skipSpace()
        }
    }

    /// A schema name as SHOW writes it in a list: quoted unless plain lower-case letters,
    /// digits and underscores (so that `schemas` reads it back as one name).
    public static func quoted(_ name: String) -> String {
        let plain = !name.isEmpty && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
            && !("0"..."9").contains(name.unicodeScalars.first!)
        return plain ? name : "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
