import CLibPQ
import Foundation
import HoopFrames

/// Names for the columns of a result: the `columns` frame carries each source column's
/// schema, table and column name, so that hoop-mask's column rules can match them.
/// libpq gives only the table's OID and the column's number; the names come from the
/// server's catalog through one extra connection per upstream, shared by its sessions
/// (the session's own connection is busy streaming the result), cached for a minute.
final class Catalog: @unchecked Sendable {
    struct Source { let schema: String; let table: String; let columns: [Int: String] }

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
        cache[oid] = (s, Date())
        return s
    }

    private func lookup(_ oid: UInt32) -> Source? {
        if conn == nil || PQstatus(conn) != CONNECTION_OK {
            if let conn { PQfinish(conn) }
            var keys = ["dbname", "application_name"], values = [target.conninfo, "hoop catalog"]
            if let pw = target.password { keys.append("password"); values.append(pw) }
            conn = withCStrings(keys) { k in withCStrings(values) { v in PQconnectdbParams(k, v, 1) } }
            guard PQstatus(conn) == CONNECTION_OK else { return nil }
        }
        let sql = """
            select n.nspname, c.relname, a.attnum, a.attname
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
                      columns: columns)
    }
}
