import CSQLite
import Crypto
import Foundation
import HoopFrames

/// The embedded audit store: one SQLite file in WAL mode, one row per frame, in the
/// order hoop-record read them, each row's SHA-256 chained to the one before, and
/// signed checkpoints over the chain's head (docs/audit.md).
public final class AuditStore {
    private var db: OpaquePointer?
    private var insert: OpaquePointer?
    /// BEGIN IMMEDIATE and COMMIT, prepared once: they run with every group commit.
    private var begin: OpaquePointer?
    private var commitStatement: OpaquePointer?
    private var inTransaction = false
    public let signer: Curve25519.Signing.PrivateKey?

    /// The chain's head: the last record's id and hash.
    private(set) var lastID: Int64 = 0
    private(set) var head = AuditChain.genesis
    private var lastCheckpoint: (at: Double, id: Int64, signature: Data) = (0, 0, Data())
    public let checkpointEvery: Double
    public let checkpointFrames: Int64

    /// The session index's key begins with the record's stretch, `id >> stretchBits`
    /// (256 records), then the session: a group commit's entries share the last
    /// stretch's one or two leaf pages, where an index by session first dirtied a leaf
    /// per active session on every commit (most of the pages written and synced). A
    /// reader finds a session's records stretch by stretch (`sessionRecordsSQL`). SQLite's
    /// integrity check, which `hoop-audit verify` runs, covers it like any index.
    public static let stretchBits = 8

    /// As SQLite keeps it in sqlite_master: an index of this name made otherwise (an
    /// edited store) is made again at the next open, so the tools' walk keeps its speed.
    public static let stretchIndex = "CREATE INDEX frames_by_stretch ON frames ((id >> \(stretchBits)), session)"

    public static let schema = """
        CREATE TABLE IF NOT EXISTS frames (
            id          INTEGER PRIMARY KEY,
            recorded_at INTEGER NOT NULL,   -- microseconds since the Unix epoch
            session     TEXT,
            seq         INTEGER,
            type        TEXT NOT NULL,
            frame       BLOB NOT NULL,      -- the line as received, byte for byte
            hash        BLOB                -- SHA-256 of this record chained to the previous one's
        );
        \(stretchIndex.replacingOccurrences(of: "CREATE INDEX", with: "CREATE INDEX IF NOT EXISTS"));
        DROP INDEX IF EXISTS frames_by_session;  -- a store from before the stretch index
        CREATE TABLE IF NOT EXISTS checkpoints (
            id            INTEGER PRIMARY KEY,
            at            INTEGER NOT NULL,  -- microseconds since the Unix epoch
            kind          TEXT NOT NULL,     -- start | interval | shutdown | prune
            last_id       INTEGER NOT NULL,  -- the last record it covers
            head          BLOB NOT NULL,     -- that record's hash (the chain's head)
            pruned_through INTEGER,          -- prune: records up to this id were removed
            previous      BLOB NOT NULL,     -- the previous checkpoint's signature
            key_id        TEXT NOT NULL,     -- SHA-256 of the public key, hex (first 16)
            signature     BLOB NOT NULL      -- Ed25519 over AuditChain.checkpointMessage
        );
        """

    /// A walk over the stretch index: the records of one session in stretches `first`
    /// through `last`, after a record id, that meet `condition`, in id order. Bound
    /// values in this order: first, last, the session, the id, then the condition's.
    public static func sessionRecordsSQL(columns: String, condition: String) -> String {
        """
        WITH RECURSIVE walk(stretch) AS (SELECT ? UNION ALL SELECT stretch + 1 FROM walk WHERE stretch < ?)
        SELECT \(columns) FROM walk CROSS JOIN frames ON (frames.id >> \(stretchBits)) = walk.stretch AND frames.session = ?
        WHERE frames.id > ? AND (\(condition)) ORDER BY frames.id
        """
    }

    public init(path: String, signer: Curve25519.Signing.PrivateKey?, checkpointEvery: Double = 10, checkpointFrames: Int64 = 10_000) throws {
        self.signer = signer
        self.checkpointEvery = checkpointEvery
        self.checkpointFrames = checkpointFrames
        let old = umask(0o077)   // the store holds what clients received: private from the first byte
        defer { umask(old) }
        // No mutex of SQLite's own: one thread at a time uses a store (hoop-record holds its
        // lock around every call, its SIGTERM handler's too), and its hot path makes three
        // or more calls a frame.
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK else {
            throw ConfigError("cannot open audit store \(path): \(message)")
        }
        // FULL: a commit is on disk before the frames it holds are forwarded.
        // 4 KiB pages (SQLite's default; a new store's): a small group commit dirties two
        // or three pages (the frames' leaf, the index's), written whole to the WAL; 16 KiB
        // pages cost a lone client's commit 10 to 15 % more CPU (scripts/bench audit's
        // lock-step, and a lock-step of one transaction's five frames: 148 -> 125 µs).
        try exec("PRAGMA page_size=4096; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;")
        if let made = try text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'frames_by_stretch'"),
           made != Self.stretchIndex {
            // One transaction: a rebuild that fails leaves the index as it was.
            try exec("BEGIN IMMEDIATE; DROP INDEX frames_by_stretch; \(Self.schema) COMMIT;")
        } else {
            try exec(Self.schema)
        }
        if try !hasColumn("frames", "hash") { try exec("ALTER TABLE frames ADD COLUMN hash BLOB") }   // a store from before the chain
        guard sqlite3_prepare_v2(db, "INSERT INTO frames (id, recorded_at, session, seq, type, frame, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 -1, &insert, nil) == SQLITE_OK else {
            throw ConfigError("cannot prepare insert: \(message)")
        }
        guard sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, nil) == SQLITE_OK,
              sqlite3_prepare_v2(db, "COMMIT", -1, &commitStatement, nil) == SQLITE_OK else {
            throw ConfigError("cannot prepare BEGIN and COMMIT: \(message)")
        }
        try loadHead()
        // A start checkpoint signs the head as found: records removed while the
        // recorder was stopped then show between two checkpoints.
        try exec("BEGIN IMMEDIATE")
        try writeCheckpoint(kind: "start")
        try exec("COMMIT")
    }

    deinit {
        sqlite3_finalize(insert)
        sqlite3_finalize(begin)
        sqlite3_finalize(commitStatement)
        sqlite3_close_v2(db)
    }

    public var message: String { db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory" }

    public func exec(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw ConfigError("audit store: \(message)") }
    }

    /// Runs a prepared statement that returns no rows (BEGIN, COMMIT).
    private func run(_ statement: OpaquePointer?) throws {
        defer { sqlite3_reset(statement) }
        guard sqlite3_step(statement) == SQLITE_DONE else { throw ConfigError("audit store: \(message)") }
    }

    /// The first column of the first row of a query without parameters, as text.
    private func text(_ sql: String) throws -> String? {
        var st: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &st, nil) == SQLITE_OK else { throw ConfigError("audit store: \(message)") }
        defer { sqlite3_finalize(st) }
        guard sqlite3_step(st) == SQLITE_ROW, let p = sqlite3_column_text(st, 0) else { return nil }
        return String(cString: p)
    }

    private func hasColumn(_ table: String, _ column: String) throws -> Bool {
        var st: OpaquePointer?
        guard sqlite3_prepare_v2(db, "PRAGMA table_info(\(table))", -1, &st, nil) == SQLITE_OK else { throw ConfigError("audit store: \(message)") }
        defer { sqlite3_finalize(st) }
        while sqlite3_step(st) == SQLITE_ROW { if String(cString: sqlite3_column_text(st, 1)) == column { return true } }
        return false
    }

    /// The last record and the last checkpoint, where the chain goes on from.
    private func loadHead() throws {
        var st: OpaquePointer?
        sqlite3_prepare_v2(db, "SELECT id, hash FROM frames ORDER BY id DESC LIMIT 1", -1, &st, nil)
        if sqlite3_step(st) == SQLITE_ROW {
            lastID = sqlite3_column_int64(st, 0)
            if let p = sqlite3_column_blob(st, 1) { head = Data(bytes: p, count: Int(sqlite3_column_bytes(st, 1))) }
        }
        sqlite3_finalize(st)
        guard (0..<AuditChain.idCeiling).contains(lastID) else {
            throw ConfigError("audit store: its last record's id (\(lastID)) is past any a recorder writes: the store was written by something else (hoop-audit verify names it)")
        }
        if lastID == 0 {
            // Everything may have been pruned: the chain goes on from the last prune.
            sqlite3_prepare_v2(db, "SELECT last_id, head FROM checkpoints WHERE kind = 'prune' ORDER BY id DESC LIMIT 1", -1, &st, nil)
            if sqlite3_step(st) == SQLITE_ROW, let p = sqlite3_column_blob(st, 1) {
                lastID = sqlite3_column_int64(st, 0)
                head = Data(bytes: p, count: Int(sqlite3_column_bytes(st, 1)))
            }
            sqlite3_finalize(st)
        }
        sqlite3_prepare_v2(db, "SELECT at, last_id, signature FROM checkpoints ORDER BY id DESC LIMIT 1", -1, &st, nil)
        if sqlite3_step(st) == SQLITE_ROW, let p = sqlite3_column_blob(st, 2) {
            lastCheckpoint = (Double(sqlite3_column_int64(st, 0)) / 1e6, sqlite3_column_int64(st, 1),
                              Data(bytes: p, count: Int(sqlite3_column_bytes(st, 2))))
        }
        sqlite3_finalize(st)
    }

    public func append(_ frame: RawFrame) throws {
        if !inTransaction { try run(begin); inTransaction = true }
        let (id, now, hash) = AuditChain.next(after: head, lastID: lastID, frame)
        sqlite3_bind_int64(insert, 1, id)
        sqlite3_bind_int64(insert, 2, now)
        if let s = frame.session { sqlite3_bind_text(insert, 3, s, -1, SQLITE_TRANSIENT) } else { sqlite3_bind_null(insert, 3) }
        if let q = frame.header.seq { sqlite3_bind_int64(insert, 4, q) } else { sqlite3_bind_null(insert, 4) }
        sqlite3_bind_text(insert, 5, frame.type, -1, SQLITE_TRANSIENT)
        // STATIC is safe: the row is stepped before the caller's buffer moves.
        sqlite3_bind_blob(insert, 6, frame.bytes.baseAddress, Int32(frame.bytes.count), nil)
        hash.withUnsafeBytes { _ = sqlite3_bind_blob(insert, 7, $0.baseAddress, 32, SQLITE_TRANSIENT) }
        defer { sqlite3_reset(insert) }
        guard sqlite3_step(insert) == SQLITE_DONE else { throw ConfigError("audit store append: \(message)") }
        lastID = id
        head = hash
    }

    /// Group commit: every frame appended since the last commit becomes durable at once,
    /// with a signed checkpoint when one is due.
    public func commit(final: Bool = false) throws {
        let now = Date().timeIntervalSince1970
        let due = final || (lastID != lastCheckpoint.id
            && (now - lastCheckpoint.at >= checkpointEvery || lastID - lastCheckpoint.id >= checkpointFrames))
        guard inTransaction || due else { return }
        if !inTransaction { try run(begin) }
        if due { try writeCheckpoint(kind: final ? "shutdown" : "interval") }
        inTransaction = false
        try run(commitStatement)
    }

    private func writeCheckpoint(kind: String, prunedThrough: Int64? = nil) throws {
        // The previous checkpoint as stored (a prune by another process may have come
        // between): read inside this write transaction.
        var prev: OpaquePointer?
        sqlite3_prepare_v2(db, "SELECT signature FROM checkpoints ORDER BY id DESC LIMIT 1", -1, &prev, nil)
        if sqlite3_step(prev) == SQLITE_ROW {
            let n = Int(sqlite3_column_bytes(prev, 0))
            lastCheckpoint.signature = n == 0 ? Data() : Data(bytes: sqlite3_column_blob(prev, 0), count: n)
        }
        sqlite3_finalize(prev)
        let (at, keyID, signature) = AuditChain.sign(kind: kind, lastID: lastID, head: head, prunedThrough: prunedThrough,
                                                     previous: lastCheckpoint.signature, signer: signer)
        var st: OpaquePointer?
        sqlite3_prepare_v2(db, "INSERT INTO checkpoints (at, kind, last_id, head, pruned_through, previous, key_id, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           -1, &st, nil)
        defer { sqlite3_finalize(st) }
        sqlite3_bind_int64(st, 1, at)
        sqlite3_bind_text(st, 2, kind, -1, SQLITE_TRANSIENT)
        sqlite3_bind_int64(st, 3, lastID)
        head.withUnsafeBytes { _ = sqlite3_bind_blob(st, 4, $0.baseAddress, Int32($0.count), SQLITE_TRANSIENT) }
        if let prunedThrough { sqlite3_bind_int64(st, 5, prunedThrough) } else { sqlite3_bind_null(st, 5) }
        lastCheckpoint.signature.withUnsafeBytes { _ = sqlite3_bind_blob(st, 6, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32($0.count), SQLITE_TRANSIENT) }
        sqlite3_bind_text(st, 7, keyID, -1, SQLITE_TRANSIENT)
        signature.withUnsafeBytes { _ = sqlite3_bind_blob(st, 8, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32($0.count), SQLITE_TRANSIENT) }
        guard sqlite3_step(st) == SQLITE_DONE else { throw ConfigError("audit store checkpoint: \(message)") }
        lastCheckpoint = (Double(at) / 1e6, lastID, signature)
    }
}

public let SQLITE_TRANSIENT = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

/// The chain's arithmetic, shared by the recorder and the verifier.
public enum AuditChain {
    public static let genesis = Data(count: 32)
    public static let recordDomain = Data("hoop-audit-v1".utf8)
    /// Record ids count from 1 by one and stay below this (no store reaches 2^62
    /// records): an id at or past it, or a checkpoint naming one, was written by
    /// something else. Bounding them keeps every id sum in the tools in range.
    public static let idCeiling: Int64 = 1 << 62

    /// The next record of the chain for `frame`: its id, time (µs) and hash.
    public static func next(after head: Data, lastID: Int64, _ frame: RawFrame) -> (id: Int64, recordedAt: Int64, hash: Data) {
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
        let id = lastID + 1
        return (id, now, hash(previous: head, id: id, recordedAt: now, session: frame.session, seq: frame.header.seq,
                              type: frame.type, frame: frame.bytes))
    }

    /// SHA-256 over the previous hash and every column of the record, each length-
    /// prefixed, so that no column can be changed or moved without the hash changing.
    public static func hash(previous: Data, id: Int64, recordedAt: Int64, session: String?, seq: Int64?, type: String,
                     frame: UnsafeRawBufferPointer) -> Data {
        var h = SHA256()
        h.update(data: recordDomain)
        h.update(data: previous)
        func int(_ v: Int64) { withUnsafeBytes(of: v.bigEndian) { h.update(bufferPointer: $0) } }
        func bytes(_ b: UnsafeRawBufferPointer) { int(Int64(b.count)); h.update(bufferPointer: b) }
        int(id); int(recordedAt)
        var s = session ?? ""
        int(session == nil ? -1 : 0); s.withUTF8 { bytes(UnsafeRawBufferPointer($0)) }
        int(seq ?? Int64.min)
        var t = type
        t.withUTF8 { bytes(UnsafeRawBufferPointer($0)) }
        bytes(frame)
        return Data(h.finalize())
    }

    public static func checkpointMessage(at: Int64, kind: String, lastID: Int64, head: Data, prunedThrough: Int64?, previous: Data,
                                  keyID: String) -> Data {
        var d = Data("hoop-checkpoint-v1".utf8)
        func int(_ v: Int64) { withUnsafeBytes(of: v.bigEndian) { d.append(contentsOf: $0) } }
        func bytes(_ b: Data) { int(Int64(b.count)); d.append(b) }
        int(at); bytes(Data(kind.utf8)); int(lastID); bytes(head); int(prunedThrough ?? -1); bytes(previous); bytes(Data(keyID.utf8))
        return d
    }

    /// A checkpoint's time, key id and signature, made now. Without a key it is
    /// unsigned (an empty signature), and verify says so.
    public static func sign(kind: String, lastID: Int64, head: Data, prunedThrough: Int64?, previous: Data,
                     signer: Curve25519.Signing.PrivateKey?) -> (at: Int64, keyID: String, signature: Data) {
        let at = Int64(Date().timeIntervalSince1970 * 1_000_000)
        let keyID = signer.map { Self.keyID($0.publicKey) } ?? "unsigned"
        let message = checkpointMessage(at: at, kind: kind, lastID: lastID, head: head, prunedThrough: prunedThrough,
                                        previous: previous, keyID: keyID)
        return (at, keyID, (try? signer?.signature(for: message)) ?? Data())
    }

    public static func keyID(_ key: Curve25519.Signing.PublicKey) -> String {
        SHA256.hash(data: key.rawRepresentation).prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}
