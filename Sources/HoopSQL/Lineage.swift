import HoopFrames

/// A table column a result value may carry. `column` "*" is the whole row
/// (`row_to_json(p)`, `p.*` inside an expression).
public struct SourceColumn: Hashable, Sendable, CustomStringConvertible {
    public let table: String
    public let column: String
    public init(_ table: String, _ column: String) { self.table = table; self.column = column }
    public var description: String { "\(table).\(column)" }

    /// What a function of the database's own returns: its body is not traced, so the
    /// value may carry anything (hoop-mask masks it whole).
    public static let untraced = SourceColumn("?", "*")
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

/// What a statement does with rows, for hoop-mask.
public enum StatementLineage: Equatable, Sendable {
    case noRows
    case rows(Shape)
    /// DECLARE name CURSOR FOR ...: FETCH name returns this shape later.
    case declareCursor(String, Shape)
    case fetch(String)
    /// SQL-level PREPARE name AS ...; EXECUTE name returns its rows.
    case prepare(String, Shape)
    case execute(String)
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
    public static func analyze(_ sql: String) throws -> [StatementLineage] {
        try SQLParser.statements(sql).map(statement)
    }

    public static func statement(_ stmt: JSON) -> StatementLineage {
        guard let (kind, body) = stmt.node else { return .noRows }
        var a = Analyzer()
        switch kind {
        case "SelectStmt":
            if body["intoClause"] != nil { return .noRows }
            return .rows(a.select(body, outer: []))
        case "InsertStmt", "UpdateStmt", "DeleteStmt":
            guard let returning = body["returningList"]?.array, !returning.isEmpty else { return .noRows }
            return .rows(a.modify(body, returning: returning))
        case "ExplainStmt":
            return .rows(Shape([.value([])]))
        case "VariableShowStmt":
            // A custom setting (SHOW my.v) holds whatever set_config put there.
            return .rows(Shape([.value((body["name"]?.string ?? "").contains(".") ? [.untraced] : [])]))
        case "DeclareCursorStmt":
            return .declareCursor(body["portalname"]?.string ?? "", a.query(body["query"]))
        case "FetchStmt":
            return body["ismove"]?.bool == true ? .noRows : .fetch(body["portalname"]?.string ?? "")
        case "PrepareStmt":
            guard case .rows(let shape) = statement(body["query"] ?? .null) else { return .prepare(body["name"]?.string ?? "", .empty) }
            return .prepare(body["name"]?.string ?? "", shape)
        case "ExecuteStmt":
            return .execute(body["name"]?.string ?? "")
        case "CopyStmt":
            if body["is_from"]?.bool == true { return .noRows }
            let format = copyFormat(body["options"]?.array ?? [])
            if let q = body["query"] { return .copyOut(a.query(q), format) }
            guard let rel = body["relation"]?["relname"]?.string else { return .noRows }
            let cols = (body["attlist"]?.array ?? []).compactMap(\.sval)
            return .copyOut(Shape(cols.isEmpty ? [.tableStar(rel)] : cols.map { .value([SourceColumn(rel, $0)]) }), format)
        case _ where noRows.contains(kind):
            return .noRows
        default:
            // Anything else that may return rows (CALL with OUT parameters, utility
            // commands) has no traced shape: its columns are untraced.
            return .rows(Shape(columns: nil, all: [.untraced]))
        }
    }

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
struct ScopeItem {
    enum Relation {
        case table(String)
        case derived(Shape)
        /// Any column of it may carry any of these (a function in FROM, a renamed table).
        case opaque(Set<SourceColumn>)
    }
    let name: String
    let relation: Relation

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

    mutating func setNames(_ key: String, _ map: [String: Set<SourceColumn>]?) {
        if assigned.contains(key) { ambiguous.insert(key); names[key] = nil; return }
        assigned.insert(key)
        names[key] = map
    }

    /// A query node (`{"SelectStmt": ...}` or a RETURNING statement) as a shape.
    mutating func query(_ node: JSON?) -> Shape {
        guard let (kind, body) = node?.node else { return .empty }
        switch kind {
        case "SelectStmt": return select(body, outer: [])
        case "InsertStmt", "UpdateStmt", "DeleteStmt": return modify(body, returning: body["returningList"]?.array ?? [])
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
            }
            let renamed = (c["aliascolnames"]?.array ?? []).compactMap(\.sval)
            frame[name] = shape
            if clause?["recursive"]?.bool == true { assigned.remove("cte:" + name) }
            setNames("cte:" + name, renamed.isEmpty ? named(c["ctequery"], shape) : named(shape, renamed))
            ctes[ctes.count - 1] = frame
        }
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
            guard let lv = l.values, let rv = r.values, lv.count == rv.count
            else { return Shape(columns: nil, all: l.all.union(r.all)) }
            // A set operation's columns have no catalog origin: each is traced through both sides.
            return Shape(zip(lv, rv).map { .value($0.union($1)) })
        }

        if let rows = s["valuesLists"]?.array {
            var columns: [Set<SourceColumn>] = []
            for row in rows {
                for (i, e) in (row["List"]?["items"]?.array ?? []).enumerated() {
                    if i == columns.count { columns.append([]) }
                    columns[i].formUnion(expression(e, outer))
                }
            }
            return Shape(columns.map { .value($0) })
        }

        var scope: [ScopeItem] = []
        for item in s["fromClause"]?.array ?? [] { from(item, outer: outer, into: &scope) }
        return targets(s["targetList"]?.array ?? [], [scope] + outer)
    }

    /// INSERT/UPDATE/DELETE ... RETURNING: the target table and the FROM/USING items.
    mutating func modify(_ s: JSON, returning: [JSON]) -> Shape {
        let depth = ctes.count
        defer { ctes.removeLast(ctes.count - depth) }
        if s["withClause"] != nil { with(s["withClause"], outer: []) }
        var scope: [ScopeItem] = []
        if let rel = s["relation"] { from(.object(["RangeVar": rel]), outer: [], into: &scope) }
        // RETURNING of the target table gives back what the write stored there:
        // INSERT ... SELECT last_name ... RETURNING a carries last_name.
        var stored = subquery(s["selectStmt"], outer: []).all
        if s["selectStmt"] == nil {
            for t in s["targetList"]?.array ?? [] { stored.formUnion(expression(t["ResTarget"]?["val"] ?? .null, [scope])) }
        }
        if !stored.isEmpty, let target = scope.first, case .table(let t) = target.relation {
            scope[0] = ScopeItem(name: target.name, relation: .opaque(stored.union([SourceColumn(t, "*")])))
        }
        for item in (s["fromClause"]?.array ?? []) + (s["usingClause"]?.array ?? []) { from(item, outer: [], into: &scope) }
        return targets(returning, [scope])
    }

    mutating func targets(_ list: [JSON], _ scopes: [[ScopeItem]]) -> Shape {
        var columns: [OutputColumn] = []
        var laidOut = true
        var all: Set<SourceColumn> = []
        for t in list {
            guard let val = t["ResTarget"]?["val"] else { continue }
            if let fields = val["ColumnRef"]?["fields"]?.array, fields.last?["A_Star"] != nil {
                let qualifier = fields.count >= 2 ? fields[fields.count - 2].sval : nil
                let items = qualifier.map { q in lookup(q, scopes).map { [$0] } ?? [] } ?? (scopes.first ?? [])
                if items.isEmpty || qualifier == nil && reorderingJoin { laidOut = false }
                for item in items {
                    switch item.relation {
                    case .table(let t): columns.append(.tableStar(t))
                    case .derived(let shape):
                        if let c = shape.columns { columns += c } else { laidOut = false }
                        all.formUnion(shape.all)
                    case .opaque(let s): laidOut = false; all.formUnion(s)
                    }
                    all.formUnion(item.wholeRow)
                }
            } else {
                let sources = expression(val, scopes)
                columns.append(.value(sources))
                all.formUnion(sources)
            }
        }
        var shape = Shape(columns)
        shape.all.formUnion(all)
        if !laidOut { shape.columns = nil }
        return shape
    }

    mutating func from(_ item: JSON, outer: [[ScopeItem]], into scope: inout [ScopeItem]) {
        guard let (kind, body) = item.node else { return }
        let alias = body["alias"]?["aliasname"]?.string
        let renamed = (body["alias"]?["colnames"]?.array ?? []).compactMap(\.sval)
        switch kind {
        case "RangeVar":
            guard let rel = body["relname"]?.string else { return }
            let name = alias ?? rel
            if Self.statistics.contains(rel) {
                // The planner's statistics hold sample values of every column.
                scope.append(ScopeItem(name: name, relation: .opaque([.untraced])))
            } else if body["schemaname"] == nil, let shape = cte(rel) {
                scope.append(ScopeItem(name: name, relation: .derived(shape)))
                setNames(name, ambiguous.contains("cte:" + rel) ? nil : renamed.isEmpty ? names["cte:" + rel] : named(shape, renamed))
            } else if renamed.isEmpty {
                scope.append(ScopeItem(name: name, relation: .table(rel)))
            } else {
                // Renamed columns of a table cannot be matched to its own names here.
                scope.append(ScopeItem(name: name, relation: .opaque([SourceColumn(rel, "*")])))
            }
        case "RangeSubselect":
            let shape = subquery(body["subquery"], outer: [scope] + outer)
            let name = alias ?? ""
            scope.append(ScopeItem(name: name, relation: .derived(shape)))
            setNames(name, renamed.isEmpty ? named(body["subquery"], shape) : named(shape, renamed))
        case "JoinExpr":
            if body["usingClause"] != nil || body["isNatural"]?.bool == true { reorderingJoin = true }
            from(body["larg"] ?? .null, outer: outer, into: &scope)
            from(body["rarg"] ?? .null, outer: outer, into: &scope)
            if let alias {
                let all = scope.reduce(into: Set<SourceColumn>()) { $0.formUnion($1.wholeRow) }
                scope.append(ScopeItem(name: alias, relation: .opaque(all)))
            }
        case "RangeFunction":
            // A function in FROM (unnest, json_to_recordset, a set-returning function):
            // its columns may carry whatever its arguments carry.
            let sources = expression(body["functions"] ?? .null, [scope] + outer)
            let name = alias ?? (body["functions"]?.array?.first?.array?.first?["FuncCall"]?["funcname"]?.array?.last?.sval ?? "")
            scope.append(ScopeItem(name: name, relation: .opaque(sources)))
        default:
            // Anything else (TABLESAMPLE, XMLTABLE, JSON_TABLE...): every table in it, whole.
            let tables = relations(in: item)
            let read = expression(item, [scope] + outer)
            scope.append(ScopeItem(name: alias ?? "", relation: .opaque(Set(tables.map { SourceColumn($0, "*") }).union(read).union([.untraced]))))
        }
    }

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

    func column(_ item: ScopeItem, _ c: String) -> Set<SourceColumn> {
        if case .derived = item.relation, !ambiguous.contains(item.name), let n = names[item.name] { return n[c] ?? [] }
        return item.column(c)
    }

    /// The table columns an expression's value may carry.
    mutating func expression(_ e: JSON, _ scopes: [[ScopeItem]]) -> Set<SourceColumn> {
        switch e {
        case .array(let items):
            return items.reduce(into: []) { $0.formUnion(expression($1, scopes)) }
        case .object(let o):
            if let ref = o["ColumnRef"] { return columnRef(ref["fields"]?.array ?? [], scopes) }
            if let f = o["FuncCall"] {
                let name = (f["funcname"]?.array ?? []).compactMap(\.sval)
                // count() reveals how many, not what.
                if name == ["count"] || name == ["pg_catalog", "count"] { return [] }
                // The value of an ordered-set aggregate comes from its ORDER BY
                // (percentile_disc(0.5) WITHIN GROUP (ORDER BY ssn)).
                var out = expression(f["args"] ?? .null, scopes).union(expression(f["agg_order"] ?? .null, scopes))
                let schema = name.count > 1 ? name[name.count - 2] : "pg_catalog"
                let fn = name.last ?? ""
                // current_setting('jit') of a built-in setting: the server's own vocabulary,
                // as for SHOW jit; a custom one (my.v) holds whatever set_config put there.
                let builtinSetting = fn == "current_setting" && schema == "pg_catalog"
                    && (f["args"]?.array?.first?["A_Const"]?["sval"]?["sval"]?.string).map { !$0.contains(".") } == true
                if !builtinSetting && (!["pg_catalog", "information_schema"].contains(schema) || !BuiltinFunctions.names.contains(Substring(fn))
                    || BuiltinFunctions.untraced.contains(fn) || BuiltinFunctions.untracedPrefixes.contains(where: fn.hasPrefix)) {
                    out.insert(.untraced)
                }
                if ["json_extract_path", "json_extract_path_text", "jsonb_extract_path", "jsonb_extract_path_text"].contains(fn) {
                    for a in (f["args"]?.array ?? []).dropFirst() {
                        if let key = a["A_Const"]?["sval"]?["sval"]?.string { out.insert(SourceColumn("*", key)) } else { out.insert(.untraced) }
                    }
                }
                return out
            }
            if let op = o["A_Expr"], let name = op["name"]?.array?.last?.sval, ["->>", "->", "#>", "#>>"].contains(name) {
                // doc->>'first_name': a JSON member named like a column carries what that column would.
                var out = expression(op["lexpr"] ?? .null, scopes).union(expression(op["rexpr"] ?? .null, scopes))
                if let key = op["rexpr"]?["A_Const"]?["sval"]?["sval"]?.string {
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
            if let ind = o["A_Indirection"] {
                // doc['last_name'], (p).ssn, arr[1]: what the base carries, and a named member's rules.
                var out = expression(ind["arg"] ?? .null, scopes)
                for i in ind["indirection"]?.array ?? [] {
                    if let field = i.sval { out.insert(SourceColumn("*", field)) }
                    if let idx = i["A_Indices"] {
                        if let key = idx["uidx"]?["A_Const"]?["sval"]?["sval"]?.string { out.insert(SourceColumn("*", key)) }
                        out.formUnion(expression(idx, scopes))
                    }
                }
                return out
            }
            if let link = o["SubLink"] {
                let type = link["subLinkType"]?.string ?? ""
                // EXISTS / IN / ANY / ALL yield a boolean; the others yield the subquery's value.
                let shape = subquery(link["subselect"], outer: scopes)
                return ["EXISTS_SUBLINK", "ANY_SUBLINK", "ALL_SUBLINK"].contains(type) ? [] : shape.all
            }
            if o["SelectStmt"] != nil { return subquery(e, outer: scopes).all }
            var out: Set<SourceColumn> = []
            for (k, v) in o where k != "location" { out.formUnion(expression(v, scopes)) }
            return out
        default:
            return []
        }
    }

    func columnRef(_ fields: [JSON], _ scopes: [[ScopeItem]]) -> Set<SourceColumn> {
        let names = fields.compactMap(\.sval)
        let star = fields.last?["A_Star"] != nil
        if star {
            if let q = names.last, let item = lookup(q, scopes) { return item.wholeRow }
            return (scopes.first ?? []).reduce(into: []) { $0.formUnion($1.wholeRow) }
        }
        guard let c = names.last else { return [] }
        if names.count >= 2 {
            let q = names[names.count - 2]
            if let item = lookup(q, scopes) { return column(item, c) }
            // `(p).x`, a schema-qualified name, or a composite field: any table in scope.
        }
        var out: Set<SourceColumn> = []
        for scope in scopes { for item in scope { out.formUnion(column(item, c)) } }
        // A bare name may also be a whole row (`row_to_json(p)`).
        if names.count == 1, let item = lookup(c, scopes) { out.formUnion(item.wholeRow) }
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
