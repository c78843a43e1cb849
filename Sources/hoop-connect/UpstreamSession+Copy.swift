import CLibPQ
import Foundation
import HoopFrames
import HoopSQL

// COPY through the ring (simple query protocol; libpq has no COPY in pipeline mode).
// FROM STDIN: the client's CopyData arrive as copy_data frames and go to the server
// as they come; each one taken earns the door a copy_credit at once, so that the door
// reads its client only a window ahead of the server and no stage queues an upload.
// TO STDOUT: the server's rows go out in copy_out_data batches that spend credits
// like rows, so a slow client holds the server back, not memory.

extension UpstreamSession {
    func copyIn(_ res: OpaquePointer) async {
        emit(Frame(FrameType.copyInResponse, session: id, seq: seq, copyFormats(res)))
        while true {
            guard let (frame, raw) = await next() else {
                _ = await copyEnd("hoop: the session ended during COPY")
                return
            }
            switch frame.type {
            case FrameType.copyData:
                emitRaw(raw)
                let bytes: [UInt8]
                switch frame["data"] {
                case .string(let s)?: bytes = Array(s.utf8)
                case .object(let o)?: bytes = o["base64"]?.string.flatMap { Data(base64Encoded: $0) }.map(Array.init) ?? []
                default: bytes = []
                }
                let ok = await copyData(bytes)
                // A trigger's notices, parsed while libpq sent: paced by the client's credits
                // before the next frame is taken.
                await sendNotices()
                creditCopyData(frame.seq)
                if !ok { return }
            case FrameType.copyDone:
                emitRaw(raw)
                _ = await copyEnd(nil)
                return
            case FrameType.copyFail:
                emitRaw(raw)
                _ = await copyEnd(frame["message"]?.string ?? "COPY failed")
                return
            case FrameType.sync, FrameType.flush:
                emitRaw(raw)   // the server ignores these during COPY IN
            default:
                // Anything else ends the COPY as the server would, then runs as usual.
                _ = await copyEnd("hoop: unexpected message during COPY FROM STDIN")
                pushBack(frame, raw)
                return
            }
        }
    }

    /// One CopyData to the server, sent before the frame is credited: in non-blocking
    /// mode libpq would otherwise keep taking data into a buffer that grows while the
    /// server is slower than the client (and it may refuse some while that is full).
    /// False when the connection failed.
    private func copyData(_ bytes: [UInt8]) async -> Bool {
        while true {
            let r = bytes.withUnsafeBufferPointer { b in
                b.baseAddress.map { $0.withMemoryRebound(to: CChar.self, capacity: b.count) { PQputCopyData(conn, $0, Int32(b.count)) } } ?? 1
            }
            if r < 0 { return false }
            guard await flushUpstream() else { return false }
            if r == 1 { return true }
        }
    }

    /// The end of COPY FROM STDIN (`failure`: CopyFail with that message), sent whole.
    private func copyEnd(_ failure: String?) async -> Bool {
        while true {
            let r = PQputCopyEnd(conn, failure)
            if r == 1 { return await flushUpstream() }
            if r < 0 { return false }
            guard await flushUpstream() else { return false }
        }
    }

    func copyOut(_ res: OpaquePointer) async {
        var response = copyFormats(res)
        copyOutCount += 1
        if let fields = await copyOutColumns(number: copyOutCount, count: Int(PQnfields(res))) {
            response["fields"] = .array(fields)
            // A temporary table's: what the session wrote into it, through the views it read.
            if fields.contains(where: { $0["temporary"] == .bool(true) }) { response.merge(await viewsOfStatement()) { $1 } }
        } else {
            // COPY (query): traced by hoop-mask from the query, whose views it must know.
            response.merge(await viewsOfStatement()) { $1 }
        }
        emit(Frame(FrameType.copyOutResponse, session: id, seq: seq, response))
        var w = JSONWriter(reserving: 64 * 1024)
        var count = 0
        func start() {
            w.bytes.removeAll(keepingCapacity: true)
            w.frameStart(FrameType.copyOutData, session: id, seq: seq)
            w.raw(",\"data\":[")
            count = 0
        }
        func finish() async {
            guard count > 0 else { return }
            w.raw("]}\n")
            await send(w.bytes)
            start()
        }
        start()
        var buf: UnsafeMutablePointer<CChar>? = nil
        while true {
            let n = PQgetCopyData(conn, &buf, 1)
            if n == 0 {
                // Nothing whole buffered yet: the task waits for the socket, not libpq.
                await sendNotices()
                if await !loop.input(conn) { break }
                continue
            }
            if n < 0 { break }   // -1: done; -2: failed, and PQgetResult says why
            defer { PQfreemem(buf) }
            if count > 0 { w.bytes.append(UInt8(ascii: ",")) }
            buf!.withMemoryRebound(to: UInt8.self, capacity: Int(n)) { p in
                let chunk = UnsafeBufferPointer(start: p, count: Int(n))
                if !chunk.contains(0), String(validating: chunk, as: UTF8.self) != nil {
                    w.escaped(chunk)
                } else {
                    w.raw("{\"base64\":")
                    w.string(Data(chunk).base64EncodedString())
                    w.raw("}")
                }
            }
            count += 1
            if count >= Rows.maxRows || w.bytes.count >= Rows.maxBytes { await finish() }
        }
        await finish()
        emit(Frame(FrameType.copyOutDone, session: id, seq: seq))
    }

    /// `COPY table [(columns)] TO STDOUT` names no columns on the wire: the table's,
    /// from the catalog, so that hoop-mask can mask each field by its column's rule
    /// and keep it valid for its type. Nil for COPY (query), whose columns hoop-mask
    /// traces from the query itself.
    private func copyOutColumns(number: Int, count: Int) async -> [JSON]? {
        guard let sql = currentSQL, let statements = try? SQLParser.statements(sql) else { return nil }
        let copies = statements.compactMap { $0["CopyStmt"] }.filter { $0["is_from"]?.bool != true }
        guard number <= copies.count, let rel = copies[number - 1]["relation"], let table = rel["relname"]?.string,
              let columns = await catalog?.columns(schema: rel["schemaname"]?.string, table: table) else { return nil }
        let named = (copies[number - 1]["attlist"]?.array ?? []).compactMap { $0["String"]?["sval"]?.string }
        let chosen = named.isEmpty ? columns : named.compactMap { n in columns.first { $0.name == n } }
        guard chosen.count == count else { return nil }
        return chosen.map { c in
            var f: [String: JSON] = ["table_name": .string(table), "column_name": .string(c.name), "type_oid": .int(Int64(c.type))]
            if c.temporary { f["temporary"] = .bool(true) }
            return .object(f)
        }
    }

    private func copyFormats(_ res: OpaquePointer) -> [String: JSON] {
        ["format": .int(Int64(PQbinaryTuples(res))),
         "column_formats": .array((0..<PQnfields(res)).map { .int(Int64(PQfformat(res, $0))) })]
    }

    /// A copy_data frame was taken (sent to the server, or dropped outside a COPY). The
    /// credit goes at once: the door waits for it, with the next frames, while the
    /// server takes this one (a write per frame of up to 256 KiB).
    func creditCopyData(_ seq: Int64?) {
        emit(Frame(FrameType.copyCredit, session: id, seq: seq ?? self.seq, ["frames": .int(1)]))
        // Written now, not when the loop next sleeps: the task may take the whole window
        // of queued frames first, and the door would wait for all their credits at once.
        try? table.flushNow()
    }

    private func pushBack(_ frame: Frame, _ raw: [UInt8]) {
        emitRaw(raw)
        pushedBack = (frame, raw)
        requeued = true
    }
}
