import Foundation
import HoopFrames
import NIOCore

/// What the ring hands a session, in order.
enum RingItem {
    case frame(Frame)
    /// A `rows` frame already turned into DataRow messages (RowsFrame); the frame
    /// keeps its header and stamps.
    case rows(Frame, ByteBuffer)
    /// A line for this session that could not be read (code, message: no content).
    case broken(code: String, message: String)
}

/// hoop-listen's two ends of the ring.
///
/// Out (stdout): event loops queue encoded frames without blocking; one writer thread
/// writes them through the stage's FrameWriter (blocking writes, tap copies). When the
/// queue grows past a high-water mark, sessions stop reading from their clients until
/// it drains, so a stalled ring bounds memory instead of growing it.
///
/// In (stdin): one reader thread that blocks on nothing but read(): it decodes each
/// frame and hands it to its session's event loop, so the ring can never deadlock on
/// hoop-listen.
final class RingLink: @unchecked Sendable {
    static let stage = "hoop-listen"
    static let highWater = 8 << 20
    static let lowWater = 1 << 20

    let writer = FrameWriter(fd: 1, stage: RingLink.stage)
    let registry: SessionRegistry
    private let allocator = ByteBufferAllocator()
    private let cond = NSCondition()
    private var queue: [UInt8] = []
    private var spare: [UInt8] = []
    private var backlog = 0
    private var broken = false
    private var drainWaiters: [(EventLoop, () -> Void)] = []

    /// Called once, from a ring thread, when stdin ends or stdout breaks.
    var onRingDown: ((String) -> Void)?

    init(registry: SessionRegistry) {
        self.registry = registry
        queue.reserveCapacity(1 << 16)
        spare.reserveCapacity(1 << 16)
    }

    func start() {
        let w = Thread { [self] in writerLoop() }
        w.name = "hoop-listen ring out"
        w.start()
        let r = Thread { [self] in readerLoop() }
        r.name = "hoop-listen ring in"
        r.start()
    }

    // MARK: out

    func send(_ frame: Frame) { send(frame.encoded()) }

    func send(_ bytes: [UInt8]) {
        cond.lock()
        if !broken {
            queue.append(contentsOf: bytes)
            backlog += bytes.count
            cond.signal()
        }
        cond.unlock()
    }

    /// Runs `body` on `loop` once the backlog is below the low-water mark. Returns false
    /// (and keeps nothing) when the ring is not congested now.
    func whenDrained(on loop: EventLoop, _ body: @escaping () -> Void) -> Bool {
        cond.lock(); defer { cond.unlock() }
        guard backlog > Self.highWater else { return false }
        drainWaiters.append((loop, body))
        return true
    }

    /// Waits until everything queued is written, at most `seconds`.
    func drain(seconds: Double) {
        let deadline = Date(timeIntervalSinceNow: seconds)
        cond.lock(); defer { cond.unlock() }
        while backlog > 0 && !broken {
            if !cond.wait(until: deadline) { return }
        }
    }

    private func writerLoop() {
        while true {
            cond.lock()
            while queue.isEmpty { cond.wait() }
            swap(&queue, &spare)
            cond.unlock()
            do {
                try writer.write(spare)
            } catch {
                cond.lock()
                broken = true
                queue.removeAll(); backlog = 0
                let waiters = drainWaiters; drainWaiters = []
                cond.broadcast()
                cond.unlock()
                for (loop, body) in waiters { loop.execute(body) }
                onRingDown?("stdout is closed")
                return
            }
            cond.lock()
            backlog -= spare.count
            spare.removeAll(keepingCapacity: spare.capacity <= (4 << 20))
            var waiters: [(EventLoop, () -> Void)] = []
            if backlog <= Self.lowWater { waiters = drainWaiters; drainWaiters = [] }
            cond.broadcast()
            cond.unlock()
            for (loop, body) in waiters { loop.execute(body) }
        }
    }

    // MARK: in

    private func readerLoop() {
        let reader = LineReader(fd: 0)
        // Frames of one read, grouped by session in order: one hop to each event loop.
        var batch: [String: (SessionHandle, [RingItem])] = [:]
        var order: [String] = []
        func add(_ id: String, _ h: SessionHandle, _ item: RingItem) {
            if batch[id] == nil { batch[id] = (h, [item]); order.append(id) } else { batch[id]!.1.append(item) }
        }
        var more = true
        while more {
            more = reader.readBatch { item in
                switch item {
                case .line(let bytes):
                    route(bytes, add)
                case .oversize(let prefix, let length):
                    let (session, _) = FrameHeader.salvage(prefix)
                    logLine(Self.stage, "refused a frame of \(length) bytes (limit \(maxFrameBytes))"
                            + (session.map { " for session \($0)" } ?? ""))
                    if let session, let h = registry.lookup(session) {
                        add(session, h, .broken(code: "54000", message: "frame too large"))
                    } else if let session, !registry.owns(session) {
                        // Another door's: it cannot have the frame, but it learns why its session ends.
                        send(Frame.stageError(stage: Self.stage, session: session, seq: nil, code: "54000", message: "frame too large"))
                    }
                }
            }
            for id in order {
                guard let (h, items) = batch[id] else { continue }
                h.eventLoop.execute { h.handler.receive(items) }
            }
            batch.removeAll(keepingCapacity: true)
            order.removeAll(keepingCapacity: true)
        }
        onRingDown?("end of input")
    }

    private func route(_ line: UnsafeRawBufferPointer, _ add: (String, SessionHandle, RingItem) -> Void) {
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }
        // Fast path: the header says what the frame is and whose it is, so frames that
        // are not ours (requests coming round, credits, dead sessions) are never parsed.
        if let header = FrameHeader.peek(line), let session = header.session {
            guard registry.owns(session) else { return pass(line) }
            if Self.ignored(header.type) { return }
            guard let h = target(session, type: header.type) else { return }
            if header.type == FrameType.rows { return addRows(line, session, h, add) }
            do {
                add(session, h, .frame(try Frame.decode(line)))
            } catch {
                logLine(Self.stage, "malformed frame of \(line.count) bytes for session \(session)")
                add(session, h, .broken(code: "08P01", message: "malformed frame"))
            }
            return
        }
        let frame: Frame
        do {
            frame = try Frame.decode(line)
        } catch {
            let (session, _) = FrameHeader.salvage(line)
            guard let session, registry.owns(session) else { return pass(line) }   // the stage after the doors reads it
            logLine(Self.stage, "malformed frame of \(line.count) bytes for session \(session)")
            if let h = registry.lookup(session) {
                add(session, h, .broken(code: "08P01", message: "malformed frame"))
            }
            return
        }
        // Ring-level frames and other doors' sessions pass on: the first stage after the
        // doors ends what has been round.
        guard let session = frame.session, registry.owns(session) else { return pass(line) }
        if Self.ignored(frame.type) { return }
        guard let h = target(session, type: frame.type) else { return }
        if frame.type == FrameType.rows { return addRows(line, session, h, add) }
        add(session, h, .frame(frame))
    }

    /// A frame this door does not own, on to the next stage byte for byte.
    private func pass(_ line: UnsafeRawBufferPointer) {
        var bytes = [UInt8](line)
        bytes.append(0x0A)
        send(bytes)
    }

    /// Rows go to the client only as the rows codec reads them.
    private func addRows(_ line: UnsafeRawBufferPointer, _ session: String, _ h: SessionHandle,
                         _ add: (String, SessionHandle, RingItem) -> Void) {
        if let (frame, wire) = RowsFrame.decode(line, allocator: allocator) {
            add(session, h, .rows(frame, wire))
        } else {
            logLine(Self.stage, "malformed rows frame of \(line.count) bytes for session \(session)")
            add(session, h, .broken(code: "08P01", message: "malformed frame"))
        }
    }

    /// Request frames come round the ring for the audit trail; credits are ours.
    static func ignored(_ type: String) -> Bool {
        FrameType.requests.contains(type) || type == FrameType.sessionClose || type == FrameType.credit || type == FrameType.refused || type == FrameType.masked
            || type == FrameType.hold || type == FrameType.deny || type == FrameType.approved || type == FrameType.decision
    }

    static func loggable(_ type: String) -> String { Ring.loggable(type) }

    private func target(_ session: String, type: String) -> SessionHandle? {
        if let h = registry.lookup(session) { return h }
        if !registry.wasRecentlyClosed(session) {
            logLine(Self.stage, "\(Self.loggable(type)) frame for unknown session \(session) ignored")
        }
        return nil
    }
}
