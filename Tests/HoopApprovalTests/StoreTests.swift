import Foundation
import XCTest
@testable import HoopApproval
import HoopFrames

/// The approvals store's rules, on a real SQLite file: nobody approves their own
/// request, approvers must be in the connection's groups, N approvals, one deny,
/// single use, expiry, and everything survives reopening the file.
final class StoreTests: XCTestCase {
    var dir: URL!
    var path: String { dir.appendingPathComponent("approvals.sqlite").path }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("hoop-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    let agent = Requester(issuer: "https://idp.test", subject: "agent-1", user: "agent@example.org", groups: ["agents"], kind: "agent")
    let alice = Requester(issuer: "https://idp.test", subject: "alice", user: "alice@example.org", groups: ["approvers"], kind: "person")
    let bob = Requester(issuer: "https://idp.test", subject: "bob", user: "bob@example.org", groups: ["approvers"], kind: "person")
    let mallory = Requester(issuer: "https://idp.test", subject: "mallory", user: "mallory@example.org", groups: ["clinicians"], kind: "person")

    func policy(_ extra: [String: JSON] = [:]) throws -> Policy {
        var a: [String: JSON] = ["approvers": .object(["groups": .array([.string("approvers")])])]
        for (k, v) in extra { a[k] = v }
        return try Policy(connection: .object(["approval": .object(a)]), gateway: .object([:]))
    }

    func held(_ store: ApprovalStore, by who: Requester? = nil, sql: String = "drop table notes", approvals: Int = 1,
              timeout: Double = 300, kind: HeldRequest.Kind = .query, sets: [[String]] = []) throws -> HeldRequest {
        try store.create(kind: kind, connection: "clinic", session: "s1", seq: 3, requester: who ?? agent, sql: kind == .query ? sql : nil,
                         normalized: nil, classification: .object([:]), reasons: ["changes the schema (DDL)"], justification: nil,
                         durationSeconds: kind == .access ? 600 : nil, approvalsRequired: approvals, approverSets: sets, timeout: timeout)
    }

    func testSelfApprovalIsRefusedAndAnotherApproverApproves() throws {
        let store = try ApprovalStore(path: path)
        let p = try policy()
        // The requester is an approver too: still not for their own request.
        let selfish = Requester(issuer: alice.issuer, subject: alice.subject, user: alice.user, groups: ["approvers"], kind: "person")
        let r = try held(store, by: selfish)
        XCTAssertEqual(try store.decide(r.id, .grant, by: alice, reason: nil, durationSeconds: nil, policy: { _ in p }),
                       .refused("nobody approves their own request"))
        // Same user name under another subject is the same person (belt and braces).
        let twin = Requester(issuer: "other", subject: "x", user: "ALICE@example.org", groups: ["approvers"], kind: "person")
        XCTAssertEqual(try store.decide(r.id, .grant, by: twin, reason: nil, durationSeconds: nil, policy: { _ in p }),
                       .refused("nobody approves their own request"))
        XCTAssertEqual(try store.decide(r.id, .grant, by: bob, reason: "ok", durationSeconds: nil, policy: { _ in p }),
                       .recorded(state: .approved, approvals: 1, required: 1))
        XCTAssertEqual(try store.request(r.id)?.state, .approved)
        XCTAssertEqual(try store.decisions(r.id).map(\.approver.user), ["bob@example.org"])
    }

    func testAnAgentInTheApproversGroupDecidesNothing() throws {
        // A machine identity (a CI bot, another AI agent) whose IdP groups include the
        // approvers': neither by group, by rule set, nor by name does it release held work.
        let store = try ApprovalStore(path: path)
        let bot = Requester(issuer: "https://idp.test", subject: "bot", user: "bot@example.org", groups: ["approvers"], kind: "agent")
        let byName = try policy(["approvers": .object(["users": .array([.string("bot@example.org")])])])
        let groups = try policy()
        for (p, sets) in [(try policy(), [[String]]()), (try policy(), [["approvers"]]), (byName, [])] {
            let r = try held(store, sets: sets)
            XCTAssertFalse(p.mayApprove(bot, sets: r.sets))
            XCTAssertEqual(try store.decide(r.id, .grant, by: bot, reason: nil, durationSeconds: nil, policy: { _ in p }),
                           .refused("bot@example.org may not decide requests on clinic"))
            XCTAssertEqual(try store.request(r.id)?.state, .pending)
            // The same groups on a person's token decide.
            XCTAssertEqual(try store.decide(r.id, .grant, by: bob, reason: nil, durationSeconds: nil, policy: { _ in groups }),
                           .recorded(state: .approved, approvals: 1, required: 1))
        }
        // An agent still withdraws its own request.
        let own = try held(store)
        XCTAssertEqual(try store.decide(own.id, .deny, by: agent, reason: nil, durationSeconds: nil, policy: { _ in groups }),
                       .recorded(state: .denied, approvals: 0, required: 1))
    }

    func testOnlyApproversDecide() throws {
        let store = try ApprovalStore(path: path)
        let p = try policy()
        let r = try held(store)
        XCTAssertEqual(try store.decide(r.id, .grant, by: mallory, reason: nil, durationSeconds: nil, policy: { _ in p }),
                       .refused("mallory@example.org may not decide requests on clinic"))
        XCTAssertEqual(try store.decide(r.id, .deny, by: mallory, reason: "no", durationSeconds: nil, policy: { _ in p }),
                       .refused("mallory@example.org may not decide requests on clinic"))
        XCTAssertEqual(try store.request(r.id)?.state, .pending)
        XCTAssertTrue(try store.decisions(r.id).isEmpty)
    }

    func testTwoApprovalsNeededAndNoApproverCountsTwice() throws {
        let store = try ApprovalStore(path: path)
        let p = try policy()
        let r = try held(store, approvals: 2)
        XCTAssertEqual(try store.decide(r.id, .grant, by: alice, reason: nil, durationSeconds: nil, policy: { _ in p }),
                       .recorded(state: .pending, approvals: 1, required: 2))
        XCTAssertEqual(try store.decide(r.id, .grant, by: alice, reason: nil, durationSeconds: nil, policy: { _ in p }),
                       .refused("alice@example.org has already decided \(r.id)"))
        XCTAssertEqual(try store.request(r.id)?.state, .pending)
        XCTAssertEqual(try store.decide(r.id, .grant, by: bob, reason: nil, durationSeconds: nil, policy: { _ in p }),
                       .recorded(state: .approved, approvals: 2, required: 2))
    }

    func testEachRulesApproverGroupMustApprove() throws {
        let store = try ApprovalStore(path: path)
        let p = try policy()
        // Held by two rules: one wants a dba, the other a privacy officer.
        let r = try held(store, approvals: 2, sets: [["dba"], ["privacy"]])
        let dba1 = Requester(issuer: "i", subject: "d1", user: "dba1@example.org", groups: ["dba"], kind: "person")
        let dba2 = Requester(issuer: "i", subject: "d2", user: "dba2@example.org", groups: ["dba"], kind: "person")
        let officer = Requester(issuer: "i", subject: "p1", user: "officer@example.org", groups: ["privacy"], kind: "person")
        XCTAssertEqual(try store.decide(r.id, .grant, by: alice, reason: nil, durationSeconds: nil, policy: { _ in p }),
                       .refused("alice@example.org may not decide requests on clinic"), "connection approvers do not stand in for the rules' groups")
        XCTAssertEqual(try store.decide(r.id, .grant, by: dba1, reason: nil, durationSeconds: nil, policy: { _ in p }),
                       .recorded(state: .pending, approvals: 1, required: 2))
        XCTAssertEqual(try store.decide(r.id, .grant, by: dba2, reason: nil, durationSeconds: nil, policy: { _ in p }),
                       .recorded(state: .pending, approvals: 2, required: 2), "two dbas are not a privacy officer")
        XCTAssertEqual(try store.decide(r.id, .grant, by: officer, reason: nil, durationSeconds: nil, policy: { _ in p }),
                       .recorded(state: .approved, approvals: 3, required: 2))
    }

    func testOneDenyDeniesAndDecidedRequestsStayDecided() throws {
        let store = try ApprovalStore(path: path)
        let p = try policy()
        let r = try held(store, approvals: 2)
        _ = try store.decide(r.id, .grant, by: alice, reason: nil, durationSeconds: nil, policy: { _ in p })
        XCTAssertEqual(try store.decide(r.id, .deny, by: bob, reason: "not during clinic hours", durationSeconds: nil, policy: { _ in p }),
                       .recorded(state: .denied, approvals: 1, required: 2))
        XCTAssertEqual(try store.decisions(r.id).last?.reason, "not during clinic hours")
        let carol = Requester(issuer: "https://idp.test", subject: "carol", user: "carol@example.org", groups: ["approvers"], kind: "person")
        XCTAssertEqual(try store.decide(r.id, .grant, by: carol, reason: nil, durationSeconds: nil, policy: { _ in p }),
                       .refused("\(r.id) is denied, not pending"))
    }

    func testExpiryAndSingleUseAndReopen() throws {
        var store: ApprovalStore? = try ApprovalStore(path: path)
        let p = try policy()
        let late = try held(store!, sql: "drop table a", timeout: 0.05)
        let r = try held(store!, sql: "drop table b")
        Thread.sleep(forTimeInterval: 0.1)
        XCTAssertEqual(try store!.expireDue().map(\.id), [late.id])
        XCTAssertEqual(try store!.decide(late.id, .grant, by: bob, reason: nil, durationSeconds: nil, policy: { _ in p }),
                       .refused("\(late.id) is expired, not pending"))
        // A pending request is found again by the same identity and statement, from the file anew.
        store = nil
        store = try ApprovalStore(path: path)
        XCTAssertEqual(try store!.reusable(kind: .query, connection: "clinic", requester: agent, sql: "drop table b")?.id, r.id)
        XCTAssertNil(try store!.reusable(kind: .query, connection: "clinic", requester: mallory, sql: "drop table b"))
        XCTAssertNil(try store!.reusable(kind: .query, connection: "clinic", requester: agent, sql: "drop table c"))
        _ = try store!.decide(r.id, .grant, by: bob, reason: nil, durationSeconds: nil, policy: { _ in p })
        XCTAssertEqual(try store!.reusable(kind: .query, connection: "clinic", requester: agent, sql: "drop table b")?.state, .approved)
        XCTAssertTrue(try store!.transition(r.id, from: .approved, to: .used))
        XCTAssertFalse(try store!.transition(r.id, from: .approved, to: .used), "an approval runs once")
        XCTAssertNil(try store!.reusable(kind: .query, connection: "clinic", requester: agent, sql: "drop table b"))
    }

    func testAccessGrantIsCappedAndRevocable() throws {
        let store = try ApprovalStore(path: path)
        let p = try policy(["access": .object(["require_grant": .bool(true), "max_grant_seconds": .int(120)])])
        let r = try held(store, kind: .access)
        XCTAssertNil(try store.liveGrant(connection: "clinic", requester: agent))
        _ = try store.decide(r.id, .grant, by: bob, reason: nil, durationSeconds: 100_000, policy: { _ in p })
        let g = try XCTUnwrap(try store.liveGrant(connection: "clinic", requester: agent))
        XCTAssertEqual(g.validUntil! - g.decidedAt!, 120, accuracy: 1, "a grant never outlasts max_grant_seconds")
        XCTAssertEqual(try store.grants().map(\.id), [r.id])
        XCTAssertEqual(try store.decide(r.id, .revoke, by: mallory, reason: nil, durationSeconds: nil, policy: { _ in p }),
                       .refused("mallory@example.org may not decide requests on clinic"))
        XCTAssertEqual(try store.decide(r.id, .revoke, by: alice, reason: "done", durationSeconds: nil, policy: { _ in p }),
                       .recorded(state: .revoked, approvals: 0, required: 1))
        XCTAssertNil(try store.liveGrant(connection: "clinic", requester: agent))
    }

    func testStoreFileIsPrivate() throws {
        _ = try ApprovalStore(path: path)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
    }

    /// Another writer holding the store: a decision waits for it (up to busyTimeout) and is
    /// recorded once; past it, the error says nothing was recorded.
    func testADecisionWaitsForAnotherWriterAndABusyStoreSaysSo() throws {
        let store = try ApprovalStore(path: path)
        let other = try ApprovalStore(path: path, busyTimeout: 100)
        let p = try policy()
        let r = try held(store)
        try other.db.exec("BEGIN IMMEDIATE")
        let done = expectation(description: "released")
        DispatchQueue.global().asyncAfter(deadline: .now() + 1) { try? other.db.exec("COMMIT"); done.fulfill() }
        XCTAssertEqual(try store.decide(r.id, .grant, by: bob, reason: nil, durationSeconds: nil, policy: { _ in p }),
                       .recorded(state: .approved, approvals: 1, required: 1))
        wait(for: [done], timeout: 5)
        XCTAssertEqual(try other.decide(r.id, .deny, by: alice, reason: nil, durationSeconds: nil, policy: { _ in p }),
                       .refused("\(r.id) is approved, not pending"))
        XCTAssertEqual(try store.decisions(r.id).count, 1)
        // Busy past the wait: an error that says so, and nothing written.
        let r2 = try held(store, sql: "drop table other")
        try store.db.exec("BEGIN IMMEDIATE")
        XCTAssertThrowsError(try other.decide(r2.id, .grant, by: bob, reason: nil, durationSeconds: nil, policy: { _ in p })) {
            XCTAssertTrue("\($0)".contains("nothing was recorded"), "\($0)")
        }
        try store.db.exec("COMMIT")
        XCTAssertEqual(try store.request(r2.id)?.state, .pending)
        XCTAssertTrue(try store.decisions(r2.id).isEmpty)
        XCTAssertTrue(try store.transition(r2.id, from: .pending, to: .canceled))
        XCTAssertFalse(try store.transition(r2.id, from: .pending, to: .canceled), "moved once")
    }
}
