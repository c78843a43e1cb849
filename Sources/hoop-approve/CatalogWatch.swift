import Foundation
import HoopFrames
import HoopPostgres
import HoopSQL

/// The catalog facts of one connection's database (HoopSQL's CatalogFacts), read
/// through its catalog role (`connections.NAME.catalog`: a role that can read the
/// catalog and nothing else; docs/approval.md). Only the fixed queries below run on it,
/// in read-only transactions, never a client's statement.
///
/// A thread looks at a signature of the catalogs involved every `revalidate_seconds`
/// (each catalog's row count and newest xmin: a CREATE, ALTER or DROP changes one) and
/// reads the facts again when it changed; DDL committed on the database, through this
/// gateway or not, is seen within that interval plus one read. Facts not confirmed for
/// `max_age_seconds` (the database unreachable, the role refused) are unknown: a
/// statement that needs them is held, never allowed.
final class CatalogWatch: @unchecked Sendable {
    /// `resolves`: whether a bare name may be resolved by a session's search_path (`changed`).
    enum State { case known(CatalogFacts, resolves: Bool), unknown(String) }

    let connection: String
    let revalidate: TimeInterval
    let maxAge: TimeInterval
    private let db: PostgresConnection
    /// Reads the server's default search_path, and nothing else (`serverPathQuery`).
    private let probe: PostgresConnection
    private let lock = NSLock()
    private var facts: CatalogFacts?
    private var signature: String?
    private var confirmedAt: TimeInterval = 0
    private var problem = "has not been read yet"
    /// Looks begun, and the number of the latest that completed.
    private var looksBegun = 0
    private var lookDone = 0
    /// A statement that may change the catalog was let through before look number
    /// `resolveFrom` began: until that one completes the facts may miss what it made
    /// (a schema, a view, a role's default search_path), so no bare name is resolved.
    private var resolveFrom = 0

    init(connection: String, _ c: JSON, cfg: GatewayConfig) throws {
        guard let conninfo = c["conninfo"]?.string else {
            throw ConfigError("connection \(connection): catalog \"conninfo\" is required")
        }
        self.connection = connection
        func seconds(_ key: String) -> Double? {
            switch c[key] { case .int(let i)?: return Double(i); case .double(let d)?: return d; default: return nil }
        }
        revalidate = max(0.1, seconds("revalidate_seconds") ?? 1)
        maxAge = seconds("max_age_seconds") ?? max(10, 3 * revalidate)
        var keywords = [("application_name", "hoop catalog"), ("connect_timeout", "5"),
                        // Read-only, bounded, and names resolved in pg_catalog only.
                        ("options", "-c default_transaction_read_only=on -c statement_timeout=10000 -c search_path=pg_catalog")]
        var renewed: (() throws -> [(String, String)])? = nil
        if let spec = c["aws_auth"] {
            // An RDS IAM token for each connection, as hoop-connect's (docs/aws.md).
            renewed = try RDSIAMAuth.configure(spec, name: "\(connection) (catalog)", connection: c, tls: [], cfg: cfg).keywords
        } else if let password = try cfg.secret(c["password"]) {
            keywords.append(("password", password))
        }
        db = PostgresConnection(conninfo: conninfo, keywords: keywords, renewed: renewed)
        // The server's own default search_path (postgresql.conf, ALTER SYSTEM, a parameter
        // group) shows only in a session that sets none: a second connection reads it alone.
        probe = PostgresConnection(conninfo: conninfo, keywords: keywords.map { k, v in
            (k, k == "options" ? "-c default_transaction_read_only=on -c statement_timeout=10000" : v)
        }, renewed: renewed)
    }

    /// What is known now.
    var state: State {
        lock.lock(); defer { lock.unlock() }
        if let facts, Date().timeIntervalSince1970 - confirmedAt <= maxAge { return .known(facts, resolves: lookDone >= resolveFrom) }
        return .unknown(facts == nil ? "the catalog \(problem)" : "the catalog's facts are older than \(Int(maxAge)) s (\(problem))")
    }

    /// Reads once now (so that a stage starts with the facts), then keeps them fresh.
    func start() {
        refresh()
        let t = Thread { [self] in
            while true {
                Thread.sleep(forTimeInterval: revalidate)
                refresh()
            }
        }
        t.name = "hoop-approve catalog \(connection)"
        t.start()
    }

    /// A statement that may change the catalog was let through (in any session): bare
    /// names count as every schema's until a look that begins after now has completed.
    func changed() {
        lock.lock(); resolveFrom = looksBegun + 1; lock.unlock()
    }

    /// One look: the signature, and the facts again when it changed.
    func refresh() {
        lock.lock(); looksBegun += 1; let look = looksBegun; lock.unlock()
        do {
            var sig = try db.rows(Self.signatureQuery).first?.first ?? nil
            lock.lock(); let same = sig != nil && sig == signature && facts != nil; lock.unlock()
            var fresh: CatalogFacts?
            if !same {
                // One snapshot for the signature and every fact: a DDL committed while they
                // are read is in all of them or in none (and then seen at the next look).
                try db.execute("begin isolation level repeatable read read only")
                do {
                    sig = try db.rows(Self.signatureQuery).first?.first ?? nil
                    fresh = try read()
                    try db.execute("commit")
                } catch {
                    try? db.execute("rollback")
                    throw error
                }
            }
            // The planner's statistics change without the signature (ANALYZE, writes): every look.
            let statistics = try readStatistics()
            let defaults = readSessionDefaults()
            lock.lock()
            if let fresh { facts = fresh; signature = sig }
            facts?.setStatistics(statistics)
            facts?.setSessionDefaults(roleSchemas: defaults.roleSchemas, defaultSearchPath: defaults.path)
            confirmedAt = Date().timeIntervalSince1970
            lookDone = max(lookDone, look)
            problem = ""
            lock.unlock()
        } catch {
            lock.lock()
            let first = problem.isEmpty || facts == nil && problem == "has not been read yet"
            // libpq's message names the host and the role, never the password.
            problem = "could not be read: \(error)"
            lock.unlock()
            if first { logLine(ApprovalGate.stage, "connection \(connection): the catalog \(problem)") }
        }
    }

    private func read() throws -> CatalogFacts {
        func oid(_ s: String?) -> UInt32 { UInt32(s ?? "") ?? 0 }
        func node(_ kind: String?, _ o: String?) -> CatalogFacts.Node { .init(kind == "type" ? .type : .relation, oid(o)) }
        var functions = Set<String>(), operators = Set<String>()
        for r in try db.rows(Self.namesQuery) {
            if r[0] == "f" { functions.insert(r[1] ?? "") } else { operators.insert(r[1] ?? "") }
        }
        var names: [CatalogFacts.Node: (schema: String, name: String)] = [:]
        for r in try db.rows(Self.nodesQuery) { names[node(r[0], r[1])] = (r[2] ?? "", r[3] ?? "") }
        var reads: [CatalogFacts.Node: String] = [:], writes: [CatalogFacts.Node: String] = [:]
        for r in try db.rows(Self.codeQuery) {
            let n = node(r[1], r[2])
            if r[0] == "r" { if reads[n] == nil { reads[n] = r[3] ?? "" } } else if writes[n] == nil { writes[n] = r[3] ?? "" }
        }
        var readFlows: [CatalogFacts.Node: [CatalogFacts.Node]] = [:], writeFlows = readFlows
        for r in try db.rows(Self.flowsQuery) {
            let from = node(r[1], r[2]), to = node(r[3], r[4])
            if r[0] == "r" { readFlows[from, default: []].append(to) } else { writeFlows[from, default: []].append(to) }
        }
        var keyColumns: [String: (table: CatalogFacts.Node, columns: Set<String>)] = [:]
        for r in try db.rows(Self.uniqueKeysQuery) {
            keyColumns[r[0] ?? "", default: (node("rel", r[1]), [])].columns.insert(r[2] ?? "")
        }
        var uniqueKeys: [CatalogFacts.Node: [Set<String>]] = [:]
        for (table, columns) in keyColumns.values { uniqueKeys[table, default: []].append(columns) }
        var rowsOf: [CatalogFacts.Node: [(CatalogFacts.Node, sameColumns: Bool)]] = [:]
        for r in try db.rows(Self.rowsQuery) { rowsOf[node("rel", r[1]), default: []].append((node("rel", r[2]), r[0] == "inh")) }
        var cascades: [CatalogFacts.Node: Set<String>] = [:]
        for r in try db.rows(Self.cascadesQuery) { cascades[node("rel", r[0]), default: []].insert(r[1] ?? "") }
        return CatalogFacts.build(functionNames: functions, operatorNames: operators, names: names,
                                  reads: reads, writes: writes, readFlows: readFlows, writeFlows: writeFlows,
                                  uniqueKeys: uniqueKeys, rowsOf: rowsOf, cascades: cascades)
    }

    /// The planner's statistics of plain tables' columns, through `hoop.column_statistics()`
    /// when the catalog role may run it (pg_stats shows a role only the columns it may
    /// SELECT; docs/approval.md, "The catalog role"); none without it.
    private func readStatistics() throws -> [(labels: [String], rows: Double, modified: Double, columns: [String: CatalogFacts.ColumnStats])] {
        guard try db.rows(Self.statisticsAvailableQuery).first?.first == "t" else { return [] }
        var tables: [String: (labels: [String], rows: Double, modified: Double, columns: [String: CatalogFacts.ColumnStats])] = [:]
        for r in try db.rows(Self.statisticsQuery) {
            func number(_ i: Int) -> Double? { r[i].flatMap { Double($0) } }
            guard let oid = r[0], let rows = number(4), let modified = number(5), let column = r[3] else { continue }
            tables[oid, default: ([(r[1] ?? "") + "." + (r[2] ?? ""), r[2] ?? ""], rows, modified, [:])].columns[column] =
                CatalogFacts.ColumnStats(nullFraction: number(6) ?? .nan, distinct: number(7) ?? .nan, mostCommonMax: number(8) ?? 0,
                                         mostCommonSum: number(9) ?? 0, mostCommonCount: Int(r[10] ?? "") ?? 0)
        }
        return Array(tables.values)
    }

    /// What a bare name means in a session that sets no search_path (CatalogFacts.label),
    /// every look (ALTER ROLE and CREATE ROLE change no catalog of the signature): the
    /// schemas named after a role, and the default path: the server's own (read by the
    /// probe: postgresql.conf, ALTER SYSTEM, a parameter group; the review found
    /// `"$user", public` assumed), unless ALTER ROLE or ALTER DATABASE … SET search_path
    /// applies to this database (for any role: the gateway's role is not known here) or a
    /// login event trigger may set one, then not known. Not read: not known.
    private func readSessionDefaults() -> (roleSchemas: Set<String>?, path: String?) {
        guard let rows = try? db.rows(Self.roleSchemasQuery) else { return (nil, nil) }
        let roleSchemas = Set(rows.compactMap { $0.first ?? nil })
        guard let set = try? db.rows(Self.defaultPathSetQuery).first?.first, set == "f",
              let path = try? probe.rows(Self.serverPathQuery).first?.first ?? nil else { return (roleSchemas, nil) }
        return (roleSchemas, path)
    }

    /// The probe's one query: a schema-qualified function of a literal, which no object
    /// on a hostile path can stand in for.
    static let serverPathQuery = "select pg_catalog.current_setting('search_path')"

    // MARK: the fixed queries

    static let roleSchemasQuery = "select n.nspname from pg_namespace n where exists (select 1 from pg_roles r where r.rolname = n.nspname)"

    /// Whether a role's or this database's settings give search_path a default of their own,
    /// or a login event trigger (PostgreSQL 17) may set one.
    static let defaultPathSetQuery = """
        select exists (select 1 from pg_db_role_setting s cross join unnest(s.setconfig) c(v)
         where s.setdatabase in (0, (select oid from pg_database where datname = current_database()))
           and lower(c.v) like 'search\\_path=%')
            or exists (select 1 from pg_event_trigger where evtevent = 'login' and evtenabled <> 'D')
        """

    /// Whether the statistics function exists and the catalog role may run it.
    /// Trusted only as a superuser made it: a SECURITY DEFINER function a superuser owns, in
    /// a schema a superuser owns (the review of s46: a role that could create the schema or
    /// the function would write the statistics that allow its reads).
    static let statisticsAvailableQuery = """
        select exists (select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                         join pg_roles fo on fo.oid = p.proowner join pg_roles so on so.oid = n.nspowner
         where n.nspname = 'hoop' and p.proname = 'column_statistics' and p.pronargs = 0
           and p.prosecdef and fo.rolsuper and so.rolsuper
           and has_schema_privilege(n.oid, 'usage') and has_function_privilege(p.oid, 'execute'))
        """

    /// Each analyzed column of a plain table (no inheritance children, whose statistics
    /// would be the parent's alone): (table OID, schema, name, column, reltuples, rows
    /// modified since the last ANALYZE, null_frac, n_distinct, the largest, sum and
    /// number of the most common values' frequencies). Never a value, only frequencies.
    static let statisticsQuery = """
        select c.oid, n.nspname, c.relname, s.attname, c.reltuples, coalesce(pg_stat_get_mod_since_analyze(c.oid), 0),
               s.null_frac, s.n_distinct, s.most_common_max, s.most_common_sum, s.most_common_count
          from hoop.column_statistics() s
          join pg_namespace n on n.nspname = s.schemaname
          join pg_class c on c.relnamespace = n.oid and c.relname = s.tablename
         where c.relkind = 'r' and not c.relhassubclass and c.reltuples >= 0 and n.nspname not in \(system)
        """

    static let system = "('pg_catalog', 'information_schema')"

    /// Row count and newest xmin of every catalog the facts come from.
    static let signatureQuery = "select " + [
        "pg_class", "pg_attribute", "pg_proc", "pg_operator", "pg_type", "pg_trigger", "pg_rewrite", "pg_attrdef",
        "pg_constraint", "pg_index", "pg_policy", "pg_inherits", "pg_cast", "pg_namespace", "pg_depend", "pg_range",
        "pg_statistic_ext",
    ].map { "(select count(*)::text || '/' || coalesce(max(xmin::text::bigint), 0)::text from pg_catalog.\($0))" }
        .joined(separator: " || ' ' || ")

    /// Names of the database's own functions (f) and operators (o).
    static let namesQuery = """
        select distinct 'f', p.proname::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where n.nspname not in \(system)
        union
        select distinct 'o', o.oprname::text from pg_operator o join pg_namespace n on n.oid = o.oprnamespace
         where n.nspname not in \(system)
        """

    /// The database's own relations and types, by OID.
    static let nodesQuery = """
        select 'rel', c.oid, n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where c.relkind in ('r', 'p', 'v', 'm', 'f') and n.nspname not in \(system)
        union all
        select 'type', t.oid, n.nspname, t.typname from pg_type t join pg_namespace n on n.oid = t.typnamespace
         where n.nspname not in \(system)
        """

    /// The columns of every unique key that bounds a write pinning them (CatalogFacts.uniqueKeys):
    /// (index OID, table OID, column name). An index whose uniqueness may not hold for the
    /// rows a statement sees is none: deferrable (checked at commit), not yet valid (being
    /// built concurrently), partial, on an expression, or on a table with inheritance
    /// children (relhassubclass: cleared lazily, so at worst it says yes).
    static let uniqueKeysQuery = """
        select i.indexrelid, c.oid, a.attname::text
          from pg_index i join pg_class c on c.oid = i.indrelid
          join pg_namespace n on n.oid = c.relnamespace
          cross join unnest(i.indkey) k(attnum)
          join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
         where i.indisunique and i.indisvalid and i.indimmediate and i.indpred is null and i.indexprs is null
           and (c.relkind = 'p' or c.relkind = 'r' and not c.relhassubclass)
           and n.nspname not in \(system)
        """

    /// Tables whose rows a foreign key of another table follows when they change (ON DELETE
    /// or ON UPDATE CASCADE, SET NULL, SET DEFAULT): (table, "" for a delete, else the
    /// referenced column an update must change). A write that names a few of their rows
    /// changes every row of the other table that refers to them.
    static let cascadesQuery = """
        select k.confrelid, '' from pg_constraint k where k.contype = 'f' and k.confdeltype in ('c', 'n', 'd')
        union
        select k.confrelid, a.attname::text from pg_constraint k cross join unnest(k.confkey) c(attnum)
          join pg_attribute a on a.attrelid = k.confrelid and a.attnum = c.attnum
         where k.contype = 'f' and k.confupdtype in ('c', 'n', 'd')
        """

    /// Whose rows a write lands in besides the relation named: a view's base relations
    /// (`view`: its columns may be renamed), a partition's or child's parents (`inh`: the
    /// same columns). (kind, written relation, the other relation.)
    static let rowsQuery = """
        select distinct 'view', r.ev_class, d.refobjid
          from pg_depend d join pg_rewrite r on d.classid = 'pg_rewrite'::regclass and d.objid = r.oid
          join pg_class v on v.oid = r.ev_class join pg_class b on b.oid = d.refobjid
         where d.refclassid = 'pg_class'::regclass and d.refobjid <> r.ev_class and r.rulename = '_RETURN'
           and v.relkind = 'v' and b.relkind in ('r', 'p', 'v', 'f')
        union all
        select 'inh', i.inhrelid, i.inhparent from pg_inherits i
        """

    /// The functions each dependent object calls, directly or through an operator; the
    /// relation each belongs to and when it runs (r: on reading, w: on writing). Shared
    /// by the two queries below.
    static let partsAndCalls = """
        with fn as (
          select p.oid, n.nspname || '.' || p.proname as name, n.nspname not in \(system) as own, p.provolatile = 'v' as volatile
            from pg_proc p join pg_namespace n on n.oid = p.pronamespace),
        calls as (
          select d.classid, d.objid, fn.name, fn.own, fn.volatile
            from pg_depend d join fn on d.refclassid = 'pg_proc'::regclass and fn.oid = d.refobjid
          union all
          select d.classid, d.objid, fn.name, fn.own, fn.volatile
            from pg_depend d join pg_operator o on d.refclassid = 'pg_operator'::regclass and o.oid = d.refobjid
            join fn on fn.oid = o.oprcode),
        parts(classid, objid, rel, g, what) as (
          select 'pg_attrdef'::regclass, a.oid, a.adrelid, 'w', 'a column default or generated column' from pg_attrdef a
          union all
          select 'pg_constraint'::regclass, k.oid, k.conrelid, 'w', 'constraint ' || k.conname from pg_constraint k where k.conrelid <> 0
          union all
          select 'pg_class'::regclass, i.indexrelid, i.indrelid, 'w', 'index ' || i.indexrelid::regclass::text from pg_index i
          union all
          select 'pg_class'::regclass, c.oid, c.oid, 'w', 'its partition key' from pg_class c where c.relkind in ('r', 'p')
          union all
          select 'pg_statistic_ext'::regclass, x.oid, x.stxrelid, 'w', 'statistics ' || x.stxname from pg_statistic_ext x
          union all
          -- A view's definition runs when it is read and when it is written through; a
          -- materialized view's when it is refreshed.
          select 'pg_rewrite'::regclass, r.oid, r.ev_class, g.g, 'its definition' from pg_rewrite r
            join pg_class v on v.oid = r.ev_class cross join (values ('r'), ('w')) g(g)
           where r.rulename = '_RETURN' and (v.relkind = 'v' or v.relkind = 'm' and g.g = 'w')
          union all
          select 'pg_policy'::regclass, p.oid, p.polrelid, g.g, 'row security policy ' || p.polname from pg_policy p
            cross join (values ('r'), ('w')) g(g))
        """

    /// What runs code itself: (r: on reading, w: on writing or, for a type, on making a
    /// value of it; rel or type; OID; why).
    static let codeQuery = partsAndCalls + """
        select p.g, 'rel', p.rel, p.what || ' calls ' || c.name
          from parts p join calls c on c.classid = p.classid and c.objid = p.objid
         where c.own or (p.g = 'r' and c.volatile)
        union all
        select 'w', 'rel', t.tgrelid, 'trigger ' || t.tgname || ' runs ' || t.tgfoid::regproc::text
          from pg_trigger t where not t.tgisinternal
        union all
        select 'w', 'rel', r.ev_class, 'rule ' || r.rulename || ' runs statements of its own'
          from pg_rewrite r where r.rulename <> '_RETURN'
        union all
        select 'w', 'type', k.contypid, 'constraint ' || k.conname || ' calls ' || c.name
          from calls c join pg_constraint k on c.classid = 'pg_constraint'::regclass and k.oid = c.objid
         where k.contypid <> 0 and c.own
        union all
        -- A type's own functions: input, output, receive, send, a domain's default, a
        -- range's canonical and subtype_diff...
        select 'w', 'type', c.objid, 'its function ' || c.name || ' is the database''s own'
          from calls c where c.classid = 'pg_type'::regclass and c.own
        union all
        select 'w', 'type', x.t, 'a cast ' || x.dir || ' it calls ' || fn.name
          from pg_cast k join fn on fn.oid = k.castfunc
          cross join lateral (values (k.casttarget, 'to'), (k.castsource, 'from')) x(t, dir) where fn.own
        """

    /// What passes code on: (r or w; from kind, OID; to kind, OID): from what runs it to
    /// what runs it too (a table cascaded to → the table whose writes cascade; a
    /// partition or child → its parent; a view's relation → the view; a type → a domain
    /// over it, its array, a table or composite type with a column of it, a relation
    /// whose default, check, index, view definition or policy makes a value of it).
    static let flowsQuery = partsAndCalls + """
        select 'w', 'rel', k.conrelid, 'rel', k.confrelid from pg_constraint k
         where k.contype = 'f' and (k.confdeltype in ('c', 'n', 'd') or k.confupdtype in ('c', 'n', 'd'))
        union all
        select 'w', 'rel', i.inhrelid, 'rel', i.inhparent from pg_inherits i
        union all
        select distinct g.g, 'rel', d.refobjid, 'rel', r.ev_class
          from pg_depend d join pg_rewrite r on d.classid = 'pg_rewrite'::regclass and d.objid = r.oid
          join pg_class v on v.oid = r.ev_class cross join (values ('r'), ('w')) g(g)
         where d.refclassid = 'pg_class'::regclass and d.refobjid <> r.ev_class and r.rulename = '_RETURN' and v.relkind = 'v'
        union all
        select distinct p.g, 'rel', d.refobjid, 'rel', p.rel
          from pg_depend d join parts p on p.classid = d.classid and p.objid = d.objid
         where p.classid = 'pg_policy'::regclass and d.refclassid = 'pg_class'::regclass and d.refobjid <> p.rel
        union all
        select distinct p.g, 'type', d.refobjid, 'rel', p.rel
          from pg_depend d join parts p on p.classid = d.classid and p.objid = d.objid
         where d.refclassid = 'pg_type'::regclass
        union all
        select 'w', 'type', r.rngsubtype, 'type', r.rngtypid from pg_range r
        union all
        select 'w', 'type', r.rngtypid, 'type', r.rngmultitypid from pg_range r
        union all
        select g.g, 'type', c.reltype, 'rel', c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace
          cross join (values ('r'), ('w')) g(g) where c.reltype <> 0 and n.nspname not in \(system)
        union all
        select 'w', 'type', t.typbasetype, 'type', t.oid from pg_type t join pg_namespace n on n.oid = t.typnamespace
         where t.typtype = 'd' and n.nspname not in \(system)
        union all
        select 'w', 'type', t.oid, 'type', t.typarray from pg_type t join pg_namespace n on n.oid = t.typnamespace
         where t.typarray <> 0 and n.nspname not in \(system)
        union all
        select g.g, 'type', a.atttypid, x.kind, case x.kind when 'rel' then c.oid else c.reltype end
          from pg_attribute a join pg_class c on c.oid = a.attrelid
          join pg_type t on t.oid = a.atttypid join pg_namespace n on n.oid = t.typnamespace
          cross join (values ('rel'), ('type')) x(kind) cross join (values ('r'), ('w')) g(g)
         where a.attnum > 0 and not a.attisdropped and n.nspname not in \(system)
        """
}

extension StatementClass {
    /// Whether letting it run may change what a name means (a relation, schema, view,
    /// type or function made, renamed or dropped; a role's or database's default
    /// search_path): DDL and DCL, work this stage cannot see into, and anything it could
    /// not classify.
    var mayChangeCatalog: Bool {
        [.ddl, .dcl].contains(kind) || !hidden.isEmpty || ["DO", "CALL", "UNKNOWN", ""].contains(command)
            || !flags.isDisjoint(with: [.dynamicSQL, .userFunction, .adminFunction])
            || tablesWritten.contains { $0.hasPrefix("pg_") || $0.contains(".pg_") }
    }
}

extension Classification {
    var mayChangeCatalog: Bool { parseError != nil || statements.contains(where: \.mayChangeCatalog) }
}

/// Every connection's watch, by connection name; a connection without a `catalog`
/// has none (its statements that need facts are held).
struct CatalogWatches {
    let byConnection: [String: CatalogWatch]

    init(_ cfg: GatewayConfig) throws {
        var w: [String: CatalogWatch] = [:]
        for (name, c) in cfg.json["connections"]?.object ?? [:] {
            if let catalog = c["catalog"] { w[name] = try CatalogWatch(connection: name, catalog, cfg: cfg) }
        }
        byConnection = w
    }

    /// A statement that may change the catalog was let through: every watch is told, as
    /// two connections may name one database.
    func changed() { for watch in byConnection.values { watch.changed() } }

    /// A classification with what the connection's catalog says about it.
    /// `searchPath`: the session's, asked for only when a bare name many schemas have may matter.
    func judged(_ c: Classification, connection: String, searchPath: (() -> SearchPathState)? = nil) -> Classification {
        guard let watch = byConnection[connection] else {
            return CatalogFacts.unknown(c, because: "connection \(connection) names no catalog role")
        }
        switch watch.state {
        case .known(var facts, let resolves):
            // A bare name many schemas have: by the session's search_path where that is sure.
            if resolves, let searchPath, !facts.schemasOf.isEmpty { facts.searchPaths = searchPath().schemaLists(defaultPath: facts.defaultSearchPath) }
            return facts.apply(c)
        case .unknown(let why): return CatalogFacts.unknown(c, because: why)
        }
    }
}
