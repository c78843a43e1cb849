import ArgumentParser
import Foundation
import HoopAudit
import HoopFrames
import HoopSQLite

// The auditor's tools over the audit store: sessions, show, replay (Replay.swift),
// export. They print what the store holds: results as the client received them
// (already masked), and requests as the client sent them, which may quote PHI
// literals (`WHERE ssn = '…'`). The store never holds a token or a password.

let phiNote = "The output holds what the store holds: results as the client received them (masked), and requests as the client sent them, which may quote PHI literals: treat it like the store."

// MARK: reading the store

/// One record of the `frames` table.
struct StoredFrame {
    let id: Int64
    let recordedAt: Int64   // microseconds since the Unix epoch
    let session: String?
    let seq: Int64?
    let type: String
    let bytes: Data
    let hash: Data?

    /// The frame's JSON text, without trailing whitespace (a line as received).
    var text: Data {
        var end = bytes.endIndex
        while end > bytes.startIndex, [0x0A, 0x0D, 0x20, 0x09].contains(bytes[bytes.index(before: end)]) { end = bytes.index(before: end) }
        return bytes[bytes.startIndex..<end]
    }

    func decode() -> Frame? { bytes.withUnsafeBytes { try? Frame.decode($0) } }
}

/// The audit store opened for reading (the tools never write: `query_only`).
final class AuditReader {
    let db: SQLiteDB
    /// At most about this many bytes of frames are held in memory at once.
    var pageBytes = 8 << 20
    var pageRows = 2000

    init(_ options: StoreOptions) throws {
        let path = options.storePath()
        guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("no audit store at \(path)") }
        db = try SQLiteDB(path: path)
        try? db.exec("PRAGMA query_only=1")
    }

    /// Every record matching `condition` (SQL over the frames table, with `values`),
    /// of one session when `session` is given, in id order, a page at a time: each page
    /// is a short read of its own, so a slow reader (a replay at its original pace)
    /// never holds a read transaction open. `body` returns false to stop; `limit` says
    /// how many records the caller wants at most (a lookup of one), so that no more of
    /// the store is walked for them.
    func forEach(after start: Int64 = 0, session: String? = nil, where condition: String = "1", _ values: [SQLiteDB.Value] = [],
                 limit: Int? = nil, _ body: (StoredFrame) throws -> Bool) throws {
        var after = start
        var left = limit ?? Int.max
        while left > 0 {
            // Sizes first (length() of a blob does not read it), so that a page of big
            // frames stays within the budget.
            let sizes = try pageSizes(after: after, session: session, condition, values, wanted: min(left, pageRows))
            guard !sizes.isEmpty else { return }
            var ids: [Int64] = []
            var total = 0
            for r in sizes.prefix(left) {
                let n = Int(r["n"]?.int ?? 0)
                if total > 0 && total + n > pageBytes { break }
                total += n
                if let id = r["id"]?.int { ids.append(id) }
            }
            guard let last = ids.last else { return }
            let rows = try db.query("SELECT id, recorded_at, session, seq, type, frame, hash FROM frames WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
                                    [.text("[" + ids.map(String.init).joined(separator: ",") + "]")])
            for r in rows {
                let f = StoredFrame(id: r["id"]?.int ?? 0, recordedAt: r["recorded_at"]?.int ?? 0, session: r["session"]?.string,
                                    seq: r["seq"]?.int, type: r["type"]?.string ?? "", bytes: r["frame"]?.data ?? Data(),
                                    hash: r["hash"]?.data)
                if try !body(f) { return }
            }
            left -= ids.count
            after = last
        }
    }

    /// The ids and sizes of the next records after `after`: `wanted` of them, or more.
    private func pageSizes(after: Int64, session: String?, _ condition: String, _ values: [SQLiteDB.Value], wanted: Int) throws -> [SQLiteDB.Row] {
        guard let session, try stretchIndexed() else {
            let sessionValues: [SQLiteDB.Value] = session.map { [.text($0)] } ?? []
            return try db.query("SELECT id, length(frame) AS n FROM frames WHERE id > ? AND \(session == nil ? "" : "session = ? AND ")(\(condition)) ORDER BY id LIMIT \(wanted)",
                                [.int(after)] + sessionValues + values)
        }
        // The stretch index (AuditStore.stretchBits), 64 stretches a query. Each query
        // begins at the stretch of the next record of any session (a seek by id), so a
        // gap in the ids (a prune, a forged record far ahead) costs one seek, not a walk.
        let bits = Int64(AuditStore.stretchBits)
        let sql = AuditStore.sessionRecordsSQL(columns: "id, length(frame) AS n", condition: condition)
        var rows: [SQLiteDB.Row] = []
        var from = after
        while rows.count < wanted,
              let next = try db.query("SELECT min(id) AS id FROM frames WHERE id > ?", [.int(from)]).first?["id"]?.int {
            let stretch = next >> bits, end = stretch + 63
            rows += try db.query(sql, [.int(stretch), .int(end), .text(session), .int(after)] + values)
            if end >= Int64.max >> bits { break }   // the last stretch an id can be in
            from = ((end + 1) << bits) - 1
        }
        return rows
    }

    /// Whether the store has the stretch index (hoop-record makes it when it opens a
    /// store; a copy of an older store has an index by session first), as made: one of
    /// that name over other columns (an edited store) is not walked.
    private func stretchIndexed() throws -> Bool {
        if let known = stretchIndex { return known }
        let found = try db.query("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'frames_by_stretch'")
            .first?["sql"]?.string == AuditStore.stretchIndex
        stretchIndex = found
        return found
    }
    private var stretchIndex: Bool?

    /// Ends the command (exit 1, said on stderr) when the store has no record of the session.
    func requireSession(_ id: String) throws {
        guard try hasSession(id) else {
            FileHandle.standardError.write(Data("hoop-audit: no session \(id) in the store\n".utf8))
            throw ExitCode(1)
        }
    }

    /// Whether the store has any record of this session.
    func hasSession(_ id: String) throws -> Bool {
        try !pageSizes(after: 0, session: id, "1", [], wanted: 1).isEmpty
    }
}

/// Buffered standard output (rows can be many).
final class Output {
    private var buffer: [UInt8] = []
    init() { buffer.reserveCapacity(1 << 16) }
    func write(_ s: String) {
        buffer.append(contentsOf: s.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }
    func write<B: Sequence>(bytes: B) where B.Element == UInt8 {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { flush() }
    }
    func line(_ s: String) { write(s); write("\n") }
    func flush() {
        if !buffer.isEmpty {
            buffer.withUnsafeBytes { _ = fwrite($0.baseAddress, 1, $0.count, stdout) }
            buffer.removeAll(keepingCapacity: true)
        }
        fflush(stdout)
    }
}

// MARK: time

enum AuditTime {
    private static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// ISO 8601 in UTC: `2026-11-26T10:00:00.123456Z` (digits: 6, 3 or 0 fraction digits).
    static func iso(_ micros: Int64, digits: Int = 6) -> String {
        var secs = micros / 1_000_000
        var frac = micros % 1_000_000
        if frac < 0 { frac += 1_000_000; secs -= 1 }
        var t = time_t(secs)
        var tm = tm()
        gmtime_r(&t, &tm)
        var s = pad(Int(tm.tm_year) + 1900, 4) + "-" + pad(Int(tm.tm_mon) + 1, 2) + "-" + pad(Int(tm.tm_mday), 2)
            + "T" + pad(Int(tm.tm_hour), 2) + ":" + pad(Int(tm.tm_min), 2) + ":" + pad(Int(tm.tm_sec), 2)
        if digits >= 6 { s += "." + pad(Int(frac), 6) } else if digits >= 3 { s += "." + pad(Int(frac / 1000), 3) }
        return s + "Z"
    }

    /// For people: milliseconds.
    static func human(_ micros: Int64) -> String { iso(micros, digits: 3) }

    /// `YYYY-MM-DD` (midnight UTC; with `endOfDay`, the next midnight: an --until date
    /// includes that day) or ISO 8601 `YYYY-MM-DDTHH:MM[:SS[.fff]][Z|±HH:MM]` (no zone:
    /// UTC). Microseconds since the epoch.
    static func parse(_ text: String, endOfDay: Bool = false) throws -> Int64 {
        let s = text.trimmingCharacters(in: .whitespaces)
        let pattern = #"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$"#
        let re = try NSRegularExpression(pattern: pattern)
        let ns = s as NSString
        guard let m = re.firstMatch(in: s, range: NSRange(location: 0, length: ns.length)) else {
            throw ValidationError("\(text): not a time (give YYYY-MM-DD or ISO 8601, e.g. 2026-11-26T10:00:00Z)")
        }
        func group(_ i: Int) -> String? {
            let r = m.range(at: i)
            return r.location == NSNotFound ? nil : ns.substring(with: r)
        }
        var tm = tm()
        tm.tm_year = Int32(group(1)!)! - 1900
        tm.tm_mon = Int32(group(2)!)! - 1
        tm.tm_mday = Int32(group(3)!)!
        let hasTime = group(4) != nil
        tm.tm_hour = Int32(group(4) ?? "0")!
        tm.tm_min = Int32(group(5) ?? "0")!
        tm.tm_sec = Int32(group(6) ?? "0")!
        guard (1...12).contains(tm.tm_mon + 1), (1...31).contains(tm.tm_mday), tm.tm_hour < 24, tm.tm_min < 60, tm.tm_sec < 61 else {
            throw ValidationError("\(text): not a valid date and time")
        }
        var secs = Int64(timegm(&tm))
        if let z = group(8), z != "Z", z != "z" {
            let sign: Int64 = z.hasPrefix("-") ? -1 : 1
            let digits = z.dropFirst().filter(\.isNumber)
            let hh = Int64(digits.prefix(2)) ?? 0
            let mm = Int64(digits.dropFirst(2).prefix(2)) ?? 0
            secs -= sign * (hh * 3600 + mm * 60)
        }
        var micros = secs * 1_000_000
        if let f = group(7) { micros += Int64((f + "000000").prefix(6))! }
        if endOfDay && !hasTime { micros += 86_400 * 1_000_000 }
        return micros
    }

    static func duration(_ micros: Int64) -> String {
        if micros < 1_000_000 { return String(format: "%.1f ms", Double(micros) / 1000) }
        return String(format: "%.3f s", Double(micros) / 1e6)
    }
}

/// --since / --until, shared.
struct TimeWindow: ParsableArguments {
    @Option(help: "From this time: YYYY-MM-DD (UTC) or ISO 8601 (e.g. 2026-11-26T10:00:00Z; no zone means UTC).")
    var since: String?
    @Option(help: "Before this time (a bare date includes that whole day).")
    var until: String?

    func bounds() throws -> (since: Int64?, until: Int64?) {
        (try since.map { try AuditTime.parse($0) }, try until.map { try AuditTime.parse($0, endOfDay: true) })
    }
}

// MARK: JSON helpers

func jsonObject(_ pairs: [(String, JSON?)]) -> JSON {
    var o: [String: JSON] = [:]
    for (k, v) in pairs { if let v { o[k] = v } }
    return .object(o)
}

extension JSON {
    /// A field for people: strings as they are, anything else as JSON.
    var text: String {
        switch self {
        case .string(let s): return s
        case .null: return ""
        default: return encodedLine
        }
    }
}

// MARK: sessions

/// What one pass over a session's frames says about it: who, where, how it ended.
struct SessionFacts {
    let id: String
    var firstID: Int64 = 0
    var started: Int64 = 0
    var ended: Int64 = 0
    var frames = 0
    var open: Frame?              // session_open (after hoop-auth: identity, decision)
    var opened = false            // session_opened (hoop-connect's answer)
    var closeReason: String?
    var closed = false            // session_closed
    var fatal: Frame?             // the first fatal error
    var requester: JSON?          // a decision's requester (a session refused before its session_open was recorded)
    var requests = 0              // statements: distinct seqs of query, execute, hold, deny, refused
    private var lastRequestSeq: Int64 = -1
    var holds = 0
    var denials = 0
    /// Records whose frame was read and is not one (an edited store): named, not passed over.
    var unreadable: [Int64] = []

    init(id: String) { self.id = id }

    static let detailTypes = [FrameType.sessionOpen, FrameType.error, FrameType.sessionClose, FrameType.decision]

    /// `loaded`: the record's frame was read (`sessions` reads only detailTypes' frames).
    mutating func absorb(_ r: StoredFrame, decoded: Frame?, loaded: Bool = true) {
        if frames == 0 { firstID = r.id; started = r.recordedAt }
        frames += 1
        if loaded && decoded == nil { unreadable.append(r.id) }
        started = min(started, r.recordedAt)
        ended = max(ended, r.recordedAt)
        switch r.type {
        case FrameType.query, FrameType.execute, FrameType.call, FrameType.hold, FrameType.deny, FrameType.refused:
            // A request's frames come together (the requests behind a held one wait).
            if let s = r.seq, s > 0, s != lastRequestSeq { requests += 1; lastRequestSeq = s }
        default: break
        }
        switch r.type {
        case FrameType.hold: holds += 1
        case FrameType.deny, FrameType.refused: denials += 1
        case FrameType.sessionOpened: opened = true
        case FrameType.sessionClosed: closed = true
        case FrameType.sessionOpen:
            if open == nil, var f = decoded {
                f["options"] = nil   // the startup parameters: not needed here
                open = f
            }
        case FrameType.sessionClose: if closeReason == nil { closeReason = decoded?["reason"]?.string ?? "" }
        case FrameType.decision: if requester == nil { requester = decoded?["requester"] }
        case FrameType.error:
            if fatal == nil, let f = decoded, Self.isFatal(f) { fatal = f }
        default: break
        }
    }

    static func isFatal(_ f: Frame) -> Bool {
        if f["fatal"]?.bool == true { return true }
        let sev = f["severity_nonlocalized"]?.string ?? f["severity"]?.string ?? ""
        return sev == "FATAL" || sev == "PANIC" || f["stage"] != nil
    }

    var identity: JSON? { open?["identity"] ?? requester }
    var user: String? { identity?["user"]?.string ?? open?["user"]?.string }
    var kind: String? { identity?["kind"]?.string }
    var connection: String? { open?["database"]?.string ?? open?["connection"]?.string }
    var application: String? { open?["application_name"]?.string ?? open?["options"]?["application_name"]?.string }
    var client: String? {
        guard let c = open?["client"], let addr = c["addr"]?.string else { return nil }
        return c["port"]?.int.map { "\(addr):\($0)" } ?? addr
    }

    /// ok | error | refused | open
    var outcome: String {
        if let f = fatal {
            let stage = f["stage"]?.string ?? ""
            return open == nil && (stage == "hoop-auth" || stage == "hoop-approve") ? "refused" : "error"
        }
        if let r = closeReason { return r == "terminate" || r == "disconnect" || r.isEmpty ? "ok" : "error" }
        return closed ? "ok" : "open"
    }

    /// The outcome in words; a session with records that are not frames says so (the
    /// outcome is read from records that may be among them).
    var outcomeText: String {
        unreadable.isEmpty ? outcomeWords : outcomeWords + ", records unreadable (hoop-audit verify)"
    }

    private var outcomeWords: String {
        switch outcome {
        case "refused", "error":
            if let f = fatal {
                var s = outcome + " " + (f["code"]?.string ?? "?")
                if let st = f["stage"]?.string { s += " (\(st)" + (f["reason"]?.string.map { ": \($0)" } ?? "") + ")" }
                return s
            }
            return "error (closed: \(closeReason ?? "?"))"
        case "ok": return "ok" + (closeReason.map { $0 == "terminate" || $0.isEmpty ? "" : " (\($0))" } ?? "")
        default: return "open"
        }
    }

    var json: JSON {
        var out: [(String, JSON?)] = [
            ("session", .string(id)), ("started_at", .string(AuditTime.iso(started))), ("ended_at", .string(AuditTime.iso(ended))),
            ("user", user.map(JSON.string)), ("kind", kind.map(JSON.string)), ("email", identity?["email"]),
            ("groups", identity?["groups"]), ("issuer", identity?["issuer"]),
            ("connection", connection.map(JSON.string)), ("client", open?["client"]),
            ("application_name", application.map(JSON.string)),
            ("requests", .int(Int64(requests))), ("holds", .int(Int64(holds))), ("denials", .int(Int64(denials))),
            ("frames", .int(Int64(frames))), ("outcome", .string(outcome)), ("close_reason", closeReason.map(JSON.string)),
        ]
        if !unreadable.isEmpty { out.append(("unreadable", .array(unreadable.map(JSON.int)))) }
        if let f = fatal {
            out.append(("error", jsonObject([("code", f["code"]), ("message", f["message"]), ("stage", f["stage"]),
                                             ("reason", f["reason"]), ("seq", f.seq.map(JSON.int))])))
        }
        return jsonObject(out)
    }
}

struct SessionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sessions",
        abstract: "List the sessions in the audit store, one line each: times, identity, connection, client, requests, holds and denials, outcome.",
        discussion: """
            --since/--until select the sessions active in that window (started before --until, last record at or after --since). \
            Times are UTC. A session refused by hoop-auth left no identity in the store: its user shows as "-".

            \(phiNote)
            """)

    @OptionGroup var options: StoreOptions
    @OptionGroup var window: TimeWindow
    @Option(help: "Only this identity (user name or email, case-insensitive).") var user: String?
    @Option(help: "Only sessions to this connection (the database name the client asked for).") var connection: String?
    @Option(help: "Only sessions with this outcome: ok (closed normally), error (ended by an error), refused (refused at opening by hoop-auth or hoop-approve), open (no end recorded yet).")
    var outcome: String?
    @Flag(help: "Print a JSON array.") var json = false

    func validate() throws {
        if let o = outcome, !["ok", "error", "refused", "open"].contains(o) { throw ValidationError("--outcome: ok, error, refused or open") }
    }

    func run() throws {
        let reader = try AuditReader(options)
        let (since, until) = try window.bounds()
        // One pass over every record of a session; only the few frames that say who and
        // how it ended are read whole.
        var facts: [String: SessionFacts] = [:]
        var order: [String] = []
        var after: Int64 = 0
        let types = SessionFacts.detailTypes.map { "'\($0)'" }.joined(separator: ",")
        while true {
            let page = try reader.db.query("""
                SELECT id, recorded_at, session, seq, type, CASE WHEN type IN (\(types)) THEN frame END AS frame
                FROM frames WHERE id > ? AND session IS NOT NULL ORDER BY id LIMIT 5000
                """, [.int(after)])
            if page.isEmpty { break }
            for r in page {
                after = r["id"]?.int ?? after
                guard let s = r["session"]?.string else { continue }
                let rec = StoredFrame(id: after, recordedAt: r["recorded_at"]?.int ?? 0, session: s, seq: r["seq"]?.int,
                                      type: r["type"]?.string ?? "", bytes: r["frame"]?.data ?? Data(), hash: nil)
                let loaded = SessionFacts.detailTypes.contains(rec.type)
                let decoded = loaded ? rec.decode() : nil
                if facts[s] == nil { facts[s] = SessionFacts(id: s); order.append(s) }
                facts[s]!.absorb(rec, decoded: decoded, loaded: loaded)
            }
        }
        let wantedUser = user?.lowercased()
        let list = order.compactMap { facts[$0] }.filter { f in
            if let since, f.ended < since { return false }
            if let until, f.started >= until { return false }
            if let wantedUser {
                let names = [f.user, f.identity?["email"]?.string, f.open?["user"]?.string].compactMap { $0?.lowercased() }
                if !names.contains(wantedUser) { return false }
            }
            if let connection, f.connection != connection { return false }
            if let outcome, f.outcome != outcome { return false }
            return true
        }
        if json { return print(JSON.array(list.map(\.json)).encodedLine) }
        let header = ["SESSION", "STARTED", "ENDED", "USER", "CONNECTION", "CLIENT", "APPLICATION", "REQUESTS", "HOLDS", "DENIALS", "OUTCOME"]
        let rows = list.map { f in
            [f.id, AuditTime.human(f.started), f.outcome == "open" ? "(open) " + AuditTime.human(f.ended) : AuditTime.human(f.ended),
             (f.user ?? "-") + (f.kind.map { " (\($0))" } ?? ""), f.connection ?? "-", f.client ?? "-",
             (f.application ?? "").isEmpty ? "-" : f.application!, String(f.requests), String(f.holds), String(f.denials), f.outcomeText]
        }
        printTable(header, rows, rightAligned: [7, 8, 9])
        if list.isEmpty { print("(no sessions)") }
    }
}

func printTable(_ header: [String], _ rows: [[String]], rightAligned: Set<Int> = []) {
    var widths = header.map(\.count)
    for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
    let out = Output()
    for r in [header] + rows {
        let cells = r.enumerated().map { i, c -> String in
            let fill = String(repeating: " ", count: widths[i] - c.count)
            return i == r.count - 1 ? c : (rightAligned.contains(i) ? fill + c : c + fill)
        }
        out.line(cells.joined(separator: "  "))
    }
    out.flush()
}

// MARK: requests: which frames belong to which request

/// A request as the client made it: a simple query, or an extended-protocol exchange
/// (Parse, Bind, Describe, Execute up to Sync), with its approval events, masking and
/// result, attributed by `seq`. Shared by show and replay.
struct AuditRequest {
    var seqs: [Int64] = []
    var kind = "unknown"          // query | extended | unknown (its text never reached the store)
    var sql: String?
    var statement: String?        // the prepared statement's name (extended)
    var portal: String?
    var params: [String]?         // bound parameters, as SQL literals
    var executed = false
    var firstAt: Int64 = 0
    var lastAt: Int64 = 0
    // Approval
    var hold: Frame?
    var holdAt: Int64?
    var approved: Frame?
    var deny: Frame?
    var refused: Frame?
    var decisions: [Frame] = []
    // Masking
    var maskedCounts: [String: Int64] = [:]
    var maskedColumns: [String: [String: Int64]] = [:]
    var maskedFrames = 0
    // Result
    struct ResultSet { var columns: [String]? = nil; var rows: Int64 = 0; var tag: String? = nil }
    var results: [ResultSet] = []
    var resultOpen = false
    var errors: [Frame] = []
    var notices = 0
    var copyOutMessages: Int64 = 0
    var copyOutBytes: Int64 = 0
    var copyInBytes: Int64 = 0
    var cancel = false
    // Replay
    var announced = false
    var pendingColumns: [String]?

    /// A statement the client ran (what `sessions` counts as a request).
    var isStatement: Bool { kind == "query" || executed || hold != nil || deny != nil || refused != nil }
}

final class RequestTracker {
    private var store: [Int: AuditRequest] = [:]
    private var count = 0
    private var bySeq: [Int64: Int] = [:]
    private var current: Int?                           // the open extended-protocol exchange
    struct Prepared { var sql: String; var types: [Int64] }
    struct Bound { var sql: String?; var statement: String; var params: [String] }
    /// The session's statements and portals (StatementBook). A name given again keeps
    /// what the server kept (the first), and says what the second would have been.
    private var names = StatementBook<Prepared, Bound>(
        mergeStatements: { old, new in Prepared(sql: old.sql + "\n-- the name was given again, refused by the server unless the first failed: " + new.sql,
                                                types: old.types) },
        mergePortals: { old, _ in old })
    /// How many of the latest requests are kept (nil: all). Replay keeps a few, so that a
    /// session of a million statements replays in flat memory.
    var keep: Int?

    /// Every request kept, in order.
    var requests: [AuditRequest] { store.keys.sorted().map { store[$0]! } }

    subscript(i: Int) -> AuditRequest {
        get { store[i] ?? AuditRequest() }
        _modify { yield &store[i, default: AuditRequest()] }
    }

    private var lastIndex: Int { count - 1 }

    private func new(_ seq: Int64?, at: Int64) -> Int {
        var r = AuditRequest()
        r.firstAt = at
        let i = count
        count += 1
        store[i] = r
        if let seq { bySeq[seq] = i; store[i]!.seqs.append(seq) }
        if let keep, count > keep, let old = store.removeValue(forKey: count - 1 - keep) {
            for s in old.seqs where bySeq[s] == count - 1 - keep { bySeq.removeValue(forKey: s) }
        }
        return i
    }

    private func link(_ seq: Int64?, _ i: Int) {
        guard let seq, bySeq[seq] != i, store[i] != nil else { return }
        bySeq[seq] = i
        store[i]!.seqs.append(seq)
    }

    /// The request this frame belongs to (made when needed), nil for the session's own frames.
    func attribute(_ f: Frame, at: Int64) -> Int? {
        let seq = f.seq
        let known = seq.flatMap { bySeq[$0] }.flatMap { store[$0] == nil ? nil : $0 }
        let i: Int
        switch f.type {
        case FrameType.sessionOpen, FrameType.sessionOpened, FrameType.sessionClose, FrameType.sessionClosed, FrameType.parameterStatus, FrameType.credit:
            return nil
        case FrameType.query:
            i = known ?? new(seq, at: at)
            current = nil
            self[i].kind = "query"
            if self[i].sql == nil { self[i].sql = f["sql"]?.string }
        case FrameType.call:
            // An API call (docs/aws.md): its IAM action, what it names, its parameters.
            i = known ?? new(seq, at: at)
            current = nil
            self[i].kind = "call"
            if self[i].sql == nil {
                let action = f["iam_action"]?.string ?? f["action"]?.string ?? "?"
                self[i].sql = "\(action) (\(f["access"]?.string ?? "no access level")) \(f["target"]?.string ?? "")"
                    + " \(f["method"]?.string ?? "") \(f["path"]?.string ?? "")" + ((f["query"]?.string).map { $0.isEmpty ? "" : "?" + $0 } ?? "")
                    + "\nparams " + (f["params"] ?? .object([:])).encodedString
            }
        case FrameType.parse, FrameType.bind, FrameType.describe, FrameType.close, FrameType.flush, FrameType.execute, FrameType.sync:
            if let known { i = known }
            else if let c = current, f.type == FrameType.sync || !self[c].executed { i = c; link(seq, c) }
            else if f.type == FrameType.sync, store[lastIndex] != nil { i = lastIndex; link(seq, i) }
            else { i = new(seq, at: at) }
            if self[i].kind == "unknown" { self[i].kind = "extended" }
            extended(f, i)
            current = f.type == FrameType.sync ? nil : i
        case FrameType.copyData, FrameType.copyDone, FrameType.copyFail, FrameType.cancel:
            if let known { i = known } else if store[lastIndex] != nil { i = lastIndex; link(seq, i) } else { i = new(seq, at: at) }
            if f.type == FrameType.cancel { self[i].cancel = true }
            if f.type == FrameType.copyData { self[i].copyInBytes += Int64(Self.dataBytes(f["data"])) }
        case FrameType.hold, FrameType.approved, FrameType.deny, FrameType.decision, FrameType.refused:
            guard let s = seq, s > 0 else { return nil }   // access to the connection: the session's
            if let known { i = known }
            else if let c = current, !self[c].executed, f.type != FrameType.decision { i = c; link(s, c) }
            else { i = new(s, at: at) }
            switch f.type {
            case FrameType.hold: self[i].hold = f; self[i].holdAt = at
            case FrameType.approved: self[i].approved = f
            case FrameType.deny: self[i].deny = f
            case FrameType.refused: self[i].refused = f
            default: self[i].decisions.append(f)
            }
        default:
            guard let s = seq, s > 0 else { return nil }
            i = known ?? new(s, at: at)
        }
        if self[i].firstAt == 0 || at < self[i].firstAt { self[i].firstAt = at }
        self[i].lastAt = max(self[i].lastAt, at)
        return i
    }

    private func extended(_ f: Frame, _ i: Int) {
        switch f.type {
        case FrameType.parse:
            let name = f["name"]?.string ?? ""
            let sql = f["sql"]?.string ?? ""
            names.parse(name, Prepared(sql: sql, types: f["param_types"]?.array?.compactMap(\.int) ?? []))
            if !self[i].executed { self[i].sql = sql; self[i].statement = name }
        case FrameType.bind:
            let name = f["statement"]?.string ?? ""
            let portal = f["portal"]?.string ?? ""
            let st = names[statement: name]
            let params = (f["params"]?.array ?? []).enumerated().map { n, p in
                Self.literal(p, type: st.flatMap { n < $0.types.count ? $0.types[n] : nil })
            }
            names.bind(portal, statement: name) { Bound(sql: $0?.sql, statement: name, params: params) }
            if !self[i].executed {
                self[i].sql = st?.sql ?? self[i].sql
                self[i].statement = name
                self[i].portal = portal
                self[i].params = params
            }
        case FrameType.execute:
            let portal = f["portal"]?.string ?? ""
            self[i].executed = true
            self[i].portal = portal
            if let p = names[portal: portal] {
                self[i].sql = p.sql ?? self[i].sql
                self[i].statement = p.statement
                self[i].params = p.params
            }
        case FrameType.close:
            let name = f["name"]?.string ?? ""
            if f["kind"]?.string == "P" { names.closePortal(name) } else { names.closeStatement(name) }
        default: break
        }
    }

    /// A bound parameter as a SQL literal: text quoted, binary decoded by its declared
    /// type where that is simple (integers, floats, booleans, text, uuid), else hex.
    static func literal(_ p: JSON, type: Int64?) -> String {
        switch p {
        case .null: return "NULL"
        case .string(let s): return "'" + s.replacingOccurrences(of: "'", with: "''") + "'"
        default:
            guard let b64 = p["base64"]?.string, let d = Data(base64Encoded: b64) else { return p.encodedLine }
            let b = [UInt8](d)
            func int(_ n: Int) -> Int64? {
                guard b.count == n else { return nil }
                var v: Int64 = b[0] >= 0x80 ? -1 : 0
                for x in b { v = (v << 8) | Int64(x) }
                return v
            }
            switch type ?? 0 {
            case 16 where b.count == 1: return b[0] == 0 ? "false" : "true"
            case 21: if let v = int(2) { return String(v) }
            case 23: if let v = int(4) { return String(v) }
            case 20: if let v = int(8) { return String(v) }
            case 26: if b.count == 4 { return String(UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3])) }
            case 700: if let v = int(4) { return String(Float(bitPattern: UInt32(truncatingIfNeeded: v))) }
            case 701: if let v = int(8) { return String(Double(bitPattern: UInt64(bitPattern: v))) }
            case 25, 1043, 19, 1042, 114:
                if let s = String(bytes: b, encoding: .utf8) { return "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }
            case 2950 where b.count == 16:
                let h = b.hex
                return "'" + [h.prefix(8), h.dropFirst(8).prefix(4), h.dropFirst(12).prefix(4), h.dropFirst(16).prefix(4), h.dropFirst(20)]
                    .map(String.init).joined(separator: "-") + "'"
            default: break
            }
            return "'\\x" + b.hex + "' (binary)"
        }
    }

    static func dataBytes(_ d: JSON?) -> Int {
        switch d {
        case .string(let s)?: return s.utf8.count
        case .array(let a)?: return a.reduce(0) { $0 + dataBytes($1) }
        case .object?: return d?["base64"]?.string.flatMap { Data(base64Encoded: $0)?.count } ?? 0
        default: return 0
        }
    }
}

extension Array where Element == UInt8 {
    var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count * 2)
        for b in self { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xF)]) }
        return String(decoding: out, as: UTF8.self)
    }
}

// MARK: show

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show",
        abstract: "One session in detail: who, where, when; then every request in order with its approval events, masking summary, result summary and duration.",
        discussion: phiNote)

    @OptionGroup var options: StoreOptions
    @Argument(help: "The session id (from `hoop-audit sessions`).") var session: String
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let reader = try AuditReader(options)
        try reader.requireSession(session)
        var facts = SessionFacts(id: session)
        let tracker = RequestTracker()
        var sessionEvents: [(at: Int64, frame: Frame)] = []   // access holds, grants, session-level errors
        var serverVersion: String?
        try reader.forEach(session: session) { rec in
            let f = rec.decode()
            facts.absorb(rec, decoded: f)
            guard let f else { return true }
            if f.type == FrameType.sessionOpened { serverVersion = f["parameters"]?["server_version"]?.string }
            guard let i = tracker.attribute(f, at: rec.recordedAt) else {
                switch f.type {
                case FrameType.hold, FrameType.approved, FrameType.deny, FrameType.decision, FrameType.error, FrameType.notice, FrameType.refused: sessionEvents.append((rec.recordedAt, f))
                default: break
                }
                return true
            }
            Self.absorbResult(&tracker[i], f)
            return true
        }
        let requests = tracker.requests
        if json {
            var head = facts.json.object ?? [:]
            if let serverVersion { head["server_version"] = .string(serverVersion) }
            let doc = JSON.object([
                "session": .object(head),
                "events": .array(sessionEvents.map { Self.eventJSON($0.frame, at: $0.at) }),
                "requests": .array(requests.enumerated().map { Self.requestJSON($1, number: $0 + 1) }),
            ])
            return print(doc.encodedLine)
        }
        let out = Output()
        Self.printHeader(facts, serverVersion: serverVersion, out)
        for (at, f) in sessionEvents { out.line("  " + AuditTime.human(at) + "  " + Self.eventLine(f)) }
        for (n, r) in requests.enumerated() {
            out.line("")
            Self.printRequest(r, number: n + 1, out)
        }
        out.flush()
    }

    static func absorbResult(_ r: inout AuditRequest, _ f: Frame) {
        switch f.type {
        case FrameType.masked:
            r.maskedFrames += 1
            for (k, v) in f["counts"]?.object ?? [:] { r.maskedCounts[k, default: 0] += v.int ?? 0 }
            for (col, counts) in f["columns"]?.object ?? [:] {
                for (k, v) in counts.object ?? [:] { r.maskedColumns[col, default: [:]][k, default: 0] += v.int ?? 0 }
            }
        case FrameType.columns:
            r.results.append(.init(columns: (f["fields"]?.array ?? []).map { $0["name"]?.string ?? "?" }))
            r.resultOpen = true
        case FrameType.rows:
            if !r.resultOpen { r.results.append(.init()); r.resultOpen = true }
            r.results[r.results.count - 1].rows += Int64(f["rows"]?.array?.count ?? 0)
        case FrameType.complete:
            if !r.resultOpen { r.results.append(.init()) }
            r.results[r.results.count - 1].tag = f["tag"]?.string
            r.resultOpen = false
        case FrameType.error: r.errors.append(f); r.resultOpen = false
        case FrameType.result:
            // An API call's answer: its status and the AWS request id (to join with CloudTrail).
            var res = AuditRequest.ResultSet()
            res.tag = "HTTP \(f["status"]?.int ?? 0)" + ((f["request_id"]?.string).map { ", request id \($0)" } ?? "")
                + ", \((f["body"]?.string?.utf8.count ?? 0) + (f["body_base64"]?.string?.utf8.count ?? 0) * 3 / 4) bytes"
            r.results.append(res)
        case FrameType.notice: r.notices += 1
        case FrameType.copyOutData:
            let data = f["data"]?.array ?? []
            r.copyOutMessages += Int64(data.count)
            r.copyOutBytes += Int64(RequestTracker.dataBytes(f["data"]))
        default: break
        }
    }

    // Text

    static func printHeader(_ s: SessionFacts, serverVersion: String?, _ out: Output) {
        out.line("session     \(s.id)")
        let id = s.identity
        var who = (s.user ?? "(unknown: no identity recorded)") + (s.kind.map { " (\($0))" } ?? "")
        if let email = id?["email"]?.string, email != s.user { who += ", email \(email)" }
        if let groups = id?["groups"]?.array?.compactMap(\.string), !groups.isEmpty { who += ", groups " + groups.joined(separator: ",") }
        out.line("user        \(who)")
        if let issuer = id?["issuer"]?.string { out.line("issuer      \(issuer)" + (id?["subject"]?.string.map { " (subject \($0))" } ?? "")) }
        out.line("connection  \(s.connection ?? "-")" + (serverVersion.map { " (PostgreSQL \($0))" } ?? ""))
        out.line("client      \(s.client ?? "-")" + ((s.application ?? "").isEmpty ? "" : ", application \(s.application!)"))
        out.line("started     \(AuditTime.human(s.started))")
        out.line((s.outcome == "open" ? "last frame  " : "ended       ") + AuditTime.human(s.ended)
                 + " (\(AuditTime.duration(s.ended - s.started)))")
        out.line("outcome     \(s.outcomeText)" + (s.fatal?["message"]?.string.map { ": \($0)" } ?? ""))
        out.line("requests    \(s.requests) (\(s.holds) held, \(s.denials) denied)")
        if !s.unreadable.isEmpty {
            out.line("unreadable  records " + s.unreadable.map(String.init).joined(separator: ", ") + " are not frames: run hoop-audit verify")
        }
    }

    static func indent(_ s: String, _ prefix: String) -> String {
        s.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            .map { $0 == 0 ? String($1) : prefix + $1 }.joined(separator: "\n")
    }

    static func who(_ j: JSON?) -> String { j?["user"]?.string ?? j?["subject"]?.string ?? "?" }

    static func counts(_ c: [String: Int64]) -> String {
        c.keys.sorted().map { "\($0) \(c[$0]!)" }.joined(separator: ", ")
    }

    static func printRequest(_ r: AuditRequest, number: Int, _ out: Output) {
        let seqs = r.seqs.sorted()
        let seqText = seqs.count > 1 ? "seq \(seqs.first!)-\(seqs.last!)" : "seq \(seqs.first ?? 0)"
        out.line("#\(number) (\(seqText))  \(AuditTime.human(r.firstAt))  \(AuditTime.duration(r.lastAt - r.firstAt))")
        let pad = "            "
        switch r.kind {
        case "query": out.line("  query     " + indent(r.sql ?? "", pad))
        case "call": out.line("  call      " + indent(r.sql ?? "", pad))
        case "extended":
            out.line("  " + (r.executed ? "execute   " : "statement ") + indent(r.sql ?? "(statement \"\(r.statement ?? "")\" not prepared in the recorded session)", pad))
            if let name = r.statement, !name.isEmpty { out.line("  statement \(name)") }
            if let p = r.params, !p.isEmpty { out.line("  params    " + p.enumerated().map { "$\($0 + 1) = \($1)" }.joined(separator: ", ")) }
        default:
            // Refused before it reached the server: hoop-approve's frames carry the text.
            if let sql = r.deny?["sql"]?.string ?? r.hold?["sql"]?.string {
                out.line("  refused   " + indent(sql, pad))
            } else {
                out.line("  request   (its text is not in the audit store: it was refused before it reached the server)")
            }
            if let c = classified(r.deny?["classification"] ?? r.hold?["classification"]) { out.line("  judged as \(c)") }
        }
        if let h = r.hold {
            var s = "  held      as \(h["request_id"]?.text ?? "?")"
            if let reasons = h["reasons"]?.array?.compactMap(\.string), !reasons.isEmpty { s += ": " + reasons.joined(separator: "; ") }
            if let rules = h["classification"]?["rules"]?.array?.compactMap(\.string), !rules.isEmpty { s += " (rules " + rules.joined(separator: ", ") + ")" }
            if let n = h["approvals_required"]?.int, n > 1 { s += ", \(n) approvals required" }
            out.line(s)
        }
        if let a = r.approved {
            let ds = (a["decisions"]?.array ?? []).map { d in
                who(d["approver"]) + (d["reason"]?.string.map { " (\"\($0)\")" } ?? "")
            }
            out.line("  approved  \(a["request_id"]?.text ?? "")" + (ds.isEmpty ? "" : " by " + ds.joined(separator: ", "))
                     + (a["note"]?.string.map { "; \($0)" } ?? ""))
        }
        if let d = r.deny {
            out.line("  denied    \(d["reason"]?.text ?? "?")" + (d["rule"]?.string.map { " (rule \($0))" } ?? "")
                     + ": " + (d["message"]?.text ?? ""))
        }
        if let d = r.refused {
            out.line("  refused   by \(d["stage"]?.text ?? "?"): \(d["code"]?.text ?? "") \(d["message"]?.text ?? "")")
        }
        for d in r.decisions {
            out.line("  decision  \(d["decision"]?.text ?? "?") by \(who(d["approver"]))" + (d["reason"]?.string.map { ": \"\($0)\"" } ?? "")
                     + (d["at"]?.int.map { " at " + AuditTime.iso($0 * 1_000_000, digits: 0) } ?? ""))
        }
        if !r.maskedCounts.isEmpty {
            var s = "  masked    " + counts(r.maskedCounts)
            if !r.maskedColumns.isEmpty {
                s += " — " + r.maskedColumns.keys.sorted().map { "\($0): " + counts(r.maskedColumns[$0]!) }.joined(separator: "; ")
            }
            out.line(s)
        }
        for rs in r.results {
            var parts: [String] = []
            if let c = rs.columns { parts.append("columns " + c.joined(separator: ", ")); parts.append("\(rs.rows) row" + (rs.rows == 1 ? "" : "s")) }
            else if rs.rows > 0 { parts.append("\(rs.rows) rows") }
            if let t = rs.tag { parts.append(t) }
            out.line("  result    " + parts.joined(separator: "; "))
        }
        if r.copyOutMessages > 0 { out.line("  copy out  \(r.copyOutMessages) lines, \(r.copyOutBytes) bytes") }
        if r.copyInBytes > 0 { out.line("  copy in   \(r.copyInBytes) bytes") }
        for e in r.errors {
            out.line("  error     \(e["severity"]?.text ?? "ERROR") \(e["code"]?.text ?? ""): \(e["message"]?.text ?? "")"
                     + (e["stage"]?.string.map { " (\($0))" } ?? ""))
        }
        if r.notices > 0 { out.line("  notices   \(r.notices)") }
        if r.cancel { out.line("  canceled  the client asked to cancel") }
    }

    /// hoop-approve's reading of a statement, in a few words: `DELETE providers (write)`.
    static func classified(_ c: JSON?) -> String? {
        guard let statements = c?["statements"]?.array ?? c?.array, !statements.isEmpty else { return nil }
        return statements.map { st -> String in
            let tables = ((st["tables_written"]?.array ?? []) + (st["tables_read"]?.array ?? [])).compactMap(\.string)
            var unique: [String] = []
            for t in tables where !unique.contains(t) { unique.append(t) }
            return ([st["command"]?.string ?? "?"] + unique).joined(separator: " ") + (st["kind"]?.string.map { " (\($0))" } ?? "")
        }.joined(separator: "; ")
    }

    static func eventLine(_ f: Frame) -> String {
        switch f.type {
        case FrameType.hold: return "access held as \(f["request_id"]?.text ?? "?"): " + (f["reasons"]?.array?.compactMap(\.string).joined(separator: "; ") ?? "")
        case FrameType.approved: return "access approved (\(f["request_id"]?.text ?? "?")) by "
            + (f["decisions"]?.array ?? []).map { who($0["approver"]) }.joined(separator: ", ")
        case FrameType.decision: return "decision \(f["decision"]?.text ?? "?") on \(f["request_id"]?.text ?? "?") by \(who(f["approver"]))"
            + (f["reason"]?.string.map { ": \"\($0)\"" } ?? "")
        case FrameType.error: return "\(f["severity"]?.text ?? "ERROR") \(f["code"]?.text ?? ""): \(f["message"]?.text ?? "")"
            + (f["stage"]?.string.map { " (\($0)" + (f["reason"]?.string.map { ": \($0)" } ?? "") + ")" } ?? "")
        case FrameType.notice: return "NOTICE: \(f["message"]?.text ?? "")"
        default: return "\(f.type): \(f["message"]?.text ?? f["reason"]?.text ?? "")"
        }
    }

    // JSON

    static func eventJSON(_ f: Frame, at: Int64) -> JSON {
        var o = f.fields.filter { !$0.key.hasPrefix("stamp:") }
        o["type"] = .string(f.type)
        if let s = f.seq { o["seq"] = .int(s) }
        o["recorded_at"] = .string(AuditTime.iso(at))
        return .object(o)
    }

    static func approverJSON(_ j: JSON?) -> JSON? {
        guard let j else { return nil }
        return jsonObject([("user", j["user"]), ("kind", j["kind"]), ("groups", j["groups"]), ("issuer", j["issuer"]), ("subject", j["subject"])])
    }

    static func requestJSON(_ r: AuditRequest, number: Int) -> JSON {
        var approval: [(String, JSON?)] = []
        if let h = r.hold {
            approval.append(("held", jsonObject([("request_id", h["request_id"]), ("reasons", h["reasons"]), ("rules", h["classification"]?["rules"]),
                                                 ("approvals_required", h["approvals_required"]), ("expires_at", h["expires_at"]),
                                                 ("classification", h["classification"]?["statements"]),
                                                 ("at", r.holdAt.map { .string(AuditTime.iso($0)) })])))
        }
        if let a = r.approved {
            approval.append(("approved", jsonObject([("request_id", a["request_id"]), ("note", a["note"]),
                ("by", .array((a["decisions"]?.array ?? []).map { d in
                    jsonObject([("approver", approverJSON(d["approver"])), ("decision", d["decision"]), ("reason", d["reason"]), ("at", d["at"])])
                }))])))
        }
        if let d = r.deny {
            approval.append(("denied", jsonObject([("reason", d["reason"]), ("rule", d["rule"]), ("request_id", d["request_id"]),
                                                   ("code", d["code"]), ("message", d["message"]), ("classification", d["classification"])])))
        }
        if let d = r.refused {
            approval.append(("refused", jsonObject([("stage", d["stage"]), ("code", d["code"]), ("message", d["message"])])))
        }
        if !r.decisions.isEmpty {
            approval.append(("decisions", .array(r.decisions.map { d in
                jsonObject([("request_id", d["request_id"]), ("decision", d["decision"]), ("approver", approverJSON(d["approver"])),
                            ("reason", d["reason"]), ("duration_seconds", d["duration_seconds"]), ("at", d["at"])])
            })))
        }
        let results = JSON.array(r.results.map { rs in
            jsonObject([("columns", rs.columns.map { .array($0.map(JSON.string)) }), ("rows", .int(rs.rows)), ("tag", rs.tag.map(JSON.string))])
        })
        let errors = JSON.array(r.errors.map { e in
            jsonObject([("severity", e["severity"]), ("code", e["code"]), ("message", e["message"]), ("detail", e["detail"]),
                        ("hint", e["hint"]), ("fatal", e["fatal"]), ("stage", e["stage"]), ("reason", e["reason"])])
        })
        var result: [(String, JSON?)] = [("results", results), ("errors", errors), ("notices", .int(Int64(r.notices))),
                                         ("rows", .int(r.results.reduce(0) { $0 + $1.rows }))]
        if let last = r.results.last(where: { $0.columns != nil }) { result.append(("columns", .array(last.columns!.map(JSON.string)))) }
        if let tag = r.results.last(where: { $0.tag != nil })?.tag { result.append(("tag", .string(tag))) }
        if let e = r.errors.last { result.append(("error", jsonObject([("code", e["code"]), ("message", e["message"])]))) }
        if r.copyOutMessages > 0 { result.append(("copy_out", jsonObject([("lines", .int(r.copyOutMessages)), ("bytes", .int(r.copyOutBytes))]))) }
        if r.copyInBytes > 0 { result.append(("copy_in_bytes", .int(r.copyInBytes))) }
        if r.cancel { result.append(("canceled", .bool(true))) }
        return jsonObject([
            ("number", .int(Int64(number))), ("seqs", .array(r.seqs.sorted().map(JSON.int))), ("kind", .string(r.kind)),
            ("statement_run", .bool(r.isStatement)),
            ("sql", (r.sql ?? r.deny?["sql"]?.string ?? r.hold?["sql"]?.string).map(JSON.string)), ("statement", r.statement.map(JSON.string)), ("portal", r.portal.map(JSON.string)),
            ("params", r.params.map { .array($0.map(JSON.string)) }), ("executed", r.kind == "extended" ? .bool(r.executed) : nil),
            ("started_at", .string(AuditTime.iso(r.firstAt))), ("ended_at", .string(AuditTime.iso(r.lastAt))),
            ("duration_ms", .double(Double(r.lastAt - r.firstAt) / 1000)),
            ("approval", approval.isEmpty ? nil : jsonObject(approval)),
            ("masked", r.maskedCounts.isEmpty ? nil : jsonObject([
                ("counts", .object(r.maskedCounts.mapValues(JSON.int))),
                ("columns", .object(r.maskedColumns.mapValues { .object($0.mapValues(JSON.int)) })),
                ("frames", .int(Int64(r.maskedFrames))),
            ])),
            ("result", jsonObject(result)),
        ])
    }
}

// MARK: export

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export",
        abstract: "Write the records for a SIEM: JSON lines or CSV, in record order, streamed.",
        discussion: """
            jsonl: one object per record: id, recorded_at (ISO 8601, UTC, microseconds), session, seq, type, hash (hex), frame (the frame as recorded, a JSON object).
            csv: a header line, then id,recorded_at,session,seq,type,hash,frame (the frame's JSON text, quoted).

            \(phiNote)
            """)

    @OptionGroup var options: StoreOptions
    @Option(help: "jsonl or csv.") var format: String = "jsonl"
    @OptionGroup var window: TimeWindow
    @Option(help: "Only this session's records.") var session: String?

    func validate() throws {
        guard ["jsonl", "csv"].contains(format) else { throw ValidationError("--format: jsonl or csv") }
    }

    func run() throws {
        let reader = try AuditReader(options)
        let (since, until) = try window.bounds()
        var conditions: [String] = []
        var values: [SQLiteDB.Value] = []
        if let since { conditions.append("recorded_at >= ?"); values.append(.int(since)) }
        if let until { conditions.append("recorded_at < ?"); values.append(.int(until)) }
        let out = Output()
        let csv = format == "csv"
        if csv { out.line("id,recorded_at,session,seq,type,hash,frame") }
        try reader.forEach(session: session, where: conditions.isEmpty ? "1" : conditions.joined(separator: " AND "), values) { r in
            let text = r.text
            let hash = r.hash.map { [UInt8]($0).hex }
            if csv {
                out.write("\(r.id),\(AuditTime.iso(r.recordedAt)),\(Self.csvField(r.session ?? "")),\(r.seq.map(String.init) ?? ""),")
                out.write("\(Self.csvField(r.type)),\(hash ?? ""),")
                // The frame's JSON text, quoted (its quotes doubled).
                var quoted = [UInt8]()
                quoted.reserveCapacity(text.count + text.count / 4 + 3)
                quoted.append(0x22)
                for b in text {
                    quoted.append(b)
                    if b == 0x22 { quoted.append(0x22) }
                }
                quoted.append(contentsOf: [0x22, 0x0A])
                out.write(bytes: quoted)
            } else {
                var w = JSONWriter(reserving: 160)
                w.raw("{\"id\":"); w.int(r.id)
                w.raw(",\"recorded_at\":"); w.string(AuditTime.iso(r.recordedAt))
                w.raw(",\"session\":"); if let s = r.session { w.string(s) } else { w.raw("null") }
                w.raw(",\"seq\":"); if let q = r.seq { w.int(q) } else { w.raw("null") }
                w.raw(",\"type\":"); w.string(r.type)
                w.raw(",\"hash\":"); if let hash { w.string(hash) } else { w.raw("null") }
                w.raw(",\"frame\":")
                // The frame as recorded, byte for byte, when it is one JSON object (as
                // every recorded frame should be); else its text, flagged.
                if case .object? = (text.withUnsafeBytes { try? JSON.parse($0) }) {
                    out.write(bytes: w.bytes)
                    out.write(bytes: text)
                    out.write("}\n")
                } else {
                    w.raw("null,\"frame_text\":"); w.string(String(decoding: text, as: UTF8.self)); w.raw("}\n")
                    out.write(bytes: w.bytes)
                }
            }
            return true
        }
        out.flush()
    }

    static func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
