import CLibPQ
import Foundation
import HoopFrames
import HoopPostgres

/// Names for the columns of a result: the `columns` frame carries each source column's
/// schema, table and column name, so that hoop-mask's column rules can match them.
/// libpq gives only the table's OID and the column's number; the names come from the
/// server's catalog through a few extra connections per upstream, shared by its
/// sessions (the session's own connection is busy streaming the result).
///
/// Names are cached, but a cached name is used only while the catalog rows it comes
/// from are the very rows it was read from: each row's `xmin` (the transaction that
/// wrote this version of it) in pg_class, pg_namespace, pg_attribute and pg_rewrite
/// makes a table's version, and a rename, a schema move, a column dropped or altered, a
/// view replaced, committed through this gateway or directly on the database, writes a
/// new version of one of them. One query checks every table of a result; a table whose
/// version moved is read again. A cached name is never older than the result it names.
final class Catalog: @unchecked Sendable {
    struct Source { let schema: String; let table: String; let columns: [Int: String]
        /// A view's definition: hoop-mask traces its columns to the tables under it.
        var viewSQL: String? = nil
        /// pg_class.relkind: "S" for a sequence, whose values are server state.
        var kind: String = "r" }

    /// One catalog connection; sessions take whichever is free.
    private final class Slot {
        let lock = NSLock()
        var conn: OpaquePointer?
        deinit { if let conn { PQfinish(conn) } }
    }

    private let target: Upstreams.Target
    private let slots = (0..<3).map { _ in Slot() }
    private let cacheLock = NSLock()
    private var cache: [UInt32: (source: Source, version: String)] = [:]
    static let maxCached = 10_000

    init(_ target: Upstreams.Target) { self.target = target }

    /// A table's version: the xmin of every catalog row its names come from.
    static let versionSQL = """
        concat_ws('/', c.xmin::text, n.xmin::text,
            (select string_agg(a.attnum::text || ':' || a.xmin::text, ',' order by a.attnum)
             from pg_attribute a where a.attrelid = c.oid and a.attnum > 0),
            (select string_agg(r.xmin::text, ',' order by r.oid) from pg_rewrite r where r.ev_class = c.oid))
        """

    /// The sources of a result's tables by OID, each as the catalog has it now (absent:
    /// an expression, or a table the catalog does not show).
    func sources(_ oids: [UInt32]) -> [UInt32: Source] {
        let wanted = Set(oids.filter { $0 != 0 })
        guard !wanted.isEmpty else { return [:] }
        return withConnection { conn in
            cacheLock.lock(); let cached = wanted.compactMap { oid in cache[oid].map { (oid, $0) } }; cacheLock.unlock()
            var found: [UInt32: Source] = [:]
            if !cached.isEmpty, let now = versions(cached.map(\.0), conn) {
                for (oid, entry) in cached where now[oid] == entry.version { found[oid] = entry.source }
            }
            for oid in wanted where found[oid] == nil {
                // Not found: a temporary table, or one created in a transaction not yet
                // committed, which this connection will see once it is: asked again next time.
                guard let (source, version) = lookup(oid, conn) else { continue }
                found[oid] = source
                cacheLock.lock()
                if cache.count >= Self.maxCached { cache.removeAll() }
                cache[oid] = (source, version)
                cacheLock.unlock()
            }
            return found
        } ?? [:]
    }

    /// Runs `body` on a free catalog connection (connecting it when needed); nil when
    /// none can be had.
    private func withConnection<T>(_ body: (OpaquePointer) -> T) -> T? {
        let slot = slots.first { $0.lock.try() } ?? { let s = slots[Int.random(in: 0..<slots.count)]; s.lock.lock(); return s }()
        defer { slot.lock.unlock() }
        if slot.conn == nil || PQstatus(slot.conn) != CONNECTION_OK {
            if let conn = slot.conn { PQfinish(conn) }
            // No password (an IAM token whose keys cannot be read): no catalog connection.
            guard var (keys, values) = try? target.keywords() else { slot.conn = nil; return nil }
            keys.append("application_name"); values.append("hoop catalog")
            // Names resolved in pg_catalog only: a function or operator the database
            // defines elsewhere (an exact-type `concat_ws` wins over the built-in's
            // VARIADIC "any") could otherwise make every version look unchanged.
            keys.append("options"); values.append("-c search_path=pg_catalog")
            slot.conn = withCStrings(keys) { k in withCStrings(values) { v in PQconnectdbParams(k, v, 1) } }
            // Planned once per connection: it runs with every result. Should it fail, the
            // check fails and the names are read again (never taken unchecked).
            if PQstatus(slot.conn) == CONNECTION_OK { PQclear(PQprepare(slot.conn, "hoop_versions", Self.versionsQuery, 1, nil)) }
        }
        guard let conn = slot.conn, PQstatus(conn) == CONNECTION_OK else { return nil }
        return body(conn)
    }

    /// The versions of these tables now; nil when the catalog cannot say.
    static let versionsQuery = "select c.oid::int8, \(versionSQL) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        + "where c.oid = any($1::oid[])"

    private func versions(_ oids: [UInt32], _ conn: OpaquePointer) -> [UInt32: String]? {
        let list = "{" + oids.map(String.init).joined(separator: ",") + "}"
        let res = withCStrings([list]) { v in PQexecPrepared(conn, "hoop_versions", 1, v, nil, nil, 0) }
        defer { PQclear(res) }
        guard PQresultStatus(res) == PGRES_TUPLES_OK else { return nil }
        var out: [UInt32: String] = [:]
        for r in 0..<PQntuples(res) {
            out[UInt32(String(cString: PQgetvalue(res, r, 0))) ?? 0] = String(cString: PQgetvalue(res, r, 1))
        }
        return out
    }

    /// A table's names and version, read in one snapshot.
    private func lookup(_ oid: UInt32, _ conn: OpaquePointer) -> (Source, String)? {
        let sql = """
            select n.nspname, c.relname, a.attnum, a.attname,
                   case when c.relkind in ('v', 'm') then pg_get_viewdef(c.oid) end, c.relkind::text,
                   \(Self.versionSQL)
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
        let source = Source(schema: String(cString: PQgetvalue(res, 0, 0)), table: String(cString: PQgetvalue(res, 0, 1)),
                            columns: columns, viewSQL: PQgetisnull(res, 0, 4) == 1 ? nil : String(cString: PQgetvalue(res, 0, 4)),
                            kind: String(cString: PQgetvalue(res, 0, 5)))
        return (source, String(cString: PQgetvalue(res, 0, 6)))
    }

    /// Names a call or an operator may resolve to code of the database's own although
    /// they look like a built-in: functions defined outside pg_catalog with a built-in
    /// function's name (`public.upper(int)` wins over `pg_catalog.upper(text)` for an
    /// integer argument, whatever the search_path), and every operator defined outside
    /// pg_catalog. Read fresh for each session: a function created a minute ago counts.
    func shadowing() -> [String] {
        withConnection { conn -> [String] in
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
        } ?? ["*"]
    }

    /// A table's columns in order (name, type OID): `schema.table`, or a `table` name
    /// that one relation alone has (the session's search_path, which decides which one
    /// the server took, is not the catalog connection's).
    func columns(schema: String?, table: String) -> [(name: String, type: UInt32)]? {
        withConnection { conn -> [(name: String, type: UInt32)]? in
            let sql = """
                select a.attname, a.atttypid from pg_attribute a
                where a.attrelid = case when $2 then to_regclass($1) else
                      (select min(c.oid) from pg_class c where c.relname = $3 and c.relkind in ('r', 'p', 'v', 'm', 'f')
                       having count(*) = 1) end
                  and a.attnum > 0 and not a.attisdropped
                order by a.attnum
                """
            let name = (schema.map { quoteIdent($0) + "." } ?? "") + quoteIdent(table)
            let res = withCStrings([name, schema == nil ? "false" : "true", table]) { v in PQexecParams(conn, sql, 3, nil, v, nil, nil, 0) }
            defer { PQclear(res) }
            guard PQresultStatus(res) == PGRES_TUPLES_OK, PQntuples(res) > 0 else { return nil }
            return (0..<PQntuples(res)).map { r in
                (String(cString: PQgetvalue(res, r, 0)), UInt32(String(cString: PQgetvalue(res, r, 1))) ?? 0)
            }
        } ?? nil
    }

    private func quoteIdent(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}
