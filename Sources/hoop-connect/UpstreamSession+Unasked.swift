import CLibPQ
import Foundation
import Glibc
import HoopFrames

// What a server sends outside any request: LISTEN/NOTIFY notifications, a FATAL error
// before it closes the connection (pg_terminate_backend, shutdown). An idle session's
// thread waits on its request queue and its upstream socket together (poll, with an
// pipe that a request, a credit or a close rings), so that a notification reaches
// the client when it arrives, as on a direct connection, not with the next request.

extension UpstreamSession {
    func openWake() {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }   // without it, an idle session reads nothing unasked
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wake = fds[0]; wakeWrite = fds[1]
    }

    func closeWake() {
        if wake >= 0 { Glibc.close(wake); wake = -1 }
        if wakeWrite >= 0 { Glibc.close(wakeWrite); wakeWrite = -1 }
    }

    /// Wakes the session thread if it waits in poll (called with or without `cond`).
    /// A full pipe is fine: the thread has a wake-up pending already.
    func ringWake() {
        guard wakeWrite >= 0 else { return }
        var one: UInt8 = 1
        _ = Glibc.write(wakeWrite, &one, 1)
    }

    /// Whether an idle wait also reads the upstream socket: only between requests
    /// (not in COPY, not with pipeline answers unread) and with a credit to spend, so
    /// that a client that does not read holds the server back.
    var watchesUpstream: Bool {
        idleWatch && wake >= 0 && conn != nil && expected.isEmpty && credits > 0
    }

    /// One idle wait, called with `cond` locked and the queue empty; returns with it locked.
    func waitIdle() {
        guard watchesUpstream, let c = conn, PQsocket(c) >= 0 else { cond.wait(); return }
        let sock = PQsocket(c)
        polling = true
        cond.unlock()
        var fds = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: sock, events: Int16(POLLIN), revents: 0)]
        let n = poll(&fds, 2, -1)
        if n > 0 && fds[0].revents != 0 {
            var drain = [UInt8](repeating: 0, count: 64)
            while Glibc.read(wake, &drain, drain.count) > 0 {}
        }
        if n > 0 && fds[1].revents != 0 { readIdle() }
        cond.lock()
        polling = false
    }

    /// The upstream socket is readable while no request runs.
    func readIdle() {
        guard PQconsumeInput(conn) == 1, PQstatus(conn) == CONNECTION_OK else {
            upstreamLost()
            return
        }
        forwardNotifications()
        reportParameterChanges()
        try? out.flush()
    }

    /// Every notification libpq has collected, as `notification` frames (they spend a
    /// credit, like notices: a busy channel is paced by the client's reading).
    func forwardNotifications() {
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
            send(Frame(FrameType.notification, session: id, seq: seq, fields).encoded())
        }
    }

    /// The connection is gone: the client gets the server's own FATAL when it sent one
    /// (libpq hands an error outside a query to the notice receiver), else ours.
    func upstreamLost() {
        if var f = lastFatal {
            f["fatal"] = .bool(true)
            emit(.error(session: id, seq: seq, fields: f))
            cond.lock(); closing = true; cond.unlock()
        } else {
            fatal(code: "08006", "hoop: the upstream connection was lost")
        }
        try? out.flush()
    }
}
