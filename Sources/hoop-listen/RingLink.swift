import Foundation
import HoopFrames
import NIOCore
import NIOPosix

/// What the ring hands a session, in order.
enum RingItem {
    case frame(Frame)
    /// A `rows` frame already turned into DataRow messages (RowsFrame); the frame
    /// keeps its header and stamps.
    case rows(Frame, ByteBuffer)
    /// A line for this session that could not be read (code, message: no content).
    case broken(code: String, message: String)
}

/// hoop-listen's two ends of the ring, on the one event loop its client sessions run
/// on: a frame from the ring reaches its session, and a request reaches the ring, with
/// no thread hand-off.
///
/// Out (stdout): what sessions send in one turn of the loop is written at its end in
/// one write, however many sessions wrote. Past a high-water mark of unwritten bytes,
/// sessions stop reading from their clients until it drains, so a stalled ring bounds
/// memory instead of growing it.
///
/// In (stdin): read whenever it is readable, never held back, so the ring can never
/// deadlock on hoop-listen; the frames of one read go to each session together.
final class RingLink: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let stage = "hoop-listen"
    static let highWater = 8 << 20
    static let lowWater = 1 << 20

    let registry: SessionRegistry
    let loop: EventLoop
    private let allocator = ByteBufferAllocator()
    private let tap = Tap(stage: RingLink.stage)
    private var channel: Channel?
    /// Frames sent in this turn of the loop, written at its end.
    private var outgoing: ByteBuffer
    private var flushScheduled = false
    private var broken = false
    private var down = false
    private var drainWaiters: [() -> Void] = []
    private let lines = LineReader(fd: -1)
    /// The frames of one read, by session in order of arrival.
    private var batch: [String: (SessionHandle, [RingItem])] = [:]
    private var order: [String] = []

    /// Called once, on the loop, when stdin ends or stdout breaks.
    var onRingDown: ((String) -> Void)?

    init(registry: SessionRegistry, loop: EventLoop) {
        self.registry = registry
        self.loop = loop
        outgoing = allocator.buffer(capacity: 1 << 16)
    }

    /// Opens the ring's ends (stdin, stdout: pipes or sockets) on the loop.
    func start() throws {
        let link = self
        _ = try NIOPipeBootstrap(group: loop)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.writeBufferWaterMark, value: .init(low: Self.lowWater, high: Self.highWater))
            .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 4096, initial: 1 << 16, maximum: 1 << 20))
            .channelInitializer { ch in ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(link) } }
            .takingOwnershipOfDescriptors(input: 0, output: 1).wait()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        channel = context.channel
        scheduleFlush()   // what sessions sent before the ring was open
    }

    // MARK: out

    func send(_ frame: Frame) { send(frame.encoded()) }

    func send(_ bytes: [UInt8]) {
        guard loop.inEventLoop else { return loop.execute { self.send(bytes) } }
        guard !broken else { return }
        outgoing.writeBytes(bytes)
        scheduleFlush()
    }

    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        // Runs after the loop has handled every ready socket of this turn.
        loop.execute { self.flushOut(promise: nil) }
    }

    private func flushOut(promise: EventLoopPromise<Void>?) {
        flushScheduled = false
        guard let channel, !broken else { promise?.succeed(()); return }
        outgoing.withUnsafeReadableBytes { tap.copy($0) }
        let chunk = outgoing
        outgoing = allocator.buffer(capacity: 1 << 16)
        guard chunk.readableBytes > 0 || promise != nil else { return }
        channel.writeAndFlush(wrapOutboundOut(chunk), promise: promise)
    }

    /// True (and `body` kept, to run on the loop once the backlog is below the low-water
    /// mark) while the ring is congested; false (nothing kept) when it is not.
    func whenDrained(_ body: @escaping () -> Void) -> Bool {
        // Sessions and the ring share one loop (Gateway): its state is the loop's alone.
        loop.preconditionInEventLoop()
        guard !broken, outgoing.readableBytes > Self.highWater || !(channel?.isWritable ?? true) else { return false }
        drainWaiters.append(body)
        return true
    }

    private func runDrainWaiters() {
        let waiters = drainWaiters
        drainWaiters = []
        waiters.forEach { $0() }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { runDrainWaiters() }
    }

    /// Waits until everything sent is written, at most `seconds` (from another thread).
    func drain(seconds: Double) {
        let done = DispatchSemaphore(value: 0)
        loop.execute {
            let promise = self.loop.makePromise(of: Void.self)
            promise.futureResult.whenComplete { _ in done.signal() }
            self.flushOut(promise: promise)
        }
        _ = done.wait(timeout: .now() + seconds)
    }

    private func ringDown(_ why: String) {
        guard !down else { return }
        down = true
        onRingDown?(why)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // stdout gone (EPIPE): nothing more can be recorded; sessions are let go.
        broken = true
        outgoing.clear()
        runDrainWaiters()
        ringDown("stdout is closed")
        context.close(promise: nil)
    }

    // MARK: in

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        buffer.withUnsafeReadableBytes { bytes in lines.feed(bytes) { handle($0) } }
    }

    func channelReadComplete(context: ChannelHandlerContext) { deliver() }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case ChannelEvent.inputClosed = event else { return context.fireUserInboundEventTriggered(event) }
        lines.finish { handle($0) }
        deliver()
        ringDown("end of input")
    }

    func channelInactive(context: ChannelHandlerContext) {
        broken = true
        runDrainWaiters()
        ringDown("end of input")
    }

    private func handle(_ item: LineReader.Item) {
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

    private func add(_ id: String, _ h: SessionHandle, _ item: RingItem) {
        if batch[id] == nil { batch[id] = (h, [item]); order.append(id) } else { batch[id]!.1.append(item) }
    }

    /// Hands each session the frames of this read (one client write each).
    private func deliver() {
        let ids = order, items = batch
        order.removeAll(keepingCapacity: true)
        batch.removeAll(keepingCapacity: true)
        for id in ids {
            guard let (h, frames) = items[id] else { continue }
            if h.eventLoop.inEventLoop { h.handler.receive(frames) } else { h.eventLoop.execute { h.handler.receive(frames) } }
        }
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
