import CLibPQ
import Foundation
import HoopFrames
import HoopPostgres

/// One client session's upstream connection, on its own thread: blocking libpq calls
/// there never hold up another session (DESIGN invariant 4). Requests are handled in
/// arrival order (invariant 5); each is forwarded for the audit trail before its
/// responses.
final class UpstreamSession: @unchecked Sendable {
    let id: String
    unowned let table: SessionTable
    var out: FrameWriter { table.out }

    let cond = NSCondition()
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
    var currentSQL: String? = nil
    var copyOutCount = 0
    /// Relation names a later result may come from (UpstreamSession+Views.swift): of the
    /// session's DECLAREs, PREPAREs and writes (`pendingSQL` not read yet), and the texts
    /// of the pipeline being read.
    var pendingSQL: [String] = []
    var notedNames: Set<String> = []
    var notedNamesOverflowed = false
    var pipelineSQL: [String] = []

    var conn: OpaquePointer?
    var cancelHandle: OpaquePointer?
    let cancelLock = NSLock()

    // Extended-protocol state: see UpstreamSession+Extended.swift.
    /// Statements and portals by name. The server keeps the statements; portals are
    /// kept here (see UpstreamSession+Extended.swift). A second definition of a taken
    /// name leaves the first: the server refuses it.
    var names = StatementBook<BoundStatement, Portal>(mergeStatements: { old, _ in old }, mergePortals: { old, _ in old })
    var expected: [Expected] = []
    var aborted = false
    var inPipeline = false
    var cursorCount = 0
    var lastStatus = "I"
    var reported: [String: String] = [:]
    var seq: Int64 = 0

    // Between requests: see UpstreamSession+Unasked.swift.
    var wake: Int32 = -1, wakeWrite: Int32 = -1
    var idleWatch = false
    /// The thread waits in poll (not on `cond`): a request must ring the pipe (under `cond`).
    var polling = false
    /// A FATAL error the server sent outside a query, just before it closed.
    var lastFatal: [String: JSON]? = nil

    init(id: String, table: SessionTable) {
        self.id = id
        self.table = table
        credits = table.window
        openWake()
    }

    // Closed only here: another thread may ring it as long as it holds the session.
    deinit { closeWake() }

    func start() {
        let t = Thread { [self] in self.main() }
        t.name = "session \(id)"
        t.stackSize = 1 << 20
        t.start()
    }

    /// Requests waiting behind a slow one are bounded: past this much memory the session
    /// ends (53400), so one client cannot grow this process without limit.
    static let maxQueuedBytes = 64 << 20

    /// Queues a request; false when the session's queue is full (the caller ends it).
    func submit(_ frame: Frame, raw: [UInt8]) -> Bool {
        cond.lock(); defer { cond.unlock() }
        // A queued request is held twice (its line, for the audit trail, and decoded).
        let cost = 2 * raw.count
        guard queuedBytes + cost <= Self.maxQueuedBytes else { return false }
        queue.append((frame, raw))
        queuedBytes += cost
        cond.signal()
        if polling { ringWake() }
        return true
    }

    /// A thread waiting for credits waits on `cond`, never in poll (waitIdle watches the
    /// server only while it has credits): the signal is enough.
    func addCredit(_ n: Int) {
        cond.lock(); credits = min(credits + max(0, n), 1 << 20); cond.signal(); cond.unlock()
    }

    /// A credit-spending frame another stage made for this session passed us.
    func spendCredit() {
        cond.lock(); credits -= 1; cond.unlock()
    }

    /// Ends the session from another thread: stops whatever runs upstream.
    func close() {
        cond.lock(); closing = true; cond.broadcast(); cond.unlock()
        ringWake()
        cancelRunning()
    }

    /// Ends the session once what it has queued is done (end of the ring's input).
    func closeWhenIdle() {
        cond.lock(); endWhenIdle = true; cond.broadcast(); cond.unlock()
        ringWake()
    }

    func cancelRunning() {
        cancelLock.lock(); defer { cancelLock.unlock() }
        guard let c = cancelHandle else { return }
        var buf = [CChar](repeating: 0, count: 256)
        _ = PQcancel(c, &buf, 256)
    }

    var hasQueuedRequests: Bool { cond.lock(); defer { cond.unlock() }; return !queue.isEmpty }

    /// The next request; `watch`: meanwhile, pass on what the server sends unasked.
    func next(watch: Bool = false) -> (Frame, [UInt8])? {
        cond.lock(); defer { cond.unlock() }
        if let f = pushedBack { pushedBack = nil; return f }
        idleWatch = watch
        defer { idleWatch = false }
        while queue.isEmpty && !closing && !endWhenIdle { waitIdle() }
        if closing || queue.isEmpty { return nil }
        let item = queue.removeFirst()
        if queue.isEmpty { queue = [] }   // lets go of the storage of the ones taken
        queuedBytes -= 2 * item.1.count
        return item
    }

    // MARK: the session thread

    func main() {
        defer { finish() }
        guard let (open, raw) = next() else { return }
        emitRaw(raw)
        guard connect(open) else { return }
        while let (frame, raw) = next(watch: true) {
            if !requeued { emitRaw(raw) }
            requeued = false
            seq = frame.seq ?? seq
            switch frame.type {
            case FrameType.query: simpleQuery(frame["sql"]?.string ?? "")
            case FrameType.parse, FrameType.bind, FrameType.describe, FrameType.execute, FrameType.close, FrameType.sync, FrameType.flush: extended(frame)
            case FrameType.deny: denied(frame)
            // Outside a COPY (one that failed): ignored, as the server does; credited all the same.
            case FrameType.copyData: creditCopyData(frame.seq)
            default: break
            }
            // One write for everything a burst of requests produced: the next stage
            // then wakes once, not once per frame.
            if !hasQueuedRequests { try? out.flush() }
            if PQstatus(conn) != CONNECTION_OK { return upstreamLost() }
        }
    }

    func finish() {
        cancelLock.lock()
        if let c = cancelHandle { PQfreeCancel(c); cancelHandle = nil }
        cancelLock.unlock()
        if let c = conn { PQfinish(c); conn = nil }   // an open transaction rolls back upstream
        emit(Frame(FrameType.sessionClosed, session: id, seq: seq))
        try? out.flush()
        table.finished(id)
    }

    func connect(_ open: Frame) -> Bool {
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
        var (keys, values) = keywords
        let options = open["options"]?.object ?? [:]
        if let app = options["application_name"]?.string { keys.append("application_name"); values.append(app) }
        keys.append("fallback_application_name"); values.append("hoop")
        // Always UTF8 between gateway and server: frames are UTF-8 JSON, and the masking
        // stage must read every value. The client is told UTF8 in its ParameterStatus.
        keys.append("client_encoding"); values.append("UTF8")
        let settings = clientSettings(options)
        if !settings.isEmpty { keys.append("options"); values.append(settings) }
        conn = withCStrings(keys) { k in withCStrings(values) { v in PQconnectdbParams(k, v, 1) } }
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
        cancelLock.lock(); cancelHandle = PQgetCancel(c); cancelLock.unlock()
        PQsetNoticeReceiver(c, { arg, res in
            guard let arg, let res else { return }
            let s = Unmanaged<UpstreamSession>.fromOpaque(arg).takeUnretainedValue()
            let fields = diagnosticFields(res)
            // Outside a query libpq hands the server's errors here: a FATAL one comes
            // just before the server closes, and is the client's error, not a notice.
            if fields["severity_nonlocalized"]?.string == "FATAL" { s.lastFatal = fields; return }
            // Notices spend credits like rows: a server raising millions of them to a
            // client that does not read holds the server back, not this process's memory.
            s.send(Frame(FrameType.notice, session: s.id, seq: s.seq, fields).encoded())
        }, Unmanaged.passUnretained(self).toOpaque())
        var params: [String: JSON] = [:]
        for name in reportedParameters {
            if let v = PQparameterStatus(c, name) { params[name] = .string(String(cString: v)); reported[name] = String(cString: v) }
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
        let shadowing = catalog?.shadowing() ?? ["*"]
        emit(Frame(FrameType.sessionOpened, session: id, seq: 0, ["parameters": .object(params), "status": .string(status),
                                                             "shadowing": .array(shadowing.map(JSON.string))]))
        try? out.flush()
        return true
    }

    // MARK: simple query

    func simpleQuery(_ sql: String) {
        leavePipeline()
        currentSQL = sql; copyOutCount = 0
        defer { currentSQL = nil }
        noteDefinitions(sql)
        guard PQsendQuery(conn, sql) == 1 else { return connectionError() }
        PQsetSingleRowMode(conn)
        drainResults(describe: true, maxRows: 0, portal: nil)
        let now = status
        if now == "I" && !names.portals.isEmpty { enterPipeline(); endPortals(); leavePipeline() }   // portals end with their transaction
        forwardNotifications()
        reportParameterChanges()
        lastStatus = now
        emit(Frame(FrameType.ready, session: id, seq: seq, ["status": .string(now)]))
    }

    /// A request hoop-approve denied: answered as the server answers a statement that
    /// fails. In a transaction block the transaction fails too (a stand-in statement
    /// that always fails runs in its place), so a client never commits around a
    /// statement it believes failed.
    func denied(_ deny: Frame) {
        // A syntax error found by hoop-approve's parser carries the parser's fields.
        let parser = (deny["error_fields"]?.object ?? [:]).filter { ["position", "routine", "file", "line"].contains($0.key) }
        let error = Frame.error(session: id, seq: seq, code: deny["code"]?.string ?? "42501",
                                message: deny["message"]?.string ?? "hoop: the request was denied", extra: parser)
        if deny["request"]?.string != FrameType.query {
            // Extended protocol: in its place in the pipeline, up to the client's Sync.
            guard enterPipeline(), failInPipeline(error) else { return connectionError() }
            return
        }
        leavePipeline()
        if status == "T" {
            guard PQsendQuery(conn, Self.standIn) == 1 else { return connectionError() }
            while let res = PQgetResult(conn) { PQclear(res) }
        }
        emit(error)
        forwardNotifications()
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
    func drainResults(describe: Bool, maxRows: Int = 0, portal: String? = nil, announce: Bool = false) -> Outcome {
        var batch = RowsWriter(session: id, seq: seq)
        var described = false
        var delivered = 0
        var outcome = Outcome.done
        var refusedBinary = false
        while let res = PQgetResult(conn) {
            defer { PQclear(res) }
            if PQbinaryTuples(res) == 1, PQresultStatus(res) == PGRES_SINGLE_TUPLE || PQresultStatus(res) == PGRES_TUPLES_OK {
                // FETCH from a BINARY cursor: values hoop-mask cannot read as text. Refused,
                // never passed (binary columns come through the extended protocol instead).
                if !refusedBinary {
                    sendRows(&batch)
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
                if describe && !described { emit(columnsFrame(res)); described = true }
                if (announce || Self.hasExpression(res)) && !described { emit(executeColumns(res)); described = true }
                if let portal, maxRows > 0, delivered >= maxRows {
                    keep(RowsWriter.encoded(res), in: portal)
                    continue
                }
                batch.append(res)
                delivered += 1
                if batch.isFull { sendRows(&batch) }
            case PGRES_TUPLES_OK:
                if describe && !described { emit(columnsFrame(res)) }
                if (announce || Self.hasExpression(res)) && !described { emit(executeColumns(res)) }
                sendRows(&batch)
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
                sendRows(&batch)
                emit(Frame(FrameType.complete, session: id, seq: seq, ["tag": .string(String(cString: PQcmdStatus(res)))]))
            case PGRES_EMPTY_QUERY:
                emit(Frame(FrameType.empty, session: id, seq: seq))
            case PGRES_PIPELINE_ABORTED:
                outcome = .skipped   // an earlier error: the server skips to Sync, and so do we
            case PGRES_COPY_IN:
                copyIn(res)
            case PGRES_COPY_OUT:
                copyOut(res)
            default:
                sendRows(&batch)
                emitError(res)
                outcome = .failed
            }
        }
        sendRows(&batch)
        return outcome
    }

    func emitError(_ res: OpaquePointer?) {
        var f = diagnosticFields(res)
        if f["code"] == nil {
            f["code"] = .string("08006"); f["severity"] = .string("ERROR")
            f["message"] = .string("hoop: the upstream connection failed")
        }
        emit(.error(session: id, seq: seq, fields: f))
    }

    func sendRows(_ batch: inout RowsWriter) {
        guard batch.count > 0 else { return }
        send(batch.finish())
        batch.reset()
    }

    /// Sends a frame that spends a credit (rows, COPY data).
    func send(_ frame: [UInt8]) {
        // Flow control: wait for a credit; meanwhile libpq is not read, so TCP holds the server.
        cond.lock()
        if credits <= 0 {
            cond.unlock()
            try? out.flush()   // what is queued must reach the client before its credit can come back
            cond.lock()
        }
        while credits <= 0 && !closing { cond.wait() }
        credits -= 1
        cond.unlock()
        out.enqueue(frame)
        if out.pendingBytes >= Rows.maxBytes { try? out.flush() }
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
        for name in reportedParameters {
            guard let v = PQparameterStatus(conn, name).map({ String(cString: $0) }), reported[name] != v else { continue }
            reported[name] = v
            emit(Frame(FrameType.parameterStatus, session: id, seq: seq, ["name": .string(name), "value": .string(v)]))
        }
    }

    func connectionError() {
        let message = conn.map { String(cString: PQerrorMessage($0)) } ?? ""
        logLine("hoop-connect", "session \(id): upstream send failed: \(message.split(separator: "\n").first ?? "")")
        fatal(code: "08006", "hoop: the upstream connection failed")
    }

    func fatal(code: String, _ message: String) {
        emit(.error(session: id, seq: seq, code: code, message: message, fatal: true))
        cond.lock(); closing = true; cond.unlock()
    }

    func columnsFrame(_ res: OpaquePointer) -> Frame {
        // Where each column comes from, by name, for hoop-mask's column rules: every table
        // of the result checked against the catalog at once.
        let sources = catalog?.sources((0..<PQnfields(res)).map { (PQftable(res, $0), Int(PQftablecol(res, $0))) }) ?? [:]
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
            if let source = sources[PQftable(res, i)] {
                f["schema_name"] = .string(source.schema)
                f["table_name"] = .string(source.table)
                if let column = source.columns[Int(PQftablecol(res, i))] { f["column_name"] = .string(column) }
                if let view = source.viewSQL { f["view_sql"] = .string(view) }
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
        if traced { body.merge(viewsOfStatement()) { $1 } }
        return Frame(FrameType.columns, session: id, seq: seq, body)
    }

    /// The columns of an Execute's result for a client that asked for binary columns,
    /// or of a result with an expression column: not a RowDescription (the client did
    /// not Describe), the types hoop-listen converts by and hoop-mask masks by, and
    /// the views an expression may read.
    func executeColumns(_ res: OpaquePointer) -> Frame {
        var f = columnsFrame(res)
        f["for"] = .string("execute")
        return f
    }

    var catalog: Catalog? { table.upstreams.catalog(for: database) }

    func emit(_ f: Frame) { out.enqueue(f) }
    func emitRaw(_ raw: [UInt8]) { out.enqueue(raw + [0x0A]) }
}

