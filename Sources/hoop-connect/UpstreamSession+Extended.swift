import CLibPQ
import Foundation
import HoopFrames
import HoopSQL

// The extended protocol through libpq's pipeline mode. Each client message is sent
// upstream as it arrives and its answer is read back in order at Sync or Flush, so
// that everything up to a Sync runs in one implicit transaction and an error skips
// the rest up to Sync, as on a direct connection.
//
// libpq has no Bind of its own: a Bind is kept here and sent with its Execute (libpq
// sends Bind+Describe+Execute together). libpq has no named portals and no row-limited
// Execute, so a row-limited Execute of a query becomes a server-side cursor (DECLARE,
// then FETCH n per Execute): the rest of the result stays in the server, as with a
// portal. Outside a transaction block the cursor is WITH HOLD and closed at Sync,
// where the server would drop the portal. Statements a cursor cannot run (DML with
// RETURNING) deliver their first rows and keep the rest here, up to
// `portalBufferLimit`, for the next Execute.

let portalBufferLimit = 64 << 20   // per session, across its portals
/// Sent-but-unread requests before we flush and read, so that neither side's
/// buffers fill (libpq's warning about pipeline deadlocks).
let maxUnreadRequests = 64
/// Bytes of requests given to libpq since its output was last sent whole: past this,
/// sent before the next is taken. libpq in non-blocking mode keeps what the socket does
/// not take, so the session's bounded queue would otherwise move into libpq's buffer.
let maxUnsentBytes = 256 << 10

extension UpstreamSession {
    /// A statement's text and parameter types, as a Parse gave them.
    struct BoundStatement: Equatable {
        let sql: String
        let types: [Oid]
    }

    struct Portal {
        var statement: String
        var params: [BindParameter]
        var started = false
        var finished = false
        var pending: [[UInt8]] = []   // rows kept past a row limit
        var next = 0                  // the first of them not yet delivered
        var pendingBytes = 0
        var overflowed = false
        var tag = "SELECT 0"
        var cursor: String? = nil     // the server-side cursor behind a row-limited portal
        /// The client asked for binary result columns: each Execute's rows come after a
        /// `columns` frame `for: execute` (hoop-listen writes binary by those types).
        var binaryResults = false
        /// The server answered a Describe of the portal: hoop-mask has its columns for the
        /// rows. Without it (or one of its statement: `described(_:_:)`) its Execute sends
        /// a columns frame (`for: execute`): without the catalog's names, a view's column
        /// read by a client that does not Describe would be taken for a table's without a rule.
        var described = false
        var holdCursor = false
        /// The statement as it was when bound: a later Parse of the same (unnamed)
        /// statement must not change what this portal runs.
        var bound: BoundStatement? = nil
        /// Bound to a name PREPAREd in SQL, whose text hoop-connect never had to pin: the
        /// session's `statementsRun` then. A Query or a parsed statement run since may
        /// have made the name anew (DEALLOCATE, PREPARE), and the server would run that
        /// text, not the one hoop-approve judged for this Bind.
        var runsAtBind: Int? = nil
    }

    /// What the server will answer, in order, and how to turn it into frames.
    enum Expected {
        /// `before`: what the name held, put back if the server does not make it.
        case parse(name: String, before: StatementBook<BoundStatement, Portal>.Named<BoundStatement>?, seq: Int64)
        /// `name` and its book `generation` when sent: a Describe answered marks it described.
        case describe(portal: Bool, name: String, generation: Int, sql: String?, seq: Int64)
        case execute(portal: String, maxRows: Int, seq: Int64)
        /// DEALLOCATE or CLOSE of a cursor; `closed`: the statement the book let go,
        /// put back if the server skips it.
        case deallocate(seq: Int64, closed: (name: String, before: StatementBook<BoundStatement, Portal>.Named<BoundStatement>)? = nil)
        /// A Close 'S' in a failed transaction: answered here, deallocated at its end.
        case closeLater(name: String, before: StatementBook<BoundStatement, Portal>.Named<BoundStatement>, seq: Int64)
        case sync(seq: Int64)
        /// Answered here, in its place among the server's answers.
        case local(Frame)
        /// An Execute of a suspended portal, served from what it kept.
        case resume(portal: String, maxRows: Int, seq: Int64)
        /// A statement of the gateway's own (a portal's DECLARE, a private PREPARE):
        /// answers nothing unless it fails.
        case quiet(seq: Int64)
        /// FETCH from a portal's cursor: rows, then suspended or complete.
        case fetch(portal: String, maxRows: Int, seq: Int64)
        /// An Execute hoop-approve denied: a statement that fails in its place, so the
        /// server skips to Sync and fails the transaction as for any error; the client
        /// reads the denial instead of the stand-in's error.
        case denied(Frame)
    }

    func extended(_ f: Frame, size: Int) async {
        guard enterPipeline() else { return connectionError() }
        switch f.type {
        case FrameType.parse:
            let name = f["name"]?.string ?? ""
            let sql = f["sql"]?.string ?? ""
            let types = (f["param_types"]?.array ?? []).map { Oid(truncatingIfNeeded: $0.int ?? 0) }
            guard deallocateIfClosed(name) else { return connectionError() }
            guard PQsendPrepare(conn, name, sql, Int32(types.count), types.isEmpty ? nil : types) == 1 else { return connectionError() }
            let before = names.statements[name]
            names.parse(name, BoundStatement(sql: sql, types: types))
            pipelineSQL.append(sql)
            noteDefinitions(sql)
            expected.append(.parse(name: name, before: before, seq: seq))
        case FrameType.bind:
            // Checked by the server at Execute: a Bind to an unknown statement fails there.
            let params = (f["params"]?.array ?? []).map(BindParameter.init)
            let statement = f["statement"]?.string ?? ""
            let name = f["portal"]?.string ?? ""
            if names.portals[name] != nil, livePortal(name) == nil { dropEndedPortal(name) }
            let definition = names.bind(name, statement: statement) { snapshot in
                var portal = Portal(statement: statement, params: params)
                portal.bound = snapshot
                if snapshot == nil, !statement.isEmpty { portal.runsAtBind = statementsRun }
                portal.binaryResults = (f["result_formats"]?.array ?? []).contains { $0.int == 1 }
                return portal
            }
            if definition == .taken {
                // As the server answers a Bind into a named portal that is still open.
                let error = Frame.error(session: id, seq: seq, code: "42P03", message: "cursor \"\(name)\" already exists")
                guard failInPipeline(error) else { return connectionError() }
            } else {
                expected.append(.local(Frame(FrameType.bindComplete, session: id, seq: seq)))
            }
        case FrameType.describe:
            let name = f["name"]?.string ?? ""
            let isPortal = f["kind"]?.string == "P"
            let sent: Int32
            var sql: String? = nil
            if isPortal, let p = livePortal(name), boundToNothing(p) {
                guard failInPipeline(Self.noStatement(p.statement, id, seq)) else { return connectionError() }
                return
            } else if isPortal, let p = livePortal(name), remade(p) {
                guard failInPipeline(Self.remadeStatement(p.statement, id, seq)) else { return connectionError() }
                return
            } else if isPortal, var p = livePortal(name) {
                // The statement as bound, not one parsed under its name since.
                guard pinBound(&p) else { return connectionError() }
                names[portal: name] = p
                sql = p.bound?.sql
                sent = PQsendDescribePrepared(conn, p.statement)
            } else if isPortal {
                sent = PQsendDescribePortal(conn, name)   // the server says it does not exist
            } else if unnamedClosed(name) {
                guard failInPipeline(Self.noStatement(name, id, seq)) else { return connectionError() }
                return
            } else {
                sql = names.statements[name]?.value.sql
                guard deallocateIfClosed(name) else { return connectionError() }
                sent = PQsendDescribePrepared(conn, name)
            }
            guard sent == 1 else { return connectionError() }
            expected.append(.describe(portal: isPortal, name: name, generation: isPortal ? names.generation(portal: name) : names.generation(statement: name),
                                      sql: sql, seq: seq))
        case FrameType.execute:
            let name = f["portal"]?.string ?? ""
            let maxRows = Int(clamping: f["max_rows"]?.int ?? 0)
            if let p = livePortal(name), let cursor = p.cursor {
                guard sendFetch(cursor, maxRows) else { return connectionError() }
                expected.append(.fetch(portal: name, maxRows: maxRows, seq: seq))
            } else if let p = livePortal(name), p.started {
                expected.append(.resume(portal: name, maxRows: maxRows, seq: seq))
            } else if var p = livePortal(name), maxRows > 0, let bound = p.bound, isCursorable(bound.sql) {
                let (sql, types) = (bound.sql, bound.types)
                // A row-limited Execute: the portal becomes a cursor in the server.
                cursorCount += 1
                let cursor = "hoop_portal_\(cursorCount)"
                let hold = lastStatus == "I"
                p.started = true; p.cursor = cursor; p.holdCursor = hold
                names[portal: name] = p
                let declare = "DECLARE \(cursor) NO SCROLL CURSOR \(hold ? "WITH HOLD " : "")FOR " + sql
                let sent = withBindParameters(p.params) { values, lengths, formats in
                    PQsendQueryParams(conn, declare, Int32(p.params.count), types.isEmpty ? nil : types, values, lengths, formats, 0)
                }
                guard sent == 1, sendFetch(cursor, maxRows) else { return connectionError() }
                expected.append(.quiet(seq: seq))
                expected.append(.fetch(portal: name, maxRows: maxRows, seq: seq))
            } else if let p = livePortal(name), boundToNothing(p) {
                guard failInPipeline(Self.noStatement(p.statement, id, seq)) else { return connectionError() }
            } else if let p = livePortal(name), remade(p) {
                guard failInPipeline(Self.remadeStatement(p.statement, id, seq)) else { return connectionError() }
            } else if var p = livePortal(name) {
                // A statement PREPAREd in SQL is a query or a write (PREPARE takes no other):
                // running one makes no name anew, so other portals over it stay good.
                if p.runsAtBind == nil { statementsRun += 1 }
                p.started = true
                guard pinBound(&p), deallocateIfClosed(p.statement) else { return connectionError() }
                names[portal: name] = p
                let sent = withBindParameters(p.params) { values, lengths, formats in
                    PQsendQueryPrepared(conn, p.statement, Int32(p.params.count), values, lengths, formats, 0)
                }
                guard sent == 1 else { return connectionError() }
                expected.append(.execute(portal: name, maxRows: maxRows, seq: seq))
                if let sql = p.bound?.sql, endsTransaction(sql) {
                    portalsEndedAt = names.portals.values.map(\.generation).max() ?? portalsEndedAt
                }
            } else {
                guard PQsendDescribePortal(conn, name) == 1 else { return connectionError() }
                expected.append(.describe(portal: true, name: name, generation: 0, sql: nil, seq: seq))
            }
        case FrameType.close:
            let name = f["name"]?.string ?? ""
            if f["kind"]?.string == "S", !name.isEmpty, let closed = names.statements[name] {
                // Answers read after the Close may still come from it.
                pipelineSQL.append(closed.value.sql)
                names.closeStatement(name)   // the name may be PREPAREd anew in SQL
                describedStatements[name] = nil
                if lastStatus == "E" {
                    deallocateLater.append(name)
                    expected.append(.closeLater(name: name, before: closed, seq: seq))
                } else {
                    guard sendDeallocate(name) else { return connectionError() }
                    expected.append(.deallocate(seq: seq, closed: (name, closed)))
                }
            } else if f["kind"]?.string == "S", name.isEmpty, let closed = names.statements[name] {
                // libpq 15 cannot close the unnamed statement, and DEALLOCATE cannot name it:
                // the server keeps it until the next Parse replaces it, but hoop-connect
                // answers a later use as the server would (unnamedClosed).
                pipelineSQL.append(closed.value.sql)
                names.closeStatement(name)
                expected.append(.local(Frame(FrameType.closeComplete, session: id, seq: seq)))
            } else {
                // Closing a portal, or something that does not exist, is not an error.
                if f["kind"]?.string == "P", names.portals[name] != nil, livePortal(name) == nil { dropEndedPortal(name) }
                let closed = f["kind"]?.string == "P" ? names[portal: name] : nil
                if let sql = closed?.bound?.sql { pipelineSQL.append(sql) }
                if closed != nil { names.closePortal(name) }
                if let cursor = closed?.cursor {
                    guard PQsendQueryParams(conn, "CLOSE \(cursor)", 0, nil, nil, nil, nil, 0) == 1 else { return connectionError() }
                    expected.append(.deallocate(seq: seq))
                } else {
                    expected.append(.local(Frame(FrameType.closeComplete, session: id, seq: seq)))
                }
            }
        case FrameType.sync:
            guard PQpipelineSync(conn) == 1 else { return connectionError() }
            expected.append(.sync(seq: seq))
            await readExpected()
        case FrameType.flush:
            guard PQsendFlushRequest(conn) == 1, await flushUpstream() else { return connectionError() }
            await readExpected()
        default:
            break
        }
        if expected.count >= maxUnreadRequests {
            guard PQsendFlushRequest(conn) == 1, await flushUpstream() else { return connectionError() }
            await readExpected()
        }
        unsentBytes = expected.isEmpty ? 0 : unsentBytes + size
        if unsentBytes >= maxUnsentBytes {
            guard await flushUpstream() else { return connectionError() }
            unsentBytes = 0
        }
    }

    /// Reads the answers to everything sent so far and turns them into frames.
    func readExpected() async {
        let requestSeq = seq
        defer { seq = requestSeq; pipelineSQL.removeAll() }
        while !expected.isEmpty {
            let e = expected.removeFirst()
            switch e {
            case .local(let frame):
                if !aborted { emit(frame) }
            case .parse(let name, let before, let s):
                seq = s
                let outcome = await answer()
                // A Parse skipped after an error leaves the name as it was; one that failed
                // leaves a named statement as it was (the name was taken) but no unnamed one:
                // the server drops it before it parses the new text.
                if outcome != .done { undoAtSync.append((name, outcome == .failed && name.isEmpty ? nil : before)) }
                if outcome == .done, !aborted { emit(Frame(FrameType.parseComplete, session: id, seq: s)) }
            case .deallocate(let s, let closed):
                seq = s
                let outcome = await answer()
                if outcome == .done && !aborted { emit(Frame(FrameType.closeComplete, session: id, seq: s)) }
                if outcome == .skipped, let closed { undoAtSync.append((closed.name, closed.before)) }
            case .closeLater(let name, let before, let s):
                if aborted {
                    // Skipped: the statement stays.
                    undoAtSync.append((name, before))
                    if let i = deallocateLater.lastIndex(of: name) { deallocateLater.remove(at: i) }
                } else {
                    emit(Frame(FrameType.closeComplete, session: id, seq: s))
                }
            case .describe(let isPortal, let name, let generation, let sql, let s):
                seq = s
                resultSQL = sql
                defer { resultSQL = nil }
                // Described only once the server answered: hoop-mask then has its columns.
                if await describeAnswer(portal: isPortal) {
                    if !isPortal { describedStatements[name] = generation }
                    else if names.generation(portal: name) == generation { names[portal: name]?.described = true }
                }
            case .execute(let portal, let maxRows, let s):
                seq = s
                resultSQL = names[portal: portal]?.bound?.sql
                defer { resultSQL = nil }
                PQsetSingleRowMode(conn)   // in pipeline mode: per query, before its first result
                let announce = names[portal: portal].map { $0.binaryResults || !described(portal, $0) } ?? false
                if await drainResults(describe: false, maxRows: maxRows, portal: portal, announce: announce) == .failed { aborted = true }
                else if let sql = resultSQL { followEndedNames(sql) }
            case .resume(let portal, let maxRows, let s):
                seq = s
                if !aborted { await resume(portal, maxRows: maxRows) }
            case .quiet(let s):
                seq = s
                _ = await answer()
            case .fetch(let portal, let maxRows, let s):
                seq = s
                resultSQL = names[portal: portal]?.bound?.sql
                defer { resultSQL = nil }
                PQsetSingleRowMode(conn)
                await fetchAnswer(portal, maxRows: maxRows)
            case .denied(let error):
                seq = error.seq ?? seq
                var failed = false
                while let res = await result() {
                    if PQresultStatus(res) != PGRES_PIPELINE_ABORTED && PQresultStatus(res) != PGRES_TUPLES_OK { failed = true }
                    PQclear(res)
                }
                // Skipped (the pipeline had already failed): the server would say nothing either.
                if failed { emit(error); aborted = true }
            case .sync(let s):
                seq = s
                // An error of the commit that Sync makes (a deferred constraint, a WITH HOLD
                // cursor's query run to its end) comes before Sync's own answer: it is this
                // Sync's error, as the server sends it to a client (then a NULL, then Sync's).
                var st = PGRES_FATAL_ERROR
                var committedError = false
                while true {
                    guard let res = await result() else {
                        if committedError { committedError = false; continue }
                        return connectionError()
                    }
                    st = PQresultStatus(res)
                    if st == PGRES_FATAL_ERROR, !committedError {
                        await emitError(res)
                        committedError = true
                        PQclear(res)
                        continue
                    }
                    PQclear(res)
                    break
                }
                guard st == PGRES_PIPELINE_SYNC else {
                    logLine("hoop-connect", "session \(id): pipeline out of step (status \(st.rawValue))")
                    return connectionError()
                }
                aborted = false
                settleNames()
                for (name, _) in names.portals where livePortal(name) == nil { dropEndedPortal(name) }
                let now = status
                if now == "I" { await endPortals() }   // portals end with their transaction
                if now != "E" { await deallocateClosed() }
                await forwardNotifications()
                reportParameterChanges()
                lastStatus = now
                emit(Frame(FrameType.ready, session: id, seq: s, ["status": .string(now)]))
            }
        }
    }

    /// Reads one answer without rows (Parse, DEALLOCATE): done, failed or skipped.
    private func answer() async -> Outcome {
        var outcome = Outcome.done
        while let res = await result() {
            switch PQresultStatus(res) {
            case PGRES_COMMAND_OK: break
            case PGRES_PIPELINE_ABORTED: outcome = .skipped
            default:
                await emitError(res)
                aborted = true
                outcome = .failed
            }
            PQclear(res)
        }
        return outcome
    }

    /// True when the server described it (a columns or noData frame went out).
    private func describeAnswer(portal: Bool) async -> Bool {
        var described = false
        while let res = await result() {
            defer { PQclear(res) }
            switch PQresultStatus(res) {
            case PGRES_COMMAND_OK:
                described = true
                if !portal {
                    let types = (0..<PQnparams(res)).map { JSON.int(Int64(PQparamtype(res, $0))) }
                    emit(Frame(FrameType.parameters, session: id, seq: seq, ["types": .array(types)]))
                }
                emit(PQnfields(res) > 0 ? await columnsFrame(res) : Frame(FrameType.noData, session: id, seq: seq))
            case PGRES_PIPELINE_ABORTED: break
            default:
                await emitError(res)
                aborted = true
            }
        }
        return described
    }

    /// Whether hoop-mask has a Describe's columns for this portal's rows: the portal's, or
    /// its statement's as it was when bound.
    func described(_ name: String, _ p: Portal) -> Bool {
        guard !p.described else { return true }
        guard let bound = names.portals[name] else { return false }
        return describedStatements[bound.statement] == bound.statementGeneration
    }

    private func sendFetch(_ cursor: String, _ maxRows: Int) -> Bool {
        let fetch = maxRows > 0 ? "FETCH FORWARD \(maxRows) FROM \(cursor)" : "FETCH ALL FROM \(cursor)"
        return PQsendQueryParams(conn, fetch, 0, nil, nil, nil, nil, 0) == 1
    }

    /// The rows of a FETCH, answered as the portal's Execute would be.
    private func fetchAnswer(_ portal: String, maxRows: Int) async {
        var batch = RowsWriter(session: id, seq: seq)
        var delivered = 0
        let announce = names[portal: portal].map { $0.binaryResults || !described(portal, $0) } ?? false
        var announced = false
        while let res = await result() {
            defer { PQclear(res) }
            if !announced, announce || Self.hasExpression(res), PQresultStatus(res) == PGRES_SINGLE_TUPLE || PQresultStatus(res) == PGRES_TUPLES_OK {
                emit(await executeColumns(res))
                announced = true
            }
            switch PQresultStatus(res) {
            case PGRES_SINGLE_TUPLE:
                batch.append(res)
                delivered += 1
                if batch.isFull { await sendRows(&batch) }
            case PGRES_TUPLES_OK:
                await sendRows(&batch)
                if maxRows > 0 && delivered == maxRows {
                    emit(Frame(FrameType.suspended, session: id, seq: seq))
                } else {
                    emit(Frame(FrameType.complete, session: id, seq: seq, ["tag": .string("SELECT \(delivered)")]))
                }
            case PGRES_PIPELINE_ABORTED: break
            default:
                await sendRows(&batch)
                await emitError(res)
                aborted = true
            }
        }
        await sendRows(&batch)
    }

    /// A portal runs what was bound: if its statement was parsed again or closed since
    /// the Bind, the bound text is prepared under a name of its own first. False when
    /// libpq refused to send.
    func pinBound(_ p: inout Portal) -> Bool {
        guard let bound = p.bound, names[statement: p.statement] != bound else { return true }
        cursorCount += 1
        p.statement = "hoop_bound_\(cursorCount)"
        guard PQsendPrepare(conn, p.statement, bound.sql, Int32(bound.types.count),
                            bound.types.isEmpty ? nil : bound.types) == 1 else { return false }
        expected.append(.quiet(seq: seq))
        names.parse(p.statement, bound)
        return true
    }

    /// The transaction ended: its portals go, and so do the cursors held for them and
    /// for portals a COMMIT or ROLLBACK in a pipeline ended. Each CLOSE has a Sync of
    /// its own: a cursor a ROLLBACK dropped is no longer there, and its CLOSE's error
    /// (read here, never the client's) must not skip the next.
    func endPortals() async {
        let held = names.portals.values.compactMap { $0.value.holdCursor ? $0.value.cursor : nil } + endedCursors
        names.endTransaction()
        endedCursors = []
        for cursor in held {
            guard PQsendQueryParams(conn, "CLOSE \(cursor)", 0, nil, nil, nil, nil, 0) == 1, PQpipelineSync(conn) == 1 else { return }
            // The CLOSE's results end with NULL; the Sync's result has none after it.
            while let res = await result() { PQclear(res) }
            if let res = await result() { PQclear(res) }
        }
    }

    /// Whether `statement` is the unnamed statement after the client closed it (the
    /// server, which hoop-connect could not close it in, still has it).
    func unnamedClosed(_ statement: String) -> Bool { statement.isEmpty && names.statements[""] == nil }

    /// A portal bound when its statement was not in the book: the server would have
    /// refused that Bind (26000), unless the name was PREPAREd in SQL (which the book does
    /// not hold). The unnamed statement is always in the book when the server has it; a
    /// named one in it now was parsed after the Bind. Either way, running the name now
    /// would run a text nobody bound (and hoop-approve did not judge for this portal).
    func boundToNothing(_ p: Portal) -> Bool {
        p.bound == nil && (p.statement.isEmpty || names.statements[p.statement] != nil)
    }

    /// A portal over a name PREPAREd in SQL, after a statement that may have made the
    /// name anew: refused, since what the name holds now is not what was bound.
    func remade(_ p: Portal) -> Bool { p.runsAtBind.map { $0 != statementsRun } ?? false }

    static func remadeStatement(_ name: String, _ session: String, _ seq: Int64) -> Frame {
        Frame.error(session: session, seq: seq, code: "0A000",
                    message: "hoop: portal over prepared statement \"\(name)\" (PREPAREd in SQL) runs only before any other statement: bind it again")
    }

    /// The server's error for a use of a statement it does not have.
    static func noStatement(_ name: String, _ session: String, _ seq: Int64) -> Frame {
        Frame.error(session: session, seq: seq, code: "26000",
                    message: name.isEmpty ? "unnamed prepared statement does not exist" : "prepared statement \"\(name)\" does not exist")
    }

    /// A portal the server dropped with its transaction at a COMMIT or ROLLBACK sent in
    /// this pipeline (`portalsEndedAt`): nil, as for a name never bound.
    func livePortal(_ name: String) -> Portal? {
        guard let p = names.portals[name], p.generation > portalsEndedAt else { return nil }
        return p.value
    }

    /// Takes such a portal out of the book; a cursor held for it is closed once the
    /// session is outside a transaction block (endPortals).
    func dropEndedPortal(_ name: String) {
        if let p = names[portal: name], p.holdCursor, let cursor = p.cursor { endedCursors.append(cursor) }
        names.closePortal(name)
    }

    /// Whether the statement ends the transaction (COMMIT, ROLLBACK not to a savepoint,
    /// PREPARE TRANSACTION) and with it every portal.
    func endsTransaction(_ sql: String) -> Bool {
        guard Self.mentions(sql, Self.transactionEndingWords, wholeWords: true), let all = try? Lineage.trace(sql) else { return false }
        return all.contains { $0.lineage == .endTransaction }
    }

    private func resume(_ name: String, maxRows: Int) async {
        guard let p = names[portal: name] else { return }
        var batch = RowsWriter(session: id, seq: seq)
        let left = p.pending.count - p.next
        let take = maxRows > 0 ? min(maxRows, left) : left
        var delivered = 0
        for row in p.pending[p.next..<(p.next + take)] {
            batch.append(encoded: row)
            delivered += row.count
            if batch.isFull { await sendRows(&batch) }
        }
        await sendRows(&batch)
        names[portal: name]?.next += take
        names[portal: name]?.pendingBytes -= delivered
        if take == left { names[portal: name]?.pending = []; names[portal: name]?.next = 0 }
        if maxRows > 0 && take == maxRows {   // as the server: a full batch is suspended
            emit(Frame(FrameType.suspended, session: id, seq: seq))
        } else {
            // As the server: the tag counts the rows of this Execute only.
            let tag = p.tag.hasPrefix("SELECT ") ? "SELECT \(take)" : p.tag
            emit(Frame(FrameType.complete, session: id, seq: seq, ["tag": .string(tag)]))
        }
    }

    /// Keeps a row of a suspended portal for its next Execute, within the limit.
    func keep(_ row: [UInt8], in portal: String) {
        // Mutated in place: copying the portal out and back would copy its rows each time.
        guard let p = names[portal: portal], !p.overflowed else { return }
        // One budget for the whole session, however many portals it keeps.
        let held = names.portals.values.reduce(0) { $0 + $1.value.pendingBytes }
        if held + row.count > portalBufferLimit {
            // Bounded memory wins: the query is cancelled and the client gets its error.
            logLine("hoop-connect", "session \(id): suspended portal over \(portalBufferLimit) bytes; cancelling")
            cancelRunning()
            names[portal: portal]?.overflowed = true
            return
        }
        names[portal: portal]?.pending.append(row)
        names[portal: portal]?.pendingBytes += row.count
    }

    /// Whether a cursor can run the statement: a query, not DML (DECLARE refuses DML,
    /// also inside WITH, so WITH goes the other way).
    func isCursorable(_ sql: String) -> Bool {
        var rest = Substring(sql)
        while true {
            rest = rest.drop(while: { $0.isWhitespace || $0 == "(" })
            if rest.hasPrefix("--") { rest = rest.drop(while: { $0 != "\n" }); continue }
            if rest.hasPrefix("/*") {
                guard let end = rest.range(of: "*/") else { return false }
                rest = rest[end.upperBound...]; continue
            }
            break
        }
        let word = rest.prefix(while: { $0.isLetter }).lowercased()
        return ["select", "values", "table"].contains(word)
    }

    @discardableResult
    func enterPipeline() -> Bool {
        if !inPipeline {
            guard PQenterPipelineMode(conn) == 1 else { return false }
            inPipeline = true
        }
        return true
    }

    /// A simple Query after extended messages: finish the pipeline first.
    func leavePipeline() async {
        guard inPipeline else { return }
        if expected.isEmpty && PQexitPipelineMode(conn) == 1 { inPipeline = false; return }
        if !expected.isEmpty {
            if PQsendFlushRequest(conn) == 1, await flushUpstream() { await readExpected() }
        }
        if PQpipelineStatus(conn) != PQ_PIPELINE_OFF {
            if PQpipelineSync(conn) == 1 {
                while let res = await result() {
                    let done = PQresultStatus(res) == PGRES_PIPELINE_SYNC
                    PQclear(res)
                    if done { break }
                }
            }
            PQexitPipelineMode(conn)
        }
        inPipeline = false
        aborted = false
        settleNames()
    }

    /// The pipeline is over: the names whose Parse or Close did not happen get back what
    /// they held, last change first.
    func settleNames() {
        for (name, before) in undoAtSync.reversed() { names.restore(statement: name, before) }
        undoAtSync.removeAll()
        deallocatedInPipeline.removeAll()
    }

    func sendDeallocate(_ name: String) -> Bool {
        guard let quoted = PQescapeIdentifier(conn, name, name.utf8.count) else { return false }
        defer { PQfreemem(quoted) }
        return PQsendQueryParams(conn, "DEALLOCATE " + String(cString: quoted), 0, nil, nil, nil, nil, 0) == 1
    }

    /// Before a request that names a statement the client closed while its transaction
    /// had failed: a ROLLBACK earlier in the pipeline may have ended that transaction, and
    /// the server must not find the old statement under the name. If the transaction is
    /// still failed, the DEALLOCATE fails as the request would have (its error answers it).
    func deallocateIfClosed(_ name: String) -> Bool {
        guard deallocateLater.contains(name), !deallocatedInPipeline.contains(name) else { return true }
        deallocatedInPipeline.insert(name)
        guard sendDeallocate(name) else { return false }
        expected.append(.quiet(seq: seq))
        return true
    }

    /// Deallocates what the client closed while its transaction had failed, each in a
    /// pipeline of its own (in pipeline mode, between the client's pipelines): a name the
    /// server no longer has (deallocated in the pipeline, or in SQL) fails alone there.
    func deallocateClosed() async {
        guard !deallocateLater.isEmpty else { return }
        let closing = deallocateLater
        deallocateLater = []
        var sent = 0
        for name in closing where names.statements[name] == nil {
            guard sendDeallocate(name), PQpipelineSync(conn) == 1 else { break }
            sent += 1
        }
        // Each DEALLOCATE's results end with NULL; its Sync's result has none after it.
        for _ in 0..<sent {
            while let res = await result() { PQclear(res) }
            if let res = await result() { PQclear(res) }
        }
    }
}
