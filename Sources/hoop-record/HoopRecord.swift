import ArgumentParser
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HoopAudit
import HoopFrames

/// hoop-record: appends every frame to the audit store, durably and hash-chained,
/// before passing it on; stamps every frame (`stamp:record`): hoop-listen delivers only
/// recorded responses, and the first stage after the doors drops what has been round.
/// The auditors' tools are a program of their own: hoop-audit (docs/audit.md).
@main
struct HoopRecord: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hoop-record",
        abstract: "Ring stage: the audit trail.",
        subcommands: [Stage.self],
        defaultSubcommand: Stage.self)
}

struct Stage: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run as a ring stage (the default).")

    @OptionGroup var options: StoreOptions

    @Option(help: "Seconds between signed checkpoints while frames arrive.")
    var checkpointSeconds: Double = 10

    @Option(help: "Seconds a commit may wait for another session's answer that is due, to share its fsync (0: never; at most 0.002).")
    var commitDelay: Double = 0.0002

    func validate() throws {
        guard commitDelay >= 0, commitDelay <= AnswersDue.horizon else {
            throw ValidationError("--commit-delay must be 0 to \(AnswersDue.horizon) seconds")
        }
    }

    func run() throws {
        let signer: Curve25519.Signing.PrivateKey?
        do { signer = try options.signer() } catch {
            logLine("hoop-record", "\(error)")
            throw ExitCode(78)   // EX_CONFIG: a broken key is not silently ignored
        }
        if signer == nil { logLine("hoop-record", "no audit.signing_key: checkpoints are written unsigned (verify reports them)") }
        // PostgreSQL when the configuration names one (several gateways, one trail), else SQLite.
        let audit: AuditWriter
        if options.store == nil, let cfg = options.gateway(), let conn = try PostgresAuditStore.connect(cfg) {
            audit = try PostgresAuditStore(conn: conn, chain: PostgresAuditStore.chainName(cfg), signer: signer, checkpointEvery: checkpointSeconds)
        } else {
            audit = try AuditStore(path: options.storePath(), signer: signer, checkpointEvery: checkpointSeconds)
        }
        let loop = StageLoop(stage: "hoop-record")
        // The supervisor stops the ring with SIGTERM: sign the head on the way out, so
        // that nothing recorded is left outside a checkpoint while the gateway is down.
        let guardLock = NSLock()
        signal(SIGTERM, SIG_IGN)
        let term = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
        term.setEventHandler {
            guardLock.lock()   // never released: the loop stops where it is
            do { try audit.commit(final: true) } catch { logLine("hoop-record", "shutdown checkpoint failed: \(error)") }
            Glibc.exit(0)
        }
        term.resume()
        // The commit runs before each flush, so nothing leaves unrecorded (invariant 2).
        // The loop's own error frames (lines it could not read) are recorded and stamped too.
        var mustCommit = false   // a frame hoop-listen acts on waits for the next commit
        loop.ownFrame = { frame in
            guardLock.lock(); defer { guardLock.unlock() }
            mustCommit = true
            let bytes = frame.encoded().dropLast()
            try bytes.withUnsafeBytes { raw in
                let header = FrameHeader(type: frame.type, session: frame.session, seq: frame.seq)
                let f = RawFrame(bytes: raw, header: header)
                try audit.append(f)
                loop.stamp(f, as: "record")
            }
        }
        // Only what hoop-listen acts on (responses) must be durable before it goes on:
        // requests were run by hoop-connect before they came here, and listen ignores
        // them. While nothing but such frames waits, the commit waits too (5 ms at
        // most) to share one fsync with the responses that follow. While another
        // session's answer is due, responses wait for it a little (PostgreSQL's
        // commit_delay with commit_siblings): one fsync then serves both, and a lone
        // client, whose answer no other is due beside, never waits.
        var due = AnswersDue()
        try loop.run(beforeFlush: {
            guardLock.lock(); defer { guardLock.unlock() }
            try audit.commit(final: false)
            mustCommit = false
            due.committed()
        }, mayWait: { waited in
            guardLock.lock(); defer { guardLock.unlock() }
            if !mustCommit { return 0.005 - waited }
            return due.anyDue(now: monotonicSeconds()) ? commitDelay - waited : 0
        }) { frame in
            guardLock.lock(); defer { guardLock.unlock() }
            due.note(frame, now: monotonicSeconds())
            // A copy_credit needs no durability but lets a client go on: it goes at once too.
            if FrameType.responses.contains(frame.type) || frame.type == FrameType.error || frame.type == FrameType.copyCredit { mustCommit = true }
            // A backstop: no credential is ever stored, even from a ring without hoop-auth.
            if frame.type == FrameType.sessionOpen, var open = try? frame.decode(), open.fields.removeValue(forKey: "credential") != nil {
                let bytes = open.encoded().dropLast()
                return try bytes.withUnsafeBytes { raw in
                    let f = RawFrame(bytes: raw, header: frame.header)
                    try audit.append(f)
                    loop.stamp(f, as: "record")
                }
            }
            try audit.append(frame)
            // Every frame: hoop-listen delivers only recorded responses, and the first
            // stage after the doors knows by this stamp a frame that has been round.
            loop.stamp(frame, as: "record")
        }
        // End of input: a shutdown checkpoint signs the head.
        guardLock.lock()
        try audit.commit(final: true)
    }
}

