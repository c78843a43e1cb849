import Foundation
import HoopFrames
import NIOCore

/// A session's handler and the event loop it lives on: everything that touches the
/// handler runs there.
struct SessionHandle {
    let eventLoop: EventLoop
    let handler: SessionHandler
}

/// Every client connection, the sessions by id (once `session_open` is sent) and by
/// their BackendKeyData (for CancelRequest). Used on the event loop and by the way
/// down (another thread); a lock guards it and is never held while calling out.
final class SessionRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var connections: [ObjectIdentifier: SessionHandle] = [:]
    private var sessions: [String: SessionHandle] = [:]
    private var cancelKeys: [UInt64: String] = [:]
    /// Sessions closed lately: frames still in the ring for them are dropped quietly.
    private var recentlyClosed: Set<String> = []
    private var recentOrder: [String] = []
    private var counter: UInt64 = 0
    /// The door's prefix (Ring.postgresDoor: every id this door makes begins with it),
    /// then a random part per process, so that ids stay unique across restarts.
    private let prefix: String = {
        var g = SystemRandomNumberGenerator()
        let hex = String(g.next() & 0xFFFF_FFFF_FFFF, radix: 16)
        return Ring.postgresDoor + "s" + String(repeating: "0", count: 12 - hex.count) + hex
    }()

    /// True for a session this door made (whether or not it is still open).
    func owns(_ session: String) -> Bool { session.hasPrefix(Ring.postgresDoor) }

    func newSessionID() -> String {
        lock.lock(); defer { lock.unlock() }
        counter += 1
        return "\(prefix)-\(counter)"
    }

    func addConnection(_ h: SessionHandle) {
        lock.lock(); connections[ObjectIdentifier(h.handler)] = h; lock.unlock()
    }

    func register(session id: String, _ h: SessionHandle) {
        lock.lock(); sessions[id] = h; lock.unlock()
    }

    /// A fresh BackendKeyData for the session: a random pid and secret of our own.
    func newCancelKey(for id: String) -> (pid: Int32, secret: Int32) {
        lock.lock(); defer { lock.unlock() }
        while true {
            let pid = Int32.random(in: 1...Int32.max)
            let secret = Int32(bitPattern: UInt32.random(in: 0...UInt32.max))
            let key = Self.key(pid, secret)
            if cancelKeys[key] == nil {
                cancelKeys[key] = id
                return (pid, secret)
            }
        }
    }

    static func key(_ pid: Int32, _ secret: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: pid)) << 32 | UInt64(UInt32(bitPattern: secret))
    }

    func lookup(_ id: String) -> SessionHandle? {
        lock.lock(); defer { lock.unlock() }
        return sessions[id]
    }

    func lookupCancel(pid: Int32, secret: Int32) -> SessionHandle? {
        lock.lock(); defer { lock.unlock() }
        guard let id = cancelKeys[Self.key(pid, secret)] else { return nil }
        return sessions[id]
    }

    func wasRecentlyClosed(_ id: String) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return recentlyClosed.contains(id)
    }

    func remove(_ handler: SessionHandler, session id: String?, cancelKey: UInt64?) {
        lock.lock(); defer { lock.unlock() }
        connections[ObjectIdentifier(handler)] = nil
        if let cancelKey { cancelKeys[cancelKey] = nil }
        guard let id else { return }
        sessions[id] = nil
        if recentlyClosed.insert(id).inserted {
            recentOrder.append(id)
            if recentOrder.count > 4096 {
                let old = recentOrder.prefix(1024)
                recentOrder.removeFirst(1024)
                for o in old { recentlyClosed.remove(o) }
            }
        }
    }

    func allConnections() -> [SessionHandle] {
        lock.lock(); defer { lock.unlock() }
        return Array(connections.values)
    }

    var sessionCount: Int {
        lock.lock(); defer { lock.unlock() }
        return sessions.count
    }
}
