import ArgumentParser
import CLibPQ
import Crypto
import Foundation
import HoopFrames
import HoopSQLite

/// One thing wrong with a store, and where.
struct Problem {
    let kind: String      // missing, altered, truncated, checkpoint_signature, checkpoint_head, checkpoint_chain, …
    let record: Int64?
    var checkpoint: Int64? = nil
    let detail: String

    var json: JSON {
        var o: [String: JSON] = ["kind": .string(kind), "detail": .string(detail)]
        if let record { o["record"] = .int(record) }
        if let checkpoint { o["checkpoint"] = .int(checkpoint) }
        return .object(o)
    }
}

/// Checks a whole store: every record's hash against the chain, every checkpoint's
/// signature, its place in the checkpoints' own chain, and the head it signed.
/// Where verify reads records and checkpoints from.
protocol ChainSource {
    func checkpointRows() throws -> [SQLiteDB.Row]
    func frameRows(after: Int64, limit: Int) throws -> [SQLiteDB.Row]
}

struct SQLiteReader: ChainSource {
    let db: SQLiteDB
    func checkpointRows() throws -> [SQLiteDB.Row] { try db.query("SELECT * FROM checkpoints ORDER BY id") }
    func frameRows(after: Int64, limit: Int) throws -> [SQLiteDB.Row] {
        try db.query("SELECT id, recorded_at, session, seq, type, frame, hash FROM frames WHERE id > ? ORDER BY id LIMIT ?",
                     [.int(after), .int(Int64(limit))])
    }
}

struct PostgresReader: ChainSource {
    let conn: OpaquePointer
    let chain: String
    func checkpointRows() throws -> [SQLiteDB.Row] {
        try PostgresAuditStore.query(conn, "SELECT * FROM hoop_audit_checkpoints WHERE chain = $1 ORDER BY id", [.text(chain)])
    }
    func frameRows(after: Int64, limit: Int) throws -> [SQLiteDB.Row] {
        try PostgresAuditStore.query(conn, "SELECT id, recorded_at, session, seq, type, frame, hash FROM hoop_audit_frames WHERE chain = $1 AND id > $2 ORDER BY id LIMIT $3",
                                     [.text(chain), .int(after), .int(Int64(limit))])
    }
}

struct Verifier {
    let reader: ChainSource
    let key: Curve25519.Signing.PublicKey?

    struct Checkpoint {
        let id: Int64, at: Int64, kind: String, lastID: Int64, head: Data, prunedThrough: Int64?, previous: Data, keyID: String, signature: Data
    }

    struct Report {
        var records = 0
        var checkpoints = 0
        var lastID: Int64 = 0
        var unsignedTail: Int64 = 0
        var problems: [Problem] = []
    }

    func checkpoints() throws -> [Checkpoint] {
        try reader.checkpointRows().map { r in
            Checkpoint(id: r["id"]?.int ?? 0, at: r["at"]?.int ?? 0, kind: r["kind"]?.string ?? "", lastID: r["last_id"]?.int ?? 0,
                       head: r["head"]?.data ?? Data(), prunedThrough: r["pruned_through"]?.int, previous: r["previous"]?.data ?? Data(),
                       keyID: r["key_id"]?.string ?? "", signature: r["signature"]?.data ?? Data())
        }
    }

    func run() throws -> Report {
        var report = Report()
        let cps = try checkpoints()
        report.checkpoints = cps.count
        // The checkpoints' own chain and signatures first: a prune is trusted only signed.
        var previous = Data()
        var lastCovered: Int64 = 0
        for cp in cps {
            if cp.previous != previous {
                report.problems.append(Problem(kind: "checkpoint_chain", record: nil, checkpoint: cp.id,
                    detail: "checkpoint \(cp.id) does not follow the one before it: a checkpoint was removed, replaced or reordered"))
            }
            previous = cp.signature
            if let key {
                let message = AuditChain.checkpointMessage(at: cp.at, kind: cp.kind, lastID: cp.lastID, head: cp.head,
                                                           prunedThrough: cp.prunedThrough, previous: cp.previous, keyID: cp.keyID)
                if cp.signature.isEmpty || !key.isValidSignature(cp.signature, for: message) {
                    report.problems.append(Problem(kind: "checkpoint_signature", record: cp.lastID, checkpoint: cp.id,
                        detail: cp.signature.isEmpty ? "checkpoint \(cp.id) is not signed"
                                                     : "checkpoint \(cp.id) (\(cp.kind), through record \(cp.lastID)): the signature is not valid for this key"))
                }
            }
            // A prune names the last record it removed: older than what came before, by design.
            if cp.kind != "prune" && cp.lastID < lastCovered {
                report.problems.append(Problem(kind: "checkpoint_order", record: cp.lastID, checkpoint: cp.id,
                    detail: "checkpoint \(cp.id) covers up to record \(cp.lastID), less than an earlier one (\(lastCovered)): records were removed between them"))
            }
            lastCovered = max(lastCovered, cp.lastID)
        }
        // Where the chain starts: after the last signed prune, or at the beginning.
        let prune = cps.last { $0.kind == "prune" }
        var expected = (prune?.prunedThrough ?? 0) + 1
        var chain = prune?.head ?? AuditChain.genesis
        var heads: [Int64: Data] = [:]
        let wanted = Set(cps.map(\.lastID))
        if let prune { heads[prune.lastID] = prune.head }
        heads[0] = AuditChain.genesis
        var after: Int64 = 0
        while true {
            let page = try reader.frameRows(after: after, limit: 5000)
            if page.isEmpty { break }
            for r in page {
                let id = r["id"]?.int ?? 0
                after = id
                report.records += 1
                if id < expected {
                    // Before the last prune: kept by accident, outside the chain.
                    continue
                }
                if id > expected {
                    report.problems.append(Problem(kind: "missing", record: expected,
                        detail: id - expected == 1 ? "record \(expected) is missing (deleted)" : "records \(expected) to \(id - 1) are missing (deleted)"))
                }
                let stored = r["hash"]?.data
                let frame = r["frame"]?.data ?? Data()
                let computed = frame.withUnsafeBytes {
                    AuditChain.hash(previous: chain, id: id, recordedAt: r["recorded_at"]?.int ?? 0, session: r["session"]?.string,
                                    seq: r["seq"]?.int, type: r["type"]?.string ?? "", frame: $0)
                }
                if stored != computed && id == expected {
                    report.problems.append(Problem(kind: "altered", record: id,
                        detail: stored == nil ? "record \(id) has no hash" : "record \(id) does not match its hash: it was changed, or records were reordered"))
                }
                // Go on from what is stored, so that every later defect is found where it is.
                chain = stored ?? computed
                if wanted.contains(id) { heads[id] = chain }
                expected = id + 1
            }
        }
        report.lastID = expected - 1
        for cp in cps where cp.kind != "prune" || cp.id == prune?.id {
            if cp.lastID > report.lastID {
                report.problems.append(Problem(kind: "truncated", record: report.lastID + 1, checkpoint: cp.id,
                    detail: "checkpoint \(cp.id) covers records up to \(cp.lastID), the store ends at \(report.lastID): records \(report.lastID + 1) to \(cp.lastID) were removed"))
            } else if let pruned = prune?.prunedThrough, cp.lastID < pruned {
                continue   // its records were pruned, under a signed prune checkpoint
            } else if let h = heads[cp.lastID], h != cp.head {
                report.problems.append(Problem(kind: "checkpoint_head", record: cp.lastID, checkpoint: cp.id,
                    detail: "checkpoint \(cp.id) signed a different head for record \(cp.lastID): records up to it were changed"))
            }
        }
        report.unsignedTail = max(0, report.lastID - (cps.map(\.lastID).max() ?? 0))
        return report
    }
}

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify",
        abstract: "Check the whole chain and every checkpoint; print what is wrong and where (exit 1).")
    @OptionGroup var options: StoreOptions
    @Option(help: "The auditors' public key (a file, or 64 hex characters). Without it, the configured signing key's.")
    var key: String?
    @Flag(help: "Print JSON.") var json = false
    @Option(help: "A PostgreSQL store: the chain (gateway) to verify (default: the configuration's audit.chain).")
    var chain: String?

    func run() throws {
        var publicKey: Curve25519.Signing.PublicKey?
        var keySource = "--key"
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
        var report: Verifier.Report
        if options.store == nil, let cfg = options.gateway(), let conn = try PostgresAuditStore.connect(cfg) {
            defer { PQfinish(conn) }
            report = try Verifier(reader: PostgresReader(conn: conn, chain: chain ?? PostgresAuditStore.chainName(cfg)), key: publicKey).run()
        } else {
            let path = options.storePath()
            guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("no audit store at \(path)") }
            report = try Verifier(reader: SQLiteReader(db: try SQLiteDB(path: path)), key: publicKey).run()
        }
        if publicKey == nil {
            report.problems.append(Problem(kind: "no_key", record: nil, checkpoint: nil,
                                           detail: "no public key: checkpoint signatures were not checked (give --key)"))
        }
        if json {
            print(JSON.object([
                "ok": .bool(report.problems.isEmpty), "records": .int(Int64(report.records)), "checkpoints": .int(Int64(report.checkpoints)),
                "last_record": .int(report.lastID), "unsigned_tail": .int(report.unsignedTail),
                "problems": .array(report.problems.map(\.json)),
            ]).encodedLine)
        } else {
            for p in report.problems { print("FAIL  \(p.detail)") }
            print((report.problems.isEmpty ? "OK    " : "      ")
                  + "\(report.records) records, \(report.checkpoints) checkpoints, chain through record \(report.lastID)"
                  + (publicKey == nil ? "" : ", signatures checked with \(keySource)")
                  + (report.unsignedTail > 0 ? "; the last \(report.unsignedTail) records are not yet under a checkpoint" : ""))
        }
        if !report.problems.isEmpty { throw ExitCode(1) }
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
