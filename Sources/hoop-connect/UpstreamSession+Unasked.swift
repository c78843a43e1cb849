import CLibPQ
import Foundation
import Glibc
import HoopFrames

// What a server sends outside any request: LISTEN/NOTIFY notifications, a FATAL error
// before it closes the connection (pg_terminate_backend, shutdown). An idle session
// waits for a request and for its upstream socket together (the loop watches the
// socket while the task is parked), so that a notification reaches the client when it
// arrives, as on a direct connection, not with the next request.

extension UpstreamSession {
    /// Whether an idle wait also reads the upstream socket: only between requests
    /// (not in COPY, not with pipeline answers unread) and with a credit to spend, so
    /// that a client that does not read holds the server back.
    var watchesUpstream: Bool {
        idleWatch && conn != nil && expected.isEmpty && credits > 0
    }

    /// One idle wait, with the queue empty.
    func waitIdle() async {
        guard watchesUpstream, let c = conn, PQsocket(c) >= 0 else { _ = await park(); return }
        if EventLoop.tlsPending(c) { return await readIdle() }
        if await park(watching: PQsocket(c)) != 0 { await readIdle() }
    }

    /// The upstream socket is readable while no request runs.
    func readIdle() async {
        guard PQconsumeInput(conn) == 1, PQstatus(conn) == CONNECTION_OK else {
            await upstreamLost()
            return
        }
        _ = PQisBusy(conn)   // parses what came: notices reach the receiver, notifications the queue
        await sendNotices()
        await forwardNotifications()
        reportParameterChanges()
    }

    /// Every notification libpq has collected, as `notification` frames (they spend a
    /// credit, like notices: a busy channel is paced by the client's reading).
    func forwardNotifications() async {
        while let n = PQnotifies(conn) {
            let pid = n.pointee.be_pid
            var fields: [String: JSON] = [
                "channel": .string(String(cString: n.pointee.relname)),
                "payload": .string(String(cString: n.pointee.extra)),
                "pid": .int(Int64(pid)),
            ]
            // The client knows its session by hoop-listen's BackendKeyData, not by the
            // upstream pid: hoop-listen puts its own in a notification the session sent.
            if pid == PQbackendPID(conn) { fields["own"] = .bool(true) }
            PQfreemem(n)
            await send(Frame(FrameType.notification, session: id, seq: seq, fields).encoded())
        }
    }

    /// The connection is gone: the client gets the server's own FATAL when it sent one
    /// (libpq hands an error outside a query to the notice receiver), else ours.
    func upstreamLost() async {
        // The notices the server sent before it went come first (credits permitting; a
        // closing session waits for none).
        _ = PQisBusy(conn)
        await sendNotices()
        if var f = lastFatal {
            f["fatal"] = .bool(true)
            emit(.error(session: id, seq: seq, fields: f))
            closing = true
        } else {
            fatal(code: "08006", "hoop: the upstream connection was lost")
        }
    }
}
