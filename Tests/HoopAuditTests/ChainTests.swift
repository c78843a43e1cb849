import Crypto
import Foundation
import HoopFrames
import HoopSQLite
import XCTest
@testable import HoopAudit

/// The hash chain and the signed checkpoints (HoopAudit), on a real SQLite store: what
/// hoop-record writes, Verifier accepts; any change to a record or a checkpoint is named.
final class ChainTests: XCTestCase {
    func hash(_ previous: Data, _ id: Int64, _ frame: String, session: String? = "s1", seq: Int64? = 1) -> Data {
        var f = frame
        return f.withUTF8 { AuditChain.hash(previous: previous, id: id, recordedAt: 1000, session: session, seq: seq, type: "query",
                                             frame: UnsafeRawBufferPointer($0)) }
    }

    func testEveryColumnIsInTheHash() {
        let base = hash(AuditChain.genesis, 1, "{}")
        XCTAssertEqual(base.count, 32)
        XCTAssertEqual(base, hash(AuditChain.genesis, 1, "{}"), "deterministic")
        XCTAssertNotEqual(base, hash(Data(repeating: 1, count: 32), 1, "{}"), "the previous hash")
        XCTAssertNotEqual(base, hash(AuditChain.genesis, 2, "{}"), "the id")
        XCTAssertNotEqual(base, hash(AuditChain.genesis, 1, "{ }"), "the frame")
        XCTAssertNotEqual(base, hash(AuditChain.genesis, 1, "{}", session: nil), "a missing session is not an empty one")
        XCTAssertNotEqual(hash(AuditChain.genesis, 1, "{}", session: ""), hash(AuditChain.genesis, 1, "{}", session: nil))
        XCTAssertNotEqual(base, hash(AuditChain.genesis, 1, "{}", seq: nil), "the seq")
    }

    func testACheckpointSignatureCoversItsHead() throws {
        let key = Curve25519.Signing.PrivateKey()
        let head = hash(AuditChain.genesis, 1, "{}")
        let signed = AuditChain.sign(kind: "periodic", lastID: 1, head: head, prunedThrough: nil, previous: AuditChain.genesis, signer: key)
        let message = AuditChain.checkpointMessage(at: signed.at, kind: "periodic", lastID: 1, head: head, prunedThrough: nil,
                                                   previous: AuditChain.genesis, keyID: signed.keyID)
        XCTAssertTrue(key.publicKey.isValidSignature(signed.signature, for: message))
        let other = AuditChain.checkpointMessage(at: signed.at, kind: "periodic", lastID: 1, head: Data(repeating: 9, count: 32),
                                                 prunedThrough: nil, previous: AuditChain.genesis, keyID: signed.keyID)
        XCTAssertFalse(key.publicKey.isValidSignature(signed.signature, for: other), "another head")
        XCTAssertEqual(AuditChain.sign(kind: "start", lastID: 0, head: AuditChain.genesis, prunedThrough: nil,
                                       previous: AuditChain.genesis, signer: nil).keyID, "unsigned")
    }

    func store(_ frames: Int) throws -> (String, Curve25519.Signing.PrivateKey) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("chain-\(UUID().uuidString).sqlite").path
        let key = Curve25519.Signing.PrivateKey()
        let s = try AuditStore(path: path, signer: key)
        for i in 1...frames {
            let line = Array("{\"type\":\"query\",\"session\":\"s1\",\"seq\":\(i),\"sql\":\"select \(i)\"}".utf8)
            try line.withUnsafeBytes { b in try s.append(RawFrame(bytes: b, header: FrameHeader.peek(b)!)) }
        }
        try s.commit(final: true)
        return (path, key)
    }

    func testVerifierAcceptsWhatTheStoreWroteAndNamesATamperedRecord() throws {
        let (path, key) = try store(20)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let clean = try Verifier(reader: SQLiteReader(db: try SQLiteDB(path: path)), key: key.publicKey).run()
        XCTAssertTrue(clean.problems.isEmpty, "\(clean.problems.map(\.detail))")
        XCTAssertEqual(clean.records, 20)
        XCTAssertGreaterThan(clean.checkpoints, 0)
        let db = try SQLiteDB(path: path)
        try db.exec("UPDATE frames SET frame = replace(frame, 'select 7', 'select 8') WHERE id = 7")
        let tampered = try Verifier(reader: SQLiteReader(db: db), key: key.publicKey).run()
        XCTAssertTrue(tampered.problems.contains { $0.record == 7 }, "\(tampered.problems.map(\.detail))")
        let wrongKey = try Verifier(reader: SQLiteReader(db: try SQLiteDB(path: path)), key: Curve25519.Signing.PrivateKey().publicKey).run()
        XCTAssertTrue(wrongKey.problems.contains { $0.kind.hasPrefix("checkpoint") }, "another key signed nothing here")
    }

    /// The tools' walk over one session's records is served by the stretch index: its
    /// expression and the index's must be written alike, or SQLite scans the table.
    func testASessionsWalkSearchesTheStretchIndex() throws {
        let (path, _) = try store(3)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let db = try SQLiteDB(path: path)
        let sql = AuditStore.sessionRecordsSQL(columns: "id, length(frame) AS n", condition: "seq = ?")
        let plan = try db.query("EXPLAIN QUERY PLAN " + sql, [.int(0), .int(1), .text("s1"), .int(0), .int(2)])
            .compactMap { $0["detail"]?.string }
        XCTAssertTrue(plan.contains { $0.hasPrefix("SEARCH frames USING INDEX frames_by_stretch") }, "\(plan)")
        let found = try db.query(sql, [.int(0), .int(1), .text("s1"), .int(0), .int(2)]).compactMap { $0["id"]?.int }
        XCTAssertEqual(found, [2])
    }

    /// A store whose own check cannot run (here: it throws) fails verify with a problem
    /// of its own, and the report keeps the chain's findings.
    func testAStoreCheckThatCannotRunIsAProblem() throws {
        struct Unchecked: ChainSource {
            struct Broken: Error {}
            let inner: SQLiteReader
            func checkpointRows() throws -> [SQLiteDB.Row] { try inner.checkpointRows() }
            func frameRows(after: Int64, limit: Int) throws -> [SQLiteDB.Row] { try inner.frameRows(after: after, limit: limit) }
            func structureProblems() throws -> [String] { throw Broken() }
        }
        let (path, key) = try store(5)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let db = try SQLiteDB(path: path)
        try db.exec("UPDATE frames SET frame = replace(frame, 'select 3', 'select 4') WHERE id = 3")
        let report = try Verifier(reader: Unchecked(inner: SQLiteReader(db: db)), key: key.publicKey).run()
        XCTAssertTrue(report.problems.contains { $0.kind == "store_structure" && $0.detail.contains("could not run") })
        XCTAssertTrue(report.problems.contains { $0.record == 3 }, "the chain's finding is kept")
    }

    /// A store is intact under whatever key signed it, an attacker's too: only a key the
    /// auditor gave proves it (verify's exit 0); the gateway's own copy, beside the store,
    /// says no more than "intact" (exit 2); a defect fails under either (exit 1).
    func testAnIntactChainIsProvenOnlyUnderTheAuditorsKey() throws {
        let (path, key) = try store(5)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let intact = try verify(path, key)
        XCTAssertTrue(intact.problems.isEmpty, "\(intact.problems.map(\.detail))")
        XCTAssertEqual(intact.verdict(keyFromAuditor: true), .proven)
        XCTAssertEqual(intact.verdict(keyFromAuditor: false), .unvouched)
        XCTAssertEqual(Verifier.Report.Verdict.unvouched.rawValue, 2)
        let foreign = try verify(path, Curve25519.Signing.PrivateKey())
        XCTAssertEqual(foreign.verdict(keyFromAuditor: true), .failed)
        XCTAssertEqual(foreign.verdict(keyFromAuditor: false), .failed)
    }

    func verify(_ path: String, _ key: Curve25519.Signing.PrivateKey, anchors: [Data] = []) throws -> Verifier.Report {
        try Verifier(reader: SQLiteReader(db: try SQLiteDB(path: path)), key: key.publicKey, anchors: anchors).run()
    }

    /// Appends records chained from the store's head, as anyone who can write the file
    /// can (the chain's arithmetic is public; only checkpoints need the key).
    func forge(_ db: SQLiteDB, _ count: Int) throws {
        let last = try db.query("SELECT id, hash FROM frames ORDER BY id DESC LIMIT 1").first
        var id = last?["id"]?.int ?? 0, head = last?["hash"]?.data ?? AuditChain.genesis
        for _ in 0..<count {
            id += 1
            head = hash(head, id, "{\"type\":\"query\",\"session\":\"s1\",\"seq\":1,\"sql\":\"drop table x\"}")
            try db.query("INSERT INTO frames (id, recorded_at, session, seq, type, frame, hash) VALUES (?, 1000, 's1', 1, 'query', ?, ?)",
                         [.int(id), .blob(Data("{\"type\":\"query\",\"session\":\"s1\",\"seq\":1,\"sql\":\"drop table x\"}".utf8)), .blob(head)])
        }
    }

    func testRecordsWrittenAfterAShutdownAreNamedEvenOnceTheNextStartSignsThem() throws {
        let (path, key) = try store(5)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try forge(try SQLiteDB(path: path), 3)
        XCTAssertEqual(try verify(path, key).problems.map(\.kind), ["after_shutdown"])
        // The next recorder run's start checkpoint signs the head it finds: still named.
        try AuditStore(path: path, signer: key).commit(final: true)
        let after = try verify(path, key)
        XCTAssertEqual(after.problems.map(\.kind), ["after_shutdown"], "\(after.problems.map(\.detail))")
        XCTAssertEqual(after.problems.first?.record, 6)
    }

    func testATailARecorderLeftUnsignedIsCountedWhenARestartSignsIt() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("chain-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let key = Curve25519.Signing.PrivateKey()
        do {   // a recorder killed after its commits, before any interval or shutdown checkpoint
            let s = try AuditStore(path: path, signer: key)
            for i in 1...4 {
                let line = Array("{\"type\":\"query\",\"session\":\"s1\",\"seq\":\(i)}".utf8)
                try line.withUnsafeBytes { b in try s.append(RawFrame(bytes: b, header: FrameHeader.peek(b)!)) }
            }
            try s.commit(final: false)
        }
        XCTAssertEqual(try verify(path, key).unsignedTail, 4)
        try AuditStore(path: path, signer: key).commit(final: true)
        let r = try verify(path, key)
        XCTAssertTrue(r.problems.isEmpty, "\(r.problems.map(\.detail))")
        XCTAssertEqual(r.signedAtRestart, 4)
        XCTAssertEqual(r.unsignedTail, 0)
    }

    func testRecordsUnderNoCheckpointAreNamed() throws {
        let (path, key) = try store(6)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let db = try SQLiteDB(path: path)
        try db.exec("DELETE FROM checkpoints")
        try db.exec("DELETE FROM frames")
        try forge(db, 6)   // rewritten from the genesis, every hash recomputed
        XCTAssertEqual(try verify(path, key).problems.map(\.kind), ["unsigned"])
    }

    func testARecordPutInAPrunedRangeIsNamed() throws {
        let (path, key) = try store(6)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let db = try SQLiteDB(path: path)
        // A prune through record 4, as hoop-audit prune writes it (one transaction).
        let head = try db.query("SELECT hash FROM frames WHERE id = 4").first?["hash"]?.data ?? Data()
        let prev = try db.query("SELECT signature FROM checkpoints ORDER BY id DESC LIMIT 1").first?["signature"]?.data ?? Data()
        let (at, keyID, signature) = AuditChain.sign(kind: "prune", lastID: 4, head: head, prunedThrough: 4, previous: prev, signer: key)
        try db.exec("DELETE FROM frames WHERE id <= 4")
        try db.query("INSERT INTO checkpoints (at, kind, last_id, head, pruned_through, previous, key_id, signature) VALUES (?, 'prune', 4, ?, 4, ?, ?, ?)",
                     [.int(at), .blob(head), .blob(prev), .text(keyID), .blob(signature)])
        XCTAssertTrue(try verify(path, key).problems.isEmpty)
        try db.query("INSERT INTO frames (id, recorded_at, session, seq, type, frame, hash) VALUES (2, 1000, 'forged', 1, 'query', '{}', zeroblob(32))")
        XCTAssertEqual(try verify(path, key).problems.map(\.kind), ["pruned_range"])
    }

    func testANumberStoredAsARealIsNotTheRecordedOne() throws {
        let (path, key) = try store(4)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let db = try SQLiteDB(path: path)
        try db.exec("UPDATE frames SET seq = 2.5 WHERE id = 2")
        try db.exec("UPDATE frames SET seq = 1e300 WHERE id = 3")   // once a trap, not a report
        XCTAssertEqual(try verify(path, key).problems.compactMap(\.record), [2, 3])
    }

    func testAnAnchorKeptOutsideFindsTheLatestCheckpointsRemoved() throws {
        let (path, key) = try store(3)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = try verify(path, key)
        let anchor = try XCTUnwrap(first.anchor)
        XCTAssertTrue(try verify(path, key, anchors: [anchor]).problems.isEmpty)
        // A second run, then its records and checkpoints removed together: only the
        // anchor an auditor kept from it tells.
        let s = try AuditStore(path: path, signer: key)
        let line = Array("{\"type\":\"query\",\"session\":\"s2\",\"seq\":1}".utf8)
        try line.withUnsafeBytes { b in try s.append(RawFrame(bytes: b, header: FrameHeader.peek(b)!)) }
        try s.commit(final: true)
        let second = try XCTUnwrap(try verify(path, key).anchor)
        let db = try SQLiteDB(path: path)
        try db.exec("DELETE FROM frames WHERE id > 3")
        try db.query("DELETE FROM checkpoints WHERE id > (SELECT id FROM checkpoints WHERE signature = ?)", [.blob(anchor)])
        XCTAssertTrue(try verify(path, key, anchors: [anchor]).problems.isEmpty)
        XCTAssertEqual(try verify(path, key, anchors: [second]).problems.map(\.kind), ["anchor_missing"])
    }
}
