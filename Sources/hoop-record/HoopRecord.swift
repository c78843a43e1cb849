import ArgumentParser
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HoopFrames

/// hoop-record: appends every frame to the audit store, durably and hash-chained,
/// before passing it on; stamps responses so hoop-listen knows they were recorded.
/// Its other subcommands are the auditor's tools (docs/audit.md).
@main
struct HoopRecord: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hoop-record",
        abstract: "Ring stage: the audit trail; and the auditor's tools.",
        subcommands: [Stage.self, SessionsCommand.self, ShowCommand.self, ReplayCommand.self, ExportCommand.self,
                      VerifyCommand.self, PruneCommand.self, KeyCommand.self],
        defaultSubcommand: Stage.self)
}

/// Where the store is and how checkpoints are signed, for every subcommand.
struct StoreOptions: ParsableArguments {
    @Option(help: "The SQLite audit store (default: the configuration's audit.sqlite, else $HOOP_VAR/audit.sqlite).")
    var store: String?

    @Option(help: "The gateway configuration (its \"audit\" section: store, signing_key, retention_days).")
    var config: String?

    func gateway() -> GatewayConfig? {
        guard config != nil || ProcessInfo.processInfo.environment["HOOP_CONFIG"] != nil else { return nil }
        return try? GatewayConfig.load(config)
    }

    func storePath() -> String {
        if let store { return store }
        if let cfg = gateway(), let p = cfg.json["audit"]?["sqlite"]?.string {
            return p.hasPrefix("/") ? p : URL(fileURLWithPath: cfg.path).deletingLastPathComponent().path + "/" + p
        }
        return (ProcessInfo.processInfo.environment["HOOP_VAR"] ?? "var") + "/audit.sqlite"
    }

    /// The checkpoint signing key (`audit.signing_key`: a secret reference to 32 bytes
    /// in hex, an Ed25519 seed); nil when none is configured.
    func signer() throws -> Curve25519.Signing.PrivateKey? {
        guard let cfg = gateway(), let ref = cfg.json["audit"]?["signing_key"] else { return nil }
        guard let hex = try cfg.secret(ref), let seed = Data(hex: hex), seed.count == 32 else {
            throw ConfigError("audit.signing_key must hold 32 bytes in hex (an Ed25519 seed)")
        }
        return try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
    }
}

struct Stage: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run as a ring stage (the default).")

    @OptionGroup var options: StoreOptions

    @Option(help: "Seconds between signed checkpoints while frames arrive.")
    var checkpointSeconds: Double = 10

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
        // most) to share one fsync with the responses that follow.
        try loop.run(beforeFlush: {
            guardLock.lock(); defer { guardLock.unlock() }
            try audit.commit(final: false)
            mustCommit = false
        }, mayWait: { !mustCommit }) { frame in
            guardLock.lock(); defer { guardLock.unlock() }
            if FrameType.responses.contains(frame.type) || frame.type == FrameType.error { mustCommit = true }
            // A backstop: no credential is ever stored, even from a ring without hoop-auth.
            if frame.type == FrameType.sessionOpen, var open = try? frame.decode(), open.fields.removeValue(forKey: "credential") != nil {
                let bytes = open.encoded().dropLast()
                return try bytes.withUnsafeBytes { raw in
                    let f = RawFrame(bytes: raw, header: frame.header)
                    try audit.append(f)
                    loop.pass(f)
                }
            }
            try audit.append(frame)
            if FrameType.responses.contains(frame.type) { loop.stamp(frame, as: "record") } else { loop.pass(frame) }
        }
        // End of input: a shutdown checkpoint signs the head.
        guardLock.lock()
        try audit.commit(final: true)
    }
}

struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "key",
        abstract: "Print the public key of the configured signing key (hex), for auditors; --generate FILE makes a new signing key.")
    @OptionGroup var options: StoreOptions
    @Option(help: "Write a new signing key (hex seed, mode 0600) to this file and print its public key.")
    var generate: String?

    func run() throws {
        if let path = generate {
            let key = Curve25519.Signing.PrivateKey()
            let old = umask(0o077)
            defer { umask(old) }
            guard FileManager.default.createFile(atPath: path, contents: Data((key.rawRepresentation.hex + "\n").utf8)) else {
                throw ConfigError("cannot write \(path)")
            }
            return print(key.publicKey.rawRepresentation.hex)
        }
        guard let key = try options.signer() else { throw ConfigError("no audit.signing_key in the configuration") }
        print(key.publicKey.rawRepresentation.hex)
    }
}

extension Data {
    init?(hex: String) {
        let chars = Array(hex.trimmingCharacters(in: .whitespacesAndNewlines).utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = Data(capacity: chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let v = UInt8(String(decoding: chars[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
            out.append(v)
            i += 2
        }
        self = out
    }

    var hex: String { map { String(format: "%02x", $0) }.joined() }
}
