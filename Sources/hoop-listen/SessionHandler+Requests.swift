import Foundation
import HoopFrames
import NIOCore

// Client messages into request frames, in order, with the replies hoop makes itself.
extension SessionHandler {
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

    func typedMessage(type: UInt8, body: ByteBuffer) {
        // Sent ahead of ReadyForQuery: kept (reads are held meanwhile) and handled once
        // the session is open, as the server would.
        if state == .opening && type != UInt8(ascii: "X") {
            guard early.count < 64 else { return fatal("08P01", "invalid frontend message", reason: "protocol_error") }
            early.append((type, body))
            return
        }
        // After an error in the extended protocol everything up to Sync is discarded
        // unread, as the server does.
        if state == .ready && !order.reads(type) { return }
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

    func forward(_ message: ClientMessage) {
        if case .terminate = message {
            closeReason = "terminate"
            emitClose("terminate")
            return closeNow()
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
        guard emitRequest(type, fields, kind) else { return }
        trackFormats(message)
    }

    /// What binary result columns the client asked for (BinaryResults.swift).
    func trackFormats(_ message: ClientMessage) {
        switch message {
        case .parse(let name, _, _): resultFormats.parsed(name)
        case .bind(let portal, let statement, _, _, let formats): resultFormats.bound(portal: portal, statement: statement, formats: formats)
        case .describe(let kind, let name): resultFormats.describing(seq: order.seq, kind: kind, name: name)
        case .close(let kind, let name): resultFormats.closed(kind: kind, name: name)
        case .execute(let portal, _): resultFormats.executing(seq: order.seq, portal: portal)
        default: break
        }
    }

    /// A refusal made here goes round the ring too, so that the audit trail holds it.
    func recordRefusal(code: String, message: String, seq: Int64) {
        guard let id = sessionID else { return }
        env.ring.send(Frame(FrameType.refused, session: id, seq: seq, [
            "stage": .string(RingLink.stage), "code": .string(code), "message": .string(message)]).encoded())
    }

    /// An error answered here rather than upstream, in its place (SessionOrder).
    func localError(for type: UInt8, code: String, message: String) {
        recordRefusal(code: code, message: message, seq: order.seq)
        write(order.localError(for: type, code: code, message: message))
        context?.flush()
    }

    /// Writes replies made here that are due.
    func write(_ replies: [SessionOrder.Reply]) {
        guard let context, !replies.isEmpty else { return }
        var b = context.channel.allocator.buffer(capacity: 128)
        for reply in replies {
            switch reply {
            case .error(let code, let message): Backend.error(&b, severity: "ERROR", code: code, message: message)
            case .ready: Backend.readyForQuery(&b, status: txStatus)
            }
        }
        context.write(wrapOutboundOut(b), promise: nil)
    }

    /// The CopyData read so far, as one `copy_data` frame.
    func flushCopyData() {
        guard !copyChunks.isEmpty else { return }
        // A session that has ended sends nothing more round the ring (its session_close went).
        guard state != .closing, state != .closed else { copyChunks = []; copyBytes = 0; return }
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
        if emitRequest(FrameType.copyData, ["data": data]) { copyInFlight += 1 }
    }

    /// A batch the client's socket took gives its credit back (SessionOrder says when).
    func returnCredit(_ type: String) {
        switch order.creditReturned(answer: type == FrameType.rows || type == FrameType.copyOutData) {
        case .send(let n): sendCredits(n)
        case .startTimer:
            creditTimer = context?.eventLoop.scheduleTask(in: Self.creditDelay) { [weak self] in
                guard let self else { return }
                self.sendCredits(self.order.creditTimerFired())
            }
        case .none: break
        }
    }

    static let creditDelay: TimeAmount = .milliseconds(2)

    func sendCredits(_ n: Int) {
        creditTimer?.cancel()
        creditTimer = nil
        guard n > 0, let id = sessionID else { return }
        env.ring.send(SessionFrames.credit(session: id, batches: n))
    }

    /// Sends a request frame round the ring; false (and the session ends) when it is
    /// over the frame limit.
    func emitRequest(_ type: String, _ fields: [String: JSON], _ kind: RequestKind? = nil) -> Bool {
        guard let id = sessionID else { return false }
        let (seq, credits) = order.send(kind)
        sendCredits(credits)
        let bytes = Frame(type, session: id, seq: seq, fields).encoded()
        guard bytes.count - 1 <= maxFrameBytes else {
            fatal("54000", "message too large", reason: "protocol_error")
            return false
        }
        env.ring.send(bytes)
        return true
    }

    func emitClose(_ reason: String) {
        guard let id = sessionID, !closeEmitted else { return }
        closeEmitted = true
        env.ring.send(SessionFrames.close(session: id, reason: reason))
    }

    /// A CancelRequest naming this session's BackendKeyData.
    func cancelRequested() {
        guard state == .ready || state == .opening else { return }
        _ = emitRequest(FrameType.cancel, [:])
    }
}
