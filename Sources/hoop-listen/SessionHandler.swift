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

/// One client connection: the startup handshake, client messages into request frames,
/// response frames into backend messages, flow control. All its state is touched on
/// its channel's event loop only (the ring reader hops there with `receive`).
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
    var seq: Int64 = 0
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

    // Replies made here keep their place among the upstream's: a reply is held until
    // every request forwarded before it has been answered.
    struct LocalReply {
        enum Kind { case error(code: String, message: String), ready }
        let kind: Kind
        /// The last request forwarded before it.
        let after: Int64
        /// Extended protocol: the first request of its Sync batch. An upstream error in
        /// [batchStart, after] comes first and makes this one moot (the server skips
        /// to Sync after its first error).
        let batchStart: Int64?
    }
    var outstanding: [(seq: Int64, kind: RequestKind)] = []
    var localReplies: [LocalReply] = []
    var skipUntilSync = false
    var batchStart: Int64 = 1
    var resultFormats = ResultFormats()
    /// After a refusal found in the answers, until ReadyForQuery.
    var discardingAnswers = false
    var copyChunks: [JSON] = []
    var copyBytes = 0
    /// Messages that arrived before ReadyForQuery.
    var early: [(UInt8, ByteBuffer)] = []
    /// Notices that came before the session opened (hoop-approve's "access is held"):
    /// libpq reads nothing but authentication or an error before AuthenticationOk, so
    /// they wait for it.
    var openingNotices: [[String: JSON]] = []

    // Flow control.
    var deferredCredits = 0
    var creditTimer: Scheduled<Void>?
    var readHeld = false
    var waitingForRing = false

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

    /// Reads are held while the client's socket is not taking our writes, or while the
    /// ring's outbound queue is congested.
    func read(context: ChannelHandlerContext) {
        if mustHoldReads() {
            readHeld = true
            return
        }
        context.read()
    }

    private func mustHoldReads() -> Bool {
        guard let context else { return true }
        if state == .opening || !context.channel.isWritable { return true }
        if waitingForRing { return true }
        if env.ring.whenDrained(on: context.eventLoop, { [weak self] in
            guard let self else { return }
            self.waitingForRing = false
            self.resumeReading()
        }) {
            waitingForRing = true
            return true
        }
        return false
    }

    private func resumeReading() {
        guard readHeld, let context, !mustHoldReads() else { return }
        readHeld = false
        context.read()
    }

    // MARK: client messages

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        switch state {
        case .closing, .closed:
            return
        case .startup:
            startupMessage(message)
        case .password, .opening, .ready:
            switch message {
            case .message(let type, let body):
                typedMessage(type: type, body: body)
            case .violation(let v):
                fatal(v.code, v.message, reason: "protocol_error")
            default:
                fatal(ProtocolViolation.invalidMessage.code, ProtocolViolation.invalidMessage.message, reason: "protocol_error")
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushCopyData()
        context.flush()
        context.fireChannelReadComplete()
    }

    private func startupMessage(_ message: FrontendMessage) {
        guard let context else { return }
        switch message {
        case .sslRequest:
            // A second one, or one inside TLS, is no protocol request: the server's words.
            if sslRequested { return fatal("0A000", "unsupported frontend protocol 1234.5679: server supports 3.0 to 3.0", reason: "protocol_error") }
            sslRequested = true
            var b = context.channel.allocator.buffer(capacity: 1)
            guard let tls = env.tls.context else {
                b.writeInteger(UInt8(ascii: "N"))
                return context.writeAndFlush(wrapOutboundOut(b), promise: nil)
            }
            // 'S' leaves in clear; everything after it goes through TLS. The decoder
            // has refused bytes that came with the request (they were not encrypted),
            // and the handler is in place before the next read.
            b.writeInteger(UInt8(ascii: "S"))
            context.writeAndFlush(wrapOutboundOut(b), promise: nil)
            do {
                try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls), position: .first)
                encrypted = true
            } catch {
                logLine(RingLink.stage, "client \(clientAddr):\(clientPort): cannot start TLS: \(error)")
                closeNow()
            }
        case .gssEncRequest:
            // Never offered; inside TLS, or asked twice, it is no protocol request.
            if gssRequested || encrypted { return fatal("0A000", "unsupported frontend protocol 1234.5680: server supports 3.0 to 3.0", reason: "protocol_error") }
            gssRequested = true
            var b = context.channel.allocator.buffer(capacity: 1)
            b.writeInteger(UInt8(ascii: "N"))
            context.writeAndFlush(wrapOutboundOut(b), promise: nil)
        case .cancel(let pid, let secret):
            // Never answered; the socket just closes.
            if let target = env.registry.lookupCancel(pid: pid, secret: secret) {
                target.eventLoop.execute { target.handler.cancelRequested() }
            }
            closeReason = "cancel_request"
            closeNow()
        case .startup(let minor, let params):
            startup(minor: minor, params: params)
        case .message:
            fatal("08P01", "invalid frontend message", reason: "protocol_error")
        case .violation(let v):
            fatal(v.code, v.message, reason: "protocol_error")
        }
    }

    private func startup(minor: Int, params: [(String, String)]) {
        guard let context else { return }
        var values: [String: String] = [:]
        for (k, v) in params { values[k] = v }
        guard let user = values["user"], !user.isEmpty else {
            return fatal("28000", "no PostgreSQL user name specified in startup packet", reason: "protocol_error")
        }
        self.user = user
        let db = values["database"] ?? ""
        database = db.isEmpty ? user : db
        // Before the password is asked for: the password is a bearer token, and a
        // client that must encrypt never gets to send it in clear.
        if !encrypted && env.tls.mustEncrypt(context.channel.remoteAddress) {
            logLine(RingLink.stage, "client \(clientAddr):\(clientPort): startup without TLS refused (listen.tls.require \(env.tls.require.rawValue))")
            return fatal("28000", FrontTLS.refusal(host: clientAddr, user: user, database: database), reason: "tls_required")
        }
        parameters = params
        var b = context.channel.allocator.buffer(capacity: 64)
        let unrecognized = params.map(\.0).filter { $0.hasPrefix("_pq_.") }
        if minor > 0 || !unrecognized.isEmpty {
            Backend.negotiateProtocolVersion(&b, unrecognized: unrecognized)
        }
        Backend.authenticationCleartextPassword(&b)
        context.writeAndFlush(wrapOutboundOut(b), promise: nil)
        state = .password
    }

    private func typedMessage(type: UInt8, body: ByteBuffer) {
        // Sent ahead of ReadyForQuery: kept (reads are held meanwhile) and handled once
        // the session is open, as the server would.
        if state == .opening && type != UInt8(ascii: "X") {
            guard early.count < 64 else { return fatal("08P01", "invalid frontend message", reason: "protocol_error") }
            early.append((type, body))
            return
        }
        // After an error in the extended protocol everything up to Sync is discarded
        // unread, as the server does.
        if state == .ready && skipUntilSync && type != UInt8(ascii: "S") && type != UInt8(ascii: "X") { return }
        let message: ClientMessage
        do {
            message = try ClientMessage.parse(type: type, body: body)
        } catch MessageProblem.invalidUTF8 where state == .ready {
            return localError(for: type, code: "22021", message: "invalid byte sequence for encoding \"UTF8\"")
        } catch MessageProblem.unsupportedFormat(let code) where state == .ready {
            return localError(for: type, code: "22023", message: "unsupported format code: \(code)")
        } catch {
            return fatal("08P01", "invalid message format", reason: "protocol_error")
        }
        switch state {
        case .password:
            guard case .password(let credential) = message else {
                if case .terminate = message { closeReason = "terminate"; return closeNow() }
                return fatal("08P01", "expected password response", reason: "protocol_error")
            }
            open(credential: credential)
        case .opening:
            if case .terminate = message {
                closeReason = "terminate"
                emitClose("terminate")
                return closeNow()
            }
        case .ready:
            forward(message)
        default:
            return
        }
    }

    private func open(credential: String) {
        guard let context else { return }
        let id = env.registry.newSessionID()
        sessionID = id
        env.registry.register(session: id, SessionHandle(eventLoop: context.eventLoop, handler: self))
        state = .opening
        timer?.cancel()
        timer = context.eventLoop.scheduleTask(in: env.openTimeout) { [weak self] in
            guard let self, self.state == .opening else { return }
            self.fatal("08006", "hoop: the gateway did not open the session in time", reason: "open_timeout")
        }
        logLine(RingLink.stage, "session \(id) open: user=\(Self.printable(user)) database=\(Self.printable(database)) client=\(clientAddr):\(clientPort)")
        let frame = SessionFrames.open(session: id, user: user, database: database, parameters: parameters,
                                       credential: credential, clientAddr: clientAddr, clientPort: clientPort,
                                       tls: tlsVersion)
        let bytes = frame.encoded()
        guard bytes.count - 1 <= maxFrameBytes else {
            return fatal("54000", "message too large", reason: "protocol_error")
        }
        env.ring.send(bytes)
        parameters = []
    }

    /// A client-given name for a log line: no control characters (one line per event),
    /// at most 64 characters.
    static func printable(_ s: String) -> String {
        let cut = s.unicodeScalars.prefix(64).map { $0.properties.generalCategory == .control ? "?" : String($0) }.joined()
        return s.unicodeScalars.count > 64 ? cut + "…" : cut
    }

    private func forward(_ message: ClientMessage) {
        if case .terminate = message {
            closeReason = "terminate"
            emitClose("terminate")
            return closeNow()
        }
        if skipUntilSync {
            guard case .sync = message else { return }
            skipUntilSync = false
        }
        // COPY data is a stream: the CopyData of one read go as one frame (pgbench sends
        // a message per row, which would otherwise be a frame per row).
        if case .copyData(let data) = message {
            copyChunks.append(data)
            copyBytes += data.string?.utf8.count ?? data["base64"]?.string?.utf8.count ?? 0
            if copyBytes >= 256 * 1024 { flushCopyData() }
            return
        }
        flushCopyData()
        switch message {
        case .functionCall:
            return localError(for: UInt8(ascii: "F"), code: "0A000", message: "the function call protocol is not supported yet")
        default:
            break
        }
        guard let (type, fields, kind) = message.request else { return }
        guard emitRequest(type, fields) else { return }
        if let kind { outstanding.append((seq, kind)) }
        trackFormats(message)
        if case .sync = message { batchStart = seq + 1 }
        if case .query = message { batchStart = seq + 1 }
    }

    /// What binary result columns the client asked for (BinaryResults.swift).
    private func trackFormats(_ message: ClientMessage) {
        switch message {
        case .parse(let name, _, _): resultFormats.parsed(name)
        case .bind(let portal, let statement, _, _, let formats): resultFormats.bound(portal: portal, statement: statement, formats: formats)
        case .describe(let kind, let name): resultFormats.describing(seq: seq, kind: kind, name: name)
        case .close(let kind, let name): resultFormats.closed(kind: kind, name: name)
        case .execute(let portal, _): resultFormats.executing(seq: seq, portal: portal)
        default: break
        }
    }

    /// A refusal found in the answers (a binary column hoop cannot write): the client
    /// gets the error, and the rest of the answers up to ReadyForQuery are dropped, as
    /// the server skips to Sync after an error. What the server already ran, ran.
    private func refuseAnswers(_ refusal: ResultFormats.Refusal, seq: Int64) {
        guard let context, !discardingAnswers else { return }
        recordRefusal(code: refusal.code, message: refusal.message, seq: seq)
        discardingAnswers = true
        var b = context.channel.allocator.buffer(capacity: 128)
        Backend.error(&b, severity: "ERROR", code: refusal.code, message: refusal.message)
        context.write(wrapOutboundOut(b), promise: nil)
    }

    /// A refusal made here goes round the ring too, so that the audit trail holds it.
    private func recordRefusal(code: String, message: String, seq: Int64) {
        guard let id = sessionID else { return }
        env.ring.send(Frame(FrameType.refused, session: id, seq: seq, [
            "stage": .string(RingLink.stage), "code": .string(code), "message": .string(message)]).encoded())
    }

    /// An error answered here rather than upstream: simple-protocol messages get
    /// ErrorResponse then ReadyForQuery; extended ones ErrorResponse, then everything up
    /// to Sync is skipped (the Sync still goes upstream, whose ReadyForQuery ends it).
    private func localError(for type: UInt8, code: String, message: String) {
        recordRefusal(code: code, message: message, seq: seq)
        switch type {
        case UInt8(ascii: "Q"), UInt8(ascii: "F"):
            holdReply(.error(code: code, message: message), batchStart: nil)
            holdReply(.ready, batchStart: nil)
        case UInt8(ascii: "d"):
            holdReply(.error(code: code, message: message), batchStart: nil)
        default:
            holdReply(.error(code: code, message: message), batchStart: batchStart)
            skipUntilSync = true
        }
        context?.flush()
    }

    private func holdReply(_ kind: LocalReply.Kind, batchStart: Int64?) {
        localReplies.append(LocalReply(kind: kind, after: seq, batchStart: batchStart))
        deliverLocalReplies(before: nil)
    }

    /// Writes the held replies that are due: all of those made before request `seq`
    /// when a response to it arrives, and any whose earlier requests are all answered.
    private func deliverLocalReplies(before responseSeq: Int64?) {
        guard let context else { return }
        var b: ByteBuffer?
        while let reply = localReplies.first {
            let due: Bool
            if let responseSeq, reply.after < responseSeq {
                due = true
            } else if let first = outstanding.first {
                due = first.seq > reply.after
            } else {
                due = true
            }
            guard due else { break }
            localReplies.removeFirst()
            if b == nil { b = context.channel.allocator.buffer(capacity: 128) }
            switch reply.kind {
            case .error(let code, let message):
                Backend.error(&b!, severity: "ERROR", code: code, message: message)
            case .ready:
                Backend.readyForQuery(&b!, status: txStatus)
            }
        }
        if let b { context.write(wrapOutboundOut(b), promise: nil) }
    }

    /// Queues a request frame; false (and the session ends) when it is over the limit.
    private func flushCopyData() {
        guard !copyChunks.isEmpty else { return }
        let chunks = copyChunks
        copyChunks = []; copyBytes = 0
        let data: JSON
        if let texts = Optional(chunks.compactMap { $0.string }), texts.count == chunks.count {
            data = .string(texts.joined())
        } else {
            var all = Data()
            for c in chunks {
                if let t = c.string { all.append(contentsOf: Array(t.utf8)) }
                else if let b = c["base64"]?.string, let d = Data(base64Encoded: b) { all.append(d) }
            }
            data = .object(["base64": .string(all.base64EncodedString())])
        }
        _ = emitRequest(FrameType.copyData, ["data": data])
    }

    /// A batch the client's socket took gives its credit back. While a request is in
    /// flight it goes at once (a stream needs it to go on); when the session is idle it
    /// waits for the next request, to travel in the same write (a credit alone wakes
    /// three stages), or for `creditDelay` at most (notifications spend credits while
    /// nothing is asked).
    func returnCredit() {
        deferredCredits += 1
        if !outstanding.isEmpty { return sendCredits() }
        guard creditTimer == nil, let loop = context?.eventLoop else { return }
        creditTimer = loop.scheduleTask(in: Self.creditDelay) { [weak self] in self?.sendCredits() }
    }

    static let creditDelay: TimeAmount = .milliseconds(2)

    private func sendCredits() {
        creditTimer?.cancel()
        creditTimer = nil
        guard deferredCredits > 0, let id = sessionID else { return }
        env.ring.send(SessionFrames.credit(session: id, batches: deferredCredits))
        deferredCredits = 0
    }

    private func emitRequest(_ type: String, _ fields: [String: JSON]) -> Bool {
        guard let id = sessionID else { return false }
        sendCredits()
        seq += 1
        let bytes = Frame(type, session: id, seq: seq, fields).encoded()
        guard bytes.count - 1 <= maxFrameBytes else {
            fatal("54000", "message too large", reason: "protocol_error")
            return false
        }
        env.ring.send(bytes)
        return true
    }

    private func emitClose(_ reason: String) {
        guard let id = sessionID, !closeEmitted else { return }
        closeEmitted = true
        env.ring.send(SessionFrames.close(session: id, reason: reason))
    }

    /// A CancelRequest naming this session's BackendKeyData.
    func cancelRequested() {
        guard state == .ready || state == .opening else { return }
        _ = emitRequest(FrameType.cancel, [:])
    }

    // MARK: ending

    /// Sends a FATAL ErrorResponse, tells the ring (when a session was opened), closes.
    func fatal(_ code: String, _ message: String, reason: String, grace: TimeAmount = .seconds(2)) {
        guard let context, state != .closing, state != .closed else { return }
        var b = context.channel.allocator.buffer(capacity: 64 + message.utf8.count)
        Backend.error(&b, severity: "FATAL", code: code, message: message)
        finish(with: b, reason: reason, grace: grace)
    }

    /// Writes `last`, emits session_close, and closes once the write is done (or after
    /// a grace period, for a client that does not read).
    private func finish(with last: ByteBuffer, reason: String, grace: TimeAmount = .seconds(2)) {
        guard let context, state != .closing, state != .closed else { return }
        state = .closing
        closeReason = reason
        emitClose(reason)
        timer?.cancel()
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(last)).whenComplete { _ in channel.close(promise: nil) }
        timer = context.eventLoop.scheduleTask(in: grace) { channel.close(promise: nil) }
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

    // MARK: response frames

    /// Frames from the ring for this session, in order.
    func receive(_ items: [RingItem]) {
        guard let context else { return }
        for item in items {
            guard state == .opening || state == .ready else { break }
            switch item {
            case .broken(let code, let message):
                logLine(RingLink.stage, "session \(sessionID ?? "-"): unreadable frame from the ring (\(code))")
                fatal(code, "hoop: \(message)", reason: "protocol_error")
            case .frame(let frame):
                response(frame)
            case .rows(let frame, let wire):
                response(frame, wire: wire)
            }
        }
        context.flush()
    }

    private func response(_ frame: Frame, wire: ByteBuffer? = nil) {
        guard let context else { return }
        guard FrameType.responses.contains(frame.type) else {
            logLine(RingLink.stage, "\(RingLink.loggable(frame.type)) frame for session \(sessionID ?? "-") ignored")
            return
        }
        // Fail closed (DESIGN invariant 1): nothing of an unstamped frame goes out.
        for stage in env.require where !frame.stamped(by: stage) {
            logLine(RingLink.stage, "session \(sessionID ?? "-"): \(RingLink.loggable(frame.type)) frame without stamp:\(stage) refused")
            return fatal("XX000", "hoop: a response did not pass the required stages", reason: "unstamped_response")
        }
        if state == .opening { return openingResponse(frame) }

        let type = frame.type
        if let s = frame.seq {
            deliverLocalReplies(before: s)
            if type == FrameType.error {
                localReplies.removeAll { r in
                    guard let start = r.batchStart else { return false }
                    return start <= s && s <= r.after
                }
            }
        }

        if discardingAnswers && Self.skippedAfterError.contains(type) && frame["fatal"]?.bool != true {
            if Self.creditSpending.contains(type) { returnCredit() }
            return settle(frame)
        }
        if type == FrameType.columns, frame["for"]?.string == "execute" {
            // Types for binary columns, not a RowDescription: the client did not Describe.
            if let s = frame.seq { resultFormats.announced(frame, seq: s) }
            return
        }
        var frame = frame
        var binaryRows: BinaryPlan?
        do {
            if type == FrameType.columns, let s = frame.seq { frame = try resultFormats.describe(frame, seq: s) }
            if type == FrameType.rows, let s = frame.seq { binaryRows = try resultFormats.plan(forExecute: s) }
        } catch let refusal as ResultFormats.Refusal {
            refuseAnswers(refusal, seq: frame.seq ?? seq)
            if Self.creditSpending.contains(type) { returnCredit() }
            return settle(frame)
        } catch {
            return fatal("08P01", "hoop: malformed response frame", reason: "protocol_error")
        }

        var b = context.channel.allocator.buffer(capacity: 64)
        do {
            switch type {
            case FrameType.rows, FrameType.copyOutData, FrameType.notice, FrameType.notification:
                if let wire { b = wire }
                else if type == FrameType.rows { throw FrameShapeError() }   // rows come through RowsFrame
                else if type == FrameType.notice { Backend.notice(&b, type: UInt8(ascii: "N"), fields: frame.fields, fatal: false) }
                else if type == FrameType.notification { Backend.notification(&b, ownPID(frame)) }
                else { try Backend.copyData(&b, frame) }
                if let binaryRows {
                    do {
                        b = try binaryRows.convert(b, allocator: context.channel.allocator)
                    } catch let refusal as ResultFormats.Refusal {
                        refuseAnswers(refusal, seq: frame.seq ?? seq)
                        returnCredit()
                        return settle(frame)
                    }
                }
                // A batch spent a credit: it comes back once the client's socket took the batch.
                let promise = context.eventLoop.makePromise(of: Void.self)
                promise.futureResult.whenSuccess { [weak self] in self?.returnCredit() }
                context.write(wrapOutboundOut(b), promise: promise)
                settle(frame)
                return
            case FrameType.copyInResponse: try Backend.copyResponse(&b, type: UInt8(ascii: "G"), frame)
            case FrameType.copyOutResponse: try Backend.copyResponse(&b, type: UInt8(ascii: "H"), frame)
            case FrameType.copyOutDone: Backend.empty(&b, UInt8(ascii: "c"))
            case FrameType.columns: try Backend.rowDescription(&b, frame)
            case FrameType.complete: Backend.commandComplete(&b, tag: frame["tag"].flatMap(Backend.scalarText) ?? "")
            case FrameType.empty: Backend.empty(&b, UInt8(ascii: "I"))
            case FrameType.suspended: Backend.empty(&b, UInt8(ascii: "s"))
            case FrameType.parseComplete: Backend.empty(&b, UInt8(ascii: "1"))
            case FrameType.bindComplete: Backend.empty(&b, UInt8(ascii: "2"))
            case FrameType.closeComplete: Backend.empty(&b, UInt8(ascii: "3"))
            case FrameType.noData: Backend.empty(&b, UInt8(ascii: "n"))
            case FrameType.parameters: try Backend.parameterDescription(&b, frame)
            case FrameType.parameterStatus:
                Backend.parameterStatus(&b, name: frame["name"].flatMap(Backend.scalarText) ?? "",
                                        value: frame["value"].flatMap(Backend.scalarText) ?? "")
            case FrameType.error:
                let isFatal = frame["fatal"]?.bool == true
                Backend.notice(&b, type: UInt8(ascii: "E"), fields: frame.fields, fatal: isFatal)
                if isFatal { return finish(with: b, reason: "fatal_error") }
            case FrameType.ready:
                txStatus = Backend.status(frame["status"])
                Backend.readyForQuery(&b, status: txStatus)
            case FrameType.sessionClosed:
                closeReason = "upstream_closed"
                closeEmitted = true
                return closeNow()
            default:
                return
            }
        } catch {
            logLine(RingLink.stage, "session \(sessionID ?? "-"): \(RingLink.loggable(type)) frame of the wrong shape")
            return fatal("08P01", "hoop: malformed response frame", reason: "protocol_error")
        }
        context.write(wrapOutboundOut(b), promise: nil)
        settle(frame)
    }

    /// The answers the server would not send after an error, up to ReadyForQuery.
    static let skippedAfterError: Set<String> = [
        FrameType.rows, FrameType.copyOutData, FrameType.notice, FrameType.columns, FrameType.complete, FrameType.empty, FrameType.suspended, FrameType.parseComplete,
        FrameType.bindComplete, FrameType.closeComplete, FrameType.noData, FrameType.parameters, FrameType.error, FrameType.copyInResponse,
        FrameType.copyOutResponse, FrameType.copyOutDone]
    /// The answers that spent a credit on their way: it goes back when they are written
    /// (or dropped).
    static let creditSpending: Set<String> = [FrameType.rows, FrameType.copyOutData, FrameType.notice, FrameType.notification]

    /// A notification this session sent names the pid of its BackendKeyData, as a
    /// direct server's would (hoop-connect marks it `own`; other pids are the server's).
    private func ownPID(_ frame: Frame) -> Frame {
        guard frame["own"]?.bool == true, let key = cancelKey else { return frame }
        var f = frame
        f["pid"] = .int(Int64(Int32(bitPattern: UInt32(key >> 32))))
        return f
    }

    /// Marks the request a response finishes, and writes replies that were waiting on it.
    private func settle(_ frame: Frame) {
        let type = frame.type
        if type == FrameType.ready {
            resultFormats.ready(status: frame["status"]?.string)
            discardingAnswers = false
        }
        guard let s = frame.seq else {
            if type == FrameType.ready {
                outstanding.removeAll()
                deliverLocalReplies(before: nil)
            }
            return
        }
        if type == FrameType.ready {
            // A ReadyForQuery ends everything up to its Sync or Query.
            outstanding.removeAll { $0.seq <= s }
        } else if let i = outstanding.firstIndex(where: { $0.seq == s }), outstanding[i].kind.isAnsweredBy(type) {
            outstanding.remove(at: i)
            resultFormats.answered(seq: s)
        }
        deliverLocalReplies(before: nil)
    }

    /// Before `session_opened`: only the opening, errors, notices and parameters.
    private func openingResponse(_ frame: Frame) {
        guard let context, let id = sessionID else { return }
        var b = context.channel.allocator.buffer(capacity: 256)
        switch frame.type {
        case FrameType.sessionOpened:
            timer?.cancel()
            timer = nil
            Backend.authenticationOk(&b)
            for fields in openingNotices { Backend.notice(&b, type: UInt8(ascii: "N"), fields: fields, fatal: false) }
            openingNotices = []
            if let params = frame["parameters"]?.object {
                for name in params.keys.sorted() {
                    guard let value = params[name].flatMap(Backend.scalarText) else { continue }
                    Backend.parameterStatus(&b, name: name, value: value)
                }
            }
            let key = env.registry.newCancelKey(for: id)
            cancelKey = SessionRegistry.key(key.pid, key.secret)
            Backend.backendKeyData(&b, pid: key.pid, secret: key.secret)
            txStatus = Backend.status(frame["status"])
            Backend.readyForQuery(&b, status: txStatus)
            state = .ready
            context.write(wrapOutboundOut(b), promise: nil)
            let pending = early
            early = []
            for (type, body) in pending where state == .ready { typedMessage(type: type, body: body) }
            resumeReading()
        case FrameType.error:
            // Refused at the door (auth, policy, upstream): the client sees why; the
            // session ends either way.
            Backend.notice(&b, type: UInt8(ascii: "E"), fields: frame.fields, fatal: true)
            finish(with: b, reason: "fatal_error")
        case FrameType.notice:
            // Kept for after AuthenticationOk. Only a stage before hoop-connect makes one
            // here (the upstream session is not open yet), and it spent no credit.
            if openingNotices.count < 16 { openingNotices.append(frame.fields) }
        case FrameType.parameterStatus:
            Backend.parameterStatus(&b, name: frame["name"].flatMap(Backend.scalarText) ?? "",
                                    value: frame["value"].flatMap(Backend.scalarText) ?? "")
            context.write(wrapOutboundOut(b), promise: nil)
        case FrameType.sessionClosed:
            closeReason = "upstream_closed"
            closeEmitted = true
            closeNow()
        default:
            logLine(RingLink.stage, "\(RingLink.loggable(frame.type)) frame for opening session \(id) ignored")
        }
    }
}
