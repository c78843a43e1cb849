import HoopJSON

/// Walks a statement's parse tree for what `Classifier` reports: the tables read (RangeVars
/// that are not CTE names in scope), the DML anywhere in it (targets, columns, unbounded
/// writes), and every function call (built-in or not, and the built-ins with effects the
/// text does not show).
struct ClassWalker {
    let options: ClassifyOptions
    var c = StatementClass(kind: .utility, command: "")
    /// CTE names visible at this point, innermost last.
    var ctes: [Set<String>] = []
    /// A data-modifying statement was seen.
    var dml = false
    /// A built-in that destroys or overwrites a large object is called.
    var destroysLargeObjects = false
    /// A built-in stores a value computed from what the statement reads (valueStores).
    var storesReadValues = false
    /// Rows the statement's bounded UPDATEs, DELETEs, MERGEs and upserts name, added up:
    /// twenty data-modifying CTEs of a thousand rows each are twenty thousand.
    var rowsNamed = 0
    /// Hidden reasons with the parse location they come from (statement-level ones at -1).
    var hiddenAt: [(Int, String)] = []

    init(options: ClassifyOptions) { self.options = options }

    mutating func hide(_ reason: String, _ location: Int) { hiddenAt.append((location, reason)) }
    mutating func flag(_ f: StatementFlag, _ reason: String, _ location: Int) { c.flags.insert(f); hide(reason, location) }

    /// The reasons in the order of the text, each once.
    func orderedHidden() -> [String] {
        var seen = Set<String>()
        return hiddenAt.enumerated()
            .sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }
            .map(\.element.1)
            .filter { seen.insert($0).inserted }
    }

    /// "schema.table" (or "catalog.schema.table") from a RangeVar body.
    static func relationName(_ rv: JSON?) -> String? {
        guard let rv, let rel = rv["relname"]?.string else { return nil }
        return [rv["catalogname"]?.string, rv["schemaname"]?.string, rel].compactMap { $0 }.joined(separator: ".")
    }

    func isCTE(_ rv: JSON) -> Bool {
        guard rv["schemaname"] == nil, let rel = rv["relname"]?.string else { return false }
        return ctes.contains { $0.contains(rel) }
    }

    mutating func walk(_ j: JSON?) {
        guard let j else { return }
        switch j {
        case .array(let a):
            for x in a { walk(x) }
        case .object(let o):
            if o.count == 1, let (k, v) = o.first, k.first?.isUppercase == true, node(k, v) { return }
            // A type named in a cast, a column definition, XMLTABLE or XMLSERIALIZE (an
            // unwrapped TypeName under the key typeName).
            if let t = o["typeName"], t["names"] != nil { _ = node("TypeName", t) }
            for (k, v) in o.sorted(by: { $0.key < $1.key }) where k != "location" { walk(v) }
        default:
            break
        }
    }

    /// Nodes with their own handling; false: walk the body's fields.
    mutating func node(_ kind: String, _ body: JSON) -> Bool {
        switch kind {
        case "RangeVar":
            if !isCTE(body), let n = Self.relationName(body) { c.tablesRead.insert(n) }
            return true
        case "SelectStmt":
            let pushed = with(body["withClause"])
            defer { if pushed { ctes.removeLast() } }
            if let n = Self.relationName(body["intoClause"]?["rel"]) { c.tablesWritten.insert(n) }
            // GROUP BY, DISTINCT, ORDER BY, UNION / INTERSECT / EXCEPT and windows compare
            // with the type's own operators though the text names none.
            if ["groupClause", "distinctClause", "sortClause", "windowClause"].contains(where: { body[$0] != nil })
                || (body["op"]?.string ?? "SETOP_NONE") != "SETOP_NONE" {
                usesOperator(Self.implicitComparisons, Int(body["location"]?.int ?? 0))
            }
            for (k, v) in (body.object ?? [:]).sorted(by: { $0.key < $1.key })
            where !["withClause", "intoClause", "lockingClause"].contains(k) { walk(v) }
            // FOR UPDATE / SHARE locks every row the select reads, whatever comes back
            // (`select count(*) from (select id from t for update) s` locks the table's rows
            // under one row out): as LOCK ... SHARE does, unless its rows are bounded.
            if body["lockingClause"] != nil, !Bounds(options: options).locksBounded(body) { c.flags.insert(.exclusiveLock) }
            return true
        case "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt":
            modify(kind, body)
            return true
        case "FuncCall":
            function(body)
            walk(body["args"]); walk(body["agg_order"]); walk(body["agg_filter"]); walk(body["over"])
            return true
        case "ExecuteStmt":
            hide(StatementClass.executeUnseen(body["name"]?.string ?? ""), -1)
            walk(body["params"])
            return true
        case "Constraint":
            // CHECK / DEFAULT / generated expressions; a foreign key's table is not read.
            walk(body["raw_expr"]); walk(body["where_clause"])
            return true
        case "A_Expr":
            // BETWEEN compares with >= and <= (NOT BETWEEN with < and >); the other kinds
            // name their operator (IN and NULLIF "=", LIKE "~~"...).
            let kind = body["kind"]?.string ?? ""
            usesOperator(kind.contains("BETWEEN") ? [[">="], ["<="], ["<"], [">"]]
                     : [(body["name"]?.array ?? []).compactMap(\.sval)], Int(body["location"]?.int ?? 0))
            return false
        case "SubLink":
            // `x < ALL (SELECT ...)`: an operator too; `x IN (SELECT ...)` names none: "=".
            let op = (body["operName"]?.array ?? []).compactMap(\.sval)
            usesOperator([op.isEmpty && body["subLinkType"]?.string == "ANY_SUBLINK" ? ["="] : op], Int(body["location"]?.int ?? 0))
            return false
        case "SortBy":
            // ORDER BY x USING op.
            usesOperator([(body["useOp"]?.array ?? []).compactMap(\.sval)], Int(body["location"]?.int ?? 0))
            return false
        case "CaseExpr" where body["arg"] != nil:
            // CASE x WHEN v: x = v.
            usesOperator([["="]], Int(body["location"]?.int ?? 0))
            return false
        case "TypeName":
            // A value made as a type (a cast, a column definition list, XMLTABLE's and
            // XMLSERIALIZE's types, PREPARE's parameters) runs its input function and, for
            // a domain, its checks.
            let names = (body["names"]?.array ?? []).compactMap(\.sval)
            if !names.isEmpty, names.first != "pg_catalog" { c.typesCast.insert(names.joined(separator: ".")) }
            return true
        case "JoinExpr" where body["usingClause"] != nil || body["isNatural"]?.bool == true:
            // USING and NATURAL compare with "=" though the text names none.
            usesOperator([["="]], 0)
            return false
        case "ColumnRef":
            // `x.f` (and `(x).f` below) is `f(x)` when x has no column f (attribute
            // notation): a function of the database's own taking the row may be what runs.
            if let fields = body["fields"]?.array, fields.count >= 2, let last = fields.last?.sval { c.functionsCalled.insert(last) }
            return true
        case "A_Indirection":
            for i in body["indirection"]?.array ?? [] { if let name = i.sval { c.functionsCalled.insert(name) } }
            return false
        case "A_Const", "ParamRef", "LockingClause", "CreateFunctionStmt":
            return true
        default:
            return false
        }
    }

    /// Pushes a WITH clause's names (walking each CTE's query first); true when pushed.
    mutating func with(_ clause: JSON?) -> Bool {
        guard let clause else { return false }
        let list = (clause["ctes"]?.array ?? []).compactMap { $0["CommonTableExpr"] }
        // A recursive WITH sees all its names; a plain one, the ones before each CTE.
        ctes.append(clause["recursive"]?.bool == true ? Set(list.compactMap { $0["ctename"]?.string }) : [])
        for cte in list {
            walk(cte["ctequery"])
            if let n = cte["ctename"]?.string { ctes[ctes.count - 1].insert(n) }
        }
        return true
    }

    mutating func modify(_ kind: String, _ s: JSON) {
        dml = true
        let pushed = with(s["withClause"])
        defer { if pushed { ctes.removeLast() } }
        let target = Self.relationName(s["relation"])
        if let target { c.tablesWritten.insert(target) }
        func columns(_ targets: [JSON]?) -> [String] {
            (targets ?? []).compactMap { $0["ResTarget"]?["name"]?.string }
        }
        func wrote(_ cols: [String]) {
            guard let target else { return }
            for col in cols { c.columnsWritten.insert(target + "." + col) }
        }
        func named(_ n: Int) {
            rowsNamed = Bounds.sum(rowsNamed, n)
            if rowsNamed > options.maxBoundedLimit { c.unboundedWrite = true; c.unboundedAnyway = true }
            // What pieces only the catalog can bound may still name (CatalogFacts adds them up).
            for k in c.pinnedColumns.indices { c.pinnedColumns[k].limit = max(0, options.maxBoundedLimit - rowsNamed) }
        }
        switch kind {
        case "InsertStmt":
            let cols = columns(s["cols"]?.array)
            wrote(cols.isEmpty && s["selectStmt"] != nil ? ["*"] : cols)
            wrote(columns(s["onConflictClause"]?["targetList"]?.array))
            // ON CONFLICT DO UPDATE rewrites existing rows: as many as the source has,
            // which only a bounded VALUES list or a LIMIT bounds (a set-returning call in
            // a VALUES row makes it many rows: `values (generate_series(1, 30000), ...)`).
            let bounds = Bounds(options: options)
            if s["onConflictClause"]?["action"]?.string == "ONCONFLICT_UPDATE", let source = s["selectStmt"]?["SelectStmt"] {
                if !bounds.valuesBounded(source), !bounds.limited(source) {
                    c.unboundedWrite = true; c.unboundedAnyway = true
                } else {
                    // The rows it may rewrite count with the statement's other writes.
                    named(bounds.valuesCount(source) ?? bounds.rowCount(source, [:]) ?? options.maxBoundedLimit)
                }
            }
        case "UpdateStmt", "DeleteStmt":
            if kind == "UpdateStmt" { wrote(columns(s["targetList"]?.array)) }
            let bounds = Bounds(options: options)
            let others = !(s[kind == "UpdateStmt" ? "fromClause" : "usingClause"]?.array ?? []).isEmpty
            if let n = bounds.pinnedCount(s["whereClause"], of: s["relation"], others: others,
                                          ctes: bounds.with(s["withClause"], [:]), with: s["withClause"]),
               n <= options.maxBoundedLimit {
                named(n)
            } else {
                c.unboundedWrite = true
                // Columns pinned that are no key by name: the catalog may know them for one.
                let pinned = bounds.pinnedColumns(s["whereClause"], of: s["relation"], others: others,
                                                  ctes: bounds.with(s["withClause"], [:]), with: s["withClause"])
                if let target, !pinned.isEmpty {
                    c.pinnedColumns.append(PinnedColumns(relation: target, columns: pinned, limit: max(0, options.maxBoundedLimit - rowsNamed)))
                } else { c.unboundedAnyway = true }
            }
        default: // MergeStmt
            var destructive = false
            for w in s["mergeWhenClauses"]?.array ?? [] {
                guard let m = w["MergeWhenClause"] else { continue }
                let cmd = m["commandType"]?.string ?? ""
                let cols = columns(m["targetList"]?.array)
                wrote(cmd == "CMD_INSERT" && cols.isEmpty ? ["*"] : cols)
                // `WHEN MATCHED AND condition`: a condition chooses among the matched rows,
                // it bounds nothing.
                if m["matched"]?.bool == true, cmd == "CMD_UPDATE" || cmd == "CMD_DELETE" { destructive = true }
            }
            // Only a join to a key of the target bounds the rows matched: a key pinned to a
            // constant, or a key equated with a column of a bounded VALUES list (or LIMITed
            // source), named by the source's alias (`on e.id = e.id` holds for every row).
            let bounds = Bounds(options: options)
            let sourceItem = s["sourceRelation"]?["RangeSubselect"]
            let source = sourceItem?["subquery"]?["SelectStmt"]
            let listed = source.map { bounds.valuesBounded($0) || bounds.limited($0) } ?? false
            // (An unqualified column of the condition may be the source's.)
            let pinnedCount = bounds.pinnedCount(s["joinCondition"], of: s["relation"], others: true, ctes: bounds.with(s["withClause"], [:]),
                                                 with: s["withClause"])
            let pinned = pinnedCount.map { $0 <= options.maxBoundedLimit } ?? false
            // As many rows as the key names for the source's rows (keyCount): `id` one a row,
            // a parent's key (`provider_id`) one parent's rows for one source row, any number
            // for more (`on e.provider_id = v.x` over three values is three providers' encounters).
            let sourceRows = source.flatMap { bounds.rowCount($0, [:], with: s["withClause"]) } ?? options.maxBoundedLimit
            let joinedCount = !listed ? nil : bounds.joinedKeys(s["joinCondition"], target: Bounds.qualifiers(of: s["relation"]),
                                                                source: sourceItem?["alias"]?["aliasname"]?.string)
                .compactMap { bounds.keyCount($0, sourceRows) }.filter { $0 <= options.maxBoundedLimit }.min()
            if destructive {
                if pinned, let n = pinnedCount { named(n) } else if let n = joinedCount { named(n) } else { c.unboundedWrite = true; c.unboundedAnyway = true }
            }
        }
        for (k, v) in (s.object ?? [:]).sorted(by: { $0.key < $1.key }) where k != "relation" && k != "withClause" { walk(v) }
    }

    // MARK: functions

    static func isBuiltin(_ parts: [String]) -> Bool {
        guard let name = parts.last else { return false }
        if parts.count > 1, !["pg_catalog", "information_schema"].contains(parts[parts.count - 2]) { return false }
        return BuiltinFunctions.names.contains(Substring(name))
    }

    /// Built-ins (and well-known extension functions) that run SQL given as text.
    static let runsSQL: Set<String> = [
        "dblink", "dblink_exec", "dblink_open", "dblink_fetch", "dblink_send_query",
        "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema", "cursor_to_xml", "cursor_to_xmlschema",
        "table_to_xml", "table_to_xmlschema", "table_to_xml_and_xmlschema", "schema_to_xml", "schema_to_xmlschema",
        "schema_to_xml_and_xmlschema", "database_to_xml", "database_to_xmlschema", "database_to_xml_and_xmlschema",
        "ts_stat", "ts_rewrite",
    ]
    /// Functions that read or write files on the database server.
    static let serverFiles: Set<String> = [
        "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "lo_import", "lo_export",
        "pg_file_write", "pg_file_rename", "pg_file_unlink", "pg_file_sync", "pg_logdir_ls", "pg_ls_logdir",
        "pg_ls_waldir", "pg_ls_tmpdir", "pg_ls_archive_statusdir", "pg_ls_logicalsnapdir", "pg_ls_logicalmapdir",
        "pg_ls_replslotdir",
    ]
    /// Administrative actions on the server or on other sessions.
    static let admin: Set<String> = [
        "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile", "pg_promote",
        "pg_switch_wal", "pg_create_restore_point", "pg_backup_start", "pg_backup_stop", "pg_wal_replay_pause",
        "pg_wal_replay_resume", "pg_create_physical_replication_slot", "pg_create_logical_replication_slot",
        "pg_drop_replication_slot", "pg_log_backend_memory_contexts", "pg_stat_reset", "pg_stat_reset_shared",
        "pg_stat_reset_single_table_counters", "pg_stat_reset_single_function_counters", "pg_stat_reset_slru",
        "pg_stat_reset_replication_slot", "pg_import_system_collations",
    ]

    static let implicitComparisons = [["="], ["<"], [">"]]

    /// Whether an expression names a column or holds a sub-select (a value it reads).
    static func readsValues(_ e: JSON) -> Bool {
        switch e {
        case .array(let a): return a.contains(where: readsValues)
        case .object(let o): return o["ColumnRef"] != nil || o["SubLink"] != nil || o.values.contains(where: readsValues)
        default: return false
        }
    }

    /// Built-ins that change data though a SELECT calls them: sequences and large
    /// objects. The statement is a write.
    static let writingBuiltins: Set<String> = [
        "nextval", "setval", "lo_unlink", "lo_put", "lo_truncate", "lo_truncate64", "lo_create", "lo_creat",
        "lo_from_bytea", "lowrite", "lo_write",
    ]
    /// Built-ins that remove or overwrite a large object's bytes (a stored document).
    static let largeObjectDestroyers: Set<String> = ["lo_unlink", "lo_put", "lo_truncate", "lo_truncate64", "lowrite", "lo_write"]
    /// Built-ins that keep what they are given where later statements or other readers
    /// find it: a large object's bytes, OID or offset, a setting's name or value
    /// (`current_setting` then writes it anywhere: `count(set_config('x',
    /// current_setting('x') || ssn, false))` gathers every row in one), a notification's
    /// channel or payload, a logical decoding message, an advisory lock's key
    /// (`pg_lock_status()` lists them). Given a column or a sub-select in any argument, a
    /// copy of what the statement reads, outside every masking rule (an export). Not the
    /// argument that names an existing large object (`lowrite`'s descriptor, `lo_put`'s
    /// OID: a document's, read from its row), which stores nothing (`valueStoreTargets`).
    static let valueStoreTargets: [String: Int] = ["lowrite": 0, "lo_put": 0]
    static let valueStores: Set<String> = [
        "lo_from_bytea", "lo_put", "lowrite", "lo_create", "lo_creat", "lo_import", "set_config", "pg_notify",
        "pg_logical_emit_message", "pg_advisory_lock", "pg_advisory_lock_shared", "pg_advisory_xact_lock",
        "pg_advisory_xact_lock_shared", "pg_try_advisory_lock", "pg_try_advisory_lock_shared", "pg_try_advisory_xact_lock",
        "pg_try_advisory_xact_lock_shared",
    ]
    /// Built-ins that maintain an index, computing its expressions.
    static let indexMaintenance: Set<String> = ["brin_summarize_new_values", "brin_summarize_range", "brin_desummarize_range",
                                                "gin_clean_pending_list"]

    /// An operator: OPERATOR(schema.op) of a schema other than pg_catalog is the
    /// database's own code; one without a schema is the catalog's to tell (CatalogFacts).
    mutating func usesOperator(_ names: [[String]], _ at: Int) {
        for op in names where !op.isEmpty {
            if op.count == 1 { c.operatorsUsed.insert(op[0]); continue }
            if op[op.count - 2] != "pg_catalog" {
                flag(.userFunction, "operator \(op.joined(separator: ".")) is not a built-in", at)
            }
        }
    }

    mutating func function(_ f: JSON) {
        let parts = (f["funcname"]?.array ?? []).compactMap(\.sval)
        guard let name = parts.last else { return }
        let display = parts.joined(separator: ".")
        let at = Int(f["location"]?.int ?? 0)
        if !Self.isBuiltin(parts) { flag(.userFunction, "function \(display) is not a built-in", at) }
        // A built-in's name without a schema: an overload of the database's own with
        // other argument types may be the one the server chooses.
        else if parts.count == 1 { c.functionsCalled.insert(name) }
        if Self.runsSQL.contains(name) { flag(.dynamicSQL, "function \(display) runs SQL", at) }
        if Self.writingBuiltins.contains(name) { dml = true }
        if Self.largeObjectDestroyers.contains(name) { destroysLargeObjects = true }
        if Self.valueStores.contains(name), let args = f["args"]?.array,
           args.indices.contains(where: { $0 != Self.valueStoreTargets[name] && Self.readsValues(args[$0]) }) {
            storesReadValues = true
        }
        if Self.indexMaintenance.contains(name) { c.writesPlanned.insert(CatalogFacts.everyRelation) }
        if Self.serverFiles.contains(name) { flag(.serverFile, "function \(display) reads or writes server files", at) }
        if Self.admin.contains(name) { flag(.adminFunction, "function \(display) is an administrative action", at) }
        if name == "set_config" {
            switch Constants.value(f["args"]?.array?.first) {
            case .string(let setting)?:
                switch setting.lowercased() {
                case "role": flag(.setRole, "function \(display) sets role", at)
                case "session_authorization": flag(.setSessionAuthorization, "function \(display) sets session_authorization", at)
                case "default_statistics_target": flag(.statistics, "function \(display) sets default_statistics_target", at)
                default: break
                }
            default:
                flag(.adminFunction, "function \(display) sets a setting named at run time", at)
            }
            if case .string(let setting)? = Constants.value(f["args"]?.array?.first), LexerSettings.names.contains(setting.lowercased()),
               !(Constants.value(f["args"]?.array?.dropFirst().first).map { LexerSettings.safe(setting, $0) } ?? false) {
                flag(.lexerSetting, "function \(display) changes how the server reads SQL text (\(setting.lowercased()))", at)
            }
            if case .string(let setting)? = Constants.value(f["args"]?.array?.first), setting.lowercased() == "search_path" {
                switch Constants.value(f["args"]?.array?.dropFirst().first) {
                case .string(let v)? where !SearchPath.shadowsCatalog(v): break
                default: hide("function \(display) sets a search_path that may shadow built-ins", at)
                }
            }
        }
    }
}

/// Constant expressions, as far as the parse tree shows them.
public enum Constants {
    public enum Value: Equatable, Sendable { case null, bool(Bool), number(Double), string(String) }

    /// A number as exactly as the server holds it: a double holds every integer below
    /// 2^53 only (`10^33 + 20000 - 10^33` is 0 in doubles, 20000 to the server), so a
    /// number at or past it, written or computed, is no known value.
    static func number(_ d: Double?) -> Value? {
        guard let d, d.isFinite, abs(d) < 9_007_199_254_740_992 else { return nil }
        return .number(d)
    }

    static func value(_ e: JSON?) -> Value? {
        guard let (kind, b) = e?.node else { return nil }
        switch kind {
        case "A_Const":
            if b["isnull"]?.bool == true { return .null }
            if let v = b["boolval"] { return .bool(v["boolval"]?.bool ?? false) }
            // libpg_query leaves out an integer that is zero (or negative): still a number.
            if let v = b["ival"] { return number(Double(v["ival"]?.int ?? 0)) }
            if let v = b["fval"]?["fval"]?.string { return number(Double(v)) }
            if let v = b["sval"] { return .string(v["sval"]?.string ?? "") }
            if let v = b["bsval"] { return .string(v["bsval"]?.string ?? "") }
            return nil
        case "TypeCast":
            guard let inner = value(b["arg"]) else { return nil }
            let type = (b["typeName"]?["names"]?.array ?? []).last?.sval ?? ""
            if type == "bool" || type == "boolean" {
                switch inner {
                case .string(let s):
                    let t = s.trimmingCharacters(in: .whitespaces).lowercased()
                    if ["t", "tr", "tru", "true", "y", "ye", "yes", "on", "1"].contains(t) { return .bool(true) }
                    if ["f", "fa", "fal", "fals", "false", "n", "no", "of", "off", "0"].contains(t) { return .bool(false) }
                    return nil
                case .number(let n): return .bool(n != 0)
                default: return inner
                }
            }
            if ["int2", "int4", "int8", "numeric", "float4", "float8", "integer", "bigint", "smallint"].contains(type),
               case .string(let s) = inner {
                return number(Double(s.trimmingCharacters(in: .whitespaces)))
            }
            return inner
        case "A_Expr" where b["kind"]?.string == "AEXPR_OP" && b["lexpr"] == nil:
            // A sign (`+1`, `- 1`).
            guard case .number(let r)? = value(b["rexpr"]) else { return nil }
            switch b["name"]?.array?.last?.sval {
            case "+": return number(r)
            case "-": return number(-r)
            default: return nil
            }
        case "A_Expr" where b["kind"]?.string == "AEXPR_OP":
            // Arithmetic on numbers (`100 + 20`): as the server folds it.
            guard case .number(let l)? = value(b["lexpr"]), case .number(let r)? = value(b["rexpr"]) else { return nil }
            switch b["name"]?.array?.last?.sval {
            case "+": return number(l + r)
            case "-": return number(l - r)
            case "*": return number(l * r)
            default: return nil
            }
        case "CoalesceExpr":
            // Its first argument not NULL (`coalesce(null, 1)`), when each before it is known.
            for a in b["args"]?.array ?? [] {
                guard let v = value(a) else { return nil }
                if v != .null { return v }
            }
            return .null
        default:
            return nil
        }
    }

    /// A count: an integer, written or computed from integers only (a fraction rounds
    /// where the server casts it, `2.5::int4` is 3; a double drops it beside a large
    /// integer, `4503599627370496.5 - 4503599627370496` is 0 in one; a float4 holds 24
    /// bits), each below 2^53. Nil: no count.
    static func count(_ e: JSON?) -> Double? {
        guard case .number(let n)? = value(e), integral(e) else { return nil }
        return n
    }

    static func integral(_ e: JSON?) -> Bool {
        guard let (kind, b) = e?.node else { return false }
        switch kind {
        case "A_Const":
            // A literal with a fraction or an exponent (`4503599627370496.5` reads as an
            // integer in a double) is none, whatever the double says.
            if let text = b["fval"]?["fval"]?.string { return text.allSatisfy { $0.isASCII && ($0.isNumber || $0 == "-") } }
            if case .number(let n)? = value(e) { return n == n.rounded() }
            return true     // text: the cast around it decides
        case "TypeCast":
            let type = (b["typeName"]?["names"]?.array ?? []).last?.sval ?? ""
            guard !["float4", "float8", "real", "double precision"].contains(type) else { return false }
            if case .number(let n)? = value(e), n != n.rounded() { return false }
            return integral(b["arg"])
        case "A_Expr":
            return (b["lexpr"] == nil || integral(b["lexpr"])) && integral(b["rexpr"])
        default:
            return false
        }
    }

    /// A literal (possibly cast), not NULL.
    static func isConst(_ e: JSON?) -> Bool {
        guard let (kind, b) = e?.node else { return false }
        if kind == "TypeCast" { return isConst(b["arg"]) }
        return kind == "A_Const" && b["isnull"]?.bool != true
    }

    /// A constant or a bind parameter ($n): what a key lookup compares with.
    static func isConstOrParam(_ e: JSON?) -> Bool {
        guard let (kind, b) = e?.node else { return false }
        if kind == "ParamRef" { return true }
        if kind == "TypeCast" { return isConstOrParam(b["arg"]) }
        if let v = value(e) { return v != .null }
        return false
    }

    /// An UPDATE/DELETE condition that does not bound the rows: none, or constant true.
    /// `WHERE CURRENT OF c` is bounded (one row).
    /// So is one that names no column (`WHERE $1`, `WHERE now() > '2000-01-01'`): it is the
    /// same for every row.
    /// An OR with such a branch (`WHERE id = $1 OR $2`) is as unbounded as the branch.
    static func unbounded(_ whereClause: JSON?) -> Bool {
        guard let whereClause else { return true }
        return !bounds(whereClause)
    }

    static func bounds(_ e: JSON) -> Bool {
        if e["CurrentOfExpr"] != nil { return true }
        if let b = e["BoolExpr"], let args = b["args"]?.array {
            switch b["boolop"]?.string {
            case "AND_EXPR": return args.contains(where: bounds)
            case "OR_EXPR": return args.allSatisfy(bounds)
            default: return args.contains(where: mentionsColumn)
            }
        }
        return mentionsColumn(e) && !isTrue(e)
    }

    static func mentionsColumn(_ j: JSON) -> Bool {
        switch j {
        case .array(let a): return a.contains(where: mentionsColumn)
        case .object(let o): return o["ColumnRef"] != nil || o.values.contains(where: mentionsColumn)
        default: return false
        }
    }

    static func stripped(_ j: JSON) -> JSON {
        switch j {
        case .object(let o): return .object(o.filter { $0.key != "location" }.mapValues(stripped))
        case .array(let a): return .array(a.map(stripped))
        default: return j
        }
    }

    static func compare(_ op: String, _ l: Value, _ r: Value) -> Bool? {
        var order: Int?   // -1, 0, 1
        switch (l, r) {
        case (.null, _), (_, .null): return nil
        case (.number(let a), .number(let b)): order = a < b ? -1 : a == b ? 0 : 1
        case (.string(let a), .string(let b)): order = a < b ? -1 : a == b ? 0 : 1
        case (.number(let a), .string(let s)), (.string(let s), .number(let a)):
            guard let b = Double(s.trimmingCharacters(in: .whitespaces)) else { return nil }
            let (x, y) = { if case .number = l { return (a, b) } else { return (b, a) } }()
            order = x < y ? -1 : x == y ? 0 : 1
        case (.bool(let a), .bool(let b)): order = a == b ? 0 : (!a ? -1 : 1)
        default: return nil
        }
        guard let o = order else { return nil }
        switch op {
        case "=": return o == 0
        case "<>", "!=": return o != 0
        case "<": return o < 0
        case "<=": return o <= 0
        case ">": return o > 0
        case ">=": return o >= 0
        default: return nil
        }
    }

    /// Constant true: `true`, `'t'::bool`, `1 = 1`, `'a' = 'a'`, `x = x`, `true OR ...`, `NOT false`,
    /// `NULL IS NULL`.
    static func isTrue(_ e: JSON?) -> Bool { truth(e) == true }

    static func truth(_ e: JSON?) -> Bool? {
        guard let (kind, b) = e?.node else { return nil }
        switch kind {
        case "A_Const", "TypeCast":
            if case .bool(let v)? = value(e) { return v }
            return nil
        case "BoolExpr":
            let args = (b["args"]?.array ?? []).map(truth)
            switch b["boolop"]?.string {
            case "AND_EXPR":
                if args.contains(false) { return false }
                return args.isEmpty || args.contains(nil) ? nil : true
            case "OR_EXPR":
                if args.contains(true) { return true }
                return args.isEmpty || args.contains(nil) ? nil : false
            case "NOT_EXPR":
                return args.first.flatMap { $0 }.map { !$0 }
            default:
                return nil
            }
        case "A_Expr":
            let op = b["name"]?.array?.last?.sval ?? ""
            switch b["kind"]?.string {
            case "AEXPR_OP":
                if let l = value(b["lexpr"]), let r = value(b["rexpr"]) { return compare(op, l, r) }
                // x = x: true for every row where x is not null.
                if ["=", "<=", ">="].contains(op), let l = b["lexpr"], let r = b["rexpr"], l["ColumnRef"] != nil,
                   stripped(l) == stripped(r) { return true }
                return nil
            case "AEXPR_IN":
                guard let l = value(b["lexpr"]) else { return nil }
                let items = (b["rexpr"]?.array ?? b["rexpr"]?["List"]?["items"]?.array ?? []).map(value)
                if items.contains(nil) { return nil }
                let hit = items.contains { compare("=", l, $0!) == true }
                return op == "=" ? hit : op == "<>" ? !hit : nil
            default:
                return nil
            }
        case "NullTest":
            guard let v = value(b["arg"]) else { return nil }
            let isNull = v == .null
            return b["nulltesttype"]?.string == "IS_NOT_NULL" ? !isNull : isNull
        case "BooleanTest":
            let t = truth(b["arg"])
            switch b["booltesttype"]?.string {
            case "IS_TRUE": return t.map { $0 }
            case "IS_NOT_FALSE": return t.map { $0 }
            case "IS_FALSE", "IS_NOT_TRUE": return t.map { !$0 }
            default: return nil
            }
        default:
            return nil
        }
    }
}

/// Whether the rows a statement reads out are bounded. The rule, for a query (recursively):
///
/// - a SELECT with LIMIT / FETCH FIRST n (a constant, not WITH TIES) where n <= maxBoundedLimit
///   is bounded; a set operation without one is bounded when every branch is; VALUES is bounded;
/// - a SELECT without FROM is bounded (one row) unless its select list calls a set-returning or
///   non-built-in function over something that reads a table (`unnest(array(select ...))`);
/// - a SELECT whose select list has an aggregate (no window) and that has no GROUP BY is bounded,
///   unless an aggregate keeps every row apart (`collects`: `string_agg`, or `sum`/`bit_or`
///   of values scaled by row, or of a derived table's computed column: `packs`);
/// - otherwise every FROM item must be pinned: a subquery, or a CTE reference, whose own query
///   is bounded; a function (or other item) that reads no table; or a table (or unbounded
///   subquery/CTE) with a top-level WHERE conjunct (or HAVING's, on plain grouped columns)
///   `key = const|$n`, `key IN (consts)` or `key = ANY(constant array)` on it,
///   `key` being "id", a name ending in "_id" or one of `keyColumns` (qualified by the item's
///   alias or name, or unqualified when the FROM clause has a single item). A join is pinned
///   when each of its tables is: one patient's `id` does not bound their encounters, but a
///   table's key set equal to a column of a pinned table, or of an enclosing row, is one
///   value per row of it (`equatedPins`).
/// - INSERT ... SELECT is bounded as its SELECT; UPDATE/DELETE are bounded without RETURNING,
///   or with a key equality on the target; MERGE is bounded (no RETURNING in PostgreSQL 15).
///
/// At the statement level: COPY table TO is unbounded, COPY (query) TO / CREATE TABLE AS /
/// SELECT INTO / DECLARE CURSOR are bounded as their query, FETCH is bounded when its count is,
/// EXPLAIN (without ANALYZE), CREATE VIEW and the rest read nothing out.
struct Bounds {
    let options: ClassifyOptions
    /// A query inside another (a sub-select, a LATERAL item): a column it names without a
    /// qualifier may be the enclosing query's (`lateral (select * from patients where
    /// zzz_id = 1)` when patients has no zzz_id: a constant, true for every row).
    var nested = false
    /// The names of the FROM items of the queries this one is inside (for a sub-select
    /// of a select list): a column qualified by one of them, none of its own, is one value
    /// each time it runs (equatedPins).
    var enclosing: Set<String> = []

    /// Where the reads it bounds by key names alone are noted (KeyedRead), for the
    /// catalog to confirm; nil: not noted (a write's bounds, a lock's).
    var keyed: KeyedReads? = nil
    final class KeyedReads { var reads: Set<KeyedRead> = [] }

    /// The same rules for a query inside this one.
    var inner: Bounds { Bounds(options: options, nested: true, enclosing: enclosing, keyed: keyed) }

    /// Notes that a table's rows were counted as `rows` because `columns` (its pins) hold a
    /// key by name: only the catalog can say whether they do.
    func noteKeyed(_ relation: String?, _ columns: [String: Int], _ rows: Int) {
        guard let keyed, let relation else { return }
        keyed.reads.insert(KeyedRead(relation: relation, columns: columns, rows: rows))
    }

    /// A table reference's name as tablesRead has it.
    static func tableName(_ rangeVar: JSON?) -> String? { ClassWalker.relationName(rangeVar) }

    func isKey(_ column: String) -> Bool {
        column == "id" || column.hasSuffix("_id") || options.keyColumns.contains(column)
            || options.keyColumns.contains { $0.lowercased() == column }
    }

    /// The relation a column reference's qualifier names: "t" for `t.c`, "s.t" for
    /// `s.t.c` (a database name before it dropped), "" for none. `archive.encounters.id`
    /// is not a column of `public.encounters`.
    static func qualifier(_ names: [String]) -> String {
        switch names.count {
        case 0, 1: return ""
        case 2: return names[0]
        default: return names[names.count - 3] + "." + names[names.count - 2]
        }
    }

    /// The qualifiers a relation's columns go by: its alias; else its name and, written
    /// with its schema, `schema.name`.
    static func qualifiers(of relation: JSON?) -> Set<String> {
        if let alias = relation?["alias"]?["aliasname"]?.string { return [alias] }
        let rel = relation?["relname"]?.string ?? ""
        if let schema = relation?["schemaname"]?.string { return [rel, schema + "." + rel] }
        return [rel]
    }

    /// The pins of `pins` (columnPins) on the relation named by `names`, and the
    /// unqualified ones when `unqualified`.
    static func pins(_ pins: [String: [String: Int]], on names: Set<String>, unqualified: Bool) -> [String: Int] {
        var out: [String: Int] = unqualified ? pins[""] ?? [:] : [:]
        for n in names { out.merge(pins[n] ?? [:]) { min($0, $1) } }
        return out
    }

    /// Any query node: `{"SelectStmt": ...}`, `{"InsertStmt": ...}`...
    func statement(_ node: JSON?, _ ctes: [String: Bool]) -> Bool {
        guard let (kind, s) = node?.node else { return true }
        switch kind {
        case "SelectStmt":
            return select(s, ctes)
        case "InsertStmt":
            // A sub-select RETURNING gives back is a read of its own (once per row written).
            let ctes = with(s["withClause"], ctes)
            let returning = returnedSubselects(s["returningList"] ?? .null)
            guard returning.allSatisfy({ statement($0, ctes) }) else { return false }
            // Side by side, once per row written (`returning array(... offset 0), array(...
            // offset 1000)`).
            let perRow = returnedPerRow(s["returningList"]?.array ?? [], ctes)
            if perRow > 0 {
                let rows = s["selectStmt"].map { rowCount($0["SelectStmt"], ctes) ?? Int.max } ?? 1
                if Self.product(max(rows, 1), perRow) > options.maxBoundedLimit { return false }
            }
            guard let source = s["selectStmt"] else { return true }
            return statement(source, ctes)
        case "UpdateStmt", "DeleteStmt":
            guard let returning = s["returningList"]?.array, !returning.isEmpty else { return true }
            let ctes = with(s["withClause"], ctes)
            guard returnedSubselects(.array(returning)).allSatisfy({ statement($0, ctes) }) else { return false }
            let pins = keyPins(s["whereClause"])
            guard pins.contains("") || !pins.isDisjoint(with: Self.qualifiers(of: s["relation"])) else { return false }
            // The rows it returns: as many as its key's name says, if the catalog agrees.
            let mine = Self.pins(columnPins(s["whereClause"], ranges: true), on: Self.qualifiers(of: s["relation"]), unqualified: true)
            noteKeyed(Self.tableName(s["relation"]) ?? "", mine, mine.compactMap { keyCount($0.key, $0.value) }.min() ?? options.maxBoundedLimit)
            let perRow = returnedPerRow(returning, ctes)
            if perRow > 0 {
                let others = !(s[kind == "UpdateStmt" ? "fromClause" : "usingClause"]?.array ?? []).isEmpty
                let rows = pinnedCount(s["whereClause"], of: s["relation"], others: others, ctes: ctes, with: s["withClause"]) ?? Int.max
                if Self.product(max(rows, 1), perRow) > options.maxBoundedLimit { return false }
            }
            return true
        default:
            return true
        }
    }

    /// The CTEs of a WITH clause added to `ctes`, each with whether its query is bounded.
    func with(_ clause: JSON?, _ ctes: [String: Bool]) -> [String: Bool] {
        guard let clause else { return ctes }
        var out = ctes
        let list = (clause["ctes"]?.array ?? []).compactMap { $0["CommonTableExpr"] }
        // A recursive CTE's reference to itself adds no table of its own: its query is bounded
        // as its other terms are (a generated series is; a walk over a table is not).
        if clause["recursive"]?.bool == true {
            for c in list { if let n = c["ctename"]?.string { out[n] = true } }
        }
        for c in list {
            guard let n = c["ctename"]?.string else { continue }
            out[n] = statement(c["ctequery"], out)
        }
        return out
    }

    /// Whether FOR UPDATE / SHARE on this query locks few rows: its rows bounded, and where
    /// only a LIMIT bounds them, the rows an OFFSET skips counted with it (LockRows runs
    /// below Limit: `offset 19999 limit 1 for update` locks 20,000 rows), in the query and
    /// in the derived tables the lock reaches (`(select ... offset 19000) s limit 1 for update`).
    func locksBounded(_ s: JSON) -> Bool {
        guard select(s, [:]) else { return false }
        var stack = [s]
        while let q = stack.popLast() {
            if let offset = q["limitOffset"] {
                guard case .object(var unlimited) = q else { return false }
                unlimited["limitOption"] = nil; unlimited["limitCount"] = nil; unlimited["limitOffset"] = nil
                if !select(.object(unlimited), [:]) {
                    // Only the LIMIT bounds it: the skipped rows count with it.
                    guard let skip = Constants.count(offset), q["limitOption"]?.string == "LIMIT_OPTION_COUNT",
                          let n = Constants.count(q["limitCount"]), skip + n <= Double(options.maxBoundedLimit) else { return false }
                }
            }
            for item in q["fromClause"]?.array ?? [] {
                var items = [item]
                while let i = items.popLast() {
                    if let j = i["JoinExpr"] { items += [j["larg"] ?? .null, j["rarg"] ?? .null] }
                    if let sub = i["RangeSubselect"]?["subquery"]?["SelectStmt"] { stack.append(sub) }
                }
            }
        }
        return true
    }

    func limited(_ s: JSON) -> Bool {
        guard s["limitOption"]?.string == "LIMIT_OPTION_COUNT", let n = Constants.count(s["limitCount"]) else { return false }
        return n <= Double(options.maxBoundedLimit)
    }

    func select(_ s: JSON, _ outer: [String: Bool]) -> Bool {
        let ctes = with(s["withClause"], outer)
        let targets = s["targetList"]?.array ?? []
        let from = s["fromClause"]?.array ?? []
        // A sub-select whose values come back (`(select string_agg(note, ',') from
        // encounters)`, `array(select ssn from patients)`) is a read of its own tables,
        // judged where it stands, in a FROM-less SELECT as anywhere, under a LIMIT too:
        // one row of it may hold every row of its table.
        let within = Bounds(options: options, nested: true, enclosing: enclosing.union(Self.itemNames(from)), keyed: keyed)
        if !returnedSubselects(.array(targets)).allSatisfy({ within.statement($0, ctes) }) { return false }
        // Each bounded, and all of them together, once per row: side by side (`array(select
        // ... limit 1000 offset 0), array(... offset 1000), ...` is every row in one), under a
        // LIMIT (`array(... offset g * 1000) from generate_series(0, 19) g limit 20`), without
        // FROM (one row) and as a series' rows.
        let perRow = returnedPerRow(targets, ctes, outer: Self.tablesByQualifier(from))
        if perRow > 0 {
            // Rows not counted are any number (`from unnest($1::int[]) x`), but one row of
            // aggregates.
            let oneRow = from.isEmpty || s["groupClause"] == nil && hasAggregate(targets)
            let rows = oneRow ? 1 : rowCount(s, ctes, reads: true) ?? Int.max
            if Self.product(max(rows, 1), perRow) > options.maxBoundedLimit { return false }
        }
        // So may one row of an aggregate that gathers rows over a window (`string_agg(ssn,
        // ',') over () ... limit 1`), or a row that reaches others' (`lag(ssn, 5000) over w
        // ... limit 1`): LIMIT does not bound what the window read.
        // A set operation's LIMIT alike, whatever its branches gather or bring per row.
        if limited(s) && !gathersRows(targets) && !packs(s, ctes) && !from.contains(where: { gathers($0, s["withClause"], ctes) })
            && !branchesGather(s, ctes) { return true }
        if let op = s["op"]?.string, op != "SETOP_NONE" {
            // Each branch bounded, and all of them together: twenty ranges of a thousand
            // rows, UNION ALL, are every row.
            return select(s["larg"] ?? .null, ctes) && select(s["rarg"] ?? .null, ctes)
                && readCount(s, ctes, with: s["withClause"]) <= options.maxBoundedLimit
        }
        if s["valuesLists"] != nil {
            // Each row's sub-selects bounded, and all of them together (`values (array(...
            // offset 0)), (array(... offset 1000))`).
            return valuesBounded(s) && returnedSubselects(s["valuesLists"]!).allSatisfy { inner.statement($0, ctes) }
                && returnedPerRow(s["valuesLists"]?.array ?? [], ctes) <= options.maxBoundedLimit
        }
        if from.isEmpty { return !expands(targets, ctes) }
        var items: [FromItem] = []
        for f in from { collect(f, ctes, &items) }
        let own = items.reduce(into: Set<String>()) { $0.formUnion($1.names) }
        // One row of aggregates, unless what they reduce gathered rows first (`max(x) from
        // (select string_agg(...) x from encounters) s`), or more of them stand side by side
        // than the cap (aggregateValues).
        if s["groupClause"] == nil, hasAggregate(targets, own: own), !expands(targets, ctes), !packs(s, ctes),
           !from.contains(where: { gathers($0, s["withClause"], ctes) }),
           Self.sum(aggregateValues(targets), perRow) <= options.maxBoundedLimit { return true }
        let pins = keyPins(filter(s))
        let equatedColumns = equatedPins(s, ctes, with: s["withClause"], ranges: true)
        let equated = Set(equatedColumns.keys)
        let unqualified = items.count == 1 && !nested
        guard items.allSatisfy({ item in
            item.pinned || item.keyed && (!item.names.isDisjoint(with: pins) || !item.names.isDisjoint(with: equated)
                                          || (unqualified && pins.contains("")))
        }) else { return false }
        // Each table bounded by its pins alone: as many rows as their names say, if the
        // catalog agrees.
        if keyed != nil {
            let columns = columnPins(filter(s), ranges: true)
            for item in items where !item.pinned {
                var mine = Self.pins(columns, on: item.names, unqualified: unqualified)
                for n in item.names { mine.merge(equatedColumns[n] ?? [:]) { min($0, $1) } }
                if item.derived { mine = mine.filter { isKey($0.key) } }
                noteKeyed(item.relation ?? "", mine, mine.compactMap { keyCount($0.key, $0.value) }.min() ?? options.maxBoundedLimit)
            }
        }
        // Each item bounded, and all of them together: a LATERAL page per row of a series,
        // two key ranges of a self-join (their rows multiply). Rows not counted are any
        // number when a LATERAL item reads a table once per row of them (`unnest(array_fill(0,
        // array[5000])) with ordinality t(v, n), lateral (... limit 1 offset t.n - 1)`), or
        // when a table is bounded only per row of them (equatedPins).
        return (rowCount(s, ctes, reads: true) ?? (readsPerRow(from, ctes) || !equated.isEmpty ? Int.max : 0)) <= options.maxBoundedLimit
    }

    /// Whether a FROM item, joins flattened, is LATERAL and reads a table: it runs once per
    /// row of the items before it.
    func readsPerRow(_ from: [JSON], _ ctes: [String: Bool]) -> Bool {
        var items = from
        while let i = items.popLast() {
            if let j = i["JoinExpr"] { items += [j["larg"] ?? .null, j["rarg"] ?? .null]; continue }
            for kind in ["RangeSubselect", "RangeFunction"] {
                if let b = i[kind], b["lateral"]?.bool == true, touchesTables(i, ctes) { return true }
            }
        }
        return false
    }

    /// At most how many rows a bounded query yields, for adding branches up: a LIMIT's
    /// count, one for aggregates alone, rowCount otherwise; when nothing counts them, the
    /// cap if it reads a table, none if it reads only a series or a recursive CTE's self.
    func readCount(_ s: JSON, _ ctes: [String: Bool], gathered: Bool = false, with: JSON? = nil) -> Int {
        let cap = options.maxBoundedLimit
        let with = s["withClause"] ?? with
        var n: Int
        if gathered {
            // What an aggregate gathered: FROM's rows, whatever LIMIT then keeps of its output.
            guard case .object(var o) = s else { return cap }
            o["limitOption"] = nil; o["limitCount"] = nil
            return rowCount(.object(o), ctes, with: with, reads: true) ?? cap
        } else if let op = s["op"]?.string, op != "SETOP_NONE" {
            let l = readCount(s["larg"] ?? .null, ctes, with: with), r = readCount(s["rarg"] ?? .null, ctes, with: with)
            switch op {
            case "SETOP_INTERSECT": n = min(l, r)
            case "SETOP_EXCEPT": n = l
            default: n = Self.sum(l, r)
            }
        } else if s["groupClause"] == nil, hasAggregate(s["targetList"]?.array ?? []), !gathersRows(s["targetList"]?.array ?? []),
                  !packs(s, ctes) {
            n = max(1, aggregateValues(s["targetList"]?.array ?? []))
        } else {
            // Uncounted: as many as the cap, if it reads a table (a recursive CTE's reference
            // to itself, or a series, counts nothing).
            n = rowCount(s, ctes, with: with, reads: true) ?? (touchesTables(s["fromClause"], ctes) ? cap : 0)
        }
        // A LIMIT keeps rows, not what a set operation's branches carry in each.
        if s["limitOption"]?.string == "LIMIT_OPTION_COUNT", let l = Constants.count(s["limitCount"]), l >= 0,
           !branchesGather(s, ctes) {
            n = min(n, l < 1e12 ? Int(l) : Int.max)
        }
        // What its select list's sub-selects give back with each row counts as rows read
        // (a FROM-less branch of a UNION that returns `array(select ... limit 1000)`).
        if s["op"]?.string ?? "SETOP_NONE" == "SETOP_NONE" {
            let perRow = returnedPerRow(s["targetList"]?.array ?? [], ctes)
            if perRow > 0 { n = max(n, Self.product(max(n, 1), perRow)) }
        }
        return n
    }

    /// A set operation's branch (at any depth) that gathers rows into one, reaches other
    /// rows through a window or gives back sub-selects' rows with each row: the set
    /// operation's LIMIT bounds its rows, not what they carry.
    func branchesGather(_ s: JSON, _ ctes: [String: Bool]) -> Bool {
        guard let op = s["op"]?.string, op != "SETOP_NONE" else { return false }
        return [s["larg"], s["rarg"]].contains { b in
            guard let b else { return false }
            if branchesGather(b, ctes) { return true }
            let targets = b["targetList"]?.array ?? []
            return gathersRows(targets) || packs(b, ctes) || returnedPerRow(targets, ctes) > 0
                || (b["fromClause"]?.array ?? []).contains { gathers($0, b["withClause"], ctes) }
        }
    }

    /// The rows a select list's sub-selects give back with each row of it, added up (an
    /// array's rows, what an aggregate of one gathers; a scalar's one value counts none).
    /// `outer`: the tables of the enclosing FROM by qualifier (tablesByQualifier).
    func returnedPerRow(_ targets: [JSON], _ ctes: [String: Bool], outer: [String: String] = [:]) -> Int {
        returnedSublinks(.array(targets)).reduce(0) {
            Self.sum($0, returnedRows($1.query, array: $1.kind == "ARRAY_SUBLINK", ctes, outer: outer))
        }
    }

    /// The tables of FROM items (joins flattened), by each qualifier that names them:
    /// schema and name as written.
    static func tablesByQualifier(_ from: [JSON]) -> [String: String] {
        var out: [String: String] = [:]
        var items = from
        while let i = items.popLast() {
            if let j = i["JoinExpr"] { items += [j["larg"] ?? .null, j["rarg"] ?? .null]; continue }
            guard let rv = i["RangeVar"], let rel = rv["relname"]?.string else { continue }
            let table = (rv["schemaname"]?.string.map { $0 + "." } ?? "") + rel
            for q in qualifiers(of: rv) { out[q] = table }
        }
        return out
    }

    /// A sub-select of one table that a conjunct of its WHERE pins by `id` to the `id` of
    /// the same table in the enclosing row (`(select count(*) from patients q where q.id =
    /// p.id and ...)` in a select from patients p): it reads the enclosing row itself,
    /// nothing beside it.
    func readsOuterRow(_ s: JSON, _ outer: [String: String]) -> Bool {
        guard !outer.isEmpty, let from = s["fromClause"]?.array, from.count == 1, let rv = from[0]["RangeVar"],
              let rel = rv["relname"]?.string, s["withClause"] == nil else { return false }
        let table = (rv["schemaname"]?.string.map { $0 + "." } ?? "") + rel
        let mine = Self.qualifiers(of: rv)
        return Self.equatedColumns(s["whereClause"]).contains { x, y in
            x.count == 2 && y.count == 2 && x[1].lowercased() == "id" && y[1].lowercased() == "id"
                && mine.contains(x[0]) && !mine.contains(y[0]) && outer[y[0]] == table
        }
    }

    /// The columns (as named: qualifiers and name) that a top-level conjunct of `condition`
    /// sets equal (`a.x = b.y`), each pair both ways round.
    static func equatedColumns(_ condition: JSON?) -> [(left: [String], right: [String])] {
        var out: [(left: [String], right: [String])] = []
        var stack = [condition ?? .null]
        while let e = stack.popLast() {
            if let b = e["BoolExpr"], b["boolop"]?.string == "AND_EXPR" { stack += b["args"]?.array ?? []; continue }
            guard let a = e["A_Expr"], a["kind"]?.string == "AEXPR_OP", a["name"]?.array?.last?.sval == "=" else { continue }
            let sides = [a["lexpr"], a["rexpr"]].map { side -> [String] in
                let fields = side?["ColumnRef"]?["fields"]?.array ?? []
                let names = fields.compactMap(\.sval)
                return names.count == fields.count ? names : []
            }
            guard !sides[0].isEmpty, !sides[1].isEmpty else { continue }
            out += [(sides[0], sides[1]), (sides[1], sides[0])]
        }
        return out
    }

    /// The rows a sub-select in a select list gives back each time it runs: an array's
    /// rows, or the rows an aggregate of it gathers; a scalar's one value, one row of what
    /// it reads when it reads a table (five `(select ssn from patients where id = g + k *
    /// 1000 limit 1)` beside each other over a thousand-row series are 5,000 patients).
    func returnedRows(_ query: JSON, array: Bool, _ ctes: [String: Bool], outer: [String: String] = [:]) -> Int {
        guard let s = query["SelectStmt"] else { return 0 }
        let targets = s["targetList"]?.array ?? []
        // What its own select list's sub-selects return, once per row of it (a scalar
        // wrapping `array(select ...)`, or `coalesce((select array(...)), ...)`).
        let nested = returnedPerRow(targets, ctes)
        let inner = nested == 0 ? 0 : Self.product(max(1, rowCount(s, ctes, reads: true) ?? 1), nested)
        if gathersRows(targets) || packs(s, ctes) || (s["fromClause"]?.array ?? []).contains(where: { gathers($0, s["withClause"], ctes) }) {
            return Self.sum(readCount(s, ctes, gathered: true), inner)
        }
        // A scalar of aggregates side by side (`concat_ws(',', max(ssn) filter (where id =
        // 1), ...)`) is as many rows as them.
        let scalar = touchesTables(s["fromClause"], ctes) && !readsOuterRow(s, outer) ? max(1, aggregateValues(targets)) : 0
        return Self.sum(array ? readCount(s, ctes) : scalar, inner)
    }

    /// A FROM item, joins flattened: the names a column may be qualified by, whether it is
    /// bounded on its own, and whether a key filter on its columns bounds it (`keyed`).
    struct FromItem {
        var names: Set<String>
        var pinned: Bool
        /// A table's own columns under their own names: a key's name says what it is. A
        /// derived table's, a CTE's or a function's column is whatever its query made it
        /// (`(select ssn, 1 as id from patients) s where s.id = 1` is every patient), and an
        /// alias's column list renames a table's columns by position, which only the
        /// catalog knows (`encounters x(a, b, c, d, id)` calls department `id`).
        var keyed: Bool
        /// The table a keyed item's rows are (`schema.name` as written): the one whose
        /// catalog facts say whether its pinned columns hold a key.
        var relation: String? = nil
        /// A derived table's: only its key-named columns are surely the table's of that name.
        var derived = false
    }

    /// Whether a derived table passes a table's keys through as they are (an ORM's
    /// `select * from (select patients.id as id, ...) anon_1 where anon_1.id = 1`): a
    /// plain SELECT of one table (not LATERAL, not locking) whose select list is that
    /// table's own columns, plain (or cast) and nothing else (no sub-select, aggregate or
    /// window that would bring other rows into the one a key picks), no set operation,
    /// grouping or DISTINCT, each output column with a key's name the column of that name.
    func passesKeysThrough(_ query: JSON?, _ ctes: [String: Bool]) -> Bool {
        guard let s = query?["SelectStmt"], (s["op"]?.string ?? "SETOP_NONE") == "SETOP_NONE", s["valuesLists"] == nil,
              s["groupClause"] == nil, s["distinctClause"] == nil, s["withClause"] == nil, s["havingClause"] == nil,
              s["lockingClause"] == nil, s["windowClause"] == nil,
              let from = s["fromClause"]?.array, from.count == 1, let table = from[0]["RangeVar"],
              !Self.renamesColumns(table), table["schemaname"] != nil || ctes[table["relname"]?.string ?? ""] == nil else { return false }
        let own = Self.qualifiers(of: table)
        return (s["targetList"]?.array ?? []).allSatisfy { t in
            let r = t["ResTarget"]
            var val = r?["val"]
            while let cast = val?["TypeCast"] { val = cast["arg"] }
            guard let fields = val?["ColumnRef"]?["fields"]?.array else { return false }
            let names = fields.compactMap(\.sval)
            if fields.last?["A_Star"] != nil { return fields.count == 1 || own.contains(Self.qualifier(names + ["*"])) }
            guard names.count == fields.count, names.count == 1 || own.contains(Self.qualifier(names)) else { return false }
            guard let name = Analyzer.outputName(r), isKey(name.lowercased()) else { return true }
            return names.last?.lowercased() == name.lowercased()
        }
    }

    /// Whether a table reference renames its columns (`t x(a, b)`).
    static func renamesColumns(_ rangeVar: JSON?) -> Bool { !(rangeVar?["alias"]?["colnames"]?.array ?? []).isEmpty }

    /// FROM items, joins flattened (FromItem).
    func collect(_ item: JSON, _ ctes: [String: Bool], _ out: inout [FromItem]) {
        guard let (kind, b) = item.node else { return }
        let alias = b["alias"]?["aliasname"]?.string
        switch kind {
        case "RangeVar":
            let rel = b["relname"]?.string ?? ""
            let cte = b["schemaname"] == nil ? ctes[rel] : nil
            out.append(FromItem(names: Self.qualifiers(of: b), pinned: cte ?? false, keyed: cte == nil && !Self.renamesColumns(b),
                                relation: cte == nil ? Self.tableName(b) : nil))
        case "RangeSubselect":
            // LATERAL: it may name this query's other items, unqualified too.
            out.append(FromItem(names: [alias ?? ""], pinned: (nested || b["lateral"]?.bool == true ? inner : self).statement(b["subquery"], ctes),
                                keyed: !nested && b["lateral"]?.bool != true && (b["alias"]?["colnames"]?.array ?? []).isEmpty
                                    && passesKeysThrough(b["subquery"], ctes),
                                // passesKeysThrough: one table's columns under their own names.
                                relation: Self.tableName(b["subquery"]?["SelectStmt"]?["fromClause"]?.array?.first?["RangeVar"]), derived: true))
        case "JoinExpr":
            collect(b["larg"] ?? .null, ctes, &out)
            collect(b["rarg"] ?? .null, ctes, &out)
        case "RangeFunction":
            var calls: [JSON] = []
            self.calls(b["functions"] ?? .null, &calls)
            let call = calls.first
            let name = call?["funcname"]?.array?.last?.sval
            // A series reads no table, but a sub-select beside it runs once per row it
            // yields (`select (select max(ssn) from patients where id = g) from
            // generate_series(1, 20000) g`): as bounded as its length.
            out.append(FromItem(names: [alias ?? name ?? ""], pinned: !touchesTables(b["functions"], ctes) && seriesBounded(call), keyed: false))
        case "RangeTableSample":
            let table = b["relation"]?["RangeVar"]
            out.append(FromItem(names: Self.qualifiers(of: table), pinned: false, keyed: !Self.renamesColumns(table), relation: Self.tableName(table)))
        default:
            out.append(FromItem(names: [alias ?? ""], pinned: !touchesTables(item, ctes), keyed: false))
        }
    }

    /// Whether a function in FROM yields at most `maxBoundedLimit` rows, as far as its call
    /// says: `generate_series` of constant bounds; any other function as before (one that
    /// reads no table).
    func seriesBounded(_ call: JSON?) -> Bool {
        guard let call, call["funcname"]?.array?.last?.sval == "generate_series" else { return true }
        return seriesCount(call).map { $0 <= options.maxBoundedLimit } ?? false
    }

    /// The key columns of `target` that a top-level conjunct equates with a column of
    /// `source` (`t.id = v.id`), both named by their qualifiers: a join on a key. A
    /// column compared with the target's own (`e.id = e.id`), or one without a qualifier
    /// (which may be the target's), pins nothing.
    func joinedKeys(_ condition: JSON?, target: Set<String>, source: String?) -> [String] {
        guard let source, !target.contains(source) else { return [] }
        var keys: [String] = []
        for (t, o) in Self.equatedColumns(condition) where t.count >= 2 && o.count >= 2
            && target.contains(Self.qualifier(t)) && isKey(t.last!) && Self.qualifier(o) == source { keys.append(t.last!) }
        return keys
    }

    /// Whether an UPDATE's or DELETE's condition names the rows it writes: no more than
    /// `maxBoundedLimit` of them (pinnedCount).
    func pinsRows(_ whereClause: JSON?, of relation: JSON?, others: Bool, ctes: [String: Bool], with: JSON? = nil) -> Bool {
        guard let n = pinnedCount(whereClause, of: relation, others: others, ctes: ctes, with: with) else { return false }
        return n <= options.maxBoundedLimit
    }

    /// At most how many rows of the written relation a condition names (nil: any number).
    /// `WHERE CURRENT OF`: one. A conjunct that sets a key column of the target (or an
    /// unqualified one) equal to constants or parameters (`col = c`, `col IN (...)`, `col
    /// = ANY(constant array)`): as many as its values; `col IN (a query)` that names no
    /// column outside itself (selfContained): as many as the query yields at most
    /// (rowCount). AND: the fewest of its conjuncts'; OR: the sum of its branches', each
    /// of which must name few. A condition that merely names a column (`id > 0`, `id is
    /// not null`, `id in (select id from t)`, `ctid is not null`, a range) may hold for
    /// every row.
    func pinnedCount(_ e: JSON?, of relation: JSON?, others: Bool, ctes: [String: Bool], with: JSON?) -> Int? {
        guard let e else { return nil }
        if e["CurrentOfExpr"] != nil { return 1 }
        if let b = e["BoolExpr"], let args = b["args"]?.array {
            let counts = args.map { pinnedCount($0, of: relation, others: others, ctes: ctes, with: with) }
            switch b["boolop"]?.string {
            case "AND_EXPR": return counts.compactMap { $0 }.min()
            case "OR_EXPR": return counts.contains(where: { $0 == nil }) ? nil : counts.reduce(0) { Self.sum($0, $1!) }
            default: return nil
            }
        }
        let target = Self.qualifiers(of: relation)
        // With other relations in FROM or USING, an unqualified column may be theirs
        // (`update t set ... from (values (1)) v(k) where k = 1`).
        func ofTarget(_ column: JSON?) -> Bool {
            guard let fields = column?["ColumnRef"]?["fields"]?.array, fields.allSatisfy({ $0.sval != nil }) else { return false }
            return fields.count == 1 ? !others : target.contains(Self.qualifier(fields.compactMap(\.sval)))
        }
        // `col IN (select ...)`: values that do not depend on the row written (no column of
        // an enclosing query: `id in (select id)` is every row), and few enough.
        if let link = e["SubLink"], link["subLinkType"]?.string == "ANY_SUBLINK", ofTarget(link["testexpr"]),
           (link["operName"]?.array?.last?.sval ?? "=") == "=" {
            // A key's values only (`department in (select ...)` names every row of a department).
            guard let column = link["testexpr"]?["ColumnRef"]?["fields"]?.array?.last?.sval,
                  let n = subselectCount(link, of: relation, others: others, ctes: ctes, with: with) else { return nil }
            return keyCount(column, n)
        }
        let mine = Self.pins(columnPins(e, ranges: false), on: target, unqualified: !others)
        return mine.compactMap { keyCount($0.key, $0.value) }.min()
    }

    /// How many rows `n` values of `column` name, by its name alone: `id` (a table's own
    /// key by convention) one each; a `*_id` or `key_columns` column one parent's rows for
    /// a single value, any number for several (`provider_id in (1, ..., 200)` is every
    /// encounter); any other column, any number. The catalog's unique keys name one row
    /// per value whatever the name (CatalogFacts.holdsUniqueKey). One parent's rows count
    /// as the cap (`maxBoundedLimit`): one parent is bounded, but no two are, whether OR
    /// or UNION adds them (150 sub-selects of `provider_id = k` were 150 rows).
    func keyCount(_ column: String, _ n: Int) -> Int? {
        guard isKey(column) else { return nil }
        if column == "id" || n == 0 { return n }
        return n == 1 ? options.maxBoundedLimit : nil
    }

    /// The rows of `col IN (select ...)` at most, when the sub-select names no column
    /// outside itself (`id in (select id)` is every row) and is bounded as a query of its
    /// own; nil otherwise.
    func subselectCount(_ link: JSON, of relation: JSON?, others: Bool, ctes: [String: Bool], with: JSON?) -> Int? {
        guard selfContained(link["subselect"], target: relation?["RangeVar"] ?? relation, others: others, cteColumns: Self.cteColumns(with)),
              statement(link["subselect"], ctes) else { return nil }
        return rowCount(link["subselect"]?["SelectStmt"], ctes, with: with)
    }

    /// a + b, never past Int's range; a count is never below none (one that were would
    /// take rows off its neighbours').
    static func sum(_ a: Int, _ b: Int) -> Int {
        let (a, b) = (max(a, 0), max(b, 0))
        return a > Int.max - b ? Int.max : a + b
    }
    static func product(_ a: Int, _ b: Int) -> Int {
        let (a, b) = (max(a, 0), max(b, 0))
        return a != 0 && b > Int.max / a ? Int.max : a * b
    }

    /// At most how many rows a query yields, as far as its text says (nil: any number): a
    /// LIMIT's count; a VALUES list's rows; a set operation's branches added (INTERSECT:
    /// the fewest, EXCEPT: its left); a FROM-less SELECT one row, times what a
    /// set-returning call in its select list yields; FROM items multiplied, each a series
    /// or an unnested constant array of known length, a sub-select by this count, or a
    /// table whose key columns the WHERE pins (as many rows as values).
    func rowCount(_ s: JSON?, _ ctes: [String: Bool], with: JSON? = nil, reads: Bool = false) -> Int? {
        guard let s else { return nil }
        let with = s["withClause"] ?? with
        var limit: Int? = nil
        if s["limitOption"]?.string == "LIMIT_OPTION_COUNT", let n = Constants.count(s["limitCount"]), n >= 0 {
            limit = n < 1e12 ? Int(n) : Int.max
        }
        func capped(_ c: Int?) -> Int? { limit.map { l in c.map { min($0, l) } ?? l } ?? c }
        if let op = s["op"]?.string, op != "SETOP_NONE" {
            let l = rowCount(s["larg"], ctes, with: with, reads: reads), r = rowCount(s["rarg"], ctes, with: with, reads: reads)
            switch op {
            case "SETOP_INTERSECT": return capped([l, r].compactMap { $0 }.min())
            case "SETOP_EXCEPT": return capped(l)
            default: return capped(l.flatMap { l in r.map { Self.sum(l, $0) } })
            }
        }
        if s["valuesLists"] != nil { return capped(valuesCount(s)) }
        // One row of aggregates (`(select max(id) m from patients) s`), without GROUP BY.
        let targets = s["targetList"]?.array ?? []
        if s["groupClause"] == nil, !(s["fromClause"]?.array ?? []).isEmpty, hasAggregate(targets), !gathersRows(targets),
           !packs(s, ctes), !expands(targets, ctes) { return capped(1) }
        // Set-returning calls in the select list: as many rows per row of FROM as the longest.
        var calls: [JSON] = []
        self.calls(.array(s["targetList"]?.array ?? []), &calls)
        var perRow = 1
        for f in calls where Self.setReturning.contains(Substring(f["funcname"]?.array?.last?.sval ?? "")) {
            guard let n = seriesCount(f) else { return capped(nil) }
            perRow = max(perRow, n)
        }
        var count = perRow
        let single = (s["fromClause"]?.array ?? []).count == 1
        let equated = equatedPins(s, ctes, with: with, ranges: reads)
        for item in s["fromClause"]?.array ?? [] {
            guard let n = itemCount(item, filter(s), single: single, ctes, with: with, reads: reads, equated: equated) else { return capped(nil) }
            count = Self.product(count, n)
        }
        return capped(count)
    }

    /// Rows a FROM item yields at most (rowCount); `reads`: a key's range counts as its
    /// length, as a read's bound (keyPins), never a write's.
    func itemCount(_ item: JSON, _ whereClause: JSON?, single: Bool, _ ctes: [String: Bool], with: JSON?, reads: Bool = false,
                   equated: [String: [String: Int]] = [:]) -> Int? {
        guard let (kind, b) = item.node else { return nil }
        switch kind {
        case "JoinExpr":
            guard let l = itemCount(b["larg"] ?? .null, whereClause, single: false, ctes, with: with, reads: reads, equated: equated),
                  let r = itemCount(b["rarg"] ?? .null, whereClause, single: false, ctes, with: with, reads: reads, equated: equated) else { return nil }
            return Self.product(l, r)
        case "RangeSubselect":
            return rowCount(b["subquery"]?["SelectStmt"], ctes, with: with, reads: reads)
        case "RangeFunction":
            var calls: [JSON] = []
            self.calls(b["functions"] ?? .null, &calls)
            guard calls.count == 1 else { return nil }
            return seriesCount(calls[0])
        case "RangeVar":
            // A CTE's rows as its query's (not a recursive one's); a table's by the key
            // values its WHERE pins.
            let rel = b["relname"]?.string ?? ""
            if b["schemaname"] == nil, ctes[rel] != nil || with != nil {
                let cte = (with?["ctes"]?.array ?? []).compactMap { $0["CommonTableExpr"] }.first { $0["ctename"]?.string == rel }
                if let cte {
                    guard with?["recursive"]?.bool != true else { return nil }
                    return rowCount(cte["ctequery"]?["SelectStmt"], ctes, reads: reads)
                }
                if ctes[rel] != nil { return nil }
            }
            guard !Self.renamesColumns(b) else { return nil }
            var pins = columnPins(whereClause, ranges: reads)
            for (q, columns) in equated { pins[q, default: [:]].merge(columns) { min($0, $1) } }
            let mine = Self.pins(pins, on: Self.qualifiers(of: b), unqualified: single)
            let rows = mine.compactMap { keyCount($0.key, $0.value) }.min()
            if let rows { noteKeyed(Self.tableName(b) ?? "", mine, rows) }
            return rows
        default:
            return nil
        }
    }

    /// Rows a set-returning call of constants yields: `generate_series` of constant bounds,
    /// `unnest` of constant arrays (the longest); nil for any other.
    func seriesCount(_ call: JSON) -> Int? {
        let name = call["funcname"]?.array?.last?.sval ?? ""
        let args = call["args"]?.array ?? []
        if name == "generate_series" {
            let values = args.map { Constants.count($0).map(Constants.Value.number) }
            guard values.count >= 2, case .number(let from)? = values[0], case .number(let to)? = values[1] else { return nil }
            var step = 1.0
            if values.count > 2 { guard case .number(let st)? = values[2], st != 0 else { return nil }; step = st }
            let n = ((to - from) / step).rounded(.down) + 1
            return n <= 0 ? 0 : n < 1e12 ? Int(n) : Int.max
        }
        if name == "unnest", !args.isEmpty {
            var longest = 0
            for a in args {
                guard let n = Self.arrayLength(a) else { return nil }
                longest = max(longest, n)
            }
            return longest
        }
        return nil
    }

    /// The number of elements of a constant array: `ARRAY[1, 2]` (of constants, none an
    /// array), `'{1,2}'` (cast or not; nested braces: not counted).
    static func arrayLength(_ e: JSON) -> Int? {
        var e = e
        while let cast = e["TypeCast"] { e = cast["arg"] ?? .null }
        if let elements = e["A_ArrayExpr"].map({ $0["elements"]?.array ?? [] }) {
            return elements.allSatisfy({ Constants.isConst($0) && !isArrayValued($0) }) ? elements.count : nil
        }
        guard let text = e["A_Const"]?["sval"]?["sval"]?.string, text.hasPrefix("{"), text.filter({ $0 == "{" }).count == 1 else { return nil }
        let inner = text.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
        return inner.isEmpty ? 0 : inner.split(separator: ",", omittingEmptySubsequences: false).count
    }

    /// An array itself, or a cast to an array type: `ARRAY[...]`, `x::int[]`, `x::_int4`,
    /// or to a type that may be one (a domain, the database's own).
    static func isArrayValued(_ e: JSON) -> Bool {
        if e["A_ArrayExpr"] != nil { return true }
        if let args = e["CoalesceExpr"]?["args"]?.array { return args.contains(where: isArrayValued) }
        if let cast = e["TypeCast"] {
            if !(cast["typeName"]?["arrayBounds"]?.array ?? []).isEmpty { return true }
            // Only a built-in scalar type is surely one value (`_int4` is int4[]).
            let names = (cast["typeName"]?["names"]?.array ?? []).compactMap(\.sval)
            guard let type = names.last, names.count == 1 || names.count == 2 && names[0] == "pg_catalog",
                  BuiltinTypes.scalar.contains(Substring(type)) else { return true }
            return isArrayValued(cast["arg"] ?? .null)
        }
        return false
    }

    /// A one-dimensional array of a built-in scalar type other than a float (`int[]`):
    /// an ARRAY[...] of constants cast to it keeps its elements, one key each.
    static func listOfScalars(_ typeName: JSON?) -> Bool {
        let names = (typeName?["names"]?.array ?? []).compactMap(\.sval)
        guard (typeName?["arrayBounds"]?.array ?? []).count == 1, let type = names.last,
              names.count == 1 || names.count == 2 && names[0] == "pg_catalog", BuiltinTypes.scalar.contains(Substring(type)) else { return false }
        return !["float4", "float8", "real", "double precision"].contains(type)
    }

    /// A constant cast to a floating-point type: compared with an integer or numeric
    /// column, the column is cast too, and many values compare equal to one
    /// (`code = 1::float8` on a numeric key; `2^62::float8` on a bigint one).
    static func lossy(_ e: JSON?) -> Bool {
        // COALESCE's type is its arguments' common one (`coalesce(null::float8, 1)`).
        if let args = e?["CoalesceExpr"]?["args"]?.array { return args.contains(where: lossy) }
        guard let cast = e?["TypeCast"] else { return false }
        let type = (cast["typeName"]?["names"]?.array ?? []).last?.sval ?? ""
        return ["float4", "float8", "real", "double precision"].contains(type) || lossy(cast["arg"])
    }

    /// The columns of the written relation (qualified by its alias or name, or unqualified
    /// without other relations) that top-level WHERE conjuncts pin to constants by
    /// equality (`=`, `IN`, `= ANY`; a range of a unique column may hold any number of
    /// rows): bounded if they hold a unique key, which only the catalog knows.
    func pinnedColumns(_ whereClause: JSON?, of relation: JSON?, others: Bool, ctes: [String: Bool], with: JSON?) -> [String: Int] {
        let target = Self.qualifiers(of: relation)
        var out = Self.pins(columnPins(whereClause, ranges: false), on: target, unqualified: !others)
        // `col IN (select ...)` of few rows, as pinnedCount reads it.
        var conjuncts = [whereClause ?? .null]
        while let c = conjuncts.popLast() {
            if let b = c["BoolExpr"], b["boolop"]?.string == "AND_EXPR" { conjuncts += b["args"]?.array ?? []; continue }
            guard let link = c["SubLink"], link["subLinkType"]?.string == "ANY_SUBLINK",
                  (link["operName"]?.array?.last?.sval ?? "=") == "=",
                  let fields = link["testexpr"]?["ColumnRef"]?["fields"]?.array, fields.allSatisfy({ $0.sval != nil }),
                  fields.count == 1 ? !others : target.contains(Self.qualifier(fields.compactMap(\.sval))),
                  let column = fields.last?.sval,
                  let n = subselectCount(link, of: relation, others: others, ctes: ctes, with: with) else { continue }
            out[column] = min(n, out[column] ?? Int.max)
        }
        return out
    }

    /// A query's WHERE, with the conjuncts of its HAVING that call nothing when it groups
    /// by plain columns (`group by id having id = 1`): such a condition is on the grouped
    /// columns, and keeps the rows of the groups it keeps, as in WHERE.
    func filter(_ s: JSON) -> JSON? {
        guard let having = s["havingClause"], let groups = s["groupClause"]?.array, !groups.isEmpty,
              groups.allSatisfy({ $0["ColumnRef"] != nil }) else { return s["whereClause"] }
        var conjuncts: [JSON] = [], stack = [having]
        while let e = stack.popLast() {
            if let b = e["BoolExpr"], b["boolop"]?.string == "AND_EXPR" { stack += b["args"]?.array ?? []; continue }
            var fs: [JSON] = []
            calls(e, &fs)
            if fs.isEmpty, !Classifier.holds("SubLink", e) { conjuncts.append(e) }
        }
        guard !conjuncts.isEmpty else { return s["whereClause"] }
        let args = (s["whereClause"].map { [$0] } ?? []) + conjuncts
        return .object(["BoolExpr": .object(["boolop": .string("AND_EXPR"), "args": .array(args)])])
    }

    /// The names FROM items go by (joins flattened): a table's qualifiers, another item's alias.
    static func itemNames(_ from: [JSON]) -> Set<String> {
        var out: Set<String> = [], items = from
        while let i = items.popLast() {
            guard let (kind, b) = i.node else { continue }
            switch kind {
            case "JoinExpr": items += [b["larg"] ?? .null, b["rarg"] ?? .null]
            case "RangeVar": out.formUnion(qualifiers(of: b))
            case "RangeTableSample": out.formUnion(qualifiers(of: b["relation"]?["RangeVar"]))
            default: if let a = b["alias"]?["aliasname"]?.string { out.insert(a) }
            }
        }
        return out
    }

    /// Key columns of a query's tables (by qualifier) that a conjunct sets equal to one
    /// value per row of something bounded, each pinned to one value: a column of another
    /// of its tables that a key filter bounds, or such an equation in turn, or of an
    /// enclosing query (a sub-select runs once per enclosing row). `encounters e join
    /// patients p on p.id = e.patient_id where e.id = 5` is one patient per encounter;
    /// `(select name from providers p where p.id = e.provider_id)` one provider each time.
    /// The conjuncts: WHERE's (and HAVING's, `filter`), and a join's ON for the side it
    /// filters (both of an inner join, the right of a LEFT, the left of a RIGHT, neither
    /// of a FULL: a side kept whole is not bounded by its ON). Equations among tables
    /// bounded by nothing else bound nothing (`p.id = q.x and q.id = p.y`).
    func equatedPins(_ s: JSON, _ ctes: [String: Bool], with: JSON?, ranges: Bool) -> [String: [String: Int]] {
        let from = s["fromClause"]?.array ?? []
        guard from.count > 1 || from.first?["JoinExpr"] != nil || !enclosing.isEmpty else { return [:] }
        let cteNames = Set((with?["ctes"]?.array ?? []).compactMap { $0["CommonTableExpr"]?["ctename"]?.string })
        var tables: [Set<String>] = []
        var equations = Self.equatedColumns(filter(s)).map { (x: $0.left, y: $0.right, sides: Set<String>?.none) }
        var items = from
        while let i = items.popLast() {
            guard let (kind, b) = i.node else { continue }
            switch kind {
            case "JoinExpr":
                let l = b["larg"] ?? .null, r = b["rarg"] ?? .null
                items += [l, r]
                let sides: Set<String>
                switch b["jointype"]?.string {
                case "JOIN_INNER": sides = Self.itemNames([l, r])
                case "JOIN_LEFT": sides = Self.itemNames([r])
                case "JOIN_RIGHT": sides = Self.itemNames([l])
                default: sides = []
                }
                equations += Self.equatedColumns(b["quals"]).map { (x: $0.left, y: $0.right, sides: Optional(sides)) }
            case "RangeVar":
                let rel = b["relname"]?.string ?? ""
                let cte = b["schemaname"] == nil && (ctes[rel] != nil || cteNames.contains(rel))
                if !cte, !Self.renamesColumns(b) { tables.append(Self.qualifiers(of: b)) }
            default:
                break
            }
        }
        let keyed = columnPins(filter(s), ranges: ranges).filter { $0.value.contains { keyCount($0.key, $0.value) != nil } }.keys
        var bounded = enclosing.subtracting(Self.itemNames(from))
        for t in tables where !t.isDisjoint(with: keyed) { bounded.formUnion(t) }
        var out: [String: [String: Int]] = [:]
        var grew = true
        while grew {
            grew = false
            for t in tables where t.isDisjoint(with: bounded) {
                for e in equations where e.x.count >= 2 && e.y.count >= 2 {
                    let q = Self.qualifier(e.x), other = Self.qualifier(e.y), column = e.x.last!
                    guard t.contains(q), !t.contains(other), bounded.contains(other), e.sides?.contains(q) ?? true,
                          keyCount(column, 1) != nil else { continue }
                    out[q, default: [:]][column] = 1
                    bounded.formUnion(t)
                    grew = true
                    break
                }
            }
        }
        return out
    }

    /// The qualifiers ("" for none) of key columns a top-level WHERE conjunct pins to
    /// constants, as keyCount reads them (a `*_id` column to one value).
    func keyPins(_ whereClause: JSON?) -> Set<String> {
        Set(columnPins(whereClause, ranges: true).filter { $0.value.contains { keyCount($0.key, $0.value) != nil } }.keys)
    }

    /// The columns, by qualifier ("" for none), that top-level WHERE conjuncts pin to
    /// constants, each with how many values (the fewest where several conjuncts pin it);
    /// `ranges`: a constant range (`BETWEEN`) pins too. A constant cast to a floating-point
    /// type pins nothing (`lossy`), nor does an array inside `ANY(ARRAY[...])`.
    func columnPins(_ whereClause: JSON?, ranges: Bool) -> [String: [String: Int]] {
        var conjuncts: [JSON] = []
        func flatten(_ e: JSON?) {
            guard let e else { return }
            if let b = e["BoolExpr"], b["boolop"]?.string == "AND_EXPR" {
                for a in b["args"]?.array ?? [] { flatten(a) }
            } else {
                conjuncts.append(e)
            }
        }
        flatten(whereClause)
        var pins: [String: [String: Int]] = [:]
        func pin(_ q: (qualifier: String, column: String), _ n: Int) {
            pins[q.qualifier, default: [:]][q.column] = min(n, pins[q.qualifier]?[q.column] ?? Int.max)
        }
        func key(_ e: JSON?) -> (qualifier: String, column: String)? {
            guard let fields = e?["ColumnRef"]?["fields"]?.array else { return nil }
            let names = fields.compactMap(\.sval)
            guard names.count == fields.count, let col = names.last else { return nil }
            return (Self.qualifier(names), col)
        }
        // A key filter bounds as many rows as it names: no more than a LIMIT may
        // (`maxBoundedLimit`), whatever its form (a list, an array, a range).
        let cap = options.maxBoundedLimit
        for c in conjuncts {
            guard let a = c["A_Expr"] else { continue }
            let op = a["name"]?.array?.last?.sval
            switch a["kind"]?.string {
            case "AEXPR_OP" where op == "=":
                if let q = key(a["lexpr"]), Constants.isConstOrParam(a["rexpr"]), !Self.lossy(a["rexpr"]) { pin(q, 1) }
                if let q = key(a["rexpr"]), Constants.isConstOrParam(a["lexpr"]), !Self.lossy(a["lexpr"]) { pin(q, 1) }
            case "AEXPR_IN" where op == "=":
                let items = a["rexpr"]?.array ?? a["rexpr"]?["List"]?["items"]?.array ?? []
                if let q = key(a["lexpr"]), !items.isEmpty, items.count <= cap,
                   items.allSatisfy({ Constants.isConstOrParam($0) && !Self.lossy($0) && !Self.isArrayValued($0) }) { pin(q, items.count) }
            case "AEXPR_OP_ANY" where op == "=":
                // key = ANY(ARRAY[1, 2]) / ANY('{1,2}'): a constant array (a bound array, $1, may be any size).
                // ARRAY[...] cast to a one-dimensional array of a built-in scalar type, not a
                // float (`::int[]`), is its elements.
                var r = a["rexpr"]
                if let cast = r?["TypeCast"], cast["arg"]?["A_ArrayExpr"] != nil, Self.listOfScalars(cast["typeName"]) { r = cast["arg"] }
                let elements = r?["A_ArrayExpr"].map { $0["elements"]?.array ?? [] }
                var count = elements?.count ?? 0
                var literal = r
                while let cast = literal?["TypeCast"] { literal = cast["arg"] }
                if elements == nil, literal?["A_Const"] != nil { count = Self.arrayLength(r ?? .null) ?? 0 }
                // An element that is an array itself (`ANY(ARRAY['{1,...,5000}'::int[]])`,
                // `ANY(ARRAY[$1::int[]])`): ANY reads all its elements.
                // A parameter there may be bound as an array too (psycopg's list): ANY then
                // reads every element of the two-dimensional array it makes.
                let constant = elements.map { $0.allSatisfy { Constants.isConst($0) && !Self.isArrayValued($0) && !Self.lossy($0) } }
                    ?? (Constants.isConst(r) && !Self.lossy(r))
                if let q = key(a["lexpr"]), constant, count > 0, count <= cap { pin(q, count) }
            case "AEXPR_BETWEEN" where ranges, "AEXPR_BETWEEN_SYM" where ranges:
                // key BETWEEN 10 AND 20: as many keys as the range holds (SYMMETRIC: either way round).
                let bounds = a["rexpr"]?.array ?? a["rexpr"]?["List"]?["items"]?.array ?? []
                if let q = key(a["lexpr"]), bounds.count == 2, var lo = Constants.count(bounds[0]),
                   var hi = Constants.count(bounds[1]) {
                    if a["kind"]?.string == "AEXPR_BETWEEN_SYM", hi < lo { swap(&lo, &hi) }
                    guard hi - lo < Double(cap) else { continue }
                    // Bounds the wrong way round (`BETWEEN 100000 AND 1`) hold no key: none, never fewer.
                    pin(q, hi < lo ? 0 : Int(hi - lo) + 1)
                }
            default:
                break
            }
        }
        return pins
    }

    static let aggregates: Set<String> = [
        "avg", "bit_and", "bit_or", "bit_xor", "bool_and", "bool_or", "count", "every", "max", "min", "sum",
        "array_agg", "string_agg", "json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg", "xmlagg",
        "range_agg", "range_intersect_agg", "corr", "covar_pop", "covar_samp", "regr_avgx", "regr_avgy", "regr_count",
        "regr_intercept", "regr_r2", "regr_slope", "regr_sxx", "regr_sxy", "regr_syy", "stddev", "stddev_pop",
        "stddev_samp", "variance", "var_pop", "var_samp", "mode", "percentile_cont", "percentile_disc",
    ]

    /// The built-ins that return sets, as the server's catalog lists them.
    static var setReturning: Set<Substring> { BuiltinFunctions.setReturning }

    /// The sub-selects of an expression whose values it returns (scalar and ARRAY
    /// sub-selects; EXISTS, IN and ANY yield only a boolean), not looking into them.
    func returnedSubselects(_ j: JSON) -> [JSON] { returnedSublinks(j).map(\.query) }

    /// The same, with each one's kind (`EXPR_SUBLINK`: one value; `ARRAY_SUBLINK`: all its rows).
    func returnedSublinks(_ j: JSON) -> [(kind: String, query: JSON)] {
        switch j {
        case .array(let a): return a.flatMap(returnedSublinks)
        case .object(let o):
            if let link = o["SubLink"] {
                let type = link["subLinkType"]?.string ?? ""
                let own = ["EXPR_SUBLINK", "ARRAY_SUBLINK", "MULTIEXPR_SUBLINK"].contains(type) ? [(type, link["subselect"] ?? .null)] : []
                return own + returnedSublinks(link["testexpr"] ?? .null)
            }
            if o["SelectStmt"] != nil { return [] }
            return o.filter { $0.key != "location" }.values.flatMap(returnedSublinks)
        default: return []
        }
    }

    /// Function calls of an expression, not looking into subqueries.
    func calls(_ j: JSON, _ out: inout [JSON]) {
        switch j {
        case .array(let a): for x in a { calls(x, &out) }
        case .object(let o):
            if o["SubLink"] != nil { return }
            if let f = o["FuncCall"] { out.append(f) }
            for (k, v) in o where k != "location" { calls(v, &out) }
        default: break
        }
    }

    /// Aggregates that gather their rows into one value (an array, a string, a
    /// document): one row out, but every row's values in it.
    static let collecting: Set<String> = [
        "array_agg", "string_agg", "json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg", "xmlagg",
        "range_agg", "range_intersect_agg",
    ]

    /// A FROM item one row of which may hold many rows of a table: a derived table or
    /// CTE, not bounded on its own, whose select list gathers rows into one value
    /// (`(select string_agg(ssn, ',') from patients) s`).
    func gathers(_ item: JSON, _ with: JSON?, _ ctes: [String: Bool]) -> Bool {
        guard let (kind, b) = item.node else { return false }
        switch kind {
        case "JoinExpr":
            return gathers(b["larg"] ?? .null, with, ctes) || gathers(b["rarg"] ?? .null, with, ctes)
        case "RangeSubselect":
            return gathering(b["subquery"], ctes)
        case "RangeVar":
            guard b["schemaname"] == nil, let rel = b["relname"]?.string, ctes[rel] == false else { return false }
            let cte = (with?["ctes"]?.array ?? []).compactMap { $0["CommonTableExpr"] }.first { $0["ctename"]?.string == rel }
            return cte.map { gathering($0["ctequery"], ctes) } ?? true
        default:
            return false
        }
    }

    func gathering(_ query: JSON?, _ ctes: [String: Bool]) -> Bool {
        guard let s = query?["SelectStmt"], !statement(query, ctes) else { return false }
        if let op = s["op"]?.string, op != "SETOP_NONE" {
            return gathering(.object(["SelectStmt": s["larg"] ?? .null]), ctes) || gathering(.object(["SelectStmt": s["rarg"] ?? .null]), ctes)
        }
        let targets = s["targetList"]?.array ?? []
        var fs: [JSON] = []
        calls(.array(targets), &fs)
        return fs.contains(where: collects) || fs.contains(where: reachesOtherRows) || returnedPerRow(targets, ctes) > 0
            || packs(s, ctes) || (s["fromClause"]?.array ?? []).contains { gathers($0, s["withClause"], ctes) }
    }

    /// An aggregate (or window function) in the select list that gathers rows into one
    /// value, or a function of the database's own: one row of the result may hold every
    /// row read, so a LIMIT bounds nothing.
    func gathersRows(_ targets: [JSON]) -> Bool {
        var fs: [JSON] = []
        calls(.array(targets), &fs)
        return fs.contains(where: collects) || fs.contains(where: reachesOtherRows) || liftedAggregates(targets).contains(where: collects)
    }

    /// A window function given a column (`lag(ssn, 5000) over w`, `nth_value`, `sum(x) over
    /// (rows between 1000 following and 1000 following)`): a row's value is another row's,
    /// anywhere in its partition, whatever LIMIT keeps of the rows. Without a column
    /// (`row_number()`, `count(*) over ()`) it is a number of the row's own.
    func reachesOtherRows(_ f: JSON) -> Bool {
        guard f["over"] != nil else { return false }
        return Constants.mentionsColumn(.array([f["args"] ?? .null, f["agg_filter"] ?? .null]))
    }

    /// Aggregates written inside this select list's sub-selects that are this level's:
    /// PostgreSQL makes an aggregate the query's whose columns its arguments name, so
    /// `(select string_agg(patient_id || note, ','))` in a select from encounters gathers
    /// every encounter. An aggregate whose column references are all unqualified in a
    /// FROM-less sub-select, or all qualified by names its own FROM does not have, is lifted.
    func liftedAggregates(_ targets: [JSON]) -> [JSON] {
        var out: [JSON] = []
        for sub in returnedSubselects(.array(targets)) {
            guard let s = sub["SelectStmt"] else { continue }
            let from = s["fromClause"]?.array ?? []
            var items: [FromItem] = []
            for f in from { collect(f, [:], &items) }
            let own = items.reduce(into: Set<String>()) { $0.formUnion($1.names) }
            var fs: [JSON] = []
            calls(.array(s["targetList"]?.array ?? []), &fs)
            for f in fs where f["over"] == nil {
                var refs: [[String]] = []
                columnRefs(.array([f["args"] ?? .null, f["agg_filter"] ?? .null]), &refs)
                guard !refs.isEmpty else { continue }
                let outer = refs.allSatisfy { $0.count >= 2 ? !own.contains(Self.qualifier($0)) : from.isEmpty }
                if outer { out.append(f) }
            }
            out += liftedAggregates(s["targetList"]?.array ?? [])
        }
        return out
    }

    /// A call that may gather many rows into one value: an aggregate that collects
    /// (`array_agg`...), a percentile given anything but one constant fraction (an array
    /// of fractions returns as many of the rows' values), a function of the database's own,
    /// or any other aggregate but a selecting one given more than plain values: `sum`,
    /// `avg`, `bit_or`, `var_pop`... add every row's value into one, and a numeric (131,072
    /// digits) or a bit string that each row scales or shifts by its own factor keeps them
    /// all (`sum(ssn::numeric * 10 ^ (9 * id))`, `bit_or(x::bit(30000) >> 30 * id)`).
    func collects(_ f: JSON) -> Bool {
        let parts = (f["funcname"]?.array ?? []).compactMap(\.sval)
        let name = parts.last ?? ""
        if ["percentile_disc", "percentile_cont"].contains(name) {
            guard case .number? = Constants.value((f["args"]?.array ?? []).first) else { return true }
        }
        return Self.collecting.contains(name) || !ClassWalker.isBuiltin(parts)
            || Self.isAggregate(f) && !Self.selecting.contains(name) && !(f["args"]?.array ?? []).allSatisfy { Self.plain($0) }
    }

    /// Aggregates whose value is one row's (`max`, `mode`) or a count or truth of them:
    /// what they are given cannot make it hold more rows.
    static let selecting: Set<String> = [
        "count", "min", "max", "bool_and", "bool_or", "every", "mode", "regr_count", "rank", "dense_rank",
        "percent_rank", "cume_dist", "percentile_disc", "percentile_cont",
    ]

    /// A value an adding aggregate keeps no row apart in: columns and constants (cast or
    /// not), added or subtracted, scaled by a constant only, or chosen among by CASE,
    /// COALESCE or NULLIF unscaled (a factor that differs by row, `case id when 2 then x *
    /// 1e9`, is a packing), or measured by a function that cannot scale (`measuring`,
    /// `nonScaling`). Any other function may: `power`, `lpad`, `<<`, a `repeat` cast to
    /// numeric each scale a row by its own factor.
    static func plain(_ e: JSON, scaled: Bool = true) -> Bool {
        guard let (kind, b) = e.node else { return false }
        switch kind {
        case "ColumnRef", "A_Const", "ParamRef": return true
        case "FuncCall":
            let parts = (b["funcname"]?.array ?? []).compactMap(\.sval)
            guard ClassWalker.isBuiltin(parts), b["over"] == nil, b["agg_filter"] == nil, let name = parts.last else { return false }
            let args = b["args"]?.array ?? []
            // A length of a plain value: a built one may carry a row's own factor
            // (`length(repeat('x', (ssn like '1%')::int << id))`).
            if measuring.contains(name) { return args.count == 1 && plain(args[0], scaled: scaled) }
            guard nonScaling.contains(name), !args.isEmpty, args.allSatisfy({ plain($0, scaled: scaled) }) else { return false }
            // One value measured; the rest constants (`round(x, 2)`, `extract(year from x)`),
            // or two times apart (`age(admitted_at, birth_date)`).
            return args.filter { !rowIndependent($0) }.count <= (name == "age" ? 2 : 1)
        case "TypeCast": return plain(b["arg"] ?? .null, scaled: scaled)
        case "A_Expr" where b["kind"]?.string == "AEXPR_OP":
            let sides = [b["lexpr"], b["rexpr"]].compactMap { $0 }
            switch b["name"]?.array?.last?.sval {
            case "+", "-": return sides.allSatisfy { plain($0, scaled: scaled) }
            case "*", "/":
                return scaled && sides.count == 2 && sides.contains(where: rowIndependent) && sides.allSatisfy { plain($0, scaled: true) }
            default: return false
            }
        case "A_Expr" where b["kind"]?.string == "AEXPR_NULLIF":
            return [b["lexpr"], b["rexpr"]].allSatisfy { plain($0 ?? .null, scaled: false) }
        case "CoalesceExpr":
            return (b["args"]?.array ?? []).allSatisfy { plain($0, scaled: false) }
        case "CaseExpr":
            // The conditions choose; the results are what is added.
            let results = (b["args"]?.array ?? []).map { $0["CaseWhen"]?["result"] ?? .null } + (b["defresult"].map { [$0] } ?? [])
            return results.allSatisfy { plain($0, scaled: false) }
        default: return false
        }
    }

    /// Functions whose value is a length.
    static let measuring: Set<String> = ["length", "char_length", "character_length", "octet_length", "bit_length"]

    /// Functions of one value (and constants) whose result is no larger than it: they
    /// round, truncate or take a part of it, and give no row its own factor.
    static let nonScaling: Set<String> = ["abs", "sign", "round", "trunc", "floor", "ceil", "ceiling", "extract",
                                          "date_part", "date_trunc", "age"]

    /// The same for every row: constants and parameters, cast or computed with operators.
    static func rowIndependent(_ e: JSON) -> Bool {
        guard let (kind, b) = e.node else { return false }
        switch kind {
        case "A_Const", "ParamRef": return true
        case "TypeCast": return rowIndependent(b["arg"] ?? .null)
        case "A_Expr" where b["kind"]?.string == "AEXPR_OP": return [b["lexpr"], b["rexpr"]].compactMap { $0 }.allSatisfy(rowIndependent)
        default: return false
        }
    }

    /// An adding aggregate of this query (`sum`, `bit_or`: not `selecting`), written here
    /// or in a sub-select of its select list, given a column of a derived table, CTE or
    /// function in FROM (or an unqualified one beside such an item): the column's values
    /// were computed, possibly scaled by row (`sum(x) from (select ssn::numeric * 10 ^ (9
    /// * id) x from patients) s`), and the sum keeps them all. A table's own columns are
    /// what it stores (a derived table that passes them through, as keys are, too).
    func packs(_ s: JSON, _ ctes: [String: Bool]) -> Bool {
        let targets = s["targetList"]?.array ?? []
        var fs: [JSON] = []
        calls(.array(targets), &fs)
        let adding = (fs.filter(Self.isAggregate) + liftedAggregates(targets)).filter {
            !Self.selecting.contains(($0["funcname"]?.array ?? []).compactMap(\.sval).last ?? "")
        }
        guard !adding.isEmpty else { return false }
        var computed: Set<String> = []
        var anyComputed = false
        var items = s["fromClause"]?.array ?? []
        while let i = items.popLast() {
            guard let (kind, b) = i.node else { continue }
            let stored: Bool
            var names: Set<String> = [b["alias"]?["aliasname"]?.string ?? ""]
            switch kind {
            case "JoinExpr": items += [b["larg"] ?? .null, b["rarg"] ?? .null]; continue
            case "RangeVar":
                names = Self.qualifiers(of: b)
                stored = b["schemaname"] != nil || ctes[b["relname"]?.string ?? ""] == nil
            case "RangeTableSample":
                names = Self.qualifiers(of: b["relation"]?["RangeVar"])
                stored = true
            case "RangeSubselect":
                stored = b["lateral"]?.bool != true && (b["alias"]?["colnames"]?.array ?? []).isEmpty && passesKeysThrough(b["subquery"], ctes)
            default:
                stored = false
            }
            if !stored { computed.formUnion(names); anyComputed = true }
        }
        guard anyComputed else { return false }
        var refs: [[String]] = []
        columnRefs(.array(adding.map { $0["args"] ?? .null }), &refs)
        return refs.contains { $0.count == 1 || computed.contains(Self.qualifier($0)) }
    }

    /// An aggregate in the select list bounds the read when every aggregate there
    /// reduces its rows (count, sum, max, ...); one that collects them, or one of the
    /// database's own, does not. In a nested query an aggregate is this level's only when
    /// its arguments name a column of it by a qualifier of `own` (or none, or `*`): one
    /// whose columns are all an enclosing query's is that query's aggregate
    /// (`array(select max(v.z) || p.ssn from patients p)` returns every row), and an
    /// unqualified column may be either.
    func hasAggregate(_ targets: [JSON], own: Set<String> = []) -> Bool {
        if liftedAggregates(targets).contains(where: collects) { return false }
        var fs: [JSON] = []
        calls(.array(targets), &fs)
        var found = false
        for f in fs where Self.isAggregate(f) {
            if collects(f) { return false }
            if nested, f["agg_star"]?.bool != true {
                var refs: [[String]] = []
                columnRefs(.array([f["args"] ?? .null, f["agg_filter"] ?? .null]), &refs)
                if !refs.isEmpty, !refs.contains(where: { $0.count >= 2 && own.contains($0[$0.count - 2]) }) { continue }
            }
            found = true
        }
        return found
    }

    /// An aggregate call (not a window function's): a built-in aggregate's name, or what
    /// only an aggregate may be written with (`*`, WITHIN GROUP, DISTINCT, FILTER, ORDER BY).
    static func isAggregate(_ f: JSON) -> Bool {
        guard f["over"] == nil else { return false }
        let name = (f["funcname"]?.array ?? []).compactMap(\.sval).last ?? ""
        return aggregates.contains(name) || f["agg_star"]?.bool == true || f["agg_within_group"]?.bool == true
            || f["agg_distinct"]?.bool == true || f["agg_filter"] != nil || f["agg_order"] != nil
    }

    /// How many values a select list's aggregates give back in their one row: each may be
    /// one row's value (`max(ssn) filter (where id = k)`, `max(case when id = k then ssn
    /// end)`), so 1,600 of them side by side are 1,600 patients however one row holds them.
    func aggregateValues(_ targets: [JSON]) -> Int {
        var fs: [JSON] = []
        calls(.array(targets), &fs)
        return fs.filter(Self.isAggregate).count
    }

    /// A select list (or VALUES rows) that may turn one row into many: a set-returning (or
    /// unknown) function, unless `generate_series` of constant bounds or `unnest` of
    /// constant arrays, within the cap either, or another over constants only; over a
    /// column, a parameter (an array of any size), an aggregate or a table it yields any
    /// number of rows (`generate_series(1, 1000000)`, `generate_series(min(id), max(id))`).
    func expands(_ targets: [JSON], _ ctes: [String: Bool]) -> Bool {
        var fs: [JSON] = []
        calls(.array(targets), &fs)
        return fs.contains { f in
            let parts = (f["funcname"]?.array ?? []).compactMap(\.sval)
            guard Self.setReturning.contains(Substring(parts.last ?? "")) || !ClassWalker.isBuiltin(parts) else { return false }
            if parts.last == "generate_series" || parts.last == "unnest", ClassWalker.isBuiltin(parts) {
                return (seriesCount(f) ?? Int.max) > options.maxBoundedLimit
            }
            return !(f["args"]?.array ?? []).allSatisfy(Self.constant)
        }
    }

    /// A constant expression: literals, casts of them, ARRAY[...] of them.
    static func constant(_ e: JSON) -> Bool {
        guard let (kind, b) = e.node else { return false }
        switch kind {
        case "A_Const": return true
        case "TypeCast": return constant(b["arg"] ?? .null)
        case "A_ArrayExpr": return (b["elements"]?.array ?? []).allSatisfy(constant)
        default: return false
        }
    }

    /// A VALUES list of at most `maxBoundedLimit` rows, none made many by a set-returning call.
    func valuesBounded(_ s: JSON) -> Bool { valuesCount(s).map { $0 <= options.maxBoundedLimit } ?? false }

    /// The rows a VALUES list makes: each row as many as its longest set-returning call
    /// (`unnest` of a constant array, a bounded series); nil past the cap or unknown.
    func valuesCount(_ s: JSON) -> Int? {
        guard let rows = s["valuesLists"]?.array, rows.count <= options.maxBoundedLimit, !expands(rows, [:]) else { return nil }
        var total = 0
        for row in rows {
            var fs: [JSON] = []
            calls(row, &fs)
            var longest = 1
            for f in fs where Self.setReturning.contains(Substring(f["funcname"]?.array?.last?.sval ?? "")) {
                guard let n = seriesCount(f) else { return nil }
                longest = max(longest, n)
            }
            total += longest
        }
        return total
    }

    /// Column references of an expression, as their names (`*` for a star), not looking
    /// into sub-selects.
    func columnRefs(_ j: JSON, _ out: inout [[String]]) {
        switch j {
        case .array(let a): for x in a { columnRefs(x, &out) }
        case .object(let o):
            if o["SubLink"] != nil { return }
            if let c = o["ColumnRef"] { out.append((c["fields"]?.array ?? []).map { $0.sval ?? "*" }); return }
            for (k, v) in o where k != "location" { columnRefs(v, &out) }
        default: break
        }
    }

    /// A query that names no column of an enclosing one: every column it names is
    /// qualified by a relation, sub-select, function or CTE it defines itself, or is a
    /// column it names (an alias it gives, `(values (1), (2)) v(k)`, a sub-select's or a
    /// CTE's output), or `*`; or, unqualified, a column of its one FROM item when that is
    /// the written table itself (`target`, and no other relation in the statement: a name
    /// the statement resolves there resolves there inside too). Without the catalog an
    /// unqualified name could be the enclosing query's (`id in (select id from pg_class
    /// limit 1)` compares each row's id with itself).
    func selfContained(_ query: JSON?, target: JSON?, others: Bool, cteColumns: [String: Set<String>]) -> Bool {
        var defined: Set<String> = [], aliases: Set<String> = []
        var anyUnqualified = false
        let from = query?["SelectStmt"]?["fromClause"]?.array ?? []
        if from.count == 1, let r = from[0]["RangeVar"], let name = r["relname"]?.string {
            // A CTE of the statement read by name: its outputs are columns it names.
            if r["schemaname"] == nil, let columns = cteColumns[name] { aliases.formUnion(columns) }
            // The written table named the same way (`public.t` and a bare `t` may be two
            // tables: another schema's, or a temporary one, without the column).
            else if name == target?["relname"]?.string, r["schemaname"] == target?["schemaname"], !others { anyUnqualified = true }
        }
        var refs: [[String]] = []
        func visit(_ j: JSON) {
            switch j {
            case .array(let a): a.forEach(visit)
            case .object(let o):
                if let c = o["ColumnRef"] { refs.append((c["fields"]?.array ?? []).map { $0.sval ?? "*" }); return }
                if let r = o["RangeVar"] { defined.insert(r["alias"]?["aliasname"]?.string ?? r["relname"]?.string ?? "") }
                if let q = o["RangeSubselect"]?["subquery"] { aliases.formUnion(Self.outputNames(q)) }
                if let c = o["CommonTableExpr"] { aliases.formUnion(Self.outputNames(c["ctequery"])) }
                for k in ["RangeSubselect", "RangeFunction"] {
                    if let alias = o[k]?["alias"] {
                        // A function's alias names its column too (`unnest(...) k`).
                        if let n = alias["aliasname"]?.string { defined.insert(n); if k == "RangeFunction" { aliases.insert(n) } }
                        for c in alias["colnames"]?.array ?? [] { if let n = c.sval { aliases.insert(n) } }
                    }
                }
                if let c = o["CommonTableExpr"], let n = c["ctename"]?.string { defined.insert(n) }
                for (k, v) in o where k != "location" { visit(v) }
            default: break
            }
        }
        visit(query ?? .null)
        return refs.allSatisfy { r in
            r.last == "*" && r.count == 1 || (r.count >= 2 ? defined.contains(r[r.count - 2]) : anyUnqualified || aliases.contains(r[0]))
        }
    }

    /// The column names a query gives its rows (its select list's names, a set
    /// operation's first branch's).
    static func outputNames(_ query: JSON?) -> Set<String> {
        guard let s = query?["SelectStmt"] else { return [] }
        if let op = s["op"]?.string, op != "SETOP_NONE" { return outputNames(.object(["SelectStmt": s["larg"] ?? .null])) }
        return Set((s["targetList"]?.array ?? []).compactMap { t -> String? in
            let r = t["ResTarget"]
            return r?["name"]?.string ?? r?["val"]?["ColumnRef"]?["fields"]?.array?.last?.sval
        })
    }

    /// The output names of a WITH clause's CTEs, by CTE.
    static func cteColumns(_ with: JSON?) -> [String: Set<String>] {
        var out: [String: Set<String>] = [:]
        for c in (with?["ctes"]?.array ?? []).compactMap({ $0["CommonTableExpr"] }) {
            guard let n = c["ctename"]?.string else { continue }
            let named = (c["aliascolnames"]?.array ?? []).compactMap(\.sval)
            out[n] = named.isEmpty ? outputNames(c["ctequery"]) : Set(named)
        }
        return out
    }

    /// Whether a subtree reads a table (a CTE whose query is bounded does not count) or returns
    /// rows from a data-modifying statement.
    func touchesTables(_ j: JSON?, _ ctes: [String: Bool]) -> Bool {
        guard let j else { return false }
        switch j {
        case .array(let a): return a.contains { touchesTables($0, ctes) }
        case .object(let o):
            if let rv = o["RangeVar"], o.count == 1 {
                return !(rv["schemaname"] == nil && ctes[rv["relname"]?.string ?? ""] == true)
            }
            for k in ["InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"] {
                if let s = o[k], let r = s["returningList"]?.array, !r.isEmpty { return true }
            }
            return o.contains { $0.key != "location" && touchesTables($0.value, ctes) }
        default: return false
        }
    }
}
