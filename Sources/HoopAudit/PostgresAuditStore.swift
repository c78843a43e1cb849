import CLibPQ
import Crypto
import Foundation
import HoopFrames
import HoopPostgres
import HoopSQLite

/// What the stage writes to: the embedded SQLite store, or PostgreSQL.
public protocol AuditWriter: AnyObject {
    func append(_ frame: RawFrame) throws
    func commit(final: Bool) throws
}

extension AuditStore: AuditWriter {}

/// The audit trail in PostgreSQL (`audit.postgres` in the configuration), so that
/// several gateways share one: the same records and checkpoints as the SQLite store,
/// each gateway on a chain of its own (`audit.chain`, one writer per chain), in the
/// tables hoop_audit_frames and hoop_audit_checkpoints.
public final class PostgresAuditStore: AuditWriter {
    public let conn: OpaquePointer
    public let chain: String
    public let signer: Curve25519.Signing.PrivateKey?
    public let checkpointEvery: Double
    private var inTransaction = false
    private var lastID: Int64 = 0
    private var head = AuditChain.genesis
    private var lastCheckpoint: (at: Double, id: Int64) = (0, 0)

    public static let schema = """
        CREATE TABLE IF NOT EXISTS hoop_audit_frames (
            chain text NOT NULL, id bigint NOT NULL, recorded_at bigint NOT NULL, session text, seq bigint,
            type text NOT NULL, frame bytea NOT NULL, hash bytea NOT NULL, PRIMARY KEY (chain, id));
        CREATE INDEX IF NOT EXISTS hoop_audit_frames_by_session ON hoop_audit_frames (session, chain, id);
        CREATE TABLE IF NOT EXISTS hoop_audit_checkpoints (
            chain text NOT NULL, id bigserial, at bigint NOT NULL, kind text NOT NULL, last_id bigint NOT NULL,
            head bytea NOT NULL, pruned_through bigint, previous bytea NOT NULL, key_id text NOT NULL,
            signature bytea NOT NULL, PRIMARY KEY (chain, id));
        """

    /// Opens the connection named by `audit.postgres` ({"conninfo": …, "password": {…}}).
    public static func connect(_ cfg: GatewayConfig) throws -> OpaquePointer? {
        guard let pg = cfg.json["audit"]?["postgres"] else { return nil }
        guard let conninfo = pg["conninfo"]?.string else { throw ConfigError("audit.postgres.conninfo is required") }
        var keys = ["dbname", "fallback_application_name"], values = [conninfo, "hoop-record"]
        if let pw = try cfg.secret(pg["password"]) { keys.append("password"); values.append(pw) }
        let conn = withCStrings(keys) { k in withCStrings(values) { v in PQconnectdbParams(k, v, 1) } }
        guard let conn, PQstatus(conn) == CONNECTION_OK else {
            if let conn { PQfinish(conn) }
            throw ConfigError("cannot connect to the PostgreSQL audit store")   // libpq's message may quote the conninfo
        }
        return conn
    }

    public static func chainName(_ cfg: GatewayConfig) -> String {
        cfg.json["audit"]?["chain"]?.string ?? (ProcessInfo.processInfo.hostName + ":" + (ProcessInfo.processInfo.environment["HOOP_VAR"] ?? "var"))
    }

    public init(conn: OpaquePointer, chain: String, signer: Curve25519.Signing.PrivateKey?, checkpointEvery: Double) throws {
        self.conn = conn
        self.chain = chain
        self.signer = signer
        self.checkpointEvery = checkpointEvery
        try exec("SET client_min_messages = warning")   // no "already exists" notices on stderr
        try exec(Self.schema)
        if let row = try query("SELECT id, hash FROM hoop_audit_frames WHERE chain = $1 ORDER BY id DESC LIMIT 1", [.text(chain)]).first {
            lastID = row["id"]?.int ?? 0
            head = row["hash"]?.data ?? AuditChain.genesis
        } else if let row = try query("SELECT last_id, head FROM hoop_audit_checkpoints WHERE chain = $1 AND kind = 'prune' ORDER BY id DESC LIMIT 1",
                                      [.text(chain)]).first {
            lastID = row["last_id"]?.int ?? 0
            head = row["head"]?.data ?? AuditChain.genesis
        }
        try exec("BEGIN")
        try writeCheckpoint(kind: "start")
        try exec("COMMIT")
    }

    deinit { PQfinish(conn) }

    public func append(_ frame: RawFrame) throws {
        if !inTransaction { try exec("BEGIN"); inTransaction = true }
        let (id, now, hash) = AuditChain.next(after: head, lastID: lastID, frame)
        try query("INSERT INTO hoop_audit_frames (chain, id, recorded_at, session, seq, type, frame, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                  [.text(chain), .int(id), .int(now), frame.session.map(SQLiteDB.Value.text) ?? .null,
                   frame.header.seq.map(SQLiteDB.Value.int) ?? .null, .text(frame.type), .blob(Data(frame.bytes)), .blob(hash)])
        lastID = id
        head = hash
    }

    public func commit(final: Bool) throws {
        let now = Date().timeIntervalSince1970
        let due = final || (lastID != lastCheckpoint.id && now - lastCheckpoint.at >= checkpointEvery)
        guard inTransaction || due else { return }
        if !inTransaction { try exec("BEGIN") }
        if due { try writeCheckpoint(kind: final ? "shutdown" : "interval") }
        inTransaction = false
        // synchronous_commit is the server's (on by default): COMMIT returns once durable.
        try exec("COMMIT")
    }

    private func writeCheckpoint(kind: String) throws {
        // Serialises with a prune of the same chain run elsewhere.
        let previous = try query("SELECT signature FROM hoop_audit_checkpoints WHERE chain = $1 ORDER BY id DESC LIMIT 1 FOR UPDATE",
                                 [.text(chain)]).first?["signature"]?.data ?? Data()
        let (at, keyID, signature) = AuditChain.sign(kind: kind, lastID: lastID, head: head, prunedThrough: nil,
                                                     previous: previous, signer: signer)
        try query("INSERT INTO hoop_audit_checkpoints (chain, at, kind, last_id, head, pruned_through, previous, key_id, signature) VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $8)",
                  [.text(chain), .int(at), .text(kind), .int(lastID), .blob(head), .blob(previous), .text(keyID), .blob(signature)])
        lastCheckpoint = (Double(at) / 1e6, lastID)
    }

    // MARK: libpq

    public func exec(_ sql: String) throws {
        let res = PQexec(conn, sql)
        defer { PQclear(res) }
        let st = PQresultStatus(res)
        guard st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK else { throw ConfigError("PostgreSQL audit store: \(Self.error(res))") }
    }

    /// One statement with text and binary (bytea) parameters; rows with the columns
    /// decoded by type (int8 → int, bytea → blob, else text).
    @discardableResult
    public func query(_ sql: String, _ params: [SQLiteDB.Value]) throws -> [SQLiteDB.Row] {
        try Self.query(conn, sql, params)
    }

    public static func query(_ conn: OpaquePointer, _ sql: String, _ params: [SQLiteDB.Value]) throws -> [SQLiteDB.Row] {
        var buffers: [Data?] = params.map { v in
            switch v {
            case .null: return nil
            case .int(let i): return Data(String(i).utf8)
            case .real(let d): return Data(String(d).utf8)
            case .text(let s): return Data(s.utf8)
            case .blob(let b): return b
            }
        }
        let formats: [Int32] = params.map { if case .blob = $0 { return 1 } else { return 0 } }
        let lengths: [Int32] = buffers.map { Int32($0?.count ?? 0) }
        let res: OpaquePointer? = withPointers(&buffers) { values in
            PQexecParams(conn, sql, Int32(params.count), nil, values, lengths, formats, 1)
        }
        defer { PQclear(res) }
        let st = PQresultStatus(res)
        guard st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK else { throw ConfigError("PostgreSQL audit store: \(error(res))") }
        var rows: [SQLiteDB.Row] = []
        for r in 0..<PQntuples(res) {
            var row: SQLiteDB.Row = [:]
            for c in 0..<PQnfields(res) {
                let name = String(cString: PQfname(res, c))
                if PQgetisnull(res, r, c) == 1 { row[name] = .null; continue }
                let n = Int(PQgetlength(res, r, c))
                let bytes = Data(bytes: PQgetvalue(res, r, c), count: n)
                switch PQftype(res, c) {
                case 20, 23, 21: row[name] = .int(bytes.withUnsafeBytes { p in
                    n == 8 ? Int64(bigEndian: p.loadUnaligned(as: Int64.self)) : n == 4 ? Int64(Int32(bigEndian: p.loadUnaligned(as: Int32.self)))
                        : Int64(Int16(bigEndian: p.loadUnaligned(as: Int16.self))) })
                case 17: row[name] = .blob(bytes)
                default: row[name] = .text(String(decoding: bytes, as: UTF8.self))
                }
            }
            rows.append(row)
        }
        return rows
    }

    public static func error(_ res: OpaquePointer?) -> String {
        // The SQLSTATE and the primary message only: never a value from the data.
        let code = PQresultErrorField(res, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? "?"
        return "SQLSTATE \(code)"
    }
}

private func withPointers<R>(_ buffers: inout [Data?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    // Pins each buffer while libpq reads it.
    let pinned: [UnsafeMutablePointer<CChar>?] = buffers.map { d in
        guard let d else { return nil }
        // A text parameter is read as a C string: NUL-terminated.
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: d.count + 1)
        d.withUnsafeBytes { raw in if let base = raw.baseAddress { memcpy(p, base, d.count) } }
        p[d.count] = 0
        return p
    }
    defer { pinned.forEach { $0?.deallocate() } }
    return body(pinned.map { $0.map { UnsafePointer($0) } })
}
