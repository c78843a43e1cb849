import CSQLite
import Foundation
import HoopFrames

/// The embedded audit store: one SQLite file in WAL mode, one row per frame, in the
/// order hoop-record read them. Issue 6 adds the hash chain and the auditor's tools.
final class AuditStore {
    private var db: OpaquePointer?
    private var insert: OpaquePointer?
    private var inTransaction = false

    static let schema = """
        CREATE TABLE IF NOT EXISTS frames (
            id          INTEGER PRIMARY KEY,
            recorded_at INTEGER NOT NULL,   -- microseconds since the Unix epoch
            session     TEXT,
            seq         INTEGER,
            type        TEXT NOT NULL,
            frame       BLOB NOT NULL       -- the line as received, byte for byte
        );
        CREATE INDEX IF NOT EXISTS frames_by_session ON frames (session, id);
        """

    init(path: String) throws {
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nil) == SQLITE_OK else {
            throw ConfigError("cannot open audit store \(path): \(message)")
        }
        // FULL: a commit is on disk before the frames it holds are forwarded.
        // Larger pages: a group commit writes each dirty page to the WAL with its own
        // write call, so fewer, larger pages cost fewer calls (takes effect on a new store).
        try exec("PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;")
        try exec(Self.schema)
        guard sqlite3_prepare_v2(db, "INSERT INTO frames (recorded_at, session, seq, type, frame) VALUES (?, ?, ?, ?, ?)",
                                 -1, &insert, nil) == SQLITE_OK else {
            throw ConfigError("cannot prepare insert: \(message)")
        }
    }

    deinit {
        sqlite3_finalize(insert)
        sqlite3_close_v2(db)
    }

    var message: String { db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory" }

    func exec(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw ConfigError("audit store: \(message)") }
    }

    func append(_ frame: RawFrame) throws {
        if !inTransaction { try exec("BEGIN IMMEDIATE"); inTransaction = true }
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
        sqlite3_bind_int64(insert, 1, now)
        if let s = frame.session { sqlite3_bind_text(insert, 2, s, -1, SQLITE_TRANSIENT) } else { sqlite3_bind_null(insert, 2) }
        if let q = frame.header.seq { sqlite3_bind_int64(insert, 3, q) } else { sqlite3_bind_null(insert, 3) }
        sqlite3_bind_text(insert, 4, frame.type, -1, SQLITE_TRANSIENT)
        // STATIC is safe: the row is stepped before the caller's buffer moves.
        sqlite3_bind_blob(insert, 5, frame.bytes.baseAddress, Int32(frame.bytes.count), nil)
        defer { sqlite3_reset(insert) }
        guard sqlite3_step(insert) == SQLITE_DONE else { throw ConfigError("audit store append: \(message)") }
    }

    /// Group commit: every frame appended since the last commit becomes durable at once.
    func commit() throws {
        guard inTransaction else { return }
        inTransaction = false
        try exec("COMMIT")
    }
}

let SQLITE_TRANSIENT = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
