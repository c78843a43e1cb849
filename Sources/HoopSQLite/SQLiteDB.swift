import CSQLite
import Foundation
import HoopFrames

/// A thin SQLite connection: statements with bound values, rows as dictionaries.
/// Small on purpose: the stores' SQL is the interesting part. (hoop-record's hot
/// path keeps its own prepared insert; this serves its auditor's tools.)
public final class SQLiteDB: @unchecked Sendable {
    private var db: OpaquePointer?
    private let lock = NSRecursiveLock()

    public enum Value: Equatable, Sendable {
        case null, int(Int64), real(Double), text(String), blob(Data)
        public var string: String? { if case .text(let s) = self { return s } else { return nil } }
        public var data: Data? {
            switch self { case .blob(let d): return d; case .text(let s): return Data(s.utf8); default: return nil }
        }
        /// A REAL truncated toward zero (nil when out of Int64's range, not a trap).
        public var int: Int64? {
            switch self {
            case .int(let i): return i
            case .real(let d): return d.isFinite && abs(d) < 9.2e18 ? Int64(d) : nil
            default: return nil
            }
        }
        /// Only a value stored as an integer.
        public var integer: Int64? { if case .int(let i) = self { return i } else { return nil } }
        public var double: Double? {
            switch self { case .real(let d): return d; case .int(let i): return Double(i); default: return nil }
        }
    }
    public typealias Row = [String: Value]

    /// `busyTimeout`: how long a write waits for another process's (milliseconds).
    public init(path: String, busyTimeout: Int = 10_000) throws {
        // Private from the first byte (file, WAL and shared memory): the store holds
        // statements as asked, which may quote PHI.
        let old = umask(0o077)
        defer { umask(old) }
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nil) == SQLITE_OK else {
            throw ConfigError("cannot open store \(path): \(message)")
        }
        chmod(path, 0o600)
        // The wait first: switching to WAL takes a lock another writer may hold.
        sqlite3_busy_timeout(db, Int32(clamping: busyTimeout))
        try exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
    }

    deinit { sqlite3_close_v2(db) }

    var message: String { db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory" }

    public func exec(_ sql: String) throws {
        lock.lock(); defer { lock.unlock() }
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw ConfigError("store: \(message)") }
    }

    /// Runs one statement; returns its rows.
    @discardableResult
    public func query(_ sql: String, _ values: [Value] = []) throws -> [Row] {
        lock.lock(); defer { lock.unlock() }
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK else { throw ConfigError("store: \(message)") }
        defer { sqlite3_finalize(stmt) }
        for (i, v) in values.enumerated() {
            let n = Int32(i + 1)
            switch v {
            case .null: sqlite3_bind_null(stmt, n)
            case .int(let x): sqlite3_bind_int64(stmt, n, x)
            case .real(let x): sqlite3_bind_double(stmt, n, x)
            case .text(let s): sqlite3_bind_text(stmt, n, s, -1, transient)
            case .blob(let d): _ = d.withUnsafeBytes { sqlite3_bind_blob(stmt, n, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(d.count), transient) }
            }
        }
        var rows: [Row] = []
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw ConfigError("store: \(message)") }
            var row: Row = [:]
            for c in 0..<sqlite3_column_count(stmt) {
                let name = String(cString: sqlite3_column_name(stmt, c))
                switch sqlite3_column_type(stmt, c) {
                case SQLITE_INTEGER: row[name] = .int(sqlite3_column_int64(stmt, c))
                case SQLITE_FLOAT: row[name] = .real(sqlite3_column_double(stmt, c))
                case SQLITE_NULL: row[name] = .null
                case SQLITE_BLOB:
                    let n = Int(sqlite3_column_bytes(stmt, c))
                    row[name] = .blob(n == 0 ? Data() : Data(bytes: sqlite3_column_blob(stmt, c), count: n))
                default: row[name] = .text(String(cString: sqlite3_column_text(stmt, c)))
                }
            }
            rows.append(row)
        }
        return rows
    }

    /// Runs `body` in one IMMEDIATE transaction (a writer at a time across processes).
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        lock.lock(); defer { lock.unlock() }
        try exec("BEGIN IMMEDIATE")
        do {
            let r = try body()
            try exec("COMMIT")
            return r
        } catch {
            try? exec("ROLLBACK")
            throw error
        }
    }

    /// Changes whenever another connection commits: a cheap "anything new?" poll.
    public var dataVersion: Int64 { (try? query("PRAGMA data_version").first?["data_version"]?.int) ?? 0 }
}

private let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
