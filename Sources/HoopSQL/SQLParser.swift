import CPgQuery
import HoopJSON

/// PostgreSQL's own parser (libpg_query, the server's grammar as a library): SQL text
/// to the server's parse tree, as JSON. Writing a SQL parser is not hoop's job.
public enum SQLParser {
    /// The statements of `sql`, each a one-key object such as `{"SelectStmt": {...}}`.
    public static func statements(_ sql: String) throws -> [JSON] {
        let result = pg_query_parse(sql)
        defer { pg_query_free_parse_result(result) }
        if let error = result.error {
            // The message names the token at fault, never more of the text.
            throw SQLParseError(message: String(cString: error.pointee.message), position: Int(error.pointee.cursorpos))
        }
        guard let tree = result.parse_tree else { return [] }
        let json = try JSON.parse(String(cString: tree))
        return (json["stmts"]?.array ?? []).compactMap { $0["stmt"] }
    }
}

extension SQLParser {
    /// The parser's error for a text it cannot read, as the server's ErrorResponse
    /// fields (message, position, routine, file, line; SQLSTATE 42601); nil when it
    /// parses. What a client sees when the gateway refuses such a text.
    public static func syntaxError(_ sql: String) -> [String: String]? {
        let result = pg_query_parse(sql)
        defer { pg_query_free_parse_result(result) }
        guard let e = result.error?.pointee else { return nil }
        var f = ["code": "42601", "message": String(cString: e.message)]
        if e.cursorpos > 0 { f["position"] = String(e.cursorpos) }
        if let r = e.funcname { f["routine"] = String(cString: r) }
        if let file = e.filename { f["file"] = String(cString: file) }
        if e.lineno > 0 { f["line"] = String(e.lineno) }
        return f
    }
}

public struct SQLParseError: Error, CustomStringConvertible {
    public let message: String
    public let position: Int
    public var description: String { "\(message) at position \(position)" }
}

extension JSON {
    /// A parse-tree node's kind and body: `{"SelectStmt": {...}}` → ("SelectStmt", {...}).
    var node: (kind: String, body: JSON)? {
        guard let o = object, o.count == 1, let (k, v) = o.first else { return nil }
        return (k, v)
    }

    /// The `sval` of a `{"String": {"sval": ...}}` node.
    var sval: String? { self["String"]?["sval"]?.string }
}

extension SQLParser {
    /// The relation names a text's statements name (every RangeVar's `relname`, a
    /// CTE's name included), and the names its WITH clauses give CTEs: hoop-connect
    /// looks the first up among the catalog's views. Nil when the text does not parse here.
    public static func relationNames(_ sql: String) -> (relations: Set<String>, ctes: Set<String>)? {
        guard let statements = try? statements(sql) else { return nil }
        var names: Set<String> = [], ctes: Set<String> = []
        func walk(_ node: JSON) {
            switch node {
            case .array(let a): a.forEach(walk)
            case .object(let o):
                if let r = o["RangeVar"]?["relname"]?.string { names.insert(r) }
                // A write's target (INSERT, UPDATE, DELETE, MERGE, COPY) is a bare RangeVar.
                if let r = o["relation"]?["relname"]?.string { names.insert(r) }
                if let c = o["CommonTableExpr"]?["ctename"]?.string { ctes.insert(c) }
                o.values.forEach(walk)
            default: break
            }
        }
        statements.forEach(walk)
        return (names, ctes)
    }
}
