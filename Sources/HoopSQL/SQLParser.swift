import CPgQuery
import HoopFrames

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
