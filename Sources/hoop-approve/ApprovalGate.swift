import Crypto
import Foundation
import HoopApproval
import HoopFrames
import HoopPostgres
import HoopSQL

/// The stage's state: per session, what it prepared and bound (to judge an Execute by
/// its Parse text), the request it holds and the frames queued behind it, and its
/// access grant. The frame loop and the decision clock share it under one lock; a held
/// request holds only its own session (invariant 4).
final class ApprovalGate: @unchecked Sendable {
    static let stage = "hoop-approve"
    /// Portals a session may have open at once, in one transaction (clients keep a few).
    static let maxPortals = 4096
    /// Frames a session may queue behind a held request before it is ended.
    static let maxQueuedBytes = 64 << 20

    struct Judged {
        /// The text judged; a portal's shares its statement's (one copy, however many
        /// portals a client binds to a large statement) and keeps its parameters apart.
        let text: String
        var classification: Classification
        var parameters: String? = nil
        /// A text that EXECUTEs names PREPAREd in SQL, as it was given: those names may
        /// hold other statements by the time a portal over it runs (judged again then).
        var executesNames: String? = nil

        init(sql: String, classification: Classification) { text = sql; self.classification = classification }

        /// The text as approvers and the audit trail see it: a portal's with its values.
        var sql: String { parameters.map { text + "\n-- bound parameters: " + $0 } ?? text }

        /// Both texts, judged together (the strictest wins). Statements judged alike are
        /// kept once; past `maxMerged` kinds, or a text past `maxMergedText`, the name's
        /// content is not known any more (hidden work, held): a client giving a name text
        /// after text must not grow this stage without bound.
        func merged(with other: Judged) -> Judged {
            guard other.text != text || other.parameters != parameters else { return self }
            var statements = classification.statements
            for st in other.classification.statements where !statements.contains(st) { statements.append(st) }
            var text = sql + ";\n" + other.sql
            if statements.count > Self.maxMerged || text.utf8.count > Self.maxMergedText {
                var unknown = StatementClass(kind: .utility, command: "EXECUTE")
                unknown.hidden = ["a statement name given more than \(Self.maxMerged) texts in a pipeline that may have failed"]
                statements = Array(statements.prefix(Self.maxMerged - 1)) + [unknown]
                text = String(text.prefix(Self.maxMergedText))
            }
            var judged = Judged(sql: text, classification: Classification(statements: statements,
                                                                          parseError: classification.parseError ?? other.classification.parseError))
            let executed = [executesNames, other.executesNames].compactMap { $0 }
            if !executed.isEmpty { judged.executesNames = String(executed.joined(separator: ";\n").prefix(Self.maxMergedText)) }
            return judged
        }
        static let maxMerged = 64
        static let maxMergedText = 256 << 10
    }

    struct Hold {
        let requestID: String
        let kind: HeldRequest.Kind
        let bytes: [UInt8]
        let type: String
        let seq: Int64
        let sql: String?          // what was asked, for the audit trail of its outcome
        let deadline: Double      // when this session stops waiting
    }

    /// A portal let go with its transaction, as a judgement: hidden work, shown by its name
    /// (a ticket for one is not a ticket for another).
    static func ended(_ portal: String) -> Judged {
        Judged(sql: "-- portal \"\(portal)\", bound in a transaction that has ended", classification: Classification(statements: [.endedPortal(portal)]))
    }

    /// Names, remembered in a fixed number of bits (a Bloom filter): `mayContain` is
    /// never wrong about a name inserted, and wrong the other way seldom while few are.
    struct NameFilter {
        /// 2^20 bits (128 KiB, made at the first name): wrong one time in 50,000 after
        /// 10,000 names (a client naming a portal anew in each transaction).
        static let words = 1 << 14
        private var bits: [UInt64] = []
        private func positions(_ name: String) -> [Int] {
            (0..<3).map { k in
                var h = Hasher()
                h.combine(k)
                h.combine(name)
                return Int(UInt(bitPattern: h.finalize()) % UInt(Self.words * 64))
            }
        }
        mutating func insert(_ name: String) {
            if bits.isEmpty { bits = [UInt64](repeating: 0, count: Self.words) }
            for p in positions(name) { bits[p / 64] |= 1 << UInt64(p % 64) }
        }
        func mayContain(_ name: String) -> Bool {
            !bits.isEmpty && positions(name).allSatisfy { bits[$0 / 64] & (1 << UInt64($0 % 64)) != 0 }
        }
    }

    final class Session {
        let id: String
        let connection: String
        let policy: Policy
        let requester: Requester
        var kind = ConnectionKind.postgres
        var justification: String?
        var duration: Int?
        var searchPath = SearchPathState(initial: nil)
        /// It let through a statement that may change the catalog, in a transaction block
        /// or pipeline that may not have ended: the catalog watch is told again at each
        /// of its requests (the server may run or commit it only then).
        var changedCatalog = false
        /// Statements (Parse, SQL PREPARE) and portals (Bind: the statement as bound,
        /// with its parameters) by name. A name given twice is judged as the strictest
        /// of both texts: the server may have refused either, or skipped a Close after
        /// an error, which this stage cannot see.
        var names = StatementBook<Judged, Judged>(mergeStatements: { $0.merged(with: $1) }, mergePortals: { $0.merged(with: $1) })
        var runningPortals: Set<String> = []        // portals whose Execute was let through
        /// A transaction block is open, as far as the statements judged say (BEGIN ...
        /// COMMIT). Outside one the server drops every portal at the end of a pipeline,
        /// and so does this stage, keeping their names in `endedPortals`.
        var inBlock = false
        var endedPortals = NameFilter()
        /// An extended-protocol request came since the last Sync: one of them may fail,
        /// and the server then skips the rest of the pipeline (a Parse too).
        var inPipeline = false
        /// What the unnamed statement held before each Parse of it after the first request
        /// of the pipeline: if an error skips that Parse, it still holds one of these after
        /// the Sync (the pipeline's own Executes are skipped with it). Judged as all of them
        /// from the Sync on.
        var unnamedBefore: [Judged] = []
        /// This stage denied a request of the pipeline: the server skips the rest up to Sync
        /// (hoop-connect fails the pipeline in its place), so no Execute in it runs.
        var skippingToSync = false
        var held: Hold?
        var queue: [[UInt8]] = []
        var queuedBytes = 0
        var grant: (id: String, until: Double)?
        var ended = false
        /// Calls let through whose body streams after them (`call_data` of these seqs passes).
        var streamedCalls: Set<Int64> = []

        init(id: String, connection: String, policy: Policy, requester: Requester) {
            self.id = id; self.connection = connection; self.policy = policy; self.requester = requester
        }
    }

    let policies: Policies
    let store: ApprovalStore
    let out: FrameWriter
    let notifier: Notifier?
    private let lock = NSLock()
    private var sessions: [String: Session] = [:]
    private let classifications = ShapeCache<Classification>()

    let catalogs: CatalogWatches

    init(policies: Policies, catalogs: CatalogWatches, store: ApprovalStore, out: FrameWriter, notifier: Notifier?) {
        self.policies = policies; self.catalogs = catalogs; self.store = store; self.out = out; self.notifier = notifier
    }

    // MARK: the frame loop

    func handle(_ raw: RawFrame) throws {
        guard let id = raw.session else { return passRaw(raw.bytes) }
        let type = raw.type
        if type == FrameType.sessionClose {
            // A ring going down ("shutdown") keeps the held request pending: the approver can
            // still grant it, and the client's repeat after the restart runs it.
            let withdraw = (try? raw.decode())?["reason"]?.string != "shutdown"
            lock.lock(); closeSession(id, withdraw: withdraw); lock.unlock()
            return passRaw(raw.bytes)
        }
        guard FrameType.requests.contains(type) else { return passRaw(raw.bytes) }
        lock.lock(); defer { lock.unlock() }
        if type == FrameType.sessionOpen { return try open(raw.decode(), bytes: Array(raw.bytes)) }
        guard let s = sessions[id] else {
            // Not opened through this stage (or already ended): nothing of it passes.
            return out.enqueue(Self.sessionError(id, seq: raw.header.seq, reason: "no_session", code: "08003",
                                                 "hoop: no open session"))
        }
        if s.ended { return }
        if type == FrameType.cancel {
            // A cancel overtakes the queue: the held request is withdrawn at once.
            cancelHold(s)
            return stampPass(Array(raw.bytes))
        }
        if s.held != nil || !s.queue.isEmpty {
            s.queue.append(Array(raw.bytes))
            s.queuedBytes += raw.bytes.count
            if s.queuedBytes > Self.maxQueuedBytes {
                end(s, reason: "too_many_requests", code: "53400", "hoop: too many requests waiting behind a held request")
            }
            return
        }
        try evaluate(s, Array(raw.bytes), raw.decode())
    }

    /// Judges one request frame of a session that holds nothing.
    private func evaluate(_ s: Session, _ bytes: [UInt8], _ f: Frame) throws {
        if s.kind != .postgres { return evaluateCall(s, bytes, f) }
        if s.changedCatalog {
            catalogs.changed()
            if !s.inBlock && !s.inPipeline { s.changedCatalog = false }
        }
        let endsPipeline = [FrameType.sync, FrameType.query].contains(f.type)
        defer {
            s.inPipeline = !endsPipeline
            if endsPipeline { endPipeline(s) }
        }
        // Its Executes run nothing (the server skips them, and hoop-connect serves no kept
        // rows after an error); what the pipeline defines is still recorded, as the
        // strictest reading (hoop-connect keeps a Bind it made before the Sync).
        if s.skippingToSync && f.type == FrameType.execute { return stampPass(bytes) }
        switch f.type {
        case FrameType.query:
            let sql = f["sql"]?.string ?? ""
            decide(s, bytes, f, judge(sql, s))
        case FrameType.parse:
            let sql = f["sql"]?.string ?? ""
            let name = f["name"]?.string ?? ""
            var judged = judge(sql, s)
            // Parameters declared with a type (by OID) are made as that type at Bind: a
            // domain's check, a type's input function (CatalogFacts knows types by "#OID").
            let declared = (f["param_types"]?.array ?? []).compactMap(\.int).filter { $0 != 0 }.map { "#\($0)" }
            // (Changed in place: what else the judgement holds, a name it EXECUTEs, stays.)
            for i in judged.classification.statements.indices { judged.classification.statements[i].typesCast.formUnion(declared) }
            // The unnamed statement is replaced by a Parse, unless the server skips it after
            // an error earlier in its pipeline: then the old text stays and runs at a Bind
            // after the Sync (hoop-connect follows the server).
            if name.isEmpty, s.inPipeline, let old = s.names.statements[name]?.value { s.unnamedBefore.append(old) }
            s.names.parse(name, judged)
            stampPass(bytes)
        case FrameType.bind:
            let portal = f["portal"]?.string ?? ""
            let name = f["statement"]?.string ?? ""
            // A statement PREPAREd in SQL can be bound too; one we never saw is hidden work.
            s.runningPortals.remove(portal)
            // A statement we never saw prepared is hidden work. The portal carries its
            // parameters: an approval is for this text with these values.
            let params = f["params"].map { $0.encodedString } ?? "[]"
            guard s.names.portals[portal] != nil || s.names.portals.count < Self.maxPortals else {
                // Portals end with their transaction (endPipeline); within one, a client
                // binding without end must not grow this stage without bound.
                return out.enqueue(Self.sessionError(s.id, seq: f.seq, reason: "protocol_error", code: "54000",
                                                     "hoop: more than \(Self.maxPortals) portals open in one session"))
            }
            s.names.bind(portal, statement: name) { st in
                var statement = st ?? Judged(sql: "", classification: Classification(statements: [.unknown(statement: name)]))
                if params != "[]" { statement.parameters = params }
                // A named portal this stage let go may still be the server's (its
                // transaction went on): the server then keeps the old one and refuses this
                // Bind, so it is judged as both (the unnamed one is replaced by any Bind).
                if !portal.isEmpty, s.endedPortals.mayContain(portal) { statement = statement.merged(with: Self.ended(portal)) }
                return statement
            }
            stampPass(bytes)
        case FrameType.execute:
            // Judged by the text the portal was bound to; once let through, the rest of
            // a row-limited portal follows without a second judgement. A portal we did
            // not see bound is a SQL cursor (judged at its DECLARE) or does not exist
            // (the server says so).
            let portal = f["portal"]?.string ?? ""
            if var judged = s.names[portal: portal], !s.runningPortals.contains(portal) {
                // A portal over `EXECUTE name`: judged with what the name holds now too.
                if let text = judged.executesNames { judged = judged.merged(with: judge(text, s)) }
                decide(s, bytes, f, judged)
            } else if s.names.portals[portal] == nil, s.endedPortals.mayContain(portal) {
                // A portal this stage let go with its transaction: the server has none
                // either, unless a transaction was still open, and then it is judged unseen.
                decide(s, bytes, f, Self.ended(portal))
            } else {
                stampPass(bytes)
            }
        case FrameType.close:
            // Statements are not forgotten on Close: after an error the server skips it,
            // and the old text stays under the name. Portals are.
            if f["kind"]?.string == "P" { let name = f["name"]?.string ?? ""; s.names.closePortal(name); s.runningPortals.remove(name) }
            stampPass(bytes)
        default:
            stampPass(bytes)
        }
    }

    /// A pipeline ended (Sync, or a Query, before which hoop-connect ends it): the unnamed
    /// statement is any text a Parse of it may have left, judged as all of them (the
    /// strictest wins), as a name given twice is.
    private func endPipeline(_ s: Session) {
        s.skippingToSync = false
        if !s.inBlock, !s.names.portals.isEmpty {
            let before = Set(s.names.portals.keys)
            s.names.endTransaction()   // as the server: a cursor declared WITH HOLD stays
            for name in before.subtracting(s.names.portals.keys) { s.endedPortals.insert(name); s.runningPortals.remove(name) }
        }
        guard !s.unnamedBefore.isEmpty, let now = s.names.statements[""]?.value else { s.unnamedBefore = []; return }
        s.names.parse("", s.unnamedBefore.reduce(now) { $0.merged(with: $1) })
        s.unnamedBefore = []
    }

    /// A request's text, classified. EXECUTE of a statement this session prepared (in
    /// SQL or by a Parse) is judged as that statement, and shown with it.
    /// A name is read in the text's order: a PREPARE earlier in the same text counts (and,
    /// as the server may refuse it or a DEALLOCATE, so does what the name held before).
    private func judge(_ sql: String, _ s: Session) -> Judged {
        var c = classification(sql, s.policy.classifyOptions)
        var shown = sql
        var preparedHere: [String: [StatementClass]] = [:]
        var executes = false
        c.statements = c.statements.flatMap { st -> [StatementClass] in
            if st.command == "PREPARE", let name = st.preparedName { preparedHere[name, default: []] += st.preparedBody }
            guard st.command == "EXECUTE", let name = st.preparedName else { return [st] }
            executes = true
            let known = s.names[statement: name]
            let bodies = (known?.classification.statements ?? []) + (preparedHere[name] ?? [])
            guard !bodies.isEmpty else { return [st] }
            if let known { shown += "\n-- \(name) was prepared as: " + known.sql }
            return bodies.map { $0.executed(with: st, bodyUnseen: StatementClass.executeUnseen(name)) }
        }
        var judged = Judged(sql: shown, classification: c)
        if executes { judged.executesNames = sql }
        return judged
    }

    /// A text's classification, cached by text and by shape (HoopSQL's ShapeCache),
    /// per set of classify options.
    private func classification(_ sql: String, _ options: ClassifyOptions) -> Classification {
        classifications.value(sql, scope: options.cacheScope) { Classifier.classify($0, options: options) }
    }

    /// Allow, deny or hold one request by the connection's policy.
    private func decide(_ s: Session, _ bytes: [UInt8], _ f: Frame, _ parsed: Judged) {
        // The catalog's facts as they are now, not when the text was parsed: a trigger
        // added since a Parse counts at its Execute.
        // A bare name by the search_path before the text and any it sets (or a temporary
        // table it makes); not when the text itself may change what names mean.
        let resolve: (() -> SearchPathState)? = parsed.classification.mayChangeCatalog ? nil : {
            var path = s.searchPath
            path.learn(parsed.sql, parsed.classification)
            return path
        }
        let judged = Judged(sql: parsed.sql, classification: catalogs.judged(parsed.classification, connection: s.connection,
                                                                             searchPath: resolve))
        let v = s.policy.verdict(judged.classification, s.requester)
        // Whether a transaction block is open after it, by its last BEGIN, COMMIT or
        // ROLLBACK; only what runs now moves it (a denied or held COMMIT ends nothing).
        // Read wrong, an ended portal is judged unseen, never run unjudged (Bind below).
        if let last = parsed.classification.statements.compactMap(\.opensBlock).last, last || v.action == .allow {
            s.inBlock = last
        }
        let seq = f.seq ?? 0
        switch v.action {
        case .allow:
            learn(s, judged)
            if f.type == FrameType.execute { s.runningPortals.insert(f["portal"]?.string ?? "") }
            stampPass(bytes)
        case .deny where v.parseError != nil:
            // Refused unread: the client gets the parser's own syntax error, as the
            // server would have said it.
            let fields = SQLParser.syntaxError(judged.sql) ?? ["code": "42601", "message": v.parseError ?? "syntax error"]
            deny(s, seq: seq, request: f.type, reason: "unparsed", rule: "unparsed", code: "42601", fields["message"] ?? "",
                 classification: nil, extra: fields, sql: judged.sql)
        case .deny:
            deny(s, seq: seq, request: f.type, reason: "policy", rule: v.reasons.first?.rule, code: "42501",
                 "hoop: not allowed by policy: \(v.summary)", classification: judged.classification, sql: judged.sql)
        case .review:
            if v.requireJustification && (s.justification ?? "").isEmpty {
                return deny(s, seq: seq, request: f.type, reason: "no_justification", rule: v.reasons.first?.rule, code: "42501",
                            "hoop: this request needs approval (\(v.summary)) and a justification: state why first, e.g. SET hoop.justification = 'ticket 123: …'",
                            classification: judged.classification, sql: judged.sql)
            }
            // What a bare name means here is part of the request: the approver sees it, and an
            // approval is for this text under this search_path (the ticket matches the text).
            var classification = classificationJSON(judged.classification, v)
            if s.searchPath.changed, var o = classification.object { o["session"] = s.searchPath.json; classification = .object(o) }
            review(s, bytes, f, seq: seq, sql: s.searchPath.line(for: judged.sql).map { judged.sql + "\n" + $0 } ?? judged.sql,
                   normalized: SQLParser.normalize(judged.sql),
                   classification: classification, reasons: v.reasons.map(\.message),
                   why: v.summary, approvalsRequired: v.approvalsRequired, approverSets: v.approverSets.map { $0.sorted() },
                   ran: { self.learn(s, judged) }, denied: judged.classification)
        }
    }

    /// A request of an API connection (kind `aws`): a `call` frame, judged by the
    /// connection's call rules (docs/approval.md, "Rules for API calls"). Any other
    /// request type in such a session is refused: fail closed.
    private func evaluateCall(_ s: Session, _ bytes: [UInt8], _ f: Frame) {
        let seq = f.seq ?? 0
        guard f.type == FrameType.call else {
            if f.type == FrameType.cancel { return stampPass(bytes) }
            // A streamed body goes where its call went: on with a call let through, nowhere
            // with a held, denied or unknown one.
            if f.type == FrameType.callData {
                guard s.streamedCalls.contains(seq) else { return }
                if f["end"]?.bool == true || f["abort"]?.bool == true { s.streamedCalls.remove(seq) }
                return stampPass(bytes)
            }
            return deny(s, seq: seq, request: f.type, reason: "wrong_kind", rule: nil, code: "42501",
                        "hoop: a \(Ring.loggable(f.type)) request has no place in a \(s.kind.rawValue) session", classification: nil)
        }
        let streamed = f["body_streamed"]?.bool == true
        let call = JSON.object(f.fields)
        let facts = CallFacts(call)
        let v = s.policy.verdict(call: facts, s.requester)
        let judged = JSON.object(["action": .string(facts.serviceOperation), "iam_action": .string(facts.iamAction),
                                  "access": .string(facts.access), "target": f["target"] ?? .null,
                                  "verdict": .string(v.action.rawValue), "rules": .array(v.reasons.map { .string($0.rule) })])
        switch v.action {
        case .allow:
            if streamed { s.streamedCalls.insert(seq) }
            stampPass(bytes)
        case .review:
            // The approval is for what runs (CallFingerprint): the approver reads the call,
            // and the ticket is matched by the whole text, fingerprint included.
            let text = CallFingerprint.readable(call)
            if facts.isLaterPage, let ticket = try? store.usedTicket(kind: .query, connection: s.connection, requester: s.requester, sql: text),
               pageIsNew(ticket, facts) {
                // A further page of a listing approved and run once: the approval covers its
                // pages, each page once (a token sent again would run the listing again).
                emitApproved(s, seq: seq, ticket, note: "a further page of the call approved as \(ticket.id)")
                if streamed { s.streamedCalls.insert(seq) }
                return stampPass(bytes)
            }
            review(s, bytes, f, seq: seq, sql: text, normalized: CallFingerprint.summary(call),
                   classification: judged, reasons: v.reasons.map(\.message), why: v.summary,
                   approvalsRequired: v.approvalsRequired, approverSets: v.approverSets.map { $0.sorted() },
                   ran: { if streamed { s.streamedCalls.insert(seq) } }, denied: nil)
        case .deny:
            deny(s, seq: seq, request: f.type, reason: "policy", rule: v.reasons.first?.rule, code: "42501",
                 "hoop: \(facts.serviceOperation) is not allowed: \(v.summary)", classification: nil,
                 sql: CallFingerprint.readable(call), callJudgement: judged)
        }
    }

    /// The pages run under each used ticket, by their tokens' digest; at most
    /// `maxPagesPerTicket` (then held again). In memory: after a restart a page runs
    /// only under a ticket still valid, and may run once more.
    private var pagesRun: [String: (until: Double, pages: Set<String>)] = [:]
    static let maxPagesPerTicket = 10_000

    private func pageIsNew(_ ticket: HeldRequest, _ facts: CallFacts) -> Bool {
        let now = Date().timeIntervalSince1970
        pagesRun = pagesRun.filter { $0.value.until > now }     // tickets past their validity run nothing more
        let tokens = JSON.object(facts.params.filter { facts.paging.contains($0.key) }).encodedString
        let digest = SHA256.hash(data: Array(tokens.utf8)).map { String(format: "%02x", $0) }.joined()
        var seen = pagesRun[ticket.id] ?? (ticket.validUntil ?? now, [])
        guard seen.pages.count < Self.maxPagesPerTicket, seen.pages.insert(digest).inserted else { return false }
        pagesRun[ticket.id] = seen
        return true
    }

    /// A request the policy holds for an approver. An approval still valid for the same
    /// request of the same identity (a ticket) lets it run once, now; otherwise it is
    /// held: the session waits (attached), or the request is answered at once and the
    /// hold outlives it (detached: a door whose clients cannot wait marks its requests).
    private func review(_ s: Session, _ bytes: [UInt8], _ f: Frame, seq: Int64, sql: String, normalized: String?,
                        classification: JSON, reasons: [String], why: String, approvalsRequired: Int, approverSets: [[String]],
                        ran: () -> Void, denied: Classification?) {
        do {
            let request: HeldRequest
            // A request its client withdrew (its mark not yet written) is never taken up again.
            if let earlier = try store.reusable(kind: .query, connection: s.connection, requester: s.requester, sql: sql),
               !withdrawals.contains(earlier.id) {
                if earlier.state == .approved, try store.transition(earlier.id, from: .approved, to: .used) {
                    // Approved while no session waited on it: it runs once, now.
                    emitApproved(s, seq: seq, earlier, note: "approved earlier; run once by a new request")
                    ran()
                    return stampPass(bytes)
                }
                request = earlier
            } else {
                request = try store.create(kind: .query, connection: s.connection, session: s.id, seq: seq, requester: s.requester,
                                           sql: sql, normalized: normalized, classification: classification, reasons: reasons,
                                           justification: s.justification, durationSeconds: nil,
                                           approvalsRequired: approvalsRequired, approverSets: approverSets,
                                           timeout: s.policy.holdTimeout)
                notifier?.wake()
            }
            if f["detached"]?.bool == true { return detach(s, request, seq: seq, type: f.type, why: why, sql: sql) }
            hold(s, request, bytes: bytes, type: f.type, seq: seq, until: request.expiresAt, why: why, sql: sql)
        } catch {
            // No store, no hold: fail closed.
            logLine(Self.stage, "session \(s.id): the approval store failed (\(error)); request denied")
            deny(s, seq: seq, request: f.type, reason: "store_unavailable", rule: nil, code: "42501",
                 "hoop: this request needs approval, and the approval store is unavailable", classification: denied, sql: sql)
        }
    }

    /// What an allowed statement teaches about the session: PREPAREd names, a
    /// justification or grant duration set in SQL.
    private func learn(_ s: Session, _ judged: Judged) {
        // Let through: what it may make or rename counts from a look begun after it (any session).
        if judged.classification.mayChangeCatalog || s.changedCatalog {
            catalogs.changed()
            s.changedCatalog = true
        }
        // A name keeps every statement it was PREPAREd as: a PREPARE the server refuses
        // (the name exists) must not make the old statement look like the new one, and a
        // DEALLOCATE may fail too. Judging by all of them can only be stricter.
        for st in judged.classification.statements where st.command == "PREPARE" {
            guard let name = st.preparedName else { continue }
            let body = Judged(sql: judged.sql, classification: Classification(statements: st.preparedBody))
            s.names.parse(name, body)
        }
        s.searchPath.learn(judged.sql, judged.classification)
        guard judged.sql.containsIgnoringASCIICase("hoop.") else { return }
        for (name, value) in SessionSettings.set(in: judged.sql) {
            if name == "hoop.justification" { s.justification = value }
            if name == "hoop.duration", let v = value.flatMap({ Int($0) }) { s.duration = v }
        }
    }

    // MARK: sessions

    private func open(_ f: Frame, bytes: [UInt8]) throws {
        guard let id = f.session else { return }
        guard let requester = Requester(identity: f["identity"]), f.stamped(by: "auth") else {
            // Fail closed: a session without a verified identity cannot be judged.
            return out.enqueue(Self.sessionError(id, seq: 0, reason: "no_identity", code: "28000",
                                                 "hoop: the session has no verified identity"))
        }
        let database = f["connection"]?.string ?? f["database"]?.string ?? ""
        guard let policy = policies.byConnection[database] else {
            return out.enqueue(Self.sessionError(id, seq: 0, reason: "no_connection", code: "3D000",
                                                 "hoop: no connection named \"\(database)\" is configured"))
        }
        guard let kind = policies.kinds[database] ?? nil else {
            // Fail closed: requests of a kind this stage cannot judge never pass.
            return out.enqueue(Self.sessionError(id, seq: 0, reason: "unknown_kind", code: "42501",
                                                 "hoop: the connection \"\(database)\" is of a kind this gateway does not know"))
        }
        let s = Session(id: id, connection: database, policy: policy, requester: requester)
        s.kind = kind
        // Every value a setting is given, as the server reads them (any case, either way
        // of writing it): one of them unsafe refuses the session.
        let parameters = f["options"]?.object?.compactMapValues(\.string) ?? [:]
        for (name, value) in StartupSettings.all(parameters) {
            if name == "search_path", SearchPath.shadowsCatalog(value) {
                return out.enqueue(Self.sessionError(id, seq: 0, reason: "policy", code: "42501",
                                                     "hoop: a search_path that puts a schema before pg_catalog is not allowed"))
            }
            if LexerSettings.names.contains(name), !LexerSettings.safe(name, value) {
                return out.enqueue(Self.sessionError(id, seq: 0, reason: "policy", code: "42501",
                                                     "hoop: \(name) keeps the gateway's value (it changes how SQL text is read)"))
            }
        }
        let settings = StartupSettings.final(parameters)
        s.searchPath = SearchPathState(initial: settings["search_path"])
        s.justification = settings["hoop.justification"]
        s.duration = settings["hoop.duration"].flatMap { Int($0) }
        sessions[id] = s
        guard policy.requireGrant else { return stampPass(bytes) }
        do {
            if let g = try store.liveGrant(connection: database, requester: requester) {
                s.grant = (g.id, g.validUntil ?? 0)
                emitApproved(s, seq: 0, g, note: "access grant in force")
                return stampPass(bytes)
            }
            let request = try store.reusable(kind: .access, connection: database, requester: requester, sql: nil)
                ?? store.create(kind: .access, connection: database, session: id, seq: 0, requester: requester, sql: nil,
                                normalized: nil, classification: .object(["access": .string(database)]),
                                reasons: ["access to \(database) needs a grant"], justification: s.justification,
                                durationSeconds: Int(min(Double(s.duration ?? Int(policy.defaultGrant)), policy.maxGrant)),
                                approvalsRequired: policy.approvalsRequired, approverSets: [],
                                timeout: policy.holdTimeout)
            if request.state == .pending, request.session == id { notifier?.wake() }
            hold(s, request, bytes: bytes, type: FrameType.sessionOpen, seq: 0,
                 until: min(request.expiresAt, Date().timeIntervalSince1970 + policy.accessWait), why: "access to \(database) needs a grant")
        } catch {
            logLine(Self.stage, "session \(id): the approval store failed (\(error)); access refused")
            end(s, reason: "store_unavailable", code: "28000", "hoop: access needs a grant, and the approval store is unavailable")
        }
    }

    private func closeSession(_ id: String, withdraw: Bool) {
        guard let s = sessions.removeValue(forKey: id) else { return }
        // The client left: its held request is withdrawn unless another session waits on it.
        if withdraw, let h = s.held, h.kind == .query, !sessions.values.contains(where: { $0.held?.requestID == h.requestID }) {
            self.withdraw(h.requestID)
        }
    }

    /// Marks a request the client withdrew (pending → canceled) before the client hears
    /// so. A store that fails (busy past its wait) leaves it to the clock, each tick until
    /// it is written: else an approval given later would run it for the next identical request.
    private func withdraw(_ id: String) {
        do {
            try store.transition(id, from: .pending, to: .canceled)
        } catch {
            withdrawals.insert(id)
            logLine(Self.stage, "request \(id): could not be marked withdrawn (\(ApprovalStore.plain(error))); tried again each tick")
        }
    }

    private func cancelHold(_ s: Session) {
        guard let h = s.held else { return }
        if h.kind == .query { withdraw(h.requestID) }
        s.held = nil
        deny(s, seq: h.seq, request: h.type, reason: "canceled", rule: nil, code: "57014",
             "hoop: canceling statement due to user request (request \(h.requestID) withdrawn)", classification: nil, requestID: h.requestID, sql: h.sql)
        drain(s)
    }

    // MARK: holds and their outcomes

    private func hold(_ s: Session, _ r: HeldRequest, bytes: [UInt8], type: String, seq: Int64, until: Double, why: String,
                      sql: String? = nil) {
        s.held = Hold(requestID: r.id, kind: r.kind, bytes: bytes, type: type, seq: seq, sql: sql, deadline: until)
        let wait = max(0, Int(until - Date().timeIntervalSince1970))
        out.enqueue(holdFrame(s, r, seq: seq, sql: sql, detached: false))
        let what = r.kind == .access ? "access to \(s.connection)" : "this request"
        out.enqueue(Frame(FrameType.notice, session: s.id, seq: seq, [
            "severity": .string("NOTICE"), "severity_nonlocalized": .string("NOTICE"), "code": .string("00000"),
            "message": .string("hoop: \(what) is held for approval as \(r.id) (\(why))"),
            "hint": .string("An approver runs: hoop-approve grant \(r.id). This session waits up to \(wait) s."),
        ]))
        logLine(Self.stage, "session \(s.id): \(r.kind.rawValue) request \(r.id) held")
    }

    /// The `hold` decision, for the audit trail (and the approvers' notifications).
    private func holdFrame(_ s: Session, _ r: HeldRequest, seq: Int64, sql: String?, detached: Bool) -> Frame {
        var f = Frame(FrameType.hold, session: s.id, seq: seq, [
            "stage": .string(Self.stage), "request_id": .string(r.id), "kind": .string(r.kind.rawValue),
            "connection": .string(s.connection), "reasons": .array(r.reasons.map(JSON.string)),
            "approvals_required": .int(Int64(r.approvalsRequired)), "expires_at": .int(Int64(r.expiresAt)),
            "classification": r.classification,
        ])
        if let sql { f["sql"] = .string(sql) }
        if detached { f["detached"] = .bool(true) }
        return f
    }

    /// A detached hold: the request is answered at once (a `deny` with reason `held`,
    /// naming the request and the approver's command) and the session goes on. The held
    /// request stays in the store; once approved, the same identity sending the same
    /// request within the approval's validity runs it once (`reusable`, then `used`).
    private func detach(_ s: Session, _ r: HeldRequest, seq: Int64, type: String, why: String, sql: String) {
        out.enqueue(holdFrame(s, r, seq: seq, sql: sql, detached: true))
        logLine(Self.stage, "session \(s.id): request \(r.id) held (detached)")
        deny(s, seq: seq, request: type, reason: "held", rule: nil, code: "42501",
             "hoop: this request is held for approval as \(r.id) (\(why)); once an approver runs `hoop-approve grant \(r.id)`, send the same request again: it runs once",
             classification: nil, requestID: r.id, sql: sql)
    }

    /// What the store says of a held request. The clock reads it, and writes what it
    /// takes (a query's `expired`, `used`), without the gate's lock; the session gets it
    /// under the lock.
    private enum Outcome {
        case timedOut(HeldRequest)
        case approved(HeldRequest, ran: Bool, decisions: [Decision]?)
        case closed(HeldRequest, lastDeny: Decision?)
    }

    /// One tick at a time (two would both take an approval: one as used, one as run already).
    private let tickLock = NSLock()
    /// Requests sessions withdrew whose mark the store refused: tried again each tick.
    private var withdrawals: Set<String> = []

    /// The decision clock: outcomes of held requests, timeouts, grant windows, and the
    /// approvers' decisions written to the audit trail.
    /// The store is asked and written without the gate's lock, which every session's
    /// frames need: a store busy for its whole wait (5 s) holds up only the clock.
    func tick(now: Double = Date().timeIntervalSince1970) {
        tickLock.lock(); defer { tickLock.unlock() }
        lock.lock()
        // Grant windows first, without the store: a store that is locked or broken must
        // not keep a session open past its window.
        for s in sessions.values where !s.ended {
            if let g = s.grant, g.until <= now { end(s, reason: "window_closed", code: "57P05", "hoop: the access grant \(g.id) has ended") }
        }
        let live = sessions.values.filter { !$0.ended }
        let holds = live.compactMap { s in s.held.map { (s, $0) } }
        let grants = live.compactMap { s in s.grant.map { (s, $0.id) } }
        let retry = withdrawals.filter { id in !sessions.values.contains { $0.held?.requestID == id } }
        lock.unlock()

        var outcomes: [(Session, Hold, Outcome)] = []
        var revoked: [(Session, String)] = []
        var fresh: [(Decision, HeldRequest?)] = []
        var withdrawn: [String] = []
        for id in retry {
            // Not pending any more (decided, expired) counts as done; a failure, as not yet.
            if (try? store.transition(id, from: .pending, to: .canceled)) != nil { withdrawn.append(id) }
        }
        do {
            _ = try store.expireDue(now: now)
            // Collected as they happen: a write done before a later failure still reaches its session.
            for (s, h) in holds { if let o = try outcome(h, now: now) { outcomes.append((s, h, o)) } }
            for (s, id) in grants { if let r = try store.request(id), r.state != .approved { revoked.append((s, id)) } }
            fresh = try store.unannounced().map { ($0, try store.request($0.requestID)) }
        } catch {
            logLine(Self.stage, "decision clock: the approval store failed (\(ApprovalStore.plain(error)))")
        }

        var giveBack: [String] = []
        lock.lock()
        for id in withdrawn where withdrawals.remove(id) != nil { logLine(Self.stage, "request \(id): marked withdrawn at last") }
        for (s, h, o) in outcomes {
            // The hold went while the store was written (withdrawn, the session closed or
            // ended): a run taken for it did not happen, so its approval is given back.
            guard sessions[s.id] === s, !s.ended, let current = s.held, current.requestID == h.requestID, current.seq == h.seq,
                  current.type == h.type else {
                if h.kind == .query, case .approved(_, ran: true, _) = o { giveBack.append(h.requestID) }
                continue
            }
            settle(s, h, o, now: now)
        }
        for (s, id) in revoked where !s.ended && s.grant?.id == id {
            end(s, reason: "grant_revoked", code: "57P05", "hoop: the access grant \(id) was revoked")
        }
        for (d, r) in fresh {
            var fields = d.json.object ?? [:]
            fields["stage"] = .string(Self.stage)
            if let r { fields["connection"] = .string(r.connection); fields["requester"] = r.requester.json }
            out.enqueue(Frame(FrameType.decision, session: r?.session, seq: r?.seq, fields))
        }
        lock.unlock()

        for id in giveBack {
            do { try store.transition(id, from: .used, to: .approved) }
            catch { logLine(Self.stage, "request \(id): its approval, taken for a run that did not happen, could not be given back (\(ApprovalStore.plain(error)))") }
        }
        if !fresh.isEmpty {
            do { try store.markAnnounced(fresh.map(\.0.number)) }
            catch { logLine(Self.stage, "decision clock: the approval store failed (\(ApprovalStore.plain(error)))") }
        }
        try? out.flush()
    }

    /// A held request's outcome, if it has one; the store's write first: one that fails
    /// (busy) throws and leaves the hold for the next tick, never a session waiting on
    /// nothing; one an approver's decision overtook gives none.
    private func outcome(_ h: Hold, now: Double) throws -> Outcome? {
        guard let r = try store.request(h.requestID) else { return nil }
        switch r.state {
        case .pending:
            guard now >= h.deadline else { return nil }
            if h.kind == .query, !(try store.transition(r.id, from: .pending, to: .expired, now: now)) { return nil }
            return .timedOut(r)
        case .approved:
            let ran = try h.kind == .access || store.transition(r.id, from: .approved, to: .used, now: now)
            // Written: nothing after it may throw the outcome away.
            return .approved(r, ran: ran, decisions: try? store.decisions(r.id))
        case .denied, .expired, .canceled, .used, .revoked:
            return .closed(r, lastDeny: try store.decisions(r.id).last(where: { $0.decision == .deny }))
        }
    }

    /// A held request's outcome, for its session (under the lock; no store write).
    private func settle(_ s: Session, _ h: Hold, _ o: Outcome, now: Double) {
        s.held = nil
        switch o {
        case .timedOut(let r):
            if h.kind == .access {
                // The session stops waiting; the request stays for an approver.
                return end(s, reason: "access_pending", code: "28000",
                           "hoop: access to \(s.connection) needs a grant; request \(r.id) is pending. Connect again once an approver has run: hoop-approve grant \(r.id)")
            }
            deny(s, seq: h.seq, request: h.type, reason: "timeout", rule: nil, code: "42501",
                 "hoop: request \(r.id) was not approved in time", classification: nil, requestID: r.id, sql: h.sql)
        case .approved(let r, let ran, let decisions):
            if h.kind == .access {
                s.grant = (r.id, r.validUntil ?? now)
            } else if !ran {
                // Another session of the same identity ran it first: approvals are single-use.
                deny(s, seq: h.seq, request: h.type, reason: "used", rule: nil, code: "42501",
                     "hoop: request \(r.id) was approved but has already run once", classification: nil, requestID: r.id, sql: h.sql)
                break
            }
            emitApproved(s, seq: h.seq, r, note: nil, decisions: decisions)
            stampPass(h.bytes)
            if h.kind == .query, let f = try? Frame.decode(h.bytes) {
                if let sql = f["sql"]?.string { learn(s, judge(sql, s)) }
                if f.type == FrameType.execute {
                    let portal = f["portal"]?.string ?? ""
                    // As an Execute let through teaches (decide): an approved SET search_path too.
                    if let judged = s.names[portal: portal] { learn(s, judged) }
                    s.runningPortals.insert(portal)
                }
            }
        case .closed(let r, let last):
            // The approver is named in the audit trail, not to the client: hoop-mask would
            // take their email for PHI anyway.
            let why = r.state == .denied
                ? "denied by an approver" + (last?.reason.map { ": \($0)" } ?? "")
                : r.state == .expired ? "not approved in time" : "withdrawn"
            if h.kind == .access {
                return end(s, reason: r.state.rawValue, code: "28000", "hoop: access to \(s.connection) was \(why) (request \(r.id))")
            }
            deny(s, seq: h.seq, request: h.type, reason: r.state == .denied ? "approver" : r.state.rawValue, rule: nil, code: "42501",
                 "hoop: request \(r.id) was \(why)", classification: nil, requestID: r.id, sql: h.sql)
        }
        drain(s)
    }

    /// Judges the frames queued behind a released hold, in order, until one is held.
    private func drain(_ s: Session) {
        while s.held == nil, !s.ended, !s.queue.isEmpty {
            let bytes = s.queue.removeFirst()
            s.queuedBytes -= bytes.count
            guard let f = try? Frame.decode(bytes) else { continue }
            if f.type == FrameType.cancel { stampPass(bytes); continue }
            try? evaluate(s, bytes, f)
        }
    }

    // MARK: frames out

    private func passRaw(_ bytes: UnsafeRawBufferPointer) {
        var line = Array(bytes); line.append(0x0A)
        out.enqueue(line)
    }

    private func stampPass(_ bytes: [UInt8]) {
        var line: [UInt8] = []
        line.reserveCapacity(bytes.count + 24)
        bytes.withUnsafeBytes { appendStamp("approve", to: $0, into: &line) }
        out.enqueue(line)
    }

    private func emitApproved(_ s: Session, seq: Int64, _ r: HeldRequest, note: String?, decisions: [Decision]? = nil) {
        var fields: [String: JSON] = ["stage": .string(Self.stage), "request_id": .string(r.id), "kind": .string(r.kind.rawValue),
                                      "decision": .string("approved")]
        if let ds = decisions ?? (try? store.decisions(r.id)) { fields["decisions"] = .array(ds.map(\.json)) }
        if let note { fields["note"] = .string(note) }
        if let until = r.validUntil, r.kind == .access { fields["valid_until"] = .int(Int64(until)) }
        out.enqueue(Frame(FrameType.approved, session: s.id, seq: seq, fields))
    }

    /// A denied request: hoop-connect answers it as the server answers a failed
    /// statement (docs/approval.md, "What the client sees").
    private func deny(_ s: Session, seq: Int64, request: String, reason: String, rule: String?, code: String, _ message: String,
                      classification: Classification?, requestID: String? = nil, extra: [String: String] = [:], sql: String? = nil,
                      callJudgement: JSON? = nil) {
        var fields: [String: JSON] = ["stage": .string(Self.stage), "request": .string(request), "decision": .string("denied"),
                                      "reason": .string(reason), "code": .string(code), "message": .string(message)]
        if !extra.isEmpty { fields["error_fields"] = .object(extra.mapValues(JSON.string)) }
        // A refused request never reaches hoop-connect, which records requests: what was
        // asked goes to the audit trail here.
        if let sql { fields["sql"] = .string(sql) }
        if let rule { fields["rule"] = .string(rule) }
        if let requestID { fields["request_id"] = .string(requestID) }
        if let classification { fields["classification"] = .array(classification.statements.map { $0.json() }) }
        if let callJudgement { fields["classification"] = callJudgement }
        out.enqueue(Frame(FrameType.deny, session: s.id, seq: seq, fields))
        logLine(Self.stage, "session \(s.id): request \(seq) denied (\(reason))")
        if s.kind == .postgres && request != FrameType.query { s.skippingToSync = true }
    }

    /// Ends a session: a fatal error for it, and nothing of it passes after.
    private func end(_ s: Session, reason: String, code: String, _ message: String) {
        s.ended = true
        s.queue.removeAll(); s.queuedBytes = 0; s.held = nil
        out.enqueue(Self.sessionError(s.id, seq: nil, reason: reason, code: code, message))
        logLine(Self.stage, "session \(s.id): ended (\(reason))")
    }

    static func sessionError(_ id: String, seq: Int64?, reason: String, code: String, _ message: String) -> Frame {
        .error(session: id, seq: seq, code: code, message: message, fatal: true, stage: stage, decision: "denied", reason: reason)
    }

    private func classificationJSON(_ c: Classification, _ v: Verdict) -> JSON {
        var o: [String: JSON] = ["statements": .array(c.statements.map { $0.json() }),
                                 "rules": .array(v.reasons.map { .string($0.rule) })]
        if let e = v.parseError { o["parse_error"] = .string(e) }
        return .object(o)
    }
}

extension StatementClass {
    /// A portal this stage let go with its transaction, executed or bound again: if the
    /// transaction went on after all, the server still holds what was bound before.
    static func endedPortal(_ name: String) -> StatementClass {
        var st = StatementClass(kind: .utility, command: "EXECUTE")
        st.hidden = ["portal \"\(name)\" was bound in a transaction that has ended"]
        return st
    }

    /// A Bind of a statement this session never prepared: the server refuses it, or it
    /// was prepared where we could not see; either way its effect is not visible here.
    static func unknown(statement name: String) -> StatementClass {
        var st = StatementClass(kind: .utility, command: "EXECUTE")
        st.preparedName = name
        st.hidden = ["statement \"\(name)\" was not prepared in this session"]
        return st
    }
}
