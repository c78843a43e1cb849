import ArgumentParser
import CLibPQ
import Crypto
import Foundation
import HoopFrames
import HoopSQLite

/// One thing wrong with a store, and where.
public struct Problem {
    public init(kind: String, record: Int64?, checkpoint: Int64? = nil, detail: String) {
        self.kind = kind; self.record = record; self.checkpoint = checkpoint; self.detail = detail
    }
    public let kind: String      // missing, altered, truncated, checkpoint_signature, checkpoint_head, checkpoint_chain, …
    public let record: Int64?
    public var checkpoint: Int64? = nil
    public let detail: String

    public var json: JSON {
        var o: [String: JSON] = ["kind": .string(kind), "detail": .string(detail)]
        if let record { o["record"] = .int(record) }
        if let checkpoint { o["checkpoint"] = .int(checkpoint) }
        return .object(o)
    }
}

/// Checks a whole store: every record's hash against the chain, every checkpoint's
/// signature, its place in the checkpoints' own chain, and the head it signed.
/// Where verify reads records and checkpoints from.
public protocol ChainSource {
    func checkpointRows() throws -> [SQLiteDB.Row]
    func frameRows(after: Int64, limit: Int) throws -> [SQLiteDB.Row]
    /// What the store's own consistency check finds wrong (nothing: []).
    func structureProblems() throws -> [String]
}

public struct SQLiteReader: ChainSource {
    public init(db: SQLiteDB) { self.db = db }
    public let db: SQLiteDB
    public func checkpointRows() throws -> [SQLiteDB.Row] { try db.query("SELECT * FROM checkpoints ORDER BY id") }
    public func frameRows(after: Int64, limit: Int) throws -> [SQLiteDB.Row] {
        try db.query("SELECT id, recorded_at, session, seq, type, frame, hash FROM frames WHERE id > ? ORDER BY id LIMIT ?",
                     [.int(after), .int(Int64(limit))])
    }
    /// SQLite's integrity check: an index that disagrees with its table (edited in the
    /// file, the chain left intact) makes the tools' lookups by session miss records
    /// that the chain's scan finds. Its messages name rows and indexes, never values.
    /// Schema code (a CHECK, an index expression) is not trusted to run while checking.
    public func structureProblems() throws -> [String] {
        try db.exec("PRAGMA trusted_schema=OFF")
        return try db.query("PRAGMA integrity_check(20)").compactMap { $0.values.first?.string }.filter { $0 != "ok" }
            .map { $0.replacingOccurrences(of: "\n", with: "; ") }
    }
}

public struct PostgresReader: ChainSource {
    public init(conn: OpaquePointer, chain: String) { self.conn = conn; self.chain = chain }
    public let conn: OpaquePointer
    public let chain: String
    public func checkpointRows() throws -> [SQLiteDB.Row] {
        try PostgresAuditStore.query(conn, "SELECT * FROM hoop_audit_checkpoints WHERE chain = $1 ORDER BY id", [.text(chain)])
    }
    public func frameRows(after: Int64, limit: Int) throws -> [SQLiteDB.Row] {
        try PostgresAuditStore.query(conn, "SELECT id, recorded_at, session, seq, type, frame, hash FROM hoop_audit_frames WHERE chain = $1 AND id > $2 ORDER BY id LIMIT $3",
                                     [.text(chain), .int(after), .int(Int64(limit))])
    }
    /// The server keeps its indexes consistent with their tables; checking them needs
    /// the amcheck extension and rights the auditor's role may not have.
    public func structureProblems() throws -> [String] { [] }
}

public struct Verifier {
    /// `anchors`: signatures of checkpoints the auditor kept outside the store (`hoop-audit
    /// head`); each must still be there, or the store lost its latest checkpoints.
    public init(reader: ChainSource, key: Curve25519.Signing.PublicKey?, anchors: [Data] = []) {
        self.reader = reader; self.key = key; self.anchors = anchors
    }
    public let reader: ChainSource
    public let key: Curve25519.Signing.PublicKey?
    public let anchors: [Data]

    public struct Checkpoint {
        public let id: Int64, at: Int64, kind: String, lastID: Int64, head: Data, prunedThrough: Int64?, previous: Data, keyID: String, signature: Data
    }

    public struct Report {
        public var records = 0
        public var checkpoints = 0
        public var lastID: Int64 = 0
        public var unsignedTail: Int64 = 0
        /// Records a `start` checkpoint signed that no checkpoint had signed before: a
        /// recorder killed before its next checkpoint left them (or someone wrote them).
        public var signedAtRestart: Int64 = 0
        /// The last checkpoint's signature: kept outside the store, a later verify's anchor.
        public var anchor: Data?
        public var problems: [Problem] = []

        /// What verify concludes (its exit status, docs/audit.md): a key the auditor did not
        /// give (the gateway's own copy, beside its store) is one whoever rewrote the store
        /// could have replaced, so an intact chain under it proves nothing.
        public enum Verdict: Int32 { case proven = 0, failed = 1, unvouched = 2 }

        public func verdict(keyFromAuditor: Bool) -> Verdict {
            !problems.isEmpty ? .failed : keyFromAuditor ? .proven : .unvouched
        }
    }

    public func checkpoints() throws -> [Checkpoint] {
        try reader.checkpointRows().map { r in
            Checkpoint(id: r["id"]?.int ?? 0, at: r["at"]?.int ?? 0, kind: r["kind"]?.string ?? "", lastID: r["last_id"]?.int ?? 0,
                       head: r["head"]?.data ?? Data(), prunedThrough: r["pruned_through"]?.int, previous: r["previous"]?.data ?? Data(),
                       keyID: r["key_id"]?.string ?? "", signature: r["signature"]?.data ?? Data())
        }
    }

    public func run() throws -> Report {
        var report = Report()
        let stored = try checkpoints()
        report.checkpoints = stored.count
        // A checkpoint naming an id no recorder writes is a problem of its own and is
        // left out of the reckoning below (the next one then does not follow it).
        let inRange = { (id: Int64?) in id.map { (0..<AuditChain.idCeiling).contains($0) } ?? true }
        for cp in stored where !inRange(cp.lastID) || !inRange(cp.prunedThrough) {
            report.problems.append(Problem(kind: "id_out_of_range", record: nil, checkpoint: cp.id,
                detail: "checkpoint \(cp.id) names record \(inRange(cp.lastID) ? cp.prunedThrough ?? 0 : cp.lastID), an id no recorder writes"))
        }
        let cps = stored.filter { inRange($0.lastID) && inRange($0.prunedThrough) }
        report.anchor = cps.last.map(\.signature).flatMap { $0.isEmpty ? nil : $0 }
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
        // What a recorder run may sign: it starts with `start`, over the head it found, and
        // ends with `shutdown`; nothing is recorded between a shutdown and the next start.
        // A start over more records than the last checkpoint covered signs a tail a
        // recorder killed left unsigned: counted, since nothing but the store vouches for it.
        var before: Checkpoint?
        for cp in cps where cp.kind != "prune" {
            if cp.kind == "start", let before, cp.lastID > before.lastID {
                if before.kind == "shutdown" {
                    report.problems.append(Problem(kind: "after_shutdown", record: before.lastID + 1, checkpoint: cp.id,
                        detail: "records \(before.lastID + 1) to \(cp.lastID) follow the shutdown checkpoint \(before.id) and were signed only by the next start (\(cp.id)): they were written while the recorder was stopped"))
                } else {
                    report.signedAtRestart += cp.lastID - before.lastID
                }
            }
            before = cp
        }
        for anchor in anchors where !cps.contains(where: { $0.signature == anchor }) {
            report.problems.append(Problem(kind: "anchor_missing", record: nil,
                detail: "the checkpoint kept outside the store (signature \(anchor.prefix(8).hex)…) is not in it: its latest checkpoints were removed or replaced"))
        }
        // Where the chain starts: after the last signed prune, or at the beginning.
        let prune = cps.last { $0.kind == "prune" }
        var expected = (prune?.prunedThrough ?? 0) + 1
        let expectedStart = expected
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
                guard id < AuditChain.idCeiling else {
                    report.problems.append(Problem(kind: "id_out_of_range", record: id,
                        detail: "record \(id) has an id no recorder writes (they count from 1 by one)"))
                    continue
                }
                if id < expected {
                    // A prune removes its range in the transaction that signs it: a record
                    // there now was put there after it, outside the chain.
                    report.problems.append(Problem(kind: "pruned_range", record: id,
                        detail: "record \(id) lies in the range a signed prune removed (through \(expected - 1)): it was added afterwards"))
                    continue
                }
                if id > expected {
                    report.problems.append(Problem(kind: "missing", record: expected,
                        detail: id - expected == 1 ? "record \(expected) is missing (deleted)" : "records \(expected) to \(id - 1) are missing (deleted)"))
                }
                let stored = r["hash"]?.data
                let frame = r["frame"]?.data ?? Data()
                let computed = frame.withUnsafeBytes {
                    // Integers as recorded: a REAL put in their place does not hash as one.
                    AuditChain.hash(previous: chain, id: id, recordedAt: r["recorded_at"]?.integer ?? 0, session: r["session"]?.string,
                                    seq: r["seq"]?.integer, type: r["type"]?.string ?? "", frame: $0)
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
        // Every run opens with a signed start checkpoint before its first record: records
        // under none, or after the last shutdown, were not written by a recorder.
        if let last = cps.last(where: { $0.kind != "prune" }) {
            if last.kind == "shutdown" && report.lastID > last.lastID {
                report.problems.append(Problem(kind: "after_shutdown", record: last.lastID + 1, checkpoint: last.id,
                    detail: "records \(last.lastID + 1) to \(report.lastID) follow the shutdown checkpoint \(last.id): they were written while the recorder was stopped"))
            }
        } else if report.lastID >= expectedStart {
            report.problems.append(Problem(kind: "unsigned", record: expectedStart, checkpoint: nil,
                detail: "records \(expectedStart) to \(report.lastID) are under no checkpoint: a recorder signs a start checkpoint before its first record"))
        }
        // The chain vouches for the records a scan reads; the tools look a session's
        // records up by an index, which must say the same. A check that cannot run is a
        // problem too, and the report keeps what the scan found.
        do {
            for detail in try reader.structureProblems() {
                report.problems.append(Problem(kind: "store_structure", record: nil, checkpoint: nil,
                    detail: "the store's own check: \(detail) (the tools' lookups may miss or add records)"))
            }
        } catch {
            report.problems.append(Problem(kind: "store_structure", record: nil, checkpoint: nil,
                detail: "the store's own check could not run: \(error)"))
        }
        return report
    }
}
