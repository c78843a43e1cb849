import ArgumentParser
import Foundation
import HoopCommand
import HoopFrames
import HoopPostgres

/// hoop-connect: runs approved requests upstream with the gateway's credentials
/// (libpq, one connection per client session) and streams the results back as frames.
/// The only stage that touches a database.
@main
struct HoopConnect: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hoop-connect",
        abstract: "Ring stage: executes requests upstream through libpq.",
        subcommands: [Stage.self, RDSTokenCommand.self], defaultSubcommand: Stage.self)
}

struct Stage: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run as a ring stage (the default).")

    @OptionGroup var config: ConfigOption

    @Option(help: "Stamps a request needs before it runs (comma-separated).")
    var require: String = "auth,approve"

    @Option(help: "Row batches a session may have in flight before a credit comes back (at least 2).")
    var window: Int = 8

    func validate() throws {
        // hoop-listen keeps one credit of an idle session for its next request: with a
        // window of one, a notification to an idle session would wait for that request.
        guard window >= 2 else { throw ValidationError("--window must be at least 2") }
    }

    func run() throws {
        let cfg = try config.load()
        let events = EventLoop()
        let upstreams = try Upstreams(cfg, loop: events)
        let loop = StageLoop(stage: "hoop-connect")
        let sessions = SessionTable(out: loop.out, loop: events, upstreams: upstreams, window: window,
                                    required: require.split(separator: ",").map { String($0) })
        // Sessions of connections of another kind: another upstream's, passed untouched.
        var foreign: Set<String> = []
        func handle(_ frame: RawFrame) throws {
            guard let id = frame.session else { return loop.pass(frame) }
            if foreign.contains(id) {
                if frame.type == FrameType.sessionClose || frame.type == FrameType.sessionClosed { foreign.remove(id) }
                return loop.pass(frame)
            }
            if frame.type == FrameType.sessionOpen, let open = try? frame.decode(),
               let connection = open["connection"]?.string ?? open["database"]?.string,
               let kind = cfg.json["connections"]?[connection]?["kind"]?.string, kind != ConnectionKind.postgres.rawValue {
                foreign.insert(id)
                return loop.pass(frame)
            }
            if FrameType.requests.contains(frame.type) || frame.type == FrameType.sessionClose || frame.type == FrameType.credit || frame.type == FrameType.deny {
                try sessions.route(frame, id: id, raw: Array(frame.bytes))
            } else {
                // A stage-made error ends its session here too (docs/frames.md, Errors).
                // Passed on before the session closes, so the client reads why it ended.
                loop.pass(frame)
                // A notice made upstream of us (hoop-approve's "held") earns a credit when
                // the client takes it, like ours: count it spent so the window stays the same.
                if frame.type == FrameType.notice { sessions.lookup(id)?.spendCredit() }
                if frame.type == FrameType.error, (try? frame.decode())?["fatal"] == .bool(true) { sessions.end(id) }
            }
        }
        // End of input: the ring broke. No session outlives it: each finishes what it was
        // asked, for a few seconds at most; then what is left is cancelled.
        var reading = true
        var deadline: Double? = nil
        var cancelled = false
        try events.run(input: { reading ? 0 : -1 }, inputReady: {
            reading = try loop.readOnce(handle)
            if !reading { sessions.endAllWhenIdle(); deadline = monotonicSeconds() + 5 }
        }, idle: { try sessions.flush() }, timeout: {
            let end = deadline.map { $0 - monotonicSeconds() }
            guard let hold = sessions.holdTimeout else { return end }
            return min(end ?? hold, hold)
        }, proceed: {
            guard !reading else { return true }
            if sessions.isEmpty { return false }
            guard let d = deadline, monotonicSeconds() >= d else { return true }
            if cancelled { return false }
            cancelled = true
            sessions.endAll()
            deadline = monotonicSeconds() + 3
            return true
        })
        try sessions.flushNow()   // requests held for their answers (SessionTable.forward)
    }
}

/// The configured upstream connections, by the name a client gives as its database.
struct Upstreams {
    struct Target {
        let conninfo: String
        let password: String?
        /// libpq TLS keywords from `tls` (UpstreamTLS), after the conninfo so they win.
        var tls: [(String, String)] = []
        /// RDS IAM authentication (`aws_auth`) instead of a password.
        var iamAuth: RDSIAMAuth? = nil

        /// libpq keywords and values: the conninfo (expanded), TLS, the password (or a
        /// fresh IAM token, whose making can fail: keys that cannot be read).
        func keywords() throws -> (keys: [String], values: [String]) {
            var keys = ["dbname"], values = [conninfo]
            for (k, v) in tls { keys.append(k); values.append(v) }
            if let password { keys.append("password"); values.append(password) }
            for (k, v) in try iamAuth?.keywords() ?? [] { keys.append(k); values.append(v) }
            return (keys, values)
        }
    }
    let targets: [String: Target]
    private let catalogs: [String: Catalog]

    func catalog(for name: String) -> Catalog? { catalogs[name] }

    init(_ cfg: GatewayConfig, loop: EventLoop) throws {
        var t: [String: Target] = [:]
        for (name, c) in cfg.json["connections"]?.object ?? [:] {
            // Only PostgreSQL connections are ours; another kind is another upstream's.
            if let kind = c["kind"]?.string, kind != ConnectionKind.postgres.rawValue { continue }
            guard let conninfo = c["conninfo"]?.string else {
                throw ConfigError("connection \(name): \"conninfo\" is required")
            }
            let tls = try UpstreamTLS.keywords(c["tls"], name: name, cfg: cfg)
            if let spec = c["aws_auth"] {
                t[name] = Target(conninfo: conninfo, password: nil, tls: tls,
                                 iamAuth: try RDSIAMAuth.configure(spec, name: name, connection: c, tls: tls, cfg: cfg))
            } else {
                t[name] = Target(conninfo: conninfo, password: try cfg.secret(c["password"]), tls: tls)
            }
        }
        targets = t
        catalogs = t.mapValues { Catalog($0, loop: loop) }
    }
}

/// Sessions by id, on the event loop: the ring's input is routed to them, each runs as
/// a task of the loop.
final class SessionTable {
    let out: FrameWriter
    let loop: EventLoop
    let upstreams: Upstreams
    let window: Int
    let required: [String]
    private var sessions: [String: UpstreamSession] = [:]

    init(out: FrameWriter, loop: EventLoop, upstreams: Upstreams, window: Int, required: [String]) {
        self.out = out; self.loop = loop; self.upstreams = upstreams; self.window = window; self.required = required
    }

    func route(_ raw: RawFrame, id: String, raw bytes: [UInt8]) throws {
        let frame = try raw.decode()
        switch frame.type {
        case FrameType.credit:
            lookup(id)?.addCredit(Int(frame["batches"]?.int ?? 1))
            return
        case FrameType.sessionClose:
            out.enqueue(bytes + [0x0A])
            end(id)
            return
        case FrameType.deny:
            // hoop-approve's refusal of a request: nothing of the client's runs, so no
            // stamp is needed; answered in its place in the session's order.
            if let s = lookup(id) { _ = s.submit(frame, raw: bytes) } else { out.enqueue(bytes + [0x0A]) }
            return
        default: break
        }
        // Fail closed: nothing runs that did not pass the required stages.
        if let missing = required.first(where: { !frame.stamped(by: $0) }) {
            logLine("hoop-connect", "session \(id): a request frame without stamp:\(missing); session ended")
            // Recorded as refused, but never with a credential: a ring without hoop-auth
            // must not put the client's token in the audit trail.
            var refused = frame
            refused.fields.removeValue(forKey: "credential")
            out.enqueue(refused)
            out.enqueue(Frame.stageError(stage: "hoop-connect", session: id, seq: frame.seq, code: "XX000",
                                         message: "hoop: request did not pass the required stages"))
            end(id)
            return
        }
        if frame.type == FrameType.cancel {
            out.enqueue(bytes + [0x0A])
            lookup(id)?.cancelRunning()
            return
        }
        if frame.type == FrameType.sessionOpen {
            guard lookup(id) == nil else {
                out.enqueue(Frame.stageError(stage: "hoop-connect", session: id, seq: 0, code: "08P01",
                                             message: "hoop: session already open"))
                return
            }
            let s = UpstreamSession(id: id, table: self)
            sessions[id] = s
            _ = s.submit(frame, raw: bytes)
            loop.spawn { await s.main() }
            return
        }
        guard let s = lookup(id) else {
            // A request for a session we do not hold (closed, or never opened): record it, answer nothing.
            out.enqueue(bytes + [0x0A])
            return
        }
        if !s.submit(frame, raw: bytes) {
            logLine("hoop-connect", "session \(id): more than \(UpstreamSession.maxQueuedBytes >> 20) MiB of requests waiting; session ended")
            out.enqueue(bytes + [0x0A])
            out.enqueue(Frame.stageError(stage: "hoop-connect", session: id, seq: frame.seq, code: "53400",
                                         message: "hoop: too many requests waiting in this session"))
            end(id)
        }
    }

    /// Once a request is forwarded for the audit trail, what the stage writes waits,
    /// briefly, to go out in one write with the answer: until an answer is complete (a
    /// `ready`, or a session's end), `holdBytes` are queued, or `requestHold` seconds
    /// pass. The stages after this one then wake once per answer, not once per piece of
    /// it, and hoop-record makes a request and its answer durable in one commit. A slow
    /// statement's request is recorded while it runs; frames queued with no request
    /// pending go at once; a session that waits for a credit writes first (UpstreamSession.send).
    static let requestHold = 0.002
    static let holdBytes = 64 << 10
    private var heldSince: Double? = nil
    private var answered = false

    /// Queues a client's frame, forwarded for the audit trail before its answers.
    func forward(_ raw: [UInt8]) {
        out.enqueue(raw + [0x0A])
        if heldSince == nil { heldSince = monotonicSeconds() }
    }

    /// An answer is complete: the next write need not wait.
    func answerComplete() { answered = true }

    /// Seconds until what is held must be written (nil: nothing held).
    var holdTimeout: Double? { heldSince.map { max(0, $0 + Self.requestHold - monotonicSeconds()) } }

    /// The loop's write, once per wake-up: skipped while a young request's answer is
    /// not complete.
    func flush() throws {
        if !answered, let since = heldSince, monotonicSeconds() - since < Self.requestHold,
           out.pendingBytes < Self.holdBytes { return }
        try flushNow()
    }

    func flushNow() throws {
        heldSince = nil; answered = false
        try out.flush()
    }

    func lookup(_ id: String) -> UpstreamSession? { sessions[id] }

    func end(_ id: String) { lookup(id)?.close() }

    func finished(_ id: String) { sessions.removeValue(forKey: id) }

    var isEmpty: Bool { sessions.isEmpty }

    func endAllWhenIdle() { sessions.values.forEach { $0.closeWhenIdle() } }

    func endAll() { sessions.values.forEach { $0.close() } }
}
