import ArgumentParser
import Foundation
import HoopAudit
import HoopFrames
import HoopSQLite

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "replay",
        abstract: "Play a session back as its client saw it, psql-like, at its original pace or faster (like a terminal recording).",
        discussion: """
            Prints each request (the query, or the extended protocol's statement with its bound parameters), then what came back: \
            the column names, the rows as recorded (already masked; fields separated by |, NULL printed empty), the command tag, \
            notices and errors, COPY data. Pauses follow the recorded times divided by --speed. Reads the store a page at a time.

            \(phiNote)
            """)

    @OptionGroup var options: StoreOptions
    @Argument(help: "The session id (from `hoop-audit sessions`).") var session: String
    @Option(help: "How many times faster than recorded (1: the original pace).") var speed: Double = 1
    @Flag(help: "No pauses: print everything at once.") var instant = false
    @Option(help: "Cap each pause at this many seconds (a request held for approval waits minutes).") var maxPause: Double?
    @Flag(help: "One JSON event per line (offset in seconds, type, content) instead of text.") var json = false

    func validate() throws {
        guard speed > 0, speed.isFinite else { throw ValidationError("--speed must be a positive number") }
        if let m = maxPause, !(m >= 0) { throw ValidationError("--max-pause must be zero or more") }
    }

    func run() throws {
        let reader = try AuditReader(options)
        try reader.requireSession(session)
        let player = Player(reader: reader, session: session, speed: instant ? nil : speed, maxPause: maxPause, json: json)
        defer { player.out.flush() }   // what was printed before an error too
        try reader.forEach(session: session) { rec in
            try player.play(rec)
            return true
        }
    }
}

/// Turns a session's records back into what its client saw.
final class Player {
    let reader: AuditReader
    let session: String
    let speed: Double?
    let maxPause: Double?
    let json: Bool
    let out = Output()
    let tracker = RequestTracker()
    var prompt = "=> "
    // Pacing: recorded time (capped pauses summed) against the wall clock.
    private var lastAt: Int64?
    private var firstAt: Int64?
    private var virtual: Double = 0
    private let wallStart = DispatchTime.now().uptimeNanoseconds
    private var currentID: Int64 = 0
    private var sawUnreadable = false

    init(reader: AuditReader, session: String, speed: Double?, maxPause: Double?, json: Bool) {
        self.reader = reader
        self.session = session
        self.speed = speed
        self.maxPause = maxPause
        self.json = json
        tracker.keep = 64
    }

    /// Waits until this recorded instant is due, then lets it print.
    private func pace(_ at: Int64) {
        if firstAt == nil { firstAt = at }
        if let lastAt {
            var d = max(0, Double(at - lastAt) / 1e6)
            if let maxPause { d = min(d, maxPause) }
            virtual += d
        }
        lastAt = at
        guard let speed else { return }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - wallStart) / 1e9
        let due = virtual / speed
        if due > elapsed + 0.0005 {
            out.flush()
            Thread.sleep(forTimeInterval: due - elapsed)
        }
    }

    private func event(_ type: String, at: Int64, _ fields: [(String, JSON?)]) {
        let offset = Double((at - (firstAt ?? at))) / 1e6
        out.line(jsonObject([("type", .string(type)), ("at", .string(AuditTime.iso(at))), ("offset", .double(offset))] + fields).encodedLine)
    }

    /// Prints a request's text once, before the first thing the client saw of it.
    private func announce(_ i: Int, at: Int64) throws {
        guard !tracker[i].announced else { return }
        tracker[i].announced = true
        var r = tracker[i]
        var unreadableRequest = false
        if r.sql == nil {
            // A query held for approval is recorded once it is let through, after the
            // hold and its notice; hoop-listen's refusal of a message can come ahead of
            // the Parse before it: look ahead for the text.
            for seq in r.seqs {
                var request: StoredFrame?
                try reader.forEach(after: currentID, session: session, where: "seq = ? AND type IN ('query', 'parse')", [.int(seq)], limit: 1) {
                    request = $0
                    return false
                }
                let decoded = request?.decode()
                if request != nil && decoded == nil { unreadableRequest = true }
                if let sql = decoded?["sql"]?.string {
                    r.sql = sql
                    tracker[i].sql = sql
                    break
                }
            }
        }
        // Where the session has a record that is not a frame, the text may be in it.
        let missing = unreadableRequest || sawUnreadable
            ? "the request's text was not found: a record of this session cannot be read (hoop-audit verify)"
            : "the request's text is not in the audit store: it was refused before it reached the server"
        if json {
            event(FrameType.query, at: at, [("seq", r.seqs.min().map(JSON.int)), ("sql", r.sql.map(JSON.string)),
                                    ("params", r.params.map { .array($0.map(JSON.string)) }),
                                    ("note", r.sql == nil ? .string(missing) : nil)])
            return
        }
        if let sql = r.sql {
            out.line(prompt + sql)
            if let p = r.params, !p.isEmpty { out.line("-- parameters: " + p.enumerated().map { "$\($0 + 1) = \($1)" }.joined(separator: ", ")) }
        } else {
            out.line(prompt + "-- (\(missing))")
        }
    }

    private func headerIfPending(_ i: Int?, at: Int64) {
        guard let i, let cols = tracker[i].pendingColumns else { return }
        tracker[i].pendingColumns = nil
        if json { event(FrameType.columns, at: at, [("names", .array(cols.map(JSON.string)))]) } else { out.line(cols.joined(separator: "|")) }
    }

    private func message(_ f: Frame, at: Int64) {
        let sev = f["severity"]?.string ?? (f.type == FrameType.error ? "ERROR" : "NOTICE")
        if json {
            event(f.type, at: at, [("severity", .string(sev)), ("code", f["code"]), ("message", f["message"]), ("detail", f["detail"]),
                                   ("hint", f["hint"]), ("fatal", f["fatal"])])
            return
        }
        out.line("\(sev):  \(f["message"]?.text ?? "")")
        if let d = f["detail"]?.string { out.line("DETAIL:  \(d)") }
        if let h = f["hint"]?.string { out.line("HINT:  \(h)") }
    }

    func play(_ rec: StoredFrame) throws {
        currentID = rec.id
        let at = rec.recordedAt
        guard let f = rec.decode() else {
            // Said, not skipped: the replay must not look whole when a record is not.
            sawUnreadable = true
            pace(at)
            if json { event("unreadable", at: at, [("id", .int(rec.id))]) }
            else { out.line("-- (record \(rec.id) is not a frame hoop-audit can read: run hoop-audit verify)") }
            return
        }
        let i = tracker.attribute(f, at: at)
        switch f.type {
        case FrameType.sessionOpen:
            let db = f["connection"]?.string ?? f["database"]?.string ?? ""
            prompt = db + "=> "
            pace(at)
            let id = f["identity"]
            let user = id?["user"]?.string ?? f["user"]?.string ?? "?"
            let client = f["client"].flatMap { c in c["addr"]?.string.map { a in c["port"]?.int.map { "\(a):\($0)" } ?? a } } ?? "?"
            let app = f["application_name"]?.string ?? ""
            if json {
                event(FrameType.sessionOpen, at: at, [("session", .string(session)), ("user", .string(user)), ("kind", id?["kind"]),
                                               ("connection", .string(db)), ("client", f["client"]), ("application_name", .string(app))])
            } else {
                out.line("-- session \(session): \(user)" + (id?["kind"]?.string.map { " (\($0))" } ?? "")
                         + " to \(db) from \(client)" + (app.isEmpty ? "" : ", application \(app)") + ", \(AuditTime.human(at))")
            }
        case FrameType.query, FrameType.execute, FrameType.call:
            guard let i else { return }
            pace(at)
            try announce(i, at: at)
        case FrameType.result:
            // An API call's answer, as the client received it (masked).
            pace(at)
            if let i { try announce(i, at: at) }
            if json { event(FrameType.result, at: at, [("status", f["status"]), ("request_id", f["request_id"]), ("body", f["body"])]); return }
            out.line("-- HTTP \(f["status"]?.int ?? 0)" + ((f["request_id"]?.string).map { ", request id \($0)" } ?? ""))
            if let body = f["body"]?.string { out.line(body) }
            else if let b = f["body_base64"]?.string { out.line("-- (\(b.utf8.count * 3 / 4) bytes of binary body)") }
        case FrameType.columns:
            guard let i else { return }
            tracker[i].pendingColumns = (f["fields"]?.array ?? []).map { $0["name"]?.string ?? "?" }
        case FrameType.rows:
            pace(at)
            if let i { try announce(i, at: at) }
            headerIfPending(i, at: at)
            if json { event(FrameType.rows, at: at, [("rows", f["rows"])]); return }
            for row in f["rows"]?.array ?? [] {
                out.line((row.array ?? []).map { $0.isNull ? "" : $0.text }.joined(separator: "|"))
            }
        case FrameType.complete:
            pace(at)
            if let i { try announce(i, at: at) }
            headerIfPending(i, at: at)
            if json { event(FrameType.complete, at: at, [("tag", f["tag"])]) } else { out.line(f["tag"]?.text ?? "") }
        case FrameType.empty:
            pace(at)
            if let i { try announce(i, at: at) }
            if json { event(FrameType.empty, at: at, []) } else { out.line("-- (empty query)") }
        case FrameType.suspended:
            pace(at)
            if json { event(FrameType.suspended, at: at, []) } else { out.line("-- (portal suspended: the client may fetch more)") }
        case FrameType.refused:
            // hoop-listen answered the client itself, with this error.
            pace(at)
            if let i { try announce(i, at: at) }
            var e = f
            e.type = FrameType.error
            e["severity"] = .string("ERROR")
            message(e, at: at)
        case FrameType.notice, FrameType.error:
            pace(at)
            if let i { try announce(i, at: at); if f.type == FrameType.error { tracker[i].pendingColumns = nil } }
            message(f, at: at)
        case FrameType.copyInResponse:
            pace(at)
            if let i { try announce(i, at: at) }
            if json { event("copy_in", at: at, []) } else { out.line("-- (COPY FROM STDIN: the client sends its data)") }
        case FrameType.copyDone, FrameType.copyFail:
            pace(at)
            let bytes = i.map { tracker[$0].copyInBytes } ?? 0
            let failed = f.type == FrameType.copyFail ? f["message"]?.text : nil
            if json { event("copy_in_done", at: at, [("bytes", .int(bytes)), ("failed", failed.map(JSON.string))]) }
            else { out.line("-- (the client sent \(bytes) bytes of COPY data" + (failed.map { ", then failed the COPY: \($0))" } ?? ")")) }
        case FrameType.copyOutData:
            pace(at)
            if let i { try announce(i, at: at) }
            if json { event("copy_out", at: at, [("data", f["data"])]); return }
            for item in f["data"]?.array ?? [] {
                if let s = item.string { out.write(s); if !s.hasSuffix("\n") { out.write("\n") } }
                else { out.line("-- (\(RequestTracker.dataBytes(item)) bytes of binary COPY data)") }
            }
        case FrameType.sessionClose:
            pace(at)
            let reason = f["reason"]?.text ?? ""
            if json { event(FrameType.sessionClose, at: at, [("reason", .string(reason))]) }
            else { out.line("-- session closed (\(reason)), \(AuditTime.human(at))") }
        default:
            break
        }
    }
}
