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
/// wrote this version of it) in pg_class, pg_namespace, pg_rewrite (views) and the
/// result's own pg_attribute rows. A rename, a schema move, a column dropped or
/// altered, a view replaced, committed through this gateway or directly on the
/// database, writes a new version of one of them; a table whose version moved is read
/// again. A cached name is never older than the result it names: the check that
/// vouches for it starts after the result is in. A check that finds the server's
/// snapshot (`txid_current_snapshot()`: the transactions committed) as it was when the
/// entries were last found current reads no catalog row: no transaction has committed
/// since, so none has written one (a catalog row is written only under a transaction
/// id). Under reads alone (no transaction id given out) that is every check, at less
/// than a full one's cost on the server. Not on a hot standby (snapshotSQL). Concurrent results share a check
/// (one in flight per upstream; those that arrive while it runs go in the next one),
/// as group commit shares an fsync. Its connections run on the stage's event loop, as
/// the sessions' do: a session waiting for the catalog suspends only its own task.
final class Catalog {
    struct Source { let schema: String; let table: String; let columns: [Int: String]
        /// A view's definition: hoop-mask traces its columns to the tables under it.
        var viewSQL: String? = nil
        /// pg_class.relkind: "S" for a sequence, whose values are server state.
        var kind: String = "r"
        /// A view over views: the table columns under them (Catalog.columnsUnderViews).
        var underViews: [(table: String?, column: String)] = []
        /// A temporary relation (a session's own): it holds what the session wrote.
        var temporary = false
        /// A view, a table with rules or triggers (pg_class.relhasrules, relhastriggers), a
        /// partition or child: its version covers what is under or above it
        /// (`relationVersionSQL`), checked whole.
        var checkedWhole = false
        /// An INSTEAD rule or INSTEAD OF trigger on a write (INSERT, UPDATE, DELETE): what
        /// a write's RETURNING gives back under its column names is whatever that code
        /// returned (another table's values), not what the columns hold.
        var writesRewritten = false
        /// A partition or an inheritance child, or a parent: a child's rows are its
        /// ancestors' rows too (a ruled table's partition read by its own name), and a
        /// parent's scan gives its descendants' rows (a ruled table made a child of
        /// another, read through the parent), so its columns take their rules. As a view's
        /// definition for hoop-mask: each relative's columns of the same names, at this
        /// relation's column numbers (Catalog.relativesSQL).
        var relativesSQL: String? = nil
        /// What hoop-mask traces this relation's columns through: a view's definition, or
        /// a partition's, child's or parent's relatives.
        var tracedSQL: String? { viewSQL ?? relativesSQL } }

    /// Where a table's names come from, as versions of catalog rows: `relation` is the
    /// xmin of its pg_class and pg_namespace rows (and a view's pg_rewrite rows),
    /// `columns` the xmin of each column's pg_attribute row by number.
    struct Version: Equatable {
        var relation: String
        var columns: [Int: String]
        /// True when `now` vouches for these columns of this version.
        func holds(in now: Version, for wanted: Set<Int>) -> Bool {
            now.relation == relation && wanted.allSatisfy { columns[$0] != nil && now.columns[$0] == columns[$0] }
        }
    }

    /// One catalog connection; sessions take whichever is free.
    private final class Slot {
        var busy = false
        var conn: OpaquePointer?
        deinit { if let conn { PQfinish(conn) } }
    }

    /// A check of table versions: the tables and columns results asked about before it
    /// started, what the catalog said, and the tasks waiting for it.
    private final class Check {
        var wanted: [UInt32: Set<Int>] = [:]
        /// The wanted tables checked whole (Source.checkedWhole).
        var whole: Set<UInt32> = []
        var now: [UInt32: Version]?
        var done = false
        var waiting: [UnsafeContinuation<Void, Never>] = []
    }

    private let target: Upstreams.Target
    private let loop: EventLoop
    private let slots = (0..<3).map { _ in Slot() }
    /// Tasks waiting for a free connection, in order.
    private var slotWaiting: [UnsafeContinuation<Void, Never>] = []
    /// The snapshot (Catalog.snapshotSQL) under which an entry's version was
    /// last found current, and for which of its columns.
    struct Confirmed { var snapshot: String; var columns: Set<Int> }
    private var cache: [UInt32: (source: Source, version: Version, readAt: Double, confirmed: Confirmed?)] = [:]
    static let maxCached = 10_000
    /// xmin is 32 bits: after 2^32 transactions a catalog row could be written again
    /// under its old xmin. An entry is read again after this many seconds, far less than
    /// any server needs to spend 2^32 transaction ids.
    static let maxAge: Double = 600
    private var collecting = Check()
    private var checking = false
    /// The last snapshot asked alone had moved: checks go straight to the catalog rows
    /// until one finds the snapshot it was vouched under again.
    private var snapshotMoved = false

    init(_ target: Upstreams.Target, loop: EventLoop) { self.target = target; self.loop = loop }

    /// A table's relation version: the xmin of its pg_class and pg_namespace rows; for a
    /// view, of the pg_rewrite rows of it and of every view under it, and of everything
    /// their definitions name (pg_depend: the relations, their schemas and the columns
    /// they read). A view's rule refers to those by number, and its definition's text,
    /// which hoop-mask traces, reads their names as they are now: a column renamed
    /// under a view, or a view under it replaced, changes no row of the view itself.
    static let relationVersionSQL = tableVersionSQL + """
         || coalesce('/' || case when c.relkind in ('v', 'm') then
            (\(viewChain("c.oid"))
             select string_agg(r.xmin::text || ':' || dc.xmin::text || '.' || dn.xmin::text || coalesce('.' || da.xmin::text, ''), ','
                               order by r.oid, d.refobjid, d.refobjsubid)
             from chain join pg_rewrite r on r.ev_class = chain.view
             join pg_depend d on d.classid = 'pg_rewrite'::regclass and d.objid = r.oid and d.refclassid = 'pg_class'::regclass
             join pg_class dc on dc.oid = d.refobjid join pg_namespace dn on dn.oid = dc.relnamespace
             left join pg_attribute da on d.refobjsubid > 0 and da.attrelid = d.refobjid and da.attnum = d.refobjsubid) end, '')
        || coalesce('/r' || (select string_agg(r.xmin::text, ',' order by r.oid) from pg_rewrite r where r.ev_class = c.oid), '')
        || coalesce('/t' || (select string_agg(t.xmin::text, ',' order by t.oid) from pg_trigger t where t.tgrelid = c.oid), '')
        || coalesce('/a' || (\(ancestorChain("c.oid"))
                             select string_agg(anc.link::text || ':' || pc.xmin::text || '.' || pn.xmin::text, ',' order by pc.oid, anc.link::text)
                             from anc join pg_class pc on pc.oid = anc.parent join pg_namespace pn on pn.oid = pc.relnamespace), '')
        || coalesce('/d' || (\(descendantChain("c.oid"))
                             select string_agg(dsc.link::text || ':' || pc.xmin::text || '.' || pn.xmin::text, ',' order by pc.oid, dsc.link::text)
                             from dsc join pg_class pc on pc.oid = dsc.child join pg_namespace pn on pn.oid = pc.relnamespace), '')
        """

    /// `anc(parent, link, child)`: every ancestor of `root` (partitioned tables above a
    /// partition, parents of an inheritance child), with the xmin of the pg_inherits row
    /// that links it to `child`.
    static func ancestorChain(_ root: String) -> String {
        """
        with recursive anc(parent, link, child) as (
            select i.inhparent, i.xmin, i.inhrelid from pg_inherits i where i.inhrelid = \(root)
            union
            select i.inhparent, i.xmin, i.inhrelid from pg_inherits i join anc on i.inhrelid = anc.parent)
        """
    }

    /// `dsc(child, link)`: every descendant of `root` (partitions, inheritance children,
    /// theirs), with the xmin of the pg_inherits row that links it to its parent.
    static func descendantChain(_ root: String) -> String {
        """
        with recursive dsc(child, link) as (
            select i.inhrelid, i.xmin from pg_inherits i where i.inhparent = \(root)
            union
            select i.inhrelid, i.xmin from pg_inherits i join dsc on i.inhparent = dsc.child)
        """
    }

    /// Whether the relation `c` is a partition or an inheritance child.
    static let isChildSQL = "(c.relispartition or exists (select 1 from pg_inherits i where i.inhrelid = c.oid))"

    /// Whether the relation `c` is a partition, an inheritance child or a parent
    /// (relhassubclass: set by its first child, cleared lazily, so at worst it says yes).
    static let hasRelativesSQL = "(c.relhassubclass or \(isChildSQL))"

    /// The relation version of a table without rules or triggers: the part of
    /// `relationVersionSQL` its check needs (the rest is empty for it). A view's check
    /// costs twice a table's on the server (planning and starting its view chain's joins,
    /// even when the case skips them). A table's first rule or trigger (a `_RETURN` rule
    /// that turns it into a view included) sets relhasrules or relhastriggers, which
    /// writes a new pg_class row: its version moves and it is read again, then checked
    /// whole (later rules and triggers leave pg_class as it is). A table attached as a
    /// partition writes its pg_class row anew too; one made a child by INHERIT, the
    /// pg_attribute rows of the columns it shares (the only ones its ancestors' rules name).
    static let tableVersionSQL = "c.xmin::text || '/' || n.xmin::text"

    /// `chain(view)`: the view `root` and every view or materialized view under it.
    static func viewChain(_ root: String) -> String {
        """
        with recursive chain(view) as (
            select \(root)
            union
            select d.refobjid from chain join pg_rewrite r on r.ev_class = chain.view
            join pg_depend d on d.classid = 'pg_rewrite'::regclass and d.objid = r.oid and d.refclassid = 'pg_class'::regclass
            join pg_class dc on dc.oid = d.refobjid
            where dc.relkind in ('v', 'm') and d.refobjid <> chain.view)
        """
    }

    /// The table columns under a view that reads another view: hoop-mask traces a view's
    /// columns through its own definition only, so the columns of the views under it
    /// take the rules of every table column those read (empty: no view under it). A
    /// whole row of a table read under them counts as all its columns (`*`); a function
    /// or operator of the database's own called under them, as untraced (nil table).
    private func columnsUnderViews(_ oid: UInt32, _ conn: OpaquePointer) async -> [(table: String?, column: String)]? {
        let sql = Self.viewChain("$1::oid") + """
            select distinct case when d.refclassid = 'pg_class'::regclass then dc.relname::text end,
                   case when d.refobjsubid > 0 then da.attname::text else '*' end
            from chain join pg_rewrite r on r.ev_class = chain.view
            join pg_depend d on d.classid = 'pg_rewrite'::regclass and d.objid = r.oid
            left join pg_class dc on d.refclassid = 'pg_class'::regclass and dc.oid = d.refobjid
            left join pg_attribute da on d.refclassid = 'pg_class'::regclass and da.attrelid = d.refobjid and da.attnum = d.refobjsubid
            where ((d.refclassid = 'pg_class'::regclass and dc.relkind not in ('v', 'm') and d.refobjid <> r.ev_class)
                   or (d.refclassid in ('pg_proc'::regclass, 'pg_operator'::regclass) and chain.view <> $1::oid))
              and exists (select 1 from chain where chain.view <> $1::oid)
            """
        let res = await loop.lastResult(conn, sent: withCStrings(["\(oid)"]) { v in PQsendQueryParams(conn, sql, 1, nil, v, nil, nil, 0) })
        defer { PQclear(res) }
        guard PQresultStatus(res) == PGRES_TUPLES_OK else { return nil }
        return (0..<PQntuples(res)).map {
            (PQgetisnull(res, $0, 0) == 1 ? nil : String(cString: PQgetvalue(res, $0, 0)), String(cString: PQgetvalue(res, $0, 1)))
        }
    }

    /// The sources of a result's columns (table OID, column number) by table, each as
    /// the catalog has it now (absent: an expression, or a table the catalog does not
    /// show: made in a transaction not yet committed, or dropped since), and the tables
    /// whose catalog rows could not be read (a lock waited on too long, a failed query):
    /// nothing says what those hold.
    func sources(_ columns: [(table: UInt32, column: Int)]) async -> (named: [UInt32: Source], unread: Set<UInt32>) {
        var wanted: [UInt32: Set<Int>] = [:]
        for c in columns where c.table != 0 {
            // A system column (ctid: negative) has no name of its own to vouch for.
            wanted[c.table, default: []].formUnion(c.column > 0 ? [c.column] : [])
        }
        guard !wanted.isEmpty else { return ([:], []) }
        let now = monotonicSeconds()
        let cached = wanted.compactMap { oid, _ in cache[oid].flatMap { now - $0.readAt < Self.maxAge ? (oid, $0) : nil } }
        var found: [UInt32: Source] = [:]
        // Views whose version moved since they were read: the result's rows may come from
        // the definition before (replaced after the rows were made, before this check).
        var changedViews: Set<UInt32> = []
        if !cached.isEmpty, let current = await versionsNow(Dictionary(uniqueKeysWithValues: cached.map { ($0.0, wanted[$0.0]!) }),
                                                             whole: Set(cached.filter { $0.1.source.checkedWhole }.map(\.0))) {
            for (oid, entry) in cached {
                if let v = current[oid], entry.version.holds(in: v, for: wanted[oid]!) { found[oid] = entry.source }
                else if entry.source.viewSQL != nil, current[oid] != nil { changedViews.insert(oid) }
            }
        }
        let missing = wanted.keys.filter { found[$0] == nil }
        guard !missing.isEmpty else { return (found, []) }
        var unread = Set(missing)
        await withConnection { conn in
            for oid in missing {
                switch await lookup(oid, conn) {
                case .found(let source, let version, let snapshot):
                    found[oid] = source
                    if !changedViews.contains(oid) { unread.remove(oid) }
                    if cache.count >= Self.maxCached { cache.removeAll() }
                    cache[oid] = (source, version, now, snapshot.map { Confirmed(snapshot: $0, columns: Set(version.columns.keys)) })
                case .absent:
                    // A table created in a transaction not yet committed, which this
                    // connection will see once it is (asked again next time), or dropped.
                    if !changedViews.contains(oid) { unread.remove(oid) }
                case .failed:
                    break
                }
            }
        }
        // Read anew and cached for the next result; this one's columns are not named.
        for oid in changedViews { found[oid] = nil }
        return (found, unread)
    }

    /// The catalog's versions of these tables' columns, from a check that started after
    /// this call: the one being collected joins the next free turn (nil: no answer).
    private func versionsNow(_ wanted: [UInt32: Set<Int>], whole: Set<UInt32>) async -> [UInt32: Version]? {
        let mine = collecting
        for (oid, columns) in wanted { mine.wanted[oid, default: []].formUnion(columns) }
        mine.whole.formUnion(whole)
        while !mine.done {
            if !checking, collecting === mine {
                checking = true; collecting = Check()
                let vouched = vouched(mine.wanted)
                let now = await withConnection { await versions(mine.wanted, whole: mine.whole, vouched: vouched, $0) } ?? nil
                mine.now = now; mine.done = true; checking = false
                mine.waiting.forEach { $0.resume() }
                // The results that came while it ran: one of them starts the next check.
                if !collecting.waiting.isEmpty { collecting.waiting.removeFirst().resume() }
            } else {
                await withUnsafeContinuation { mine.waiting.append($0) }
            }
        }
        return mine.now
    }

    /// The snapshot under which every one of these tables' entries was found current for
    /// these columns, and those versions (as far as they were found current): what a
    /// check that finds the same snapshot may take as the catalog's now. Nil when there is
    /// no one such snapshot (an entry missing, read or checked under another).
    private func vouched(_ wanted: [UInt32: Set<Int>]) -> (snapshot: String, versions: [UInt32: Version])? {
        var snapshot: String?
        var versions: [UInt32: Version] = [:]
        for (oid, columns) in wanted {
            guard let entry = cache[oid], let confirmed = entry.confirmed, columns.isSubset(of: confirmed.columns),
                  snapshot == nil || snapshot == confirmed.snapshot else { return nil }
            snapshot = confirmed.snapshot
            versions[oid] = Version(relation: entry.version.relation,
                                    columns: entry.version.columns.filter { confirmed.columns.contains($0.key) })
        }
        return snapshot.map { ($0, versions) }
    }

    /// Notes that the catalog had `now` under `snapshot`: each cached entry it vouches for
    /// (these columns) is current there.
    private func confirm(_ now: [UInt32: Version], wanted: [UInt32: Set<Int>], snapshot: String) {
        for (oid, version) in now {
            guard let columns = wanted[oid], var entry = cache[oid], entry.version.holds(in: version, for: columns) else { continue }
            let earlier = entry.confirmed?.snapshot == snapshot ? entry.confirmed!.columns : []
            entry.confirmed = Confirmed(snapshot: snapshot, columns: columns.union(earlier))
            cache[oid] = entry
        }
    }

    /// Runs `body` on a free catalog connection (connecting it when needed); nil when
    /// none can be had.
    private func withConnection<T>(_ body: (OpaquePointer) async -> T) async -> T? {
        var free = slots.first { !$0.busy }
        while free == nil {
            await withUnsafeContinuation { slotWaiting.append($0) }
            free = slots.first { !$0.busy }
        }
        let slot = free!
        slot.busy = true
        defer {
            slot.busy = false
            if !slotWaiting.isEmpty { slotWaiting.removeFirst().resume() }
        }
        if slot.conn == nil || PQstatus(slot.conn) != CONNECTION_OK {
            if let conn = slot.conn { PQfinish(conn) }
            // No password (an IAM token whose keys cannot be read): no catalog connection.
            guard var (keys, values) = try? target.keywords() else { slot.conn = nil; return nil }
            keys.append("application_name"); values.append("hoop catalog")
            // Names resolved in pg_catalog only: a function or operator the database
            // defines elsewhere (an exact-type `||` or `string_agg`) could otherwise make
            // every version look unchanged.
            // One plan for the check, made once: with an array parameter the planner would
            // otherwise plan it anew at every run (a custom plan), which cost ten times the run.
            // No timeout a role or database default sets may cancel a check: a check that
            // fails leaves the result's columns untraced (masked whole), never named stale.
            // But a lock is waited for one second at most: reading a view's definition locks
            // the view and what it reads, and a session whose open transaction altered them
            // would otherwise wait for its names while they wait for its lock, for ever
            // (the names are then not read: masked whole, asked again next time).
            keys.append("options"); values.append("-c search_path=pg_catalog -c plan_cache_mode=force_generic_plan "
                + "-c statement_timeout=0 -c lock_timeout=1000 -c idle_in_transaction_session_timeout=0")
            // Every session's results wait for a check: a connection the network lost
            // without a word (no FIN, no RST) must fail within seconds, not hang them all
            // (the check then fails: masked whole; the next one connects anew).
            for (k, v) in [("keepalives", "1"), ("keepalives_idle", "10"), ("keepalives_interval", "5"),
                           ("keepalives_count", "3"), ("tcp_user_timeout", "30000")] { keys.append(k); values.append(v) }
            slot.conn = await loop.connect(keys, values)
            // Planned once per connection: they run with every check. One that fails to
            // prepare (a lock on the catalog held past lock_timeout) would fail every check
            // of this connection: it is dropped, and the next turn connects anew.
            if let conn = slot.conn, PQstatus(conn) == CONNECTION_OK {
                for (name, sql, params) in [("hoop_snapshot", "select \(Self.snapshotSQL)", 0),
                                            ("hoop_versions", Self.versionsQuery(whole: false), 3),
                                            ("hoop_versions_whole", Self.versionsQuery(whole: true), 3),
                                            ("hoop_views", Self.viewsQuery, 2)] {
                    let res = await loop.lastResult(conn, sent: PQsendPrepare(conn, name, sql, Int32(params), nil))
                    let prepared = PQresultStatus(res) == PGRES_COMMAND_OK
                    PQclear(res)
                    guard prepared else { PQfinish(conn); slot.conn = nil; return nil }
                }
            }
        }
        guard let conn = slot.conn, PQstatus(conn) == CONNECTION_OK else { return nil }
        return await body(conn)
    }

    /// The versions of these tables and of these column numbers (of any of them) now;
    /// `whole`: as relationVersionSQL has them (a view's chain, rules, triggers), else as
    /// a table's without any (tableVersionSQL).
    /// Each table is looked up by its OID's index: a generic plan of `c.oid = any($1)`
    /// guesses ten of them and scans the whole of pg_class (four times the check's cost
    /// on the demo database's 440 relations, and growing with the catalog).
    /// The transactions committed, as text (txid_current_snapshot: every server since 9.4);
    /// none on a server in recovery (a hot standby), whose snapshot lists no transaction
    /// in progress: one that commits there under an id given before a later one's may
    /// move neither of its bounds, and the text would not change.
    static let snapshotSQL = "case when pg_is_in_recovery() then null else txid_current_snapshot()::text end"

    /// The first column is the snapshot the check ran under: when it is `$3`, the one the
    /// entries were found current under, no catalog row is read (a one-time filter) and
    /// the one row has nothing else. Both `offset 0` keep the planner from flattening the
    /// subqueries: flattened, the comparison became a join filter applied after the
    /// catalog rows were read (EXPLAIN ANALYZE: "Rows Removed by Join Filter"), and the
    /// fast path read them all the same.
    static func versionsQuery(whole: Bool) -> String {
        """
        select s.snapshot, v.oid, v.version, v.columns
        from (select \(snapshotSQL) offset 0) s(snapshot)
        left join lateral (
            select c.oid::int8 as oid, \(whole ? relationVersionSQL : tableVersionSQL) as version,
                   (select string_agg(a.attnum::text || ':' || a.xmin::text, ',') from pg_attribute a
                    where a.attrelid = c.oid and a.attnum = any($2::int2[])) as columns
            from unnest($1::oid[]) w(oid),
                 lateral (select c.oid, c.xmin, c.relkind, c.relnamespace from pg_class c where c.oid = w.oid offset 0) c
                 join pg_namespace n on n.oid = c.relnamespace
            where s.snapshot is distinct from $3 offset 0) v on true
        """
    }

    /// The versions now of the tables `wanted`, those in `whole` checked whole: one query
    /// for each kind there is (nil: no answer).
    private func versions(_ wanted: [UInt32: Set<Int>], whole: Set<UInt32>, vouched: (snapshot: String, versions: [UInt32: Version])?,
                          _ conn: OpaquePointer) async -> [UInt32: Version]? {
        // The snapshot alone first, while the last one asked found it unmoved: a check
        // names catalog tables, and a generic plan locks each of them at every run even
        // when its one-time filter reads none (half the fast path's cost on the server).
        if let vouched, !snapshotMoved {
            let res = await loop.lastResult(conn, sent: PQsendQueryPrepared(conn, "hoop_snapshot", 0, nil, nil, nil, 0))
            defer { PQclear(res) }
            guard PQresultStatus(res) == PGRES_TUPLES_OK, PQntuples(res) == 1 else { return nil }
            if PQgetisnull(res, 0, 0) == 0, String(cString: PQgetvalue(res, 0, 0)) == vouched.snapshot {
                return vouched.versions
            }
            snapshotMoved = true   // under writes: the full check at once, from the next turn on
        }
        var out: [UInt32: Version] = [:]
        for (statement, asWhole) in [("hoop_versions", false), ("hoop_versions_whole", true)] {
            let these = wanted.filter { whole.contains($0.key) == asWhole }
            guard !these.isEmpty else { continue }
            guard let (snapshot, found) = await versions(these, statement, vouched: vouched?.snapshot, conn) else { return nil }
            if let vouched, let snapshot, snapshot == vouched.snapshot {
                // Nothing committed since the entries were found current: they still are.
                out.merge(vouched.versions.filter { these[$0.key] != nil }) { a, _ in a }
                snapshotMoved = false
            } else {
                if let snapshot { confirm(found, wanted: these, snapshot: snapshot) }
                out.merge(found) { a, _ in a }
            }
        }
        return out
    }

    /// The snapshot the check ran under (none in recovery) and the versions it read (none
    /// when it ran under `vouched`); nil when the check failed.
    private func versions(_ wanted: [UInt32: Set<Int>], _ statement: String, vouched: String?,
                          _ conn: OpaquePointer) async -> (String?, [UInt32: Version])? {
        let oids = "{" + wanted.keys.map(String.init).joined(separator: ",") + "}"
        let columns = "{" + Set(wanted.values.joined()).filter { $0 > 0 && $0 <= Int(Int16.max) }.map(String.init).joined(separator: ",") + "}"
        let res = await loop.lastResult(conn, sent: withCStrings([oids, columns, vouched ?? ""]) { v in PQsendQueryPrepared(conn, statement, 3, v, nil, nil, 0) })
        defer { PQclear(res) }
        guard PQresultStatus(res) == PGRES_TUPLES_OK, PQntuples(res) > 0 else { return nil }
        let snapshot: String? = PQgetisnull(res, 0, 0) == 1 ? nil : String(cString: PQgetvalue(res, 0, 0))
        var out: [UInt32: Version] = [:]
        for r in 0..<PQntuples(res) where PQgetisnull(res, r, 1) == 0 {
            var columns: [Int: String] = [:]
            for pair in String(cString: PQgetvalue(res, r, 3)).split(separator: ",") {
                let p = pair.split(separator: ":")
                if p.count == 2, let n = Int(p[0]) { columns[n] = String(p[1]) }
            }
            out[UInt32(String(cString: PQgetvalue(res, r, 1))) ?? 0] = Version(relation: String(cString: PQgetvalue(res, r, 2)), columns: columns)
        }
        return (snapshot, out)
    }

    /// The relations of these names, in every schema (a bare name in a statement may be
    /// any of them: the session's search_path chooses): for each name, the views,
    /// materialized views and temporary relations, with their columns, or no row at all
    /// (oid null) when no relation has it. The system's own views are not looked up: the
    /// lineage reads them as the catalog (SourceColumn.catalog).
    static let viewsQuery = """
        select w.name, c.oid::int8, (select string_agg(a.attnum::text, ',') from pg_attribute a
                                    where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped)
        from unnest($1::text[]) w(name)
        left join pg_class c on c.relname = w.name and (c.relkind in ('v', 'm') or c.relpersistence = 't' or \(hasRelativesSQL)
                                                        or ($2::bool and \(writesRewrittenSQL)))
              and c.relnamespace not in ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
        where c.oid is not null or not exists (select 1 from pg_class o where o.relname = w.name)
        """

    /// Whether the relation `c` has an INSTEAD rule or an INSTEAD OF trigger on a write
    /// (Source.writesRewritten; tgtype's bit 64 is INSTEAD).
    static let writesRewrittenSQL = """
        (exists (select 1 from pg_rewrite r where r.ev_class = c.oid and r.ev_type <> '1' and r.is_instead)
         or exists (select 1 from pg_trigger t where t.tgrelid = c.oid and (t.tgtype & 64) <> 0))
        """

    /// What the relations named `names` may hold beyond their own columns' rules, as the
    /// catalog has them now (checked as a result's tables are): the views and temporary
    /// relations of those names, and the names no relation has (`unseen`: one made in
    /// the session's open transaction, or dropped since); with `writes`, the relations
    /// whose writes code rewrites too (Source.writesRewritten). Nil when the catalog cannot say.
    func views(named names: Set<String>, writes: Bool) async -> (views: [Source], unseen: [String])? {
        guard !names.isEmpty else { return ([], []) }
        let array = "{" + names.map(Self.arrayElement).joined(separator: ",") + "}"
        var unseen: [String] = []
        let found = await withConnection { conn -> [(oid: UInt32, columns: [Int])]? in
            let res = await loop.lastResult(conn, sent: withCStrings([array, writes ? "true" : "false"]) { v in PQsendQueryPrepared(conn, "hoop_views", 2, v, nil, nil, 0) })
            defer { PQclear(res) }
            guard PQresultStatus(res) == PGRES_TUPLES_OK else { return nil }
            return (0..<PQntuples(res)).compactMap { r in
                if PQgetisnull(res, r, 1) == 1 { unseen.append(String(cString: PQgetvalue(res, r, 0))); return nil }
                return (UInt32(String(cString: PQgetvalue(res, r, 1))) ?? 0,
                        String(cString: PQgetvalue(res, r, 2)).split(separator: ",").compactMap { Int($0) })
            }
        } ?? nil
        guard let found else { return nil }
        let named = await sources(found.flatMap { v in v.columns.map { (table: v.oid, column: $0) } })
        var out: [Source] = []
        for v in found {
            // A view found but not read (dropped in between, a lookup that failed), or read
            // without all its columns' names, is not known: the caller masks whole.
            guard let source = named.named[v.oid], v.columns.allSatisfy({ source.columns[$0] != nil }) else { return nil }
            out.append(source)
        }
        return (out, unseen)
    }

    /// An element of a text array literal, quoted whatever it holds.
    static func arrayElement(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// A table's names and version, read in one snapshot (Catalog.snapshotSQL).
    enum Lookup { case found(Source, Version, snapshot: String?), absent, failed }

    private func lookup(_ oid: UInt32, _ conn: OpaquePointer) async -> Lookup {
        let sql = """
            select n.nspname, c.relname, a.attnum, a.attname,
                   case when c.relkind in ('v', 'm') then pg_get_viewdef(c.oid) end, c.relkind::text,
                   \(Self.relationVersionSQL), a.xmin::text, c.relpersistence = 't',
                   c.relkind in ('v', 'm') or c.relhasrules or c.relhastriggers or \(Self.hasRelativesSQL), \(Self.writesRewrittenSQL),
                   \(Self.hasRelativesSQL), \(Self.snapshotSQL)
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            join pg_attribute a on a.attrelid = c.oid
            where c.oid = $1::oid and a.attnum > 0 and not a.attisdropped
            """
        let res = await loop.lastResult(conn, sent: withCStrings(["\(oid)"]) { v in PQsendQueryParams(conn, sql, 1, nil, v, nil, nil, 0) })
        defer { PQclear(res) }
        guard PQresultStatus(res) == PGRES_TUPLES_OK else { return .failed }
        guard PQntuples(res) > 0 else { return .absent }
        var columns: [Int: String] = [:]
        var versions: [Int: String] = [:]
        for r in 0..<PQntuples(res) {
            let n = Int(String(cString: PQgetvalue(res, r, 2))) ?? 0
            columns[n] = String(cString: PQgetvalue(res, r, 3))
            versions[n] = String(cString: PQgetvalue(res, r, 7))
        }
        var source = Source(schema: String(cString: PQgetvalue(res, 0, 0)), table: String(cString: PQgetvalue(res, 0, 1)),
                            columns: columns, viewSQL: PQgetisnull(res, 0, 4) == 1 ? nil : String(cString: PQgetvalue(res, 0, 4)),
                            kind: String(cString: PQgetvalue(res, 0, 5)), temporary: String(cString: PQgetvalue(res, 0, 8)) == "t",
                            checkedWhole: String(cString: PQgetvalue(res, 0, 9)) == "t",
                            // A view: a write through it reaches the relations under it, and
                            // their rules and triggers (an automatically updatable view over one).
                            writesRewritten: String(cString: PQgetvalue(res, 0, 10)) == "t" || String(cString: PQgetvalue(res, 0, 5)) == "v")
        let version = Version(relation: String(cString: PQgetvalue(res, 0, 6)), columns: versions)
        if String(cString: PQgetvalue(res, 0, 11)) == "t" {
            // Read after the version: relatives changed in between read as changed next time.
            // A parent whose children are gone (relhassubclass is cleared lazily) has none.
            guard let sql = await relativesSQL(oid, columns: columns, conn) else { return .failed }
            source.relativesSQL = sql.isEmpty ? nil : sql
        }
        if source.viewSQL != nil {
            // Read after the version: a view changed in between reads as changed next time.
            guard let under = await columnsUnderViews(oid, conn) else { return .failed }
            source.underViews = under
        }
        return .found(source, version, snapshot: PQgetisnull(res, 0, 12) == 1 ? nil : String(cString: PQgetvalue(res, 0, 12)))
    }

    /// A partition's, child's or parent's columns as its ancestors' and descendants' of
    /// the same names, for hoop-mask to trace as a view: one `select` per relative, the
    /// columns at this relation's column numbers (a dropped column's number holds a
    /// null), joined by `union all`; empty when it has none (nil: not read).
    private func relativesSQL(_ oid: UInt32, columns: [Int: String], _ conn: OpaquePointer) async -> String? {
        let sql = """
            with recursive anc(parent) as (
                select i.inhparent from pg_inherits i where i.inhrelid = $1::oid
                union select i.inhparent from pg_inherits i join anc on i.inhrelid = anc.parent),
            dsc(child) as (
                select i.inhrelid from pg_inherits i where i.inhparent = $1::oid
                union select i.inhrelid from pg_inherits i join dsc on i.inhparent = dsc.child)
            select distinct n.nspname, pc.relname from pg_class pc join pg_namespace n on n.oid = pc.relnamespace
            where pc.oid in (select parent from anc union select child from dsc)
            """
        let res = await loop.lastResult(conn, sent: withCStrings(["\(oid)"]) { v in PQsendQueryParams(conn, sql, 1, nil, v, nil, nil, 0) })
        defer { PQclear(res) }
        guard PQresultStatus(res) == PGRES_TUPLES_OK, let last = columns.keys.max() else { return nil }
        let list = (1...last).map { columns[$0].map { "a." + quoteIdent($0) } ?? "null" }.joined(separator: ", ")
        return (0..<PQntuples(res)).map { r in
            "select \(list) from \(quoteIdent(String(cString: PQgetvalue(res, r, 0)))).\(quoteIdent(String(cString: PQgetvalue(res, r, 1)))) a"
        }.joined(separator: " union all ")
    }

    /// Names a call or an operator may resolve to code of the database's own although
    /// they look like a built-in: functions defined outside pg_catalog with a built-in
    /// function's name (`public.upper(int)` wins over `pg_catalog.upper(text)` for an
    /// integer argument, whatever the search_path), and every operator defined outside
    /// pg_catalog; and `::type` for each type outside pg_catalog that a cast the database
    /// defined converts from or to (the cast runs its function; not the built-in types,
    /// which an extension's casts would make untraced everywhere). Read fresh for each
    /// session: a function created a minute ago counts.
    func shadowing() async -> [String] {
        await withConnection { conn -> [String] in
            let sql = """
                select distinct p.proname::text from pg_proc p
                where p.pronamespace not in ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
                  and exists (select 1 from pg_proc b where b.pronamespace = 'pg_catalog'::regnamespace and b.proname = p.proname)
                union
                select distinct o.oprname::text from pg_operator o where o.oprnamespace <> 'pg_catalog'::regnamespace
                union
                select distinct '::' || lower(t.typname::text) from pg_cast c join pg_type t on t.oid in (c.castsource, c.casttarget)
                where c.oid >= 16384 and t.typnamespace not in ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
                """
            let res = await loop.lastResult(conn, sent: PQsendQuery(conn, sql))
            defer { PQclear(res) }
            guard PQresultStatus(res) == PGRES_TUPLES_OK else { return ["*"] }
            return (0..<PQntuples(res)).map { String(cString: PQgetvalue(res, $0, 0)) }
        } ?? ["*"]
    }

    /// Column names that hold no content for detection to read, in every table that has
    /// one by that name (any case; not a view's, which may compute its number from a
    /// note's text): numbers, booleans, timestamps, times and intervals,
    /// and arrays of them, as content detection passes them whole (a date, a uuid, an
    /// address, any text is read). A value computed from any other column (`substr(note,
    /// ...)::int`, codes of its letters) has left the text detection read: hoop-mask
    /// masks it whole. Nil when the catalog cannot say (every column is content then).
    func plainColumns() async -> [String]? {
        await withConnection { conn -> [String]? in
            let sql = """
                select lower(a.attname::text) from pg_attribute a
                join pg_class c on c.oid = a.attrelid
                join pg_type t on t.oid = a.atttypid
                left join pg_type e on e.oid = t.typelem and t.typcategory = 'A'
                where a.attnum > 0 and not a.attisdropped and c.relkind in ('r', 'p', 'f')
                  and c.relnamespace not in ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
                group by 1
                having bool_and(coalesce(nullif(coalesce(e.typbasetype, t.typbasetype), 0), e.oid, t.oid)
                                in ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'float4'::regtype, 'float8'::regtype,
                                    'numeric'::regtype, 'money'::regtype, 'oid'::regtype, 'bool'::regtype,
                                    'timestamp'::regtype, 'timestamptz'::regtype, 'time'::regtype, 'timetz'::regtype,
                                    'interval'::regtype))
                """
            let res = await loop.lastResult(conn, sent: PQsendQuery(conn, sql))
            defer { PQclear(res) }
            guard PQresultStatus(res) == PGRES_TUPLES_OK else { return nil }
            return (0..<PQntuples(res)).map { String(cString: PQgetvalue(res, $0, 0)) }
        } ?? nil
    }

    /// A table's columns in order (name, type OID, whether the table is temporary):
    /// `schema.table`, or a `table` name that one relation alone has (the session's
    /// search_path, which decides which one the server took, is not the catalog connection's).
    func columns(schema: String?, table: String) async -> [(name: String, type: UInt32, temporary: Bool)]? {
        await withConnection { conn -> [(name: String, type: UInt32, temporary: Bool)]? in
            let sql = """
                select a.attname, a.atttypid, c.relpersistence = 't' from pg_attribute a join pg_class c on c.oid = a.attrelid
                where a.attrelid = case when $2 then to_regclass($1) else
                      (select min(c.oid) from pg_class c where c.relname = $3 and c.relkind in ('r', 'p', 'v', 'm', 'f')
                       having count(*) = 1) end
                  and a.attnum > 0 and not a.attisdropped
                order by a.attnum
                """
            let name = (schema.map { quoteIdent($0) + "." } ?? "") + quoteIdent(table)
            let res = await loop.lastResult(conn, sent: withCStrings([name, schema == nil ? "false" : "true", table]) { v in PQsendQueryParams(conn, sql, 3, nil, v, nil, nil, 0) })
            defer { PQclear(res) }
            guard PQresultStatus(res) == PGRES_TUPLES_OK, PQntuples(res) > 0 else { return nil }
            return (0..<PQntuples(res)).map { r in
                (String(cString: PQgetvalue(res, r, 0)), UInt32(String(cString: PQgetvalue(res, r, 1))) ?? 0,
                 String(cString: PQgetvalue(res, r, 2)) == "t")
            }
        } ?? nil
    }

    private func quoteIdent(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}
