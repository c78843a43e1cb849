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
}
