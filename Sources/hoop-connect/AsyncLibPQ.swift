import CLibPQ
import Foundation
import Glibc
import HoopFrames
import HoopPostgres

// libpq in non-blocking mode on the event loop: where a libpq call would block on its
// socket, the task waits for the socket instead, and the loop serves everyone else.

extension EventLoop {
    /// Connects on a thread of its own, then hands the connection to the loop in
    /// non-blocking mode. Connecting can block where no socket shows it (a host name's
    /// lookup, which libpq's asynchronous connect also makes synchronously): on the
    /// loop it would stall every session. Once per session, off the hot path. The caller
    /// checks PQstatus.
    func connect(_ keys: [String], _ values: [String]) async -> OpaquePointer? {
        let made: UnsafeSendable<OpaquePointer?> = await withUnsafeContinuation { c in
            Thread.detachNewThread {
                c.resume(returning: UnsafeSendable(withCStrings(keys) { k in withCStrings(values) { v in PQconnectdbParams(k, v, 1) } }))
            }
        }
        if let conn = made.value, PQstatus(conn) == CONNECTION_OK { PQsetnonblocking(conn, 1) }
        return made.value
    }

    /// Sends everything libpq holds for the server; false when the connection failed.
    /// While the server's input is full, its output is read meanwhile (libpq's advice, or
    /// both sides wait for each other), parsed, and `meanwhile` runs: what the server sent
    /// (a trigger's notices for every row of a COPY) goes out paced by the client's
    /// credits, so that it waits in the server, not in libpq's input buffer.
    func flush(_ conn: OpaquePointer?, meanwhile: () async -> Void = {}) async -> Bool {
        while true {
            switch PQflush(conn) {
            case 0: return true
            case 1:
                // libpq reads what the server sends while it cannot send (its rule against
                // deadlock: a COPY's trigger raising notices) into a buffer that nothing
                // else bounds: parsed now, its notices go out paced by credits (`meanwhile`
                // waits for them), and libpq is not flushed, nor read, meanwhile.
                _ = PQisBusy(conn)
                await meanwhile()
                let ready = await wait(PQsocket(conn), Int16(POLLIN | POLLOUT))
                if ready & Int16(POLLIN | POLLERR | POLLHUP) != 0 {
                    guard PQconsumeInput(conn) == 1 else { return false }
                    _ = PQisBusy(conn)   // parses: notices reach the receiver
                    await meanwhile()
                }
            default: return false
            }
        }
    }

    /// The next result of what was sent, as PQgetResult gives it, waiting on the socket
    /// instead of in libpq; `meanwhile` runs before each wait (what libpq parsed so far
    /// can go out).
    func result(_ conn: OpaquePointer?, meanwhile: () async -> Void = {}) async -> OpaquePointer? {
        if await flush(conn, meanwhile: meanwhile) {
            while PQisBusy(conn) == 1 {
                await meanwhile()
                guard await input(conn) else { break }   // PQgetResult answers the failure
            }
        }
        return PQgetResult(conn)
    }

    /// Waits until the server sends more and reads it into libpq; false when the
    /// connection failed.
    func input(_ conn: OpaquePointer?) async -> Bool {
        if !Self.tlsPending(conn) { _ = await wait(PQsocket(conn), Int16(POLLIN)) }
        return PQconsumeInput(conn) == 1
    }

    /// Whether OpenSSL holds decrypted bytes of the connection that libpq has not read:
    /// a TLS record larger than the room libpq read into (servers and proxies other than
    /// PostgreSQL's own send them) leaves the rest there, where poll() does not see it;
    /// a wait on the socket would then wait for data that has already come.
    static func tlsPending(_ conn: OpaquePointer?) -> Bool {
        guard PQsslInUse(conn) == 1, let ssl = PQsslStruct(conn, "OpenSSL") else { return false }
        return SSL_pending(ssl) > 0
    }

    /// The last result of a statement sent (`sent`: libpq took it), as PQexec gives it.
    func lastResult(_ conn: OpaquePointer?, sent: Int32) async -> OpaquePointer? {
        guard sent == 1 else { return nil }
        var last: OpaquePointer? = nil
        while let res = await result(conn) {
            if let l = last { PQclear(l) }
            last = res
        }
        return last
    }
}

/// A value handed from a thread to the loop once (a connection no one else holds).
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
