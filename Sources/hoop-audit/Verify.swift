import ArgumentParser
import CLibPQ
import Crypto
import Foundation
import HoopFrames
import HoopSQLite
import HoopAudit

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify",
        abstract: "Check the whole chain and every checkpoint; print what is wrong and where.",
        discussion: "Exit status: 0 intact, checkpoints signed by the key given with --key; 1 a defect, or no key to check the signatures with; 2 intact, but checked only with the gateway's own key (no --key): not a proof.")
    @OptionGroup var options: StoreOptions
    @Option(help: "The auditors' public key (a file, or 64 hex characters). Without it, $HOOP_VAR/audit-signing.pub when it exists (scripts/hoop writes it), else the configured signing key's: the gateway's own, which proves nothing against whoever could write the store (exit 2, not 0).")
    var key: String?
    @Flag(help: "Print JSON.") var json = false
    @Option(help: "A PostgreSQL store: the chain (gateway) to verify (default: the configuration's audit.chain).")
    var chain: String?
    @Option(help: "The signature (hex) of a checkpoint kept outside the store, as an earlier verify printed it (`anchor`): it must still be there. Repeatable.")
    var anchor: [String] = []

    func run() throws {
        var publicKey: Curve25519.Signing.PublicKey?
        var keySource = "--key"
        let published = StoreOptions.varFolder + "/audit-signing.pub"
        var key = self.key
        if key == nil, FileManager.default.fileExists(atPath: published) { key = published; keySource = published }
        if let key {
            let text = FileManager.default.contents(atPath: key).map { String(decoding: $0, as: UTF8.self) } ?? key
            guard let raw = Data(hex: text), let k = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
                throw ValidationError("--key: not an Ed25519 public key in hex")
            }
            publicKey = k
        } else if let signer = try options.signer() {
            publicKey = signer.publicKey
            keySource = "the configured signing key"
        }
        let anchors = try anchor.map { hex -> Data in
            guard let d = Data(hex: hex), d.count == 64 else { throw ValidationError("--anchor: a checkpoint's signature, 128 hex characters") }
            return d
        }
        var report: Verifier.Report
        if options.store == nil, let cfg = options.gateway(), let conn = try PostgresAuditStore.connect(cfg) {
            defer { PQfinish(conn) }
            report = try Verifier(reader: PostgresReader(conn: conn, chain: chain ?? PostgresAuditStore.chainName(cfg)), key: publicKey, anchors: anchors).run()
        } else {
            let path = options.storePath()
            guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("no audit store at \(path)") }
            report = try Verifier(reader: SQLiteReader(db: try SQLiteDB(path: path)), key: publicKey, anchors: anchors).run()
        }
        if publicKey == nil {
            report.problems.append(Problem(kind: "no_key", record: nil, checkpoint: nil,
                                           detail: "no public key: checkpoint signatures were not checked (give --key)"))
        }
        // Only a key the auditor gave vouches for the checkpoints: the default ones are the
        // gateway's own, and whoever can rewrite the store can rewrite them too.
        let verdict = report.verdict(keyFromAuditor: self.key != nil)
        let unvouched = "checkpoints signed by the key in \(keySource), the gateway's own copy beside its store: "
            + "this proves nothing against whoever could write there — give the auditors' copy with --key"
        if json {
            var o: [String: JSON] = [
                "ok": .bool(verdict == .proven), "intact": .bool(report.problems.isEmpty), "key_vouched": .bool(self.key != nil),
                "records": .int(Int64(report.records)), "checkpoints": .int(Int64(report.checkpoints)),
                "last_record": .int(report.lastID), "unsigned_tail": .int(report.unsignedTail),
                "signed_at_restart": .int(report.signedAtRestart), "problems": .array(report.problems.map(\.json)),
            ]
            if let a = report.anchor { o["anchor"] = .string(a.hex) }
            if publicKey != nil { o["key"] = .string(keySource) }
            if verdict == .unvouched { o["warning"] = .string(unvouched) }
            print(JSON.object(o).encodedLine)
        } else {
            for p in report.problems { print("FAIL  \(p.detail)") }
            print((verdict == .proven ? "OK    " : verdict == .unvouched ? "chain intact: " : "      ")
                  + "\(report.records) records, \(report.checkpoints) checkpoints, chain through record \(report.lastID)"
                  + (publicKey == nil ? "" : ", signatures checked with \(keySource)")
                  + (report.unsignedTail > 0 ? "; the last \(report.unsignedTail) records are not yet under a checkpoint" : "")
                  + (report.signedAtRestart > 0 ? "; \(report.signedAtRestart) records were first signed at a restart (a recorder stopped without its shutdown checkpoint)" : ""))
            if let a = report.anchor { print("      anchor (keep it outside the store; verify --anchor finds a later truncation): \(a.hex)") }
            if verdict == .unvouched { print("NOT PROVEN  " + unvouched) }
        }
        if verdict != .proven { throw ExitCode(verdict.rawValue) }
    }
}

struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune",
        abstract: "Remove records older than the retention age, under a signed prune checkpoint.")
    @OptionGroup var options: StoreOptions
    @Option(help: "Age in days (default: the configuration's audit.retention_days). Records younger than that stay.")
    var olderThanDays: Double?

    func run() throws {
        guard let signer = try options.signer() else { throw ValidationError("a prune is signed: configure audit.signing_key") }

        let configured = options.gateway()?.json["audit"]?["retention_days"]?.int.map(Double.init)
        guard let days = olderThanDays ?? configured else { throw ValidationError("give --older-than-days or audit.retention_days") }
        // Int64(Double) traps: an age of no calendar is refused, not converted.
        guard days.isFinite, days >= 0, days <= 1_000_000 else { throw ValidationError("--older-than-days: a number of days from 0 to 1000000") }
        if let configured, days < configured { throw ValidationError("the retention age is \(Int(configured)) days: nothing younger is pruned") }
        let cutoff = Int64((Date().timeIntervalSince1970 - days * 86_400) * 1_000_000)
        if options.store == nil, let cfg = options.gateway(), let conn = try PostgresAuditStore.connect(cfg) {
            defer { PQfinish(conn) }
            return try prunePostgres(conn, chain: PostgresAuditStore.chainName(cfg), cutoff: cutoff, signer: signer, days: days)
        }
        let db = try SQLiteDB(path: options.storePath())
        let pruned: (Int64, Int)? = try db.transaction {
            guard let last = try db.query("SELECT id, hash FROM frames WHERE recorded_at < ? ORDER BY id DESC LIMIT 1", [.int(cutoff)]).first,
                  let id = last["id"]?.int, let head = last["hash"]?.data else { return nil }
            let prev = try db.query("SELECT signature FROM checkpoints ORDER BY id DESC LIMIT 1").first?["signature"]?.data ?? Data()
            let (at, keyID, signature) = AuditChain.sign(kind: "prune", lastID: id, head: head, prunedThrough: id, previous: prev, signer: signer)
            guard !signature.isEmpty else { throw ConfigError("the prune checkpoint could not be signed: nothing removed") }
            try db.query("INSERT INTO checkpoints (at, kind, last_id, head, pruned_through, previous, key_id, signature) VALUES (?, 'prune', ?, ?, ?, ?, ?, ?)",
                         [.int(at), .int(id), .blob(head), .int(id), .blob(prev), .text(keyID), .blob(signature)])
            let count = try db.query("SELECT count(*) AS n FROM frames WHERE id <= ?", [.int(id)]).first?["n"]?.int ?? 0
            try db.query("DELETE FROM frames WHERE id <= ?", [.int(id)])
            return (id, Int(count))
        }
        guard let (through, count) = pruned else { return print("nothing older than \(days) days") }
        print("pruned \(count) records through record \(through), under a signed prune checkpoint")
    }

    /// The same on a PostgreSQL store, for this gateway's chain.
    func prunePostgres(_ conn: OpaquePointer, chain: String, cutoff: Int64, signer: Curve25519.Signing.PrivateKey, days: Double) throws {
        func q(_ sql: String, _ p: [SQLiteDB.Value]) throws -> [SQLiteDB.Row] { try PostgresAuditStore.query(conn, sql, p) }
        _ = try q("BEGIN", [])
        do {
            guard let last = try q("SELECT id, hash FROM hoop_audit_frames WHERE chain = $1 AND recorded_at < $2 ORDER BY id DESC LIMIT 1",
                                   [.text(chain), .int(cutoff)]).first, let id = last["id"]?.int, let head = last["hash"]?.data else {
                _ = try q("ROLLBACK", [])
                return print("nothing older than \(days) days")
            }
            let prev = try q("SELECT signature FROM hoop_audit_checkpoints WHERE chain = $1 ORDER BY id DESC LIMIT 1 FOR UPDATE",
                             [.text(chain)]).first?["signature"]?.data ?? Data()
            let (at, keyID, signature) = AuditChain.sign(kind: "prune", lastID: id, head: head, prunedThrough: id, previous: prev, signer: signer)
            guard !signature.isEmpty else { throw ConfigError("the prune checkpoint could not be signed: nothing removed") }
            _ = try q("INSERT INTO hoop_audit_checkpoints (chain, at, kind, last_id, head, pruned_through, previous, key_id, signature) VALUES ($1, $2, 'prune', $3, $4, $3, $5, $6, $7)",
                      [.text(chain), .int(at), .int(id), .blob(head), .blob(prev), .text(keyID), .blob(signature)])
            let count = try q("SELECT count(*) AS n FROM hoop_audit_frames WHERE chain = $1 AND id <= $2", [.text(chain), .int(id)]).first?["n"]?.int ?? 0
            _ = try q("DELETE FROM hoop_audit_frames WHERE chain = $1 AND id <= $2", [.text(chain), .int(id)])
            _ = try q("COMMIT", [])
            print("pruned \(count) records of chain \(chain) through record \(id), under a signed prune checkpoint")
        } catch {
            _ = try? q("ROLLBACK", [])
            throw error
        }
    }
}

extension JSON {
    var encodedLine: String {
        var w = JSONWriter()
        w.value(self)
        return String(decoding: w.bytes, as: UTF8.self)
    }
}
