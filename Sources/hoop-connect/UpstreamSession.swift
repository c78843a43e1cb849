import CLibPQ
import Foundation
import Glibc
import HoopFrames
import HoopPostgres

/// One client session's upstream connection, a task on the stage's event loop: libpq
/// runs in non-blocking mode and each wait suspends the task only, so a slow query or
/// a client that does not read never holds up another session (DESIGN invariant 4).
/// Requests are handled in arrival order (invariant 5); each is forwarded for the
/// audit trail before its responses.
final class UpstreamSession {
    let id: String
    unowned let table: SessionTable
    var out: FrameWriter { table.out }
    var loop: EventLoop { table.loop }

    /// The task waits for a request, a credit or a close here (and, idle, for its socket).
    var parked: UnsafeContinuation<Int16, Never>? = nil
    var parkedSocket: Int32? = nil
    /// A slice: taking the first request is O(1) however many a client has pipelined.
    var queue: ArraySlice<(Frame, [UInt8])> = []
    var closing = false
    var endWhenIdle = false
    var credits: Int
    var database = ""
    var queuedBytes = 0
    /// A request read during COPY IN that does not belong to it: handled after.
    var pushedBack: (Frame, [UInt8])? = nil
    var requeued = false
    /// The simple query running, and how many COPY TO results it has had (UpstreamSession+Copy.swift).
    var currentSQL: String? = nil { didSet { textsVersion += 1 } }
    /// The text of the statement whose answer the extended protocol is reading (the
    /// portal's or statement's), for what only that text decides (mayReturnWrites).
    var resultSQL: String? = nil { didSet { textsVersion += 1 } }
    var copyOutCount = 0
    /// Relation names a later result may come from (UpstreamSession+Views.swift): of the
    /// session's DECLAREs, PREPAREs and writes (`pendingSQL` not read yet), and the texts
    /// of the pipeline being read.
    var pendingSQL: [String] = [] { didSet { textsVersion += 1 } }
    var notedNames: Set<String> = [] { didSet { textsVersion += 1 } }
    var notedNamesOverflowed = false { didSet { textsVersion += 1 } }
    /// A PREPARE of a write was seen: any EXECUTE may return what a write's rules return.
    var notedWrites = false { didSet { textsVersion += 1 } }
    /// A DECLARE ... WITH HOLD was seen: such a cursor outlives its transaction, and with
    /// it the lock that kept the views it reads from being replaced (`fetchingHeld`).
    var notedHeldCursors = false { didSet { textsVersion += 1 } }
    var pipelineSQL: [String] = [] { didSet { textsVersion += 1 } }
    /// Moves with every change of the texts above; with the book's version it says when
    /// `textFacts` must be worked out again.
    var textsVersion = 0
    var textFactsMemo: (texts: Int, book: Int, facts: TextFacts)? = nil

    var conn: OpaquePointer?
    var cancelHandle: CancelHandle?
    /// A cancel request is on its way to the server (cancelRunning).
    var cancelling = false
    /// A request is being run (its statement may be running upstream).
    var handling = false
    /// Notices libpq handed its receiver, sent (spending credits) once the call returns.
    var notices: [[UInt8]] = []

    // Extended-protocol state: see UpstreamSession+Extended.swift.
    /// Statements and portals by name. The server keeps the statements; portals are
    /// kept here (see UpstreamSession+Extended.swift). A second definition of a taken
    /// name leaves the first: the server refuses it.
    var names = StatementBook<BoundStatement, Portal>(mergeStatements: { old, _ in old }, mergePortals: { old, _ in old })
    /// What a Parse or a Close 'S' of the pipeline found under its name, for each whose
    /// answer said it did not happen (refused, or skipped after an error): put back at
    /// Sync, last first, so that the book stays the server's (a Close then a Parse of one
    /// name, both skipped, leave the first statement).
    var undoAtSync: [(name: String, before: StatementBook<BoundStatement, Portal>.Named<BoundStatement>?)] = []
    /// Statements the client closed while its transaction had failed: the server's Close
    /// works there, hoop-connect's DEALLOCATE does not. Deallocated once the transaction
    /// has ended, before the client hears it is ready.
    var deallocateLater: [String] = []
    /// Of those, the ones a DEALLOCATE was sent for in the pipeline under way.
    var deallocatedInPipeline: Set<String> = []
    var expected: [Expected] = []
    var aborted = false
    var inPipeline = false
    var unsentBytes = 0
    var cursorCount = 0
    /// Queries and Executes of parsed statements this session has run: a portal over a
    /// statement PREPAREd in SQL runs only while none ran since its Bind (`Portal.runsAtBind`).
    var statementsRun = 0
    /// Portals of this generation or older were ended by a COMMIT or ROLLBACK sent in the
    /// pipeline under way (livePortal); the server has none of them any more.
    var portalsEndedAt = 0
    /// Statements the server described for the client, by name: the book's generation of
    /// the one described.
    var describedStatements: [String: Int] = [:]
    /// Cursors hoop-connect held for such portals, closed once outside a transaction block.
    var endedCursors: [String] = []
    var lastStatus = "I"
    /// The value the client was last told of each of reportedParameters, by position, as
    /// a C string (empty: none): compared with libpq's after every request without a copy.
    var reported = [[CChar]](repeating: [], count: reportedParameters.count)
    var seq: Int64 = 0

    // Between requests: see UpstreamSession+Unasked.swift.
    var idleWatch = false
    /// A FATAL error the server sent outside a query, just before it closed.
    var lastFatal: [String: JSON]? = nil

    init(id: String, table: SessionTable) {
        self.id = id
        self.table = table
        credits = table.window
    }

    /// Requests waiting behind a slow one are bounded: past this much memory the session
    /// ends (53400), so one client cannot grow this process without limit.
    static let maxQueuedBytes = 64 << 20

    /// Queues a request; false when the session's queue is full (the caller ends it).
    func submit(_ frame: Frame, raw: [UInt8]) -> Bool {
        // A queued request is held twice (its line, for the audit trail, and decoded).
        let cost = 2 * raw.count
        guard queuedBytes + cost <= Self.maxQueuedBytes else { return false }
        queue.append((frame, raw))
        queuedBytes += cost
        poke()
        return true
    }

    func addCredit(_ n: Int) {
        credits = min(credits + max(0, n), 1 << 20)
        poke()
    }

    /// A credit-spending frame another stage made for this session passed us.
    func spendCredit() { credits -= 1 }

    /// Ends the session: stops whatever runs upstream. An idle session sends no cancel:
    /// a cancel request costs the server a process of its own (the postmaster forks for
    /// each), and PQfinish ends an idle backend (rolling back an open transaction); an
    /// Execute sent in a pipeline not yet synced may still be running, so that one is.
    func close() {
        closing = true
        poke()
        if handling || inPipeline || !expected.isEmpty { cancelRunning() }
    }

    /// Ends the session once what it has queued is done (end of the ring's input).
    func closeWhenIdle() {
        endWhenIdle = true
        poke()
    }

    /// Asks the server to cancel what runs; PQcancel connects and waits, so on a thread
    /// of its own, never the loop's. Until the server has the request, the session takes
    /// no next request (a late cancel must not stop the statement after), and a second
    /// cancel meanwhile is the same one.
    func cancelRunning() {
        guard let handle = cancelHandle, !cancelling else { return }
        cancelling = true
        Thread.detachNewThread { [loop] in
            handle.cancel()
            loop.spawn { [self] in cancelling = false; poke() }
        }
    }

    /// Suspends the task until it is poked (a request, a credit, a close) or, with
    /// `socket`, the server sends something; the socket's events (0: poked).
    func park(watching socket: Int32? = nil) async -> Int16 {
        await withUnsafeContinuation { c in
            parked = c
            if let socket {
                parkedSocket = socket
                loop.watch(socket, Int16(POLLIN)) { [unowned self] ready in self.unpark(ready) }
            }
        }
    }

    private func unpark(_ ready: Int16) {
        guard let c = parked else { return }
        parked = nil
        if let socket = parkedSocket {
            parkedSocket = nil
            if ready == 0 { loop.unwatch(socket) }   // a watch that fired is gone already
        }
        c.resume(returning: ready)
    }

    func poke() { unpark(0) }

    /// The next request; `watch`: meanwhile, pass on what the server sends unasked.
    func next(watch: Bool = false) async -> (Frame, [UInt8])? {
        if let f = pushedBack { pushedBack = nil; return f }
        idleWatch = watch
        defer { idleWatch = false }
        while (queue.isEmpty || cancelling) && !closing && !endWhenIdle { await waitIdle() }
        if closing || queue.isEmpty { return nil }
        let item = queue.removeFirst()
        if queue.isEmpty { queue = [] }   // lets go of the storage of the ones taken
        queuedBytes -= 2 * item.1.count
        return item
    }

    // MARK: the session's task

    func main() async {
        guard let (open, raw) = await next() else { return finish() }
        emitRaw(raw)
        guard await connect(open) else { return finish() }
        while let (frame, raw) = await next(watch: true) {
            if !requeued { emitRaw(raw) }
            requeued = false
            seq = frame.seq ?? seq
            handling = true
            defer { handling = false }
            switch frame.type {
            case FrameType.query: statementsRun += 1; await simpleQuery(frame["sql"]?.string ?? "")
            case FrameType.parse, FrameType.bind, FrameType.describe, FrameType.execute, FrameType.close, FrameType.sync, FrameType.flush: await extended(frame, size: raw.count)
            case FrameType.deny: await denied(frame)
            // Outside a COPY (one that failed): ignored, as the server does; credited all the same.
            case FrameType.copyData: creditCopyData(frame.seq)
            default: break
            }
            if PQstatus(conn) != CONNECTION_OK { await upstreamLost(); break }
        }
        finish()
    }

    func finish() {
        cancelHandle = nil
        if let socket = parkedSocket { loop.unwatch(socket); parkedSocket = nil }
        if let c = conn { PQfinish(c); conn = nil }   // an open transaction rolls back upstream
        emit(Frame(FrameType.sessionClosed, session: id, seq: seq))
        table.finished(id)
    }

    func connect(_ open: Frame) async -> Bool {
        database = open["connection"]?.string ?? open["database"]?.string ?? ""
        guard let target = table.upstreams.targets[database] else {
            fatal(code: "3D000", "hoop: no connection named \"\(database)\" is configured")
            return false
        }
        let keywords: (keys: [String], values: [String])
        do { keywords = try target.keywords() } catch {
            // The IAM token's keys cannot be read now (a file gone): the message names the
            // setting and the file, never a key.
            logLine("hoop-connect", "session \(id): no IAM token for \"\(database)\": \(error)")
            fatal(code: "08006", "hoop: could not connect to the upstream database \"\(database)\": its IAM token could not be made (see hoop-connect's log)")
            return false
        }
        // A server the network lost without a word (no FIN, no RST) must end the session
        // within a minute, not hold it and its client for ever. Before the target's own
        // keywords: a keepalive setting in its conninfo wins.
        var (keys, values) = (["keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout"]
                              + keywords.keys, ["1", "30", "10", "3", "60000"] + keywords.values)
        let options = open["options"]?.object ?? [:]
        if let app = options["application_name"]?.string { keys.append("application_name"); values.append(app) }
        keys.append("fallback_application_name"); values.append("hoop")
        // Always UTF8 between gateway and server: frames are UTF-8 JSON, and the masking
        // stage must read every value. The client is told UTF8 in its ParameterStatus.
        keys.append("client_encoding"); values.append("UTF8")
        let settings = clientSettings(options)
        if !settings.isEmpty { keys.append("options"); values.append(settings) }
        conn = await loop.connect(keys, values)
        guard let c = conn, PQstatus(c) == CONNECTION_OK else {
            // libpq's message can quote the client's startup settings: log none of it,
            // only a TLS reason, or a refused IAM token, in fixed words.
            let libpqMessage = conn.flatMap { PQerrorMessage($0) }.map { String(cString: $0) } ?? ""
            let why = UpstreamTLS.failure(libpqMessage) ?? target.iamAuth?.failure(libpqMessage)
            logLine("hoop-connect", "session \(id): upstream connection failed (status \(conn.map { PQstatus($0).rawValue } ?? 0))"
                    + (why.map { ": \($0)" } ?? ""))
            fatal(code: "08006", "hoop: could not connect to the upstream database \"\(database)\"" + (why.map { ": \($0)" } ?? ""))
            return false
        }
        cancelHandle = CancelHandle(c)
        // libpq reads whatever the socket holds into a buffer it grows to fit (while it
        // cannot send, too: a COPY whose trigger raises notices), and a kernel that tunes
        // receive buffers up to 32 MB let this stage hold that much per session. A fixed
        // 1 MiB (the kernel doubles it) bounds each read; the server waits on TCP instead.
        var receive: Int32 = 1 << 20
        _ = setsockopt(PQsocket(c), SOL_SOCKET, SO_RCVBUF, &receive, socklen_t(MemoryLayout<Int32>.size))
        PQsetNoticeReceiver(c, { arg, res in
            guard let arg, let res else { return }
            let s = Unmanaged<UpstreamSession>.fromOpaque(arg).takeUnretainedValue()
            let fields = diagnosticFields(res)
            // Outside a query libpq hands the server's errors here: a FATAL one comes
            // just before the server closes, and is the client's error, not a notice.
            if fields["severity_nonlocalized"]?.string == "FATAL" { s.lastFatal = fields; return }
            // Sent once libpq's call returns (sendNotices): they spend credits like rows, so
            // that a server raising millions of them to a client that does not read is held
            // back, not this process's memory (libpq parses one buffer per call).
            s.notices.append(Frame(FrameType.notice, session: s.id, seq: s.seq, fields).encoded())
        }, Unmanaged.passUnretained(self).toOpaque())
        var params: [String: JSON] = [:]
        for (i, name) in reportedParameters.enumerated() {
            if let v = PQparameterStatus(c, name) { params[name] = .string(String(cString: v)); reported[i] = cStringCopy(v) }
        }
        // hoop-approve parses SQL as the server does with standard_conforming_strings on:
        // a database or role default that turns it off would make the two readings differ.
        if params["standard_conforming_strings"]?.string != "on" {
            fatal(code: "42501", "hoop: the server reads SQL text with standard_conforming_strings off "
                  + "(a database or role default): the gateway refuses the session")
            return false
        }
        // The catalog facts hoop-mask's lineage needs: names that may not be the built-ins
        // they look like ("*" when the catalog cannot say).
        let shadowing = await catalog?.shadowing() ?? ["*"]
        var opened: [String: JSON] = ["parameters": .object(params), "status": .string(status),
                                      "shadowing": .array(shadowing.map(JSON.string))]
        if let plain = await catalog?.plainColumns() { opened["plain_columns"] = .array(plain.map(JSON.string)) }
        emit(Frame(FrameType.sessionOpened, session: id, seq: 0, opened))
        return true
    }

    // MARK: simple query

    func simpleQuery(_ sql: String) async {
        await leavePipeline()
        currentSQL = sql; copyOutCount = 0
        defer { currentSQL = nil }
        noteDefinitions(sql)
        guard PQsendQuery(conn, sql) == 1 else { return connectionError() }
        PQsetSingleRowMode(conn)
        if await drainResults(describe: true, maxRows: 0, portal: nil) == .done { followEndedNames(sql) }
        let now = status
        if now == "I" && !(names.portals.isEmpty && endedCursors.isEmpty) { enterPipeline(); await endPortals(); await leavePipeline() }   // portals end with their transaction
        if now != "E" && !deallocateLater.isEmpty { enterPipeline(); await deallocateClosed(); await leavePipeline() }
        await forwardNotifications()
        reportParameterChanges()
        lastStatus = now
        emit(Frame(FrameType.ready, session: id, seq: seq, ["status": .string(now)]))
    }

    /// A request hoop-approve denied: answered as the server answers a statement that
    /// fails. In a transaction block the transaction fails too (a stand-in statement
    /// that always fails runs in its place), so a client never commits around a
    /// statement it believes failed.
    func denied(_ deny: Frame) async {
        // A syntax error found by hoop-approve's parser carries the parser's fields.
        let parser = (deny["error_fields"]?.object ?? [:]).filter { ["position", "routine", "file", "line"].contains($0.key) }
        let error = Frame.error(session: id, seq: seq, code: deny["code"]?.string ?? "42501",
                                message: deny["message"]?.string ?? "hoop: the request was denied", extra: parser)
        if deny["request"]?.string != FrameType.query {
            // Extended protocol: in its place in the pipeline, up to the client's Sync.
            guard enterPipeline(), failInPipeline(error) else { return connectionError() }
            return
        }
        await leavePipeline()
        if status == "T" {
            guard PQsendQuery(conn, Self.standIn) == 1 else { return connectionError() }
            while let res = await result() { PQclear(res) }
        }
        emit(error)
        await forwardNotifications()
        reportParameterChanges()
        lastStatus = status
        emit(Frame(FrameType.ready, session: id, seq: seq, ["status": .string(lastStatus)]))
    }

    /// Answers `error` in its place in the pipeline: a stand-in statement that fails
    /// runs there, so the server skips to Sync and fails the transaction as for any
    /// error, and the client reads `error` instead of the stand-in's.
    func failInPipeline(_ error: Frame) -> Bool {
        guard PQsendQueryParams(conn, Self.standIn, 0, nil, nil, nil, nil, 0) == 1 else { return false }
        expected.append(.denied(error))
        return true
    }

    /// Fails at once, touches nothing, quotes nothing: division by zero of two constants.
    static let standIn = "SELECT 1/0 AS hoop_denied"

    enum Outcome { case done, failed, skipped }

    /// Reads every result of the request in flight, up to libpq's NULL. `describe`
    /// sends a columns frame before each result's rows (simple protocol); an extended
    /// Execute does not. With `maxRows`, delivers that many rows, keeps the rest in
    /// the portal and answers `suspended`.
    @discardableResult
    func drainResults(describe: Bool, maxRows: Int = 0, portal: String? = nil, announce: Bool = false) async -> Outcome {
        var batch = RowsWriter(session: id, seq: seq)
        var described = false
        var delivered = 0
        var outcome = Outcome.done
        var refusedBinary = false
        while let res = await result() {
            defer { PQclear(res) }
            if PQbinaryTuples(res) == 1, PQresultStatus(res) == PGRES_SINGLE_TUPLE || PQresultStatus(res) == PGRES_TUPLES_OK {
                // FETCH from a BINARY cursor: values hoop-mask cannot read as text. Refused,
                // never passed (binary columns come through the extended protocol instead).
                if !refusedBinary {
                    await sendRows(&batch)
                    emit(.error(session: id, seq: seq, code: "0A000",
                                message: "hoop: rows of a BINARY cursor cannot be masked; declare the cursor without BINARY"))
                    refusedBinary = true
                    outcome = .failed
                }
                continue
            }
            // After the refusal, as after an error: nothing more of this request.
            if refusedBinary { continue }
            switch PQresultStatus(res) {
            case PGRES_SINGLE_TUPLE:
                if describe && !described { emit(await columnsFrame(res)); described = true }
                if (announce || Self.hasExpression(res)) && !described { emit(await executeColumns(res)); described = true }
                if let portal, maxRows > 0, delivered >= maxRows {
                    keep(RowsWriter.encoded(res), in: portal)
                    continue
                }
                batch.append(res)
                delivered += 1
                if batch.isFull { await sendRows(&batch) }
            case PGRES_TUPLES_OK:
                if describe && !described { emit(await columnsFrame(res)) }
                if (announce || Self.hasExpression(res)) && !described { emit(await executeColumns(res)) }
                await sendRows(&batch)
                described = false
                let tag = String(cString: PQcmdStatus(res))
                if let portal, maxRows > 0, delivered >= maxRows {
                    names[portal: portal]?.tag = tag
                    emit(Frame(FrameType.suspended, session: id, seq: seq))
                } else {
                    if let portal { names[portal: portal]?.tag = tag; names[portal: portal]?.finished = true }
                    emit(Frame(FrameType.complete, session: id, seq: seq, ["tag": .string(tag)]))
                }
                delivered = 0
            case PGRES_COMMAND_OK:
                await sendRows(&batch)
                emit(Frame(FrameType.complete, session: id, seq: seq, ["tag": .string(String(cString: PQcmdStatus(res)))]))
            case PGRES_EMPTY_QUERY:
                emit(Frame(FrameType.empty, session: id, seq: seq))
            case PGRES_PIPELINE_ABORTED:
                outcome = .skipped   // an earlier error: the server skips to Sync, and so do we
            case PGRES_COPY_IN:
                await copyIn(res)
            case PGRES_COPY_OUT:
                await copyOut(res)
            default:
                await sendRows(&batch)
                await emitError(res)
                outcome = .failed
            }
        }
        await sendRows(&batch)
        return outcome
    }

    func emitError(_ res: OpaquePointer?) async {
        var f = diagnosticFields(res)
        if f["code"] == nil {
            f["code"] = .string("08006"); f["severity"] = .string("ERROR")
            f["message"] = .string("hoop: the upstream connection failed")
        } else {
            // The server's error may quote what the statement read, through a view or a
            // child table it names as well as through a table: hoop-mask traces the
            // statement through them as it does an expression's column (and drops these).
            f.merge(await viewsOfStatement()) { own, _ in own }
        }
        emit(.error(session: id, seq: seq, fields: f))
    }

    func sendRows(_ batch: inout RowsWriter) async {
        guard batch.count > 0 else { return }
        await send(batch.finish())
        batch.reset()
    }

    /// Sends a frame that spends a credit (rows, COPY data).
    func send(_ frame: [UInt8]) async {
        // Flow control: wait for a credit; meanwhile libpq is not read, so TCP holds the
        // server. What is queued is written first: the client gets it, and its credit can
        // come back (SessionTable.flush would hold it a while).
        if credits <= 0 { try? table.flushNow() }
        while credits <= 0 && !closing { _ = await park() }
        credits -= 1
        out.enqueue(frame)
        if out.pendingBytes >= Rows.maxBytes { try? table.flushNow() }
    }

    /// The next result of the request in flight (PQgetResult, waiting on the loop), after
    /// the notices libpq collected on the way.
    func result() async -> OpaquePointer? {
        // The notices libpq parsed so far go before each wait, credits permitting: a
        // statement that raises notices without end is paced by the client, not held here.
        let res = await loop.result(conn) { await sendNotices() }
        await sendNotices()
        return res
    }

    /// Sends what libpq holds for the server; the notices it reads meanwhile go out,
    /// credits permitting (EventLoop.flush). False when the connection failed.
    func flushUpstream() async -> Bool {
        await loop.flush(conn) { await sendNotices() }
    }

    func sendNotices() async {
        while !notices.isEmpty {
            let n = notices.removeFirst()
            await send(n)
        }
    }

    // MARK: helpers

    var status: String {
        switch PQtransactionStatus(conn) {
        case PQTRANS_INTRANS: return "T"
        case PQTRANS_INERROR: return "E"
        case PQTRANS_ACTIVE: return "T"
        default: return "I"
        }
    }

    func reportParameterChanges() {
        for (i, name) in reportedParameters.enumerated() {
            guard let v = PQparameterStatus(conn, name), reported[i].isEmpty || strcmp(reported[i], v) != 0 else { continue }
            reported[i] = cStringCopy(v)
            emit(Frame(FrameType.parameterStatus, session: id, seq: seq, ["name": .string(name), "value": .string(String(cString: v))]))
        }
    }

    /// A C string's bytes with its terminating NUL.
    func cStringCopy(_ p: UnsafePointer<CChar>) -> [CChar] {
        Array(UnsafeBufferPointer(start: p, count: strlen(p) + 1))
    }

    func connectionError() {
        // libpq's own words (a lost connection) say what failed; a server's error may
        // quote values (stage logs carry none): only its severity.
        let message = conn.map { String(cString: PQerrorMessage($0)) } ?? ""
        let line = message.split(separator: "\n").first.map(String.init) ?? ""
        let severity = ["ERROR:", "FATAL:", "PANIC:", "WARNING:", "NOTICE:"].first { line.hasPrefix($0) }
        logLine("hoop-connect", "session \(id): upstream send failed: \(severity.map { "the server's \($0.dropLast()) (not logged)" } ?? line)")
        fatal(code: "08006", "hoop: the upstream connection failed")
    }

    func fatal(code: String, _ message: String) {
        emit(.error(session: id, seq: seq, code: code, message: message, fatal: true))
        closing = true
    }

    func columnsFrame(_ res: OpaquePointer) async -> Frame {
        // Where each column comes from, by name, for hoop-mask's column rules: every table
        // of the result checked against the catalog at once.
        let columns = (0..<PQnfields(res)).map { (table: PQftable(res, $0), column: Int(PQftablecol(res, $0))) }
        var (sources, unread) = await catalog?.sources(columns) ?? ([:], Set(columns.map(\.table).filter { $0 != 0 }))
        // A write's RETURNING through an INSTEAD rule or INSTEAD OF trigger gives back what
        // that code returned under the table's column names: not named, and marked
        // `unread` (masked whole) when the result may be a write's.
        if sources.values.contains(where: \.writesRewritten), mayReturnWrites() {
            for (oid, source) in sources where source.writesRewritten { sources[oid] = nil; unread.insert(oid) }
        }
        // A FETCH from a cursor kept past its transaction: a view it reads may have been
        // replaced since its rows were made, and its definition now names other columns.
        let fetchingHeld = fetchingHeld()
        if fetchingHeld {
            for (oid, source) in sources where source.tracedSQL != nil { sources[oid] = nil; unread.insert(oid) }
        }
        let fields: [JSON] = (0..<PQnfields(res)).map { i in
            var f: [String: JSON] = [
                "name": .string(String(cString: PQfname(res, i))),
                "table_oid": .int(Int64(PQftable(res, i))),
                "column": .int(Int64(PQftablecol(res, i))),
                "type_oid": .int(Int64(PQftype(res, i))),
                "type_size": .int(Int64(PQfsize(res, i))),
                "type_mod": .int(Int64(PQfmod(res, i))),
                "format": .int(Int64(PQfformat(res, i))),
            ]
            if unread.contains(PQftable(res, i)) {
                // Not "a table the catalog does not show" (made in the open transaction,
                // whose rows are what the session wrote): nothing says what it holds.
                f["unread"] = .bool(true)
            } else if let source = sources[PQftable(res, i)] {
                f["schema_name"] = .string(source.schema)
                f["table_name"] = .string(source.table)
                if let column = source.columns[Int(PQftablecol(res, i))] { f["column_name"] = .string(column) }
                if let view = source.tracedSQL { f["view_sql"] = .string(view) }
                if !source.underViews.isEmpty { f["view_reads"] = Self.viewReads(source) }
                if source.kind == "S" { f["sequence"] = .bool(true) }
                if source.temporary { f["temporary"] = .bool(true) }
            }
            return .object(f)
        }
        var body: [String: JSON] = ["fields": .array(fields)]
        // An expression, a temporary table (what the session wrote into it) or a table the
        // catalog cannot name is traced through the views the session's texts name.
        let traced = (0..<PQnfields(res)).contains { i in
            let oid = PQftable(res, i)
            return oid == 0 || sources[oid] == nil || sources[oid]?.temporary == true
        }
        if traced { body.merge(fetchingHeld ? ["views_unknown": .bool(true)] : await viewsOfStatement()) { $1 } }
        return Frame(FrameType.columns, session: id, seq: seq, body)
    }

    /// The columns of an Execute's result for a client that asked for binary columns,
    /// or of a result with an expression column: not a RowDescription (the client did
    /// not Describe), the types hoop-listen converts by and hoop-mask masks by, and
    /// the views an expression may read.
    func executeColumns(_ res: OpaquePointer) async -> Frame {
        var f = await columnsFrame(res)
        f["for"] = .string("execute")
        return f
    }

    var catalog: Catalog? { table.upstreams.catalog(for: database) }

    func emit(_ f: Frame) {
        out.enqueue(f)
        if f.type == FrameType.ready || f.type == FrameType.sessionClosed { table.answerComplete() }
    }
    /// A client's frame, forwarded for the audit trail (SessionTable.forward).
    func emitRaw(_ raw: [UInt8]) { table.forward(raw) }
}


/// A connection's cancel key, freed when the last holder lets go: a cancel runs on a
/// thread of its own and may outlive the session.
final class CancelHandle: @unchecked Sendable {
    private let handle: OpaquePointer?
    init(_ conn: OpaquePointer) { handle = PQgetCancel(conn) }
    deinit { if let handle { PQfreeCancel(handle) } }
    func cancel() {
        guard let handle else { return }
        var buf = [CChar](repeating: 0, count: 256)
        _ = PQcancel(handle, &buf, 256)
    }
}
