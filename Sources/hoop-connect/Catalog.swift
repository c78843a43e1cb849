import CLibPQ
import Foundation
import HoopFrames
import HoopPostgres

/// Names for the columns of a result: the `columns` frame carries each source column's
/// schema, table and column name, so that hoop-mask's column rules can match them.
/// libpq gives only the table's OID and the column's number; the names come from the
/// server's catalog through one extra connection per upstream, shared by its sessions
/// (the session's own connection is busy streaming the result), cached for a minute.
final class Catalog: @unchecked Sendable {
    struct Source { let schema: String; let table: String; let columns: [Int: String]
        /// A view's definition: hoop-mask traces its columns to the tables under it.
        var viewSQL: String? = nil
        /// pg_class.relkind: "S" for a sequence, whose values are server state.
        var kind: String = "r" }

    private let target: Upstreams.Target
    private let lock = NSLock()
    private var conn: OpaquePointer?
    private var cache: [UInt32: (Source?, Date)] = [:]
    static let maxAge: TimeInterval = 60

    init(_ target: Upstreams.Target) { self.target = target }

    deinit { if let conn { PQfinish(conn) } }

    /// The source of a result column's table, or nil (an expression, or not found).
    func source(_ oid: UInt32) -> Source? {
        guard oid != 0 else { return nil }
        lock.lock(); defer { lock.unlock() }
        if let (s, at) = cache[oid], Date().timeIntervalSince(at) < Self.maxAge { return s }
        let s = lookup(oid)
        // Not found: a temporary table, or one created in a transaction not yet
        // committed, which this connection will see once it is: asked again next time.
        if s != nil { cache[oid] = (s, Date()) }
        return s
    }

    private func connected() -> Bool {
        if conn == nil || PQstatus(conn) != CONNECTION_OK {
            if let conn { PQfinish(conn) }
            // No password (an IAM token whose keys cannot be read): no catalog connection.
            guard var (keys, values) = try? target.keywords() else { conn = nil; return false }
            keys.append("application_name"); values.append("hoop catalog")
            conn = withCStrings(keys) { k in withCStrings(values) { v in PQconnectdbParams(k, v, 1) } }
        }
        return PQstatus(conn) == CONNECTION_OK
    }

    private func lookup(_ oid: UInt32) -> Source? {
        guard connected() else { return nil }
        let sql = """
            select n.nspname, c.relname, a.attnum, a.attname,
                   case when c.relkind in ('v', 'm') then pg_get_viewdef(c.oid) end, c.relkind::text
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            join pg_attribute a on a.attrelid = c.oid
            where c.oid = $1::oid and a.attnum > 0 and not a.attisdropped
            """
        let res = withCStrings(["\(oid)"]) { v in PQexecParams(conn, sql, 1, nil, v, nil, nil, 0) }
        defer { PQclear(res) }
        guard PQresultStatus(res) == PGRES_TUPLES_OK, PQntuples(res) > 0 else { return nil }
        var columns: [Int: String] = [:]
        for r in 0..<PQntuples(res) {
            columns[Int(String(cString: PQgetvalue(res, r, 2))) ?? 0] = String(cString: PQgetvalue(res, r, 3))
        }
        return Source(schema: String(cString: PQgetvalue(res, 0, 0)), table: String(cString: PQgetvalue(res, 0, 1)),
                      columns: columns, viewSQL: PQgetisnull(res, 0, 4) == 1 ? nil : String(cString: PQgetvalue(res, 0, 4)),
                      kind: String(cString: PQgetvalue(res, 0, 5)))
    }

    /// Names a call or an operator may resolve to code of the database's own although
    /// they look like a built-in: functions defined outside pg_catalog with a built-in
    /// function's name (`public.upper(int)` wins over `pg_catalog.upper(text)` for an
    /// integer argument, whatever the search_path), and every operator defined outside
    /// pg_catalog. Read fresh for each session: a function created a minute ago counts.
    func shadowing() -> [String] {
        lock.lock(); defer { lock.unlock() }
        guard connected() else { return ["*"] }
        let sql = """
            select distinct p.proname::text from pg_proc p
            where p.pronamespace not in ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
              and exists (select 1 from pg_proc b where b.pronamespace = 'pg_catalog'::regnamespace and b.proname = p.proname)
            union
            select distinct o.oprname::text from pg_operator o where o.oprnamespace <> 'pg_catalog'::regnamespace
            """
        let res = PQexec(conn, sql)
        defer { PQclear(res) }
        guard PQresultStatus(res) == PGRES_TUPLES_OK else { return ["*"] }
        return (0..<PQntuples(res)).map { String(cString: PQgetvalue(res, $0, 0)) }
    }

    /// A table's columns in order (name, type OID), found as the server would find
    /// `schema.table` or `table` on the catalog connection's search path.
    func columns(schema: String?, table: String) -> [(name: String, type: UInt32)]? {
        lock.lock(); defer { lock.unlock() }
        guard connected() else { return nil }
        // Without a schema, the session's search_path decides, and the catalog connection
        // may not share it: only a name that one relation has is taken.
        let sql = """
            select a.attname, a.atttypid from pg_attribute a
            where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped
              and ($2 or (select count(*) from pg_class c where c.relname = $3 and c.relkind in ('r', 'p', 'v', 'm', 'f')) = 1)
            order by a.attnum
            """
        let name = (schema.map { quoteIdent($0) + "." } ?? "") + quoteIdent(table)
        let res = withCStrings([name, schema == nil ? "false" : "true", table]) { v in PQexecParams(conn, sql, 3, nil, v, nil, nil, 0) }
        defer { PQclear(res) }
        guard PQresultStatus(res) == PGRES_TUPLES_OK, PQntuples(res) > 0 else { return nil }
        return (0..<PQntuples(res)).map { r in
            (String(cString: PQgetvalue(res, r, 0)), UInt32(String(cString: PQgetvalue(res, r, 1))) ?? 0)
        }
    }

    private func quoteIdent(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}
