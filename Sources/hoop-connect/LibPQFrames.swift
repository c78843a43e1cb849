// libpq results, errors and parameters as frame values: rows straight from
// libpq's buffers, error fields by name, Bind parameters.
import CLibPQ
import Foundation
import HoopFrames
import HoopPostgres

/// The server parameters a client is told about (ParameterStatus), at start and on change.
let reportedParameters = [
    "application_name", "client_encoding", "DateStyle", "default_transaction_read_only", "in_hot_standby",
    "integer_datetimes", "IntervalStyle", "is_superuser", "server_encoding", "server_version",
    "session_authorization", "standard_conforming_strings", "TimeZone",
]

/// Every field of an error or notice, by the names of docs/frames.md.
func diagnosticFields(_ res: OpaquePointer?) -> [String: JSON] {
    var f: [String: JSON] = [:]
    for (name, code) in errorFieldCodes {
        if let v = PQresultErrorField(res, Int32(code)) { f[name] = .string(String(cString: v)) }
    }
    return f
}


extension RowsWriter {
    /// The one row of a single-row-mode result, straight from libpq's buffers: this is
    /// the hot path of every large result.
    mutating func append(_ res: OpaquePointer) {
        append(Int(PQnfields(res))) { libpqValue(res, $0) }
    }

    /// The row encoded on its own, for a portal that keeps it past a suspended Execute.
    static func encoded(_ res: OpaquePointer) -> [UInt8] {
        var w = JSONWriter(reserving: 256)
        w.row(Int(PQnfields(res))) { libpqValue(res, $0) }
        return w.bytes
    }
}

/// Column `i` of a single-row result's one row; nil for null.
private func libpqValue(_ res: OpaquePointer, _ i: Int) -> UnsafeBufferPointer<UInt8>? {
    guard PQgetisnull(res, 0, Int32(i)) == 0 else { return nil }
    let len = Int(PQgetlength(res, 0, Int32(i)))
    return UnsafeBufferPointer(start: UnsafeRawPointer(PQgetvalue(res, 0, Int32(i))).assumingMemoryBound(to: UInt8.self), count: len)
}

/// A Bind parameter as the frame carries it: text, binary (base64 in the frame), or null.
enum BindParameter {
    case null
    case text(String)
    case binary([UInt8])

    init(_ json: JSON) {
        switch json {
        case .string(let s): self = .text(s)
        case .object(let o):
            if let b64 = o["base64"]?.string, let data = Data(base64Encoded: b64) { self = .binary(Array(data)) } else { self = .null }
        default: self = .null
        }
    }
}

/// Lays parameters out as libpq's parallel arrays (values, lengths, formats).
func withBindParameters<R>(_ params: [BindParameter],
                           _ body: (UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?) -> R) -> R {
    var lengths: [Int32] = []
    var formats: [Int32] = []
    let pointers: [UnsafePointer<CChar>?] = params.map { p in
        switch p {
        case .null:
            lengths.append(0); formats.append(0); return nil
        case .text(let s):
            lengths.append(0); formats.append(0); return UnsafePointer(strdup(s))
        case .binary(let bytes):
            lengths.append(Int32(bytes.count)); formats.append(1)
            let buf = malloc(max(1, bytes.count))!
            bytes.withUnsafeBytes { raw in if let base = raw.baseAddress { memcpy(buf, base, raw.count) } }
            return UnsafePointer(buf.assumingMemoryBound(to: CChar.self))
        }
    }
    defer { pointers.forEach { free(UnsafeMutablePointer(mutating: $0)) } }
    guard !params.isEmpty else { return body(nil, nil, nil) }
    return pointers.withUnsafeBufferPointer { v in
        lengths.withUnsafeBufferPointer { l in formats.withUnsafeBufferPointer { f in body(v.baseAddress, l.baseAddress, f.baseAddress) } }
    }
}

/// The client's startup parameters that may shape the upstream session: display and
/// timing settings only. Anything that could change who the session is or what it may
/// do (role, session_authorization, default_transaction_read_only, …) is dropped here,
/// whether given as a parameter or inside `options`.
let allowedClientSettings: Set<String> = [
    "datestyle", "timezone", "intervalstyle", "extra_float_digits", "search_path", "statement_timeout",
    "lock_timeout", "idle_in_transaction_session_timeout", "bytea_output", "lc_messages", "lc_monetary",
    "lc_numeric", "lc_time", "geqo", "jit", "application_name",
]

func clientSettings(_ options: [String: JSON]) -> String {
    StartupSettings.final(options.compactMapValues(\.string))
        .filter { allowedClientSettings.contains($0.key) && $0.key != "application_name" }
        .sorted { $0.key < $1.key }
        .map { "-c \($0.key)=" + StartupSettings.escaped($0.value) }
        .joined(separator: " ")
}

