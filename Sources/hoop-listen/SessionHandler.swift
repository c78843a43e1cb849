import Foundation
import HoopFrames
import NIOCore
import NIOSSL
import NIOTLS

/// What every session shares.
final class ListenEnvironment: @unchecked Sendable {
    let ring: RingLink
    let registry: SessionRegistry
    /// The stamps a response frame must carry to be delivered (`--require`).
    let require: [String]
    /// The front door's certificate and who must use it (docs/tls.md).
    let tls: FrontTLS
    let openTimeout: TimeAmount = .seconds(30)
    let startupTimeout: TimeAmount = .seconds(60)

    init(ring: RingLink, registry: SessionRegistry, require: [String], tls: FrontTLS) {
        self.ring = ring
        self.registry = registry
        self.require = require
        self.tls = tls
    }
}

/// One client connection, in phases as pgbouncer's client.c has them: the startup
/// handshake and TLS (SessionHandler+Startup), client messages into request frames
/// (+Requests), response frames into backend messages (+Responses); the ordering and
/// credit rules are a value of their own (SessionOrder). All its state is touched on
/// its channel's event loop only (the ring link calls `receive` there).
final class SessionHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = FrontendMessage
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum State { case startup, password, opening, ready, closing, closed }

    let env: ListenEnvironment
    var context: ChannelHandlerContext?
    var state = State.startup
    var timer: Scheduled<Void>?

    // The session.
    var sessionID: String?
    var user = "", database = "", clientAddr = "", clientPort = 0
    var parameters: [(String, String)] = []
    var cancelKey: UInt64?
    var txStatus = UInt8(ascii: "I")
    var closeEmitted = false
    var closeReason = "disconnect"

    // Encryption negotiation (docs/tls.md): each request kind once, as the server
    // allows; `tlsVersion` is set once the handshake is done.
    var sslRequested = false, gssRequested = false
    var encrypted = false
    var tlsVersion: String?

    /// Ordering and credit rules (SessionOrder); this handler carries out what it says.
    var order = SessionOrder()
    var resultFormats = ResultFormats()
    var copyChunks: [JSON] = []
    var copyBytes = 0
    /// Messages that arrived before ReadyForQuery.
    var early: [(UInt8, ByteBuffer)] = []
    /// Notices that came before the session opened (hoop-approve's "access is held"):
    /// libpq reads nothing but authentication or an error before AuthenticationOk, so
    /// they wait for it.
    var openingNotices: [[String: JSON]] = []

    // Flow control.
    var creditTimer: Scheduled<Void>?
    var readHeld = false
    var waitingForRing = false
    /// copy_data frames hoop-connect has not yet handed to the server (copy_credit).
    var copyInFlight = 0
    static let copyWindow = 8

    init(env: ListenEnvironment) { self.env = env }

    // MARK: channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        env.registry.addConnection(SessionHandle(eventLoop: context.eventLoop, handler: self))
        if let remote = context.channel.remoteAddress {
            clientAddr = remote.ipAddress ?? "\(remote)"
            clientPort = remote.port ?? 0
        }
        timer = context.eventLoop.scheduleTask(in: env.startupTimeout) { [weak self] in
            guard let self, self.state == .startup || self.state == .password else { return }
            self.closeReason = "startup_timeout"
            self.closeNow()
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        creditTimer?.cancel()
        if sessionID != nil && !closeEmitted {
            emitClose(closeReason)
        }
        if let id = sessionID {
            logLine(RingLink.stage, "session \(id) closed: \(closeReason)")
        }
        env.registry.remove(self, session: sessionID, cancelKey: cancelKey)
        state = .closed
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // Socket errors (reset, broken pipe): the connection is gone. Never log content.
        // A failed TLS handshake is worth a line: the library's reason (a protocol
        // fact such as WRONG_VERSION_NUMBER), never bytes the client sent.
        if case NIOSSLError.handshakeFailed(let why) = error {
            logLine(RingLink.stage, "client \(clientAddr):\(clientPort): TLS handshake failed: \(FrontTLS.reason(why))")
        }
        if state != .closed { closeNow() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event,
           let tls = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self) {
            tlsVersion = tls.tlsVersion.map(Self.name) ?? "TLS"
        }
        context.fireUserInboundEventTriggered(event)
    }

    static func name(_ v: TLSVersion) -> String {
        switch v {
        case .tlsv1: return "TLSv1"
        case .tlsv11: return "TLSv1.1"
        case .tlsv12: return "TLSv1.2"
        case .tlsv13: return "TLSv1.3"
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { resumeReading() }
        context.fireChannelWritabilityChanged()
    }

    /// Reads are held while the client's socket is not taking our writes, while the
    /// ring's outbound queue is congested, or while a window of COPY data is on its way
    /// to the server (a COPY FROM STDIN goes at the server's pace, held nowhere).
    func read(context: ChannelHandlerContext) {
        if mustHoldReads() {
            readHeld = true
            return
        }
        context.read()
    }

    func mustHoldReads() -> Bool {
        guard let context else { return true }
        if state == .closing { return false }
        if state == .opening || !context.channel.isWritable { return true }
        if waitingForRing || copyInFlight >= Self.copyWindow { return true }
        if env.ring.whenDrained({ [weak self] in
            guard let self else { return }
            self.waitingForRing = false
            self.resumeReading()
        }) {
            waitingForRing = true
            return true
        }
        return false
    }

    func resumeReading() {
        guard readHeld, let context, !mustHoldReads() else { return }
        readHeld = false
        context.read()
    }

    // MARK: ending

    /// Sends a FATAL ErrorResponse, tells the ring (when a session was opened), closes.
    func fatal(_ code: String, _ message: String, reason: String, grace: TimeAmount = .seconds(2)) {
        guard let context, state != .closing, state != .closed else { return }
        var b = context.channel.allocator.buffer(capacity: 64 + message.utf8.count)
        Backend.error(&b, severity: "FATAL", code: code, message: message)
        finish(with: b, reason: reason, grace: grace)
    }

    /// Writes `last`, emits session_close, then closes the write side only: the client
    /// reads `last` and an end of stream, and what it still sends is read and dropped
    /// until its own end of stream (or a grace period, for a client that does not
    /// close). A full close here would meet a query already in the socket's receive
    /// buffer and turn into a reset, which can destroy `last` before the client reads it.
    func finish(with last: ByteBuffer, reason: String, grace: TimeAmount = .seconds(2)) {
        guard let context, state != .closing, state != .closed else { return }
        state = .closing
        closeReason = reason
        emitClose(reason)
        timer?.cancel()
        creditTimer?.cancel()
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(last)).whenComplete { _ in
            channel.close(mode: .output).whenFailure { _ in channel.close(promise: nil) }
        }
        timer = context.eventLoop.scheduleTask(in: grace) { channel.close(promise: nil) }
        // Drop what the client sends from now on (channelRead ignores it) rather than
        // leave it unread: reads held for flow control are let go.
        if readHeld {
            readHeld = false
            context.read()
        }
    }

    func closeNow() {
        guard let context, state != .closed else { return }
        if state != .closing { state = .closing }
        context.close(promise: nil)
    }

    /// The ring is going down: every client learns it and is let go.
    func ringRestarting() -> EventLoopFuture<Void>? {
        guard let context, state != .closed else { return nil }
        let closed = context.channel.closeFuture
        if state == .closing { return closed }
        fatal("57P01", "hoop: the ring is restarting", reason: "shutdown", grace: .milliseconds(900))
        return closed
    }
}
