import CLibPQ
import Foundation
import HoopFrames

/// One client session's upstream connection, on its own thread: blocking libpq calls
/// there never hold up another session (DESIGN invariant 4). Requests are handled in
/// arrival order (invariant 5); each is forwarded for the audit trail before its
/// responses.
final class UpstreamSession: @unchecked Sendable {
    let id: String
    unowned let table: SessionTable
    var out: FrameWriter { table.out }

    private let cond = NSCondition()
    private var queue: [(Frame, [UInt8])] = []
    private var closing = false
    private var endWhenIdle = false
    private var credits: Int

    private var conn: OpaquePointer?
    private var cancelHandle: OpaquePointer?
    private let cancelLock = NSLock()

    // Extended-protocol state (see docs/frames.md and the note on portals below).
    private var prepared: Set<String> = []
    private var portals: [String: Portal] = [:]
    private var skipToSync = false
    private var reported: [String: String] = [:]
    private var seq: Int64 = 0

    init(id: String, table: SessionTable) {
        self.id = id
        self.table = table
        credits = table.window
    }

    func start() {
        let t = Thread { [self] in self.main() }
        t.name = "session \(id)"
        t.stackSize = 1 << 20
        t.start()
    }

    func submit(_ frame: Frame, raw: [UInt8]) {
        cond.lock(); queue.append((frame, raw)); cond.signal(); cond.unlock()
    }

    func addCredit(_ n: Int) {
        cond.lock(); credits += max(0, n); cond.signal(); cond.unlock()
    }

    /// Ends the session from another thread: stops whatever runs upstream.
    func close() {
        cond.lock(); closing = true; cond.broadcast(); cond.unlock()
        cancelRunning()
    }

    /// Ends the session once what it has queued is done (end of the ring's input).
    func closeWhenIdle() {
        cond.lock(); endWhenIdle = true; cond.broadcast(); cond.unlock()
    }

    func cancelRunning() {
        cancelLock.lock(); defer { cancelLock.unlock() }
        guard let c = cancelHandle else { return }
        var buf = [CChar](repeating: 0, count: 256)
        _ = PQcancel(c, &buf, 256)
    }

    private var isClosing: Bool { cond.lock(); defer { cond.unlock() }; return closing }

    private func next() -> (Frame, [UInt8])? {
        cond.lock(); defer { cond.unlock() }
        while queue.isEmpty && !closing && !endWhenIdle { cond.wait() }
        if closing || queue.isEmpty { return nil }
        return queue.removeFirst()
    }

    // MARK: the session thread

    private func main() {
        defer { finish() }
        guard let (open, raw) = next() else { return }
        emitRaw(raw)
        guard connect(open) else { return }
        while let (frame, raw) = next() {
            emitRaw(raw)
            seq = frame.seq ?? seq
            if skipToSync && frame.type != "sync" { continue }
            switch frame.type {
            case "query": simpleQuery(frame["sql"]?.string ?? "")
            case "parse": parse(frame)
            case "bind": bind(frame)
            case "describe": describe(frame)
            case "execute": execute(frame)
            case "close": closeObject(frame)
            case "sync": sync()
            case "flush": break   // every response is written as soon as it is made
            default: break
            }
            try? out.flush()
            if PQstatus(conn) != CONNECTION_OK {
                fatal(code: "08006", "hoop: the upstream connection was lost")
                return
            }
        }
    }

    private func finish() {
        cancelLock.lock()
        if let c = cancelHandle { PQfreeCancel(c); cancelHandle = nil }
        cancelLock.unlock()
        if let c = conn { PQfinish(c); conn = nil }   // an open transaction rolls back upstream
        emit(Frame("session_closed", session: id, seq: seq))
        try? out.flush()
        table.finished(id)
    }

    private func connect(_ open: Frame) -> Bool {
        let database = open["database"]?.string ?? ""
        guard let target = table.upstreams.targets[database] else {
            fatal(code: "3D000", "hoop: no connection named \"\(database)\" is configured")
            return false
        }
        var keys = ["dbname"], values = [target.conninfo]
        if let pw = target.password { keys.append("password"); values.append(pw) }
        let options = open["options"]?.object ?? [:]
        if let app = options["application_name"]?.string { keys.append("application_name"); values.append(app) }
        keys.append("fallback_application_name"); values.append("hoop")
        if let enc = options["client_encoding"]?.string { keys.append("client_encoding"); values.append(enc) }
        // Other startup parameters (DateStyle, TimeZone, extra_float_digits...) become -c
        // settings. The client's user, database and replication never reach upstream:
        // the gateway's configuration decides who it connects as.
        var settings: [String] = []
        if let o = options["options"]?.string, !o.isEmpty { settings.append(o) }
        for (k, v) in options.sorted(by: { $0.key < $1.key }) {
            guard let v = v.string, !["user", "database", "options", "application_name", "client_encoding", "replication", "password"].contains(k),
                  k.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }) else { continue }
            settings.append("-c \(k)=" + v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: " ", with: "\\ "))
        }
        if !settings.isEmpty { keys.append("options"); values.append(settings.joined(separator: " ")) }
        conn = withCStrings(keys) { k in withCStrings(values) { v in PQconnectdbParams(k, v, 1) } }
        guard let c = conn, PQstatus(c) == CONNECTION_OK else {
            let reason = conn.map { String(cString: PQerrorMessage($0)) } ?? "out of memory"
            logLine("hoop-connect", "session \(id): upstream connection \(database) failed: \(reason.split(separator: "\n").first ?? "")")
            fatal(code: "08006", "hoop: could not connect to the upstream database \"\(database)\"")
            return false
        }
        cancelLock.lock(); cancelHandle = PQgetCancel(c); cancelLock.unlock()
        PQsetNoticeReceiver(c, { arg, res in
            guard let arg, let res else { return }
            let s = Unmanaged<UpstreamSession>.fromOpaque(arg).takeUnretainedValue()
            s.emit(Frame("notice", session: s.id, seq: s.seq, diagnosticFields(res)))
        }, Unmanaged.passUnretained(self).toOpaque())
        var params: [String: JSON] = [:]
        for name in reportedParameters {
            if let v = PQparameterStatus(c, name) { params[name] = .string(String(cString: v)); reported[name] = String(cString: v) }
        }
        emit(Frame("session_opened", session: id, seq: 0, ["parameters": .object(params), "status": .string(status)]))
        try? out.flush()
        return true
    }

    // MARK: simple query

    private func simpleQuery(_ sql: String) {
        guard PQsendQuery(conn, sql) == 1 else { return connectionError() }
        PQsetSingleRowMode(conn)
        drainResults(describe: true, maxRows: 0, portal: nil)
        reportParameterChanges()
        emit(Frame("ready", session: id, seq: seq, ["status": .string(status)]))
    }

    /// Reads every result of the request in flight. `describe` sends a columns frame
    /// before the first row of each result (simple protocol); extended Execute does not.
    /// With `maxRows`, stops after that many rows and keeps the rest in the portal.
    @discardableResult
    private func drainResults(describe: Bool, maxRows: Int, portal: String?) -> Bool {
        var batch = RowBatch(session: id, seq: seq)
        var described = false
        var delivered = 0
        var ok = true
        while let res = PQgetResult(conn) {
            defer { PQclear(res) }
            switch PQresultStatus(res) {
            case PGRES_SINGLE_TUPLE:
                if describe && !described { emit(columnsFrame(res)); described = true }
                if let portal, maxRows > 0, delivered >= maxRows {
                    portals[portal]?.pending.append(RowBatch.row(res))
                    continue
                }
                batch.append(res)
                delivered += 1
                if batch.isFull { sendRows(&batch) }
            case PGRES_TUPLES_OK:
                if describe && !described { emit(columnsFrame(res)) }
                sendRows(&batch)
                described = false
                if let portal, maxRows > 0, delivered >= maxRows {
                    portals[portal]?.pendingTag = String(cString: PQcmdStatus(res))
                    emit(Frame("suspended", session: id, seq: seq))
                } else {
                    emit(Frame("complete", session: id, seq: seq, ["tag": .string(String(cString: PQcmdStatus(res)))]))
                }
                delivered = 0
            case PGRES_COMMAND_OK:
                sendRows(&batch)
                emit(Frame("complete", session: id, seq: seq, ["tag": .string(String(cString: PQcmdStatus(res)))]))
            case PGRES_EMPTY_QUERY:
                emit(Frame("empty", session: id, seq: seq))
            case PGRES_COPY_IN:
                // COPY streaming is issue 7; end it upstream so the connection stays usable.
                _ = PQputCopyEnd(conn, "hoop: COPY FROM STDIN is not supported yet")
            case PGRES_COPY_OUT:
                var buf: UnsafeMutablePointer<CChar>? = nil
                while PQgetCopyData(conn, &buf, 0) > 0 { PQfreemem(buf) }   // discarded, never delivered
                emit(Frame("error", session: id, seq: seq, [
                    "severity": .string("ERROR"), "code": .string("0A000"),
                    "message": .string("hoop: COPY TO STDOUT is not supported yet")]))
                ok = false
            default:
                sendRows(&batch)
                var f = diagnosticFields(res)
                if f["code"] == nil { f["code"] = .string("08006"); f["severity"] = .string("ERROR") }
                emit(Frame("error", session: id, seq: seq, f))
                ok = false
            }
        }
        sendRows(&batch)
        return ok
    }

    private func sendRows(_ batch: inout RowBatch) {
        guard batch.count > 0 else { return }
        // Flow control: wait for a credit; meanwhile libpq is not read, so TCP holds the server.
        cond.lock()
        while credits <= 0 && !closing { cond.wait() }
        credits -= 1
        cond.unlock()
        out.enqueue(batch.finish())
        try? out.flush()
        batch.reset()
    }

    // MARK: extended protocol
    //
    // Each message maps to a libpq call. Bind is kept here and sent with Execute
    // (libpq has no Bind of its own). An Execute with a row limit delivers that many
    // rows and keeps the rest of the result in the portal for the next Execute.
    // Known difference from a direct server: each Execute commits on its own outside
    // an explicit transaction (libpq syncs each call), where the server would group
    // everything up to Sync into one implicit transaction.

    struct Portal {
        var statement: String
        var params: [String?]
        var started = false
        var pending: [[UInt8]] = []
        var pendingTag: String? = nil
    }

    private func parse(_ f: Frame) {
        let name = f["name"]?.string ?? ""
        let sql = f["sql"]?.string ?? ""
        let types = (f["param_types"]?.array ?? []).map { Oid(truncatingIfNeeded: $0.int ?? 0) }
        let res = PQprepare(conn, name, sql, Int32(types.count), types.isEmpty ? nil : types)
        defer { PQclear(res) }
        if PQresultStatus(res) == PGRES_COMMAND_OK {
            prepared.insert(name)
            emit(Frame("parse_complete", session: id, seq: seq))
        } else {
            extendedError(res)
        }
    }

    private func bind(_ f: Frame) {
        let statement = f["statement"]?.string ?? ""
        guard prepared.contains(statement) else {
            return extendedError(code: "26000", "prepared statement \"\(statement)\" does not exist")
        }
        let params: [String?] = (f["params"]?.array ?? []).map { $0.string }
        portals[f["portal"]?.string ?? ""] = Portal(statement: statement, params: params)
        emit(Frame("bind_complete", session: id, seq: seq))
    }

    private func describe(_ f: Frame) {
        let name = f["name"]?.string ?? ""
        let isPortal = f["kind"]?.string == "P"
        let statement: String
        if isPortal {
            guard let p = portals[name] else { return extendedError(code: "34000", "portal \"\(name)\" does not exist") }
            statement = p.statement
        } else {
            statement = name
        }
        let res = PQdescribePrepared(conn, statement)
        defer { PQclear(res) }
        guard let res, PQresultStatus(res) == PGRES_COMMAND_OK else { return extendedError(res) }
        if !isPortal {
            let types = (0..<PQnparams(res)).map { JSON.int(Int64(PQparamtype(res, $0))) }
            emit(Frame("parameters", session: id, seq: seq, ["types": .array(types)]))
        }
        emit(PQnfields(res) > 0 ? columnsFrame(res) : Frame("no_data", session: id, seq: seq))
    }

    private func execute(_ f: Frame) {
        let name = f["portal"]?.string ?? ""
        let maxRows = Int(f["max_rows"]?.int ?? 0)
        guard var portal = portals[name] else { return extendedError(code: "34000", "portal \"\(name)\" does not exist") }
        if portal.started {
            // Continue a suspended portal from what was kept.
            var batch = RowBatch(session: id, seq: seq)
            let take = maxRows > 0 ? min(maxRows, portal.pending.count) : portal.pending.count
            for row in portal.pending.prefix(take) {
                batch.appendEncoded(row)
                if batch.isFull { sendRows(&batch) }
            }
            sendRows(&batch)
            portal.pending.removeFirst(take)
            portals[name] = portal
            if maxRows > 0 && take == maxRows {
                emit(Frame("suspended", session: id, seq: seq))
            } else {
                emit(Frame("complete", session: id, seq: seq, ["tag": .string(portal.pendingTag ?? "SELECT 0")]))
            }
            return
        }
        portal.started = true
        portals[name] = portal
        let ok = withOptionalCStrings(portal.params) { values in
            PQsendQueryPrepared(conn, portal.statement, Int32(portal.params.count), values, nil, nil, 0)
        }
        guard ok == 1 else { return connectionError() }
        PQsetSingleRowMode(conn)
        if !drainResults(describe: false, maxRows: maxRows, portal: name) { skipToSync = true }
    }

    private func closeObject(_ f: Frame) {
        let name = f["name"]?.string ?? ""
        if f["kind"]?.string == "P" {
            portals.removeValue(forKey: name)
        } else if prepared.contains(name) {
            prepared.remove(name)
            if !name.isEmpty, let quoted = PQescapeIdentifier(conn, name, name.utf8.count) {
                let res = PQexec(conn, "DEALLOCATE " + String(cString: quoted))
                PQfreemem(quoted)
                PQclear(res)
            }
        }
        emit(Frame("close_complete", session: id, seq: seq))
    }

    private func sync() {
        skipToSync = false
        if status == "I" { portals.removeAll() }   // portals end with their transaction
        reportParameterChanges()
        emit(Frame("ready", session: id, seq: seq, ["status": .string(status)]))
    }

    private func extendedError(_ res: OpaquePointer?) {
        var f = diagnosticFields(res)
        if f["code"] == nil { f["code"] = .string("08006"); f["severity"] = .string("ERROR"); f["message"] = .string("hoop: upstream error") }
        emit(Frame("error", session: id, seq: seq, f))
        skipToSync = true
    }

    private func extendedError(code: String, _ message: String) {
        emit(Frame("error", session: id, seq: seq, [
            "severity": .string("ERROR"), "severity_nonlocalized": .string("ERROR"),
            "code": .string(code), "message": .string(message)]))
        skipToSync = true
    }

    // MARK: helpers

    private var status: String {
        switch PQtransactionStatus(conn) {
        case PQTRANS_INTRANS: return "T"
        case PQTRANS_INERROR: return "E"
        case PQTRANS_ACTIVE: return "T"
        default: return "I"
        }
    }

    private func reportParameterChanges() {
        for name in reportedParameters {
            guard let v = PQparameterStatus(conn, name).map({ String(cString: $0) }), reported[name] != v else { continue }
            reported[name] = v
            emit(Frame("parameter_status", session: id, seq: seq, ["name": .string(name), "value": .string(v)]))
        }
    }

    private func connectionError() {
        let message = conn.map { String(cString: PQerrorMessage($0)) } ?? ""
        logLine("hoop-connect", "session \(id): upstream send failed: \(message.split(separator: "\n").first ?? "")")
        fatal(code: "08006", "hoop: the upstream connection failed")
    }

    private func fatal(code: String, _ message: String) {
        emit(Frame("error", session: id, seq: seq, [
            "severity": .string("FATAL"), "severity_nonlocalized": .string("FATAL"),
            "code": .string(code), "message": .string(message), "fatal": .bool(true)]))
        cond.lock(); closing = true; cond.unlock()
    }

    private func columnsFrame(_ res: OpaquePointer) -> Frame {
        let fields: [JSON] = (0..<PQnfields(res)).map { i in
            .object([
                "name": .string(String(cString: PQfname(res, i))),
                "table_oid": .int(Int64(PQftable(res, i))),
                "column": .int(Int64(PQftablecol(res, i))),
                "type_oid": .int(Int64(PQftype(res, i))),
                "type_size": .int(Int64(PQfsize(res, i))),
                "type_mod": .int(Int64(PQfmod(res, i))),
                "format": .int(Int64(PQfformat(res, i))),
            ])
        }
        return Frame("columns", session: id, seq: seq, ["fields": .array(fields)])
    }

    func emit(_ f: Frame) { out.enqueue(f) }
    private func emitRaw(_ raw: [UInt8]) { out.enqueue(raw + [0x0A]) }
}

/// The server parameters a client is told about (ParameterStatus), at start and on change.
let reportedParameters = [
    "application_name", "client_encoding", "DateStyle", "default_transaction_read_only", "in_hot_standby",
    "integer_datetimes", "IntervalStyle", "is_superuser", "server_encoding", "server_version",
    "session_authorization", "standard_conforming_strings", "TimeZone",
]

/// Every field of an error or notice, by the names of docs/frames.md.
func diagnosticFields(_ res: OpaquePointer?) -> [String: JSON] {
    var f: [String: JSON] = [:]
    for (code, name) in diagnosticCodes {
        if let v = PQresultErrorField(res, Int32(code)) { f[name] = .string(String(cString: v)) }
    }
    return f
}

let diagnosticCodes: [(UInt8, String)] = [
    (UInt8(ascii: "S"), "severity"), (UInt8(ascii: "V"), "severity_nonlocalized"), (UInt8(ascii: "C"), "code"),
    (UInt8(ascii: "M"), "message"), (UInt8(ascii: "D"), "detail"), (UInt8(ascii: "H"), "hint"),
    (UInt8(ascii: "P"), "position"), (UInt8(ascii: "p"), "internal_position"), (UInt8(ascii: "q"), "internal_query"),
    (UInt8(ascii: "W"), "where"), (UInt8(ascii: "s"), "schema"), (UInt8(ascii: "t"), "table"),
    (UInt8(ascii: "c"), "column"), (UInt8(ascii: "d"), "datatype"), (UInt8(ascii: "n"), "constraint"),
    (UInt8(ascii: "F"), "file"), (UInt8(ascii: "L"), "line"), (UInt8(ascii: "R"), "routine"),
]

/// Builds a `rows` frame straight from libpq's values, without a JSON tree: this is
/// the hot path of every large result.
struct RowBatch {
    static let maxRows = 1000
    static let maxBytes = 256 * 1024
    var w = JSONWriter(reserving: 64 * 1024)
    var count = 0
    let header: [UInt8]

    init(session: String, seq: Int64) {
        var h = JSONWriter()
        h.raw("{\"type\":\"rows\",\"session\":")
        h.string(session)
        h.raw(",\"seq\":")
        h.int(seq)
        h.raw(",\"rows\":[")
        header = h.bytes
        reset()
    }

    var isFull: Bool { count >= Self.maxRows || w.bytes.count >= Self.maxBytes }

    mutating func reset() {
        w.bytes.removeAll(keepingCapacity: true)
        w.bytes.append(contentsOf: header)
        count = 0
    }

    /// One row of a single-row-mode result, encoded as a JSON array.
    static func row(_ res: OpaquePointer) -> [UInt8] {
        var w = JSONWriter(reserving: 256)
        encode(res, into: &w)
        return w.bytes
    }

    static func encode(_ res: OpaquePointer, into w: inout JSONWriter) {
        w.bytes.append(UInt8(ascii: "["))
        let n = PQnfields(res)
        for i in 0..<n {
            if i > 0 { w.bytes.append(UInt8(ascii: ",")) }
            if PQgetisnull(res, 0, i) == 1 {
                w.raw("null")
            } else {
                let len = Int(PQgetlength(res, 0, i))
                PQgetvalue(res, 0, i).withMemoryRebound(to: UInt8.self, capacity: len) {
                    w.escaped(UnsafeBufferPointer(start: $0, count: len))
                }
            }
        }
        w.bytes.append(UInt8(ascii: "]"))
    }

    mutating func append(_ res: OpaquePointer) {
        if count > 0 { w.bytes.append(UInt8(ascii: ",")) }
        Self.encode(res, into: &w)
        count += 1
    }

    mutating func appendEncoded(_ row: [UInt8]) {
        if count > 0 { w.bytes.append(UInt8(ascii: ",")) }
        w.bytes.append(contentsOf: row)
        count += 1
    }

    mutating func finish() -> [UInt8] {
        w.raw("]}\n")
        return w.bytes
    }
}

func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafePointer<CChar>?] = strings.map { UnsafePointer(strdup($0)) }
    pointers.append(nil)
    defer { pointers.forEach { free(UnsafeMutablePointer(mutating: $0)) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

func withOptionalCStrings<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    let pointers: [UnsafePointer<CChar>?] = strings.map { $0.map { UnsafePointer(strdup($0)) } ?? nil }
    defer { pointers.forEach { free(UnsafeMutablePointer(mutating: $0)) } }
    return pointers.withUnsafeBufferPointer { body(pointers.isEmpty ? nil : $0.baseAddress) }
}
