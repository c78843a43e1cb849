import Crypto
import Foundation
import HoopFrames
import HoopSQLite

/// A held request: a statement waiting for (or given) approval, or an access request
/// (just-in-time access to a connection).
public struct HeldRequest: Sendable {
    public enum Kind: String, Sendable { case query, access }
    public enum State: String, Sendable { case pending, approved, denied, expired, canceled, used, revoked }

    public var id: String
    public var kind: Kind
    public var connection: String
    public var session: String?
    public var seq: Int64?
    public var requester: Requester
    public var sql: String?
    public var normalized: String?
    public var classification: JSON
    public var reasons: [String]
    public var justification: String?
    public var durationSeconds: Int?
    public var approvalsRequired: Int
    /// One set of groups per rule that held it; each must be among the approvers. Empty:
    /// the connection's approvers.
    public var approverSets: [[String]]
    public var sets: [Set<String>] { approverSets.map(Set.init) }
    public var state: State
    public var createdAt: Double
    public var expiresAt: Double
    public var decidedAt: Double?
    public var validUntil: Double?

    public var json: JSON {
        var o: [String: JSON] = [
            "id": .string(id), "kind": .string(kind.rawValue), "connection": .string(connection),
            "requester": requester.json, "classification": classification, "reasons": .array(reasons.map(JSON.string)),
            "approvals_required": .int(Int64(approvalsRequired)), "approver_groups": .array(approverSets.map { .array($0.map(JSON.string)) }),
            "state": .string(state.rawValue), "created_at": .int(Int64(createdAt)), "expires_at": .int(Int64(expiresAt)),
        ]
        if let session { o["session"] = .string(session) }
        if let seq { o["seq"] = .int(seq) }
        if let sql { o["sql"] = .string(sql) }
        if let normalized { o["normalized"] = .string(normalized) }
        if let justification { o["justification"] = .string(justification) }
        if let durationSeconds { o["duration_seconds"] = .int(Int64(durationSeconds)) }
        if let decidedAt { o["decided_at"] = .int(Int64(decidedAt)) }
        if let validUntil { o["valid_until"] = .int(Int64(validUntil)) }
        return .object(o)
    }
}

/// One approver's decision on a request.
public struct Decision: Sendable {
    public enum Kind: String, Sendable { case grant, deny, revoke }
    public var number: Int64
    public var requestID: String
    public var decision: Kind
    public var approver: Requester
    public var reason: String?
    public var durationSeconds: Int?
    public var at: Double

    public var json: JSON {
        var o: [String: JSON] = ["request_id": .string(requestID), "decision": .string(decision.rawValue),
                                 "approver": approver.json, "at": .int(Int64(at))]
        if let reason { o["reason"] = .string(reason) }
        if let durationSeconds { o["duration_seconds"] = .int(Int64(durationSeconds)) }
        return .object(o)
    }
}

/// Pending requests, decisions and grants, in SQLite (WAL): shared by the running stage
/// and the approvers' command line, and kept across restarts of either.
public final class ApprovalStore: @unchecked Sendable {
    public let db: SQLiteDB

    static let schema = """
        CREATE TABLE IF NOT EXISTS requests (
            id                 TEXT PRIMARY KEY,
            kind               TEXT NOT NULL,          -- query | access
            connection         TEXT NOT NULL,
            session            TEXT,
            seq                INTEGER,
            requester          TEXT NOT NULL,          -- JSON: issuer, subject, user, groups, kind
            requester_subject  TEXT NOT NULL,
            sql                TEXT,                   -- as asked: may quote PHI (the file is private)
            sql_sha256         TEXT,
            normalized         TEXT,                   -- literals replaced: what notifications show
            classification     TEXT NOT NULL,
            reasons            TEXT NOT NULL,
            justification      TEXT,
            duration_seconds   INTEGER,
            approvals_required INTEGER NOT NULL,
            approver_groups    TEXT NOT NULL,
            state              TEXT NOT NULL,
            created_at         REAL NOT NULL,
            expires_at         REAL NOT NULL,
            decided_at         REAL,
            valid_until        REAL,
            notify_attempts    INTEGER NOT NULL DEFAULT 0,
            notified           INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX IF NOT EXISTS requests_by_state ON requests (state, connection);
        CREATE TABLE IF NOT EXISTS decisions (
            number           INTEGER PRIMARY KEY,
            request_id       TEXT NOT NULL REFERENCES requests(id),
            decision         TEXT NOT NULL,           -- grant | deny | revoke
            approver         TEXT NOT NULL,           -- JSON identity from the approver's verified token
            approver_subject TEXT NOT NULL,
            reason           TEXT,
            duration_seconds INTEGER,
            at               REAL NOT NULL,
            announced        INTEGER NOT NULL DEFAULT 0   -- written to the audit trail by the stage
        );
        CREATE INDEX IF NOT EXISTS decisions_by_request ON decisions (request_id);
        """

    /// The stage and the approvers' commands wait `ApprovalStore.busyTimeout` for each
    /// other's writes (each a few milliseconds); past it the write fails, loudly.
    public init(path: String, busyTimeout: Int = ApprovalStore.busyTimeout) throws {
        do {
            let db = try SQLiteDB(path: path, busyTimeout: busyTimeout)
            try db.exec(Self.schema)
            self.db = db
        } catch {
            throw Self.plain(error)
        }
    }

    /// The store's file from the configuration (`approval.store.sqlite`, relative to
    /// the configuration's folder), else $HOOP_VAR/approvals.sqlite.
    public static func path(_ cfg: GatewayConfig) -> String {
        if let p = cfg.json["approval"]?["store"]?["sqlite"]?.string {
            return p.hasPrefix("/") ? p : URL(fileURLWithPath: cfg.path).deletingLastPathComponent().path + "/" + p
        }
        return (ProcessInfo.processInfo.environment["HOOP_VAR"] ?? "var") + "/approvals.sqlite"
    }

    public static func sha256(_ s: String) -> String {
        SHA256.hash(data: Data(s.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Short, unguessable, easy to type: "r-" and 10 characters of base32.
    static func newID() -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789")
        var g = SystemRandomNumberGenerator()
        return "r-" + String((0..<10).map { _ in alphabet[Int(g.next() % UInt64(alphabet.count))] })
    }

    // MARK: requests

    public func create(kind: HeldRequest.Kind, connection: String, session: String?, seq: Int64?, requester: Requester,
                       sql: String?, normalized: String?, classification: JSON, reasons: [String], justification: String?,
                       durationSeconds: Int?, approvalsRequired: Int, approverSets: [[String]], timeout: Double,
                       now: Double = Date().timeIntervalSince1970) throws -> HeldRequest {
        let r = HeldRequest(id: Self.newID(), kind: kind, connection: connection, session: session, seq: seq, requester: requester,
                            sql: sql, normalized: normalized, classification: classification, reasons: reasons,
                            justification: justification, durationSeconds: durationSeconds, approvalsRequired: approvalsRequired,
                            approverSets: approverSets, state: .pending, createdAt: now, expiresAt: now + timeout)
        try db.query("""
            INSERT INTO requests (id, kind, connection, session, seq, requester, requester_subject, sql, sql_sha256, normalized,
                classification, reasons, justification, duration_seconds, approvals_required, approver_groups, state, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)
            """, [.text(r.id), .text(kind.rawValue), .text(connection), session.map(SQLiteDB.Value.text) ?? .null,
                  seq.map(SQLiteDB.Value.int) ?? .null, .text(requester.json.encodedString), .text(Self.subjectKey(requester)),
                  sql.map(SQLiteDB.Value.text) ?? .null, sql.map { .text(Self.sha256($0)) } ?? .null,
                  normalized.map(SQLiteDB.Value.text) ?? .null, .text(classification.encodedString),
                  .text(JSON.array(reasons.map(JSON.string)).encodedString), justification.map(SQLiteDB.Value.text) ?? .null,
                  durationSeconds.map { .int(Int64($0)) } ?? .null, .int(Int64(approvalsRequired)),
                  .text(JSON.array(approverSets.map { .array($0.map(JSON.string)) }).encodedString), .real(now), .real(r.expiresAt)])
        return r
    }

    static func subjectKey(_ r: Requester) -> String { r.issuer + " " + r.subject }

    public func request(_ id: String) throws -> HeldRequest? {
        try db.query("SELECT * FROM requests WHERE id = ?", [.text(id)]).first.flatMap(Self.held)
    }

    public func requests(state: HeldRequest.State? = nil, limit: Int = 200) throws -> [HeldRequest] {
        if let state {
            return try db.query("SELECT * FROM requests WHERE state = ? ORDER BY created_at LIMIT ?",
                                [.text(state.rawValue), .int(Int64(limit))]).compactMap(Self.held)
        }
        return try db.query("SELECT * FROM requests ORDER BY created_at DESC LIMIT ?", [.int(Int64(limit))]).compactMap(Self.held)
    }

    /// A request this identity already made for the same statement on the same
    /// connection that is still pending, or approved and not yet run: a client that
    /// reconnects (after a restart, a timeout of its own) picks it up instead of
    /// asking again.
    public func reusable(kind: HeldRequest.Kind, connection: String, requester: Requester, sql: String?,
                         now: Double = Date().timeIntervalSince1970) throws -> HeldRequest? {
        let rows = try db.query("""
            SELECT * FROM requests WHERE kind = ? AND connection = ? AND requester_subject = ?
              AND (sql_sha256 IS ? OR sql_sha256 = ?)
              AND ((state = 'pending' AND expires_at > ?) OR (state = 'approved' AND valid_until > ?))
            ORDER BY state = 'approved' DESC, created_at LIMIT 1
            """, [.text(kind.rawValue), .text(connection), .text(Self.subjectKey(requester)),
                  sql.map { .text(Self.sha256($0)) } ?? .null, sql.map { .text(Self.sha256($0)) } ?? .null, .real(now), .real(now)])
        return rows.first.flatMap(Self.held)
    }

    /// A ticket already used for this request, still within its validity: a further page
    /// of an approved listing runs under it (docs/approval.md, "Rules for API calls").
    public func usedTicket(kind: HeldRequest.Kind, connection: String, requester: Requester, sql: String,
                           now: Double = Date().timeIntervalSince1970) throws -> HeldRequest? {
        let rows = try db.query("""
            SELECT * FROM requests WHERE kind = ? AND connection = ? AND requester_subject = ? AND sql_sha256 = ?
              AND state = 'used' AND valid_until > ?
            ORDER BY decided_at DESC LIMIT 1
            """, [.text(kind.rawValue), .text(connection), .text(Self.subjectKey(requester)), .text(Self.sha256(sql)), .real(now)])
        return rows.first.flatMap(Self.held)
    }

    /// Moves a request from one state to another; false when it was no longer in `from`
    /// (another process decided first). The rows moved come back with the statement: a
    /// count read after it could be another thread's (the notifier's) statement's.
    @discardableResult
    public func transition(_ id: String, from: HeldRequest.State, to: HeldRequest.State, validUntil: Double? = nil,
                           now: Double = Date().timeIntervalSince1970) throws -> Bool {
        try db.query("UPDATE requests SET state = ?, decided_at = coalesce(decided_at, ?), valid_until = coalesce(?, valid_until) WHERE id = ? AND state = ? RETURNING id",
                     [.text(to.rawValue), .real(now), validUntil.map(SQLiteDB.Value.real) ?? .null, .text(id), .text(from.rawValue)]).count == 1
    }

    /// Waits this long for another writer (milliseconds), as the audit store does: two
    /// approvers deciding at once, or the stage writing while one decides.
    public static let busyTimeout = 5_000

    /// An error the store gave, said plainly when it was busy past `busyTimeout` (the
    /// write did not happen and may be tried again).
    public static func plain(_ error: Error) -> Error {
        let text = "\(error)"
        guard text.contains("database is locked") || text.contains("database table is locked") else { return error }
        return ConfigError("the approval store stayed busy for more than \(busyTimeout / 1000) s (another process was writing it); nothing was recorded: try again")
    }

    /// Pending requests past their deadline become `expired`; returns them.
    public func expireDue(now: Double = Date().timeIntervalSince1970) throws -> [HeldRequest] {
        // Read first: the clock asks several times a second, and a write transaction
        // would take the store's lock from the approvers each time.
        guard try db.query("SELECT 1 FROM requests WHERE state = 'pending' AND expires_at <= ? LIMIT 1", [.real(now)]).count > 0 else { return [] }
        return try db.transaction {
            let due = try db.query("SELECT * FROM requests WHERE state = 'pending' AND expires_at <= ?", [.real(now)]).compactMap(Self.held)
            if !due.isEmpty {
                try db.query("UPDATE requests SET state = 'expired', decided_at = ? WHERE state = 'pending' AND expires_at <= ?", [.real(now), .real(now)])
            }
            return due
        }
    }

    // MARK: decisions

    public func decisions(_ id: String) throws -> [Decision] {
        try db.query("SELECT * FROM decisions WHERE request_id = ? ORDER BY number", [.text(id)]).compactMap(Self.decision)
    }

    /// Decisions not yet written to the audit trail (by the stage).
    public func unannounced() throws -> [Decision] {
        try db.query("SELECT * FROM decisions WHERE announced = 0 ORDER BY number").compactMap(Self.decision)
    }

    public func markAnnounced(_ numbers: [Int64]) throws {
        for n in numbers { try db.query("UPDATE decisions SET announced = 1 WHERE number = ?", [.int(n)]) }
    }

    public enum Outcome: Equatable, Sendable {
        case recorded(state: HeldRequest.State, approvals: Int, required: Int)
        case refused(String)
    }

    /// An approver's decision, with every check in one transaction: the request is
    /// pending, the approver is not the requester (for a grant) and may approve this
    /// connection, and has not decided it before. Enough grants approve it; one deny
    /// denies it.
    public func decide(_ id: String, _ kind: Decision.Kind, by approver: Requester, reason: String?, durationSeconds: Int?,
                       policy: (HeldRequest) -> Policy?, now: Double = Date().timeIntervalSince1970) throws -> Outcome {
        do { return try decideOnce(id, kind, by: approver, reason: reason, durationSeconds: durationSeconds, policy: policy, now: now) }
        catch { throw Self.plain(error) }
    }

    private func decideOnce(_ id: String, _ kind: Decision.Kind, by approver: Requester, reason: String?, durationSeconds: Int?,
                            policy: (HeldRequest) -> Policy?, now: Double) throws -> Outcome {
        try db.transaction {
            guard let r = try request(id) else { return .refused("no request \(id)") }
            guard let p = policy(r) else { return .refused("the connection \(r.connection) is no longer configured") }
            if kind == .revoke {
                guard r.kind == .access, r.state == .approved else { return .refused("\(id) is not a live access grant") }
                guard p.mayApprove(approver, sets: r.sets) else { return .refused("\(approver.user) may not decide requests on \(r.connection)") }
                try insertDecision(id, kind, approver, reason, nil, now)
                try moved(transition(id, from: .approved, to: .revoked, validUntil: now, now: now), id)
                return .recorded(state: .revoked, approvals: 0, required: r.approvalsRequired)
            }
            guard r.state == .pending else { return .refused("\(id) is \(r.state.rawValue), not pending") }
            guard r.expiresAt > now else { return .refused("\(id) has expired") }
            let selfDecision = approver.isSame(as: r.requester)
            if kind == .grant && selfDecision { return .refused("nobody approves their own request") }
            // The requester may withdraw (deny) their own request; anyone else must be an approver.
            guard selfDecision || p.mayApprove(approver, sets: r.sets) else {
                return .refused("\(approver.user) may not decide requests on \(r.connection)")
            }
            let earlier = try decisions(id)
            if earlier.contains(where: { $0.approver.isSame(as: approver) }) { return .refused("\(approver.user) has already decided \(id)") }
            var duration = durationSeconds
            if r.kind == .access {
                let asked = Double(duration ?? r.durationSeconds ?? Int(p.defaultGrant))
                duration = Int(min(asked, p.maxGrant))
            }
            try insertDecision(id, kind, approver, reason, duration, now)
            if kind == .deny {
                try moved(transition(id, from: .pending, to: .denied, now: now), id)
                return .recorded(state: .denied, approvals: earlier.count, required: r.approvalsRequired)
            }
            let granted = earlier.filter { $0.decision == .grant }.map(\.approver) + [approver]
            let grants = granted.count
            // Enough approvers, and among them one of each rule's approver groups.
            let covered = r.sets.allSatisfy { set in granted.contains { !set.isDisjoint(with: $0.groups) } }
            guard grants >= r.approvalsRequired, covered else {
                return .recorded(state: .pending, approvals: grants, required: r.approvalsRequired)
            }
            // An access grant lasts the shortest window asked by any approver.
            let window = r.kind == .access
                ? Double((earlier.compactMap(\.durationSeconds) + [duration ?? Int(p.defaultGrant)]).min()!)
                : p.approvalValidFor
            try moved(transition(id, from: .pending, to: .approved, validUntil: now + window, now: now), id)
            return .recorded(state: .approved, approvals: grants, required: r.approvalsRequired)
        }
    }

    /// Within `decide`'s transaction the state was just read: a move that does not happen
    /// rolls the decision back rather than record it unapplied.
    private func moved(_ done: Bool, _ id: String) throws {
        if !done { throw ConfigError("\(id) changed while the decision was written; nothing was recorded: try again") }
    }

    private func insertDecision(_ id: String, _ kind: Decision.Kind, _ who: Requester, _ reason: String?, _ duration: Int?, _ now: Double) throws {
        try db.query("INSERT INTO decisions (request_id, decision, approver, approver_subject, reason, duration_seconds, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     [.text(id), .text(kind.rawValue), .text(who.json.encodedString), .text(Self.subjectKey(who)),
                      reason.map(SQLiteDB.Value.text) ?? .null, duration.map { .int(Int64($0)) } ?? .null, .real(now)])
    }

    // MARK: access grants

    /// The live access grant of this identity on this connection, if any.
    public func liveGrant(connection: String, requester: Requester, now: Double = Date().timeIntervalSince1970) throws -> HeldRequest? {
        try db.query("""
            SELECT * FROM requests WHERE kind = 'access' AND connection = ? AND requester_subject = ? AND state = 'approved'
              AND valid_until > ? ORDER BY valid_until DESC LIMIT 1
            """, [.text(connection), .text(Self.subjectKey(requester)), .real(now)]).first.flatMap(Self.held)
    }

    public func grants(now: Double = Date().timeIntervalSince1970) throws -> [HeldRequest] {
        try db.query("SELECT * FROM requests WHERE kind = 'access' AND state = 'approved' AND valid_until > ? ORDER BY valid_until",
                     [.real(now)]).compactMap(Self.held)
    }

    // MARK: notifications

    public func unnotified(maxAttempts: Int) throws -> [HeldRequest] {
        try db.query("SELECT * FROM requests WHERE notified = 0 AND notify_attempts < ? AND state = 'pending' ORDER BY created_at",
                     [.int(Int64(maxAttempts))]).compactMap(Self.held)
    }

    public func noted(_ id: String, delivered: Bool) throws {
        try db.query(delivered ? "UPDATE requests SET notified = 1, notify_attempts = notify_attempts + 1 WHERE id = ?"
                               : "UPDATE requests SET notify_attempts = notify_attempts + 1 WHERE id = ?", [.text(id)])
    }

    // MARK: rows

    static func held(_ r: SQLiteDB.Row) -> HeldRequest? {
        func json(_ k: String) -> JSON { r[k]?.string.flatMap { try? JSON.parse($0) } ?? .null }
        guard let id = r["id"]?.string, let kind = r["kind"]?.string.flatMap(HeldRequest.Kind.init),
              let state = r["state"]?.string.flatMap(HeldRequest.State.init),
              let requester = Requester(identity: json("requester")) else { return nil }
        return HeldRequest(id: id, kind: kind, connection: r["connection"]?.string ?? "", session: r["session"]?.string,
                           seq: r["seq"]?.int, requester: requester, sql: r["sql"]?.string, normalized: r["normalized"]?.string,
                           classification: json("classification"), reasons: (json("reasons").array ?? []).compactMap(\.string),
                           justification: r["justification"]?.string, durationSeconds: r["duration_seconds"]?.int.map(Int.init),
                           approvalsRequired: Int(r["approvals_required"]?.int ?? 1),
                           approverSets: (json("approver_groups").array ?? []).map { ($0.array ?? [$0]).compactMap(\.string) },
                           state: state,
                           createdAt: r["created_at"]?.double ?? 0, expiresAt: r["expires_at"]?.double ?? 0,
                           decidedAt: r["decided_at"]?.double, validUntil: r["valid_until"]?.double)
    }

    static func decision(_ r: SQLiteDB.Row) -> Decision? {
        guard let n = r["number"]?.int, let id = r["request_id"]?.string, let d = r["decision"]?.string.flatMap(Decision.Kind.init),
              let who = r["approver"]?.string.flatMap({ try? JSON.parse($0) }).flatMap({ Requester(identity: $0) }) else { return nil }
        return Decision(number: n, requestID: id, decision: d, approver: who, reason: r["reason"]?.string,
                        durationSeconds: r["duration_seconds"]?.int.map(Int.init), at: r["at"]?.double ?? 0)
    }
}

