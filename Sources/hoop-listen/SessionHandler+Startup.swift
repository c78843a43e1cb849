import HoopFrames
import NIOCore
import NIOSSL

// The startup phase: encryption negotiation, the startup packet, the password, and the
// session's opening answers up to the first ReadyForQuery.
extension SessionHandler {
    func startupMessage(_ message: FrontendMessage) {
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

    func startup(minor: Int, params: [(String, String)]) {
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

    func open(credential: String) {
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

    /// Before `session_opened`: only the opening, errors, notices and parameters.
    func openingResponse(_ frame: Frame) {
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
            if openingNotices.count < 16, frame["withheld"]?.bool != true { openingNotices.append(frame.fields) }
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
