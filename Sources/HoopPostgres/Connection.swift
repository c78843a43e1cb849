import CLibPQ
import Foundation

/// C strings for libpq's keyword/value arrays, NULL-terminated, freed after `body`.
public func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafePointer<CChar>?] = strings.map { UnsafePointer(strdup($0)) }
    pointers.append(nil)
    defer { pointers.forEach { free(UnsafeMutablePointer(mutating: $0)) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// A blocking libpq connection for a stage's own fixed queries (never a client's): the
/// catalog reads of hoop-approve. Not thread-safe: its owner serialises calls.
public final class PostgresConnection {
    private var conn: OpaquePointer?
    private let keys: [String]
    private let values: [String]
    /// Keywords made again for each connection attempt, after the others (an IAM token).
    private let renewed: (() throws -> [(String, String)])?

    /// `conninfo` is expanded (libpq's dbname expansion); the other keywords follow it and win.
    public init(conninfo: String, keywords: [(String, String)], renewed: (() throws -> [(String, String)])? = nil) {
        keys = ["dbname"] + keywords.map(\.0)
        values = [conninfo] + keywords.map(\.1)
        self.renewed = renewed
    }

    deinit { close() }

    public func close() {
        if let conn { PQfinish(conn) }
        conn = nil
    }

    /// Connects when not connected. Throws the server's or libpq's message.
    public func connect() throws {
        if let conn, PQstatus(conn) == CONNECTION_OK { return }
        close()
        let fresh = try renewed?() ?? []
        conn = withCStrings(keys + fresh.map(\.0)) { k in withCStrings(values + fresh.map(\.1)) { v in PQconnectdbParams(k, v, 1) } }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = Self.message(conn)
            close()
            throw PostgresError(message)
        }
    }

    /// A statement that returns no rows (BEGIN, COMMIT…).
    public func execute(_ sql: String) throws {
        try connect()
        let res = PQexec(conn, sql)
        defer { PQclear(res) }
        guard PQresultStatus(res) == PGRES_COMMAND_OK else {
            let message = String(cString: PQresultErrorMessage(res)).trimmingCharacters(in: .whitespacesAndNewlines)
            if PQstatus(conn) != CONNECTION_OK { close() }
            throw PostgresError(message.isEmpty ? Self.message(conn) : message)
        }
    }

    /// The rows of one fixed query (text values, NULL as nil).
    public func rows(_ sql: String) throws -> [[String?]] {
        try connect()
        let res = PQexec(conn, sql)
        defer { PQclear(res) }
        guard PQresultStatus(res) == PGRES_TUPLES_OK else {
            let message = String(cString: PQresultErrorMessage(res)).trimmingCharacters(in: .whitespacesAndNewlines)
            if PQstatus(conn) != CONNECTION_OK { close() }
            throw PostgresError(message.isEmpty ? Self.message(conn) : message)
        }
        let n = PQntuples(res), m = PQnfields(res)
        return (0..<n).map { r in
            (0..<m).map { c in PQgetisnull(res, r, c) == 1 ? nil : String(cString: PQgetvalue(res, r, c)) }
        }
    }

    static func message(_ conn: OpaquePointer?) -> String {
        guard let conn, let m = PQerrorMessage(conn) else { return "could not connect" }
        return String(cString: m).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

public struct PostgresError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
