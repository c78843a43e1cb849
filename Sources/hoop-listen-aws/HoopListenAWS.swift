import ArgumentParser
import Foundation
import HoopAWS
import HoopCommand
import HoopFrames
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import HoopJSON

/// hoop-listen-aws: the AWS door. The AWS CLI and SDKs reach it with standard settings
/// (docs/aws.md); each call becomes one `call` frame, each `result` the service's answer.
@main
struct HoopListenAWS: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hoop-listen-aws",
        abstract: "Ring stage: the AWS door (AWS API calls over HTTPS to frames and back).")

    @OptionGroup var config: ConfigOption

    @Option(help: "Address to listen on (overrides aws_door.host).")
    var host: String?

    @Option(help: "Port to listen on (overrides aws_door.port).")
    var port: Int?

    @Option(help: "Stamps a response frame must carry to reach a client, comma-separated.")
    var require: String = "mask,record"

    func run() throws {
        let cfg = try config.load()
        let stamps0 = require.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard let door = cfg.json["aws_door"] else {
            // No AWS door configured: the line stays in the ring and passes every frame on.
            logLine(RingSessions.stage, "no aws_door section in the configuration: passing the ring's frames only")
            let ring = RingSessions(require: stamps0)
            let done = DispatchSemaphore(value: 0)
            ring.onRingDown = { _ in done.signal() }
            ring.startReading()
            done.wait()
            return
        }
        let host = self.host ?? door["host"]?.string ?? "127.0.0.1"
        let port = self.port ?? door["port"]?.int.map { Int(truncatingIfNeeded: $0) } ?? 6445
        guard (0...65535).contains(port) else { throw ValidationError("port \(port) is out of range") }
        let stamps = stamps0
        let key: GatewayKey, operations: Operations
        do {
            guard let keyFile = door["key_file"]?.string else { throw ConfigError("aws_door.key_file is not set") }
            key = try GatewayKey(file: cfg.file(keyFile))
            operations = try Operations(file: cfg.file(door["operations_file"]?.string ?? "generated/aws-operations.json"))
            // Which REST operations take a body: the door refuses a body where the model has none.
            guard operations.statesBodies else {
                throw ConfigError("the AWS operation table does not say which operations take a body: "
                                  + "scripts/aws-tables makes it again (scripts/setup does, when the script is newer)")
            }
        } catch {
            logLine(RingSessions.stage, "\(error)")
            throw ExitCode(1)
        }
        // HTTPS with the front door's certificate; without one, plain HTTP serves this host only.
        var tls: NIOSSLContext? = nil
        let tlsConfig = cfg.json["listen"]?["tls"]
        if let cert = tlsConfig?["cert"]?.string, let keyPath = tlsConfig?["key"]?.string {
            let chain = try NIOSSLCertificate.fromPEMFile(cfg.file(cert))
            var c = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                             privateKey: .privateKey(try NIOSSLPrivateKey(file: cfg.file(keyPath), format: .pem)))
            c.minimumTLSVersion = .tlsv12
            tls = try NIOSSLContext(configuration: c)
        }
        let plainOnLoopback = door["plain_http_on_loopback"]?.bool == true
        let ring = RingSessions(require: stamps)
        let awsConnections = Set((cfg.json["connections"]?.object ?? [:]).keys.filter { ConnectionKind.of($0, in: cfg) == .aws })
        let doorLogic = AWSDoor(key: key, operations: operations, ring: ring, awsConnections: awsConnections)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let peer = channel.remoteAddress
                    let loopback = peer?.ipAddress.map { $0 == "127.0.0.1" || $0 == "::1" || $0.hasPrefix("::ffff:127.") } ?? false
                    let encrypted = tls != nil && !(plainOnLoopback && loopback)
                    if let tls, encrypted {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    } else if !loopback {
                        // Keys and tokens must not cross a network in clear.
                        throw ConfigError("plain HTTP from \(peer?.ipAddress ?? "?") refused: only this host may use plain HTTP")
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        DoorHTTPHandler(door: doorLogic, client: (peer?.ipAddress ?? "", peer?.port ?? 0, encrypted ? "TLS" : nil)))
                }
            }
        let channel: Channel
        do { channel = try bootstrap.bind(host: host, port: port).wait() } catch {
            logLine(RingSessions.stage, "cannot listen on \(host):\(port): \(error)")
            throw ExitCode(1)
        }
        ring.onRingDown = { _ in channel.close(promise: nil) }
        ring.startReading()
        logLine(RingSessions.stage, "listening on \(host):\(channel.localAddress?.port ?? port) (\(tls == nil ? "HTTP, this host only" : "HTTPS")); operations: \(operations.source)")
        if let portFile = door["port_file"]?.string {
            try? "\(channel.localAddress?.port ?? port)\n".write(toFile: cfg.file(portFile), atomically: true, encoding: .utf8)
        }
        try channel.closeFuture.wait()
        try? group.syncShutdownGracefully()
    }
}

/// One HTTP connection: a whole request (bounded), the door's answer, keep-alive.
final class DoorHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let door: AWSDoor
    let client: (String, Int, String?)
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var tooLarge = false
    private var tooBusy = false
    /// A streamed upload under way on this connection, or its refusal.
    private var upload: Upload?
    private var refusal: DoorResponse?
    /// Bytes of this request's body counted against the door's bound.
    private var reserved = 0

    init(door: AWSDoor, client: (String, Int, String?)) { self.door = door; self.client = client }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h; body = []; tooLarge = false; tooBusy = false; upload = nil; refusal = nil
            let atHead = DoorRequest(method: h.method.rawValue, uri: h.uri, headers: h.headers.map { ($0.name.lowercased(), $0.value) },
                                     body: [], client: (client.0, client.1, client.2))
            switch door.uploadPlan(atHead) {
            case .none: break
            case .refuse(let r): refusal = r
            case .stream(let up):
                upload = up
                let channel = context.channel, loop = context.eventLoop
                // Read the client only as fast as the upstream takes the pieces.
                up.reading = { on in
                    loop.execute {
                        channel.setOption(ChannelOptions.autoRead, value: on).whenComplete { _ in if on { channel.read() } }
                    }
                }
                channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
                let keepAlive = h.isKeepAlive
                let requestId = UUID().uuidString.lowercased()
                up.start(door.client(atHead), on: loop).map { [door] f in door.httpResponse(f, proto: "rest-xml", requestId) }
                    .recover { [door] e in door.errorResponse(e as? AWSError ?? AWSError("InternalFailure", 500, "hoop: \(e)"), proto: "rest-xml", requestId) }
                    .whenSuccess { [self] r in
                        loop.execute {
                            // An answer before the whole body came (a refusal): the rest is not read.
                            let done = self.upload == nil
                            // The upload is over either way: the client is read again.
                            _ = context.channel.setOption(ChannelOptions.autoRead, value: true)
                            self.write(context, h, r, keepAlive: keepAlive && done)
                            if !done { self.upload?.fail(); self.upload = nil; context.close(promise: nil) }
                        }
                    }
            }
        case .body(var buf):
            if let upload {
                if let bytes = buf.readBytes(length: buf.readableBytes) { upload.feed(bytes) }
                return
            }
            if refusal != nil || tooLarge || tooBusy { return }
            if body.count + buf.readableBytes > AWSDoor.maxBody { tooLarge = true; releaseBody(); return }
            guard door.reserve(buf.readableBytes) else { tooBusy = true; releaseBody(); return }
            reserved += buf.readableBytes
            if let bytes = buf.readBytes(length: buf.readableBytes) { body.append(contentsOf: bytes) }
        case .end:
            guard let head else { return }
            self.head = nil
            if let up = upload {
                upload = nil   // the answer is written when the upstream has it
                up.end()
                return
            }
            if let r = refusal { refusal = nil; return write(context, head, r, keepAlive: head.isKeepAlive) }
            let keepAlive = head.isKeepAlive
            let respond: (DoorResponse) -> Void = { [self] r in write(context, head, r, keepAlive: keepAlive) }
            if tooLarge {
                let e = AWSError("EntityTooLarge", 413, "hoop accepts request bodies of at most \(AWSDoor.maxBody >> 20) MiB; use multipart uploads with smaller parts")
                return respond(door.errorResponse(e, proto: "rest-xml", UUID().uuidString.lowercased()))
            }
            if tooBusy { return respond(door.errorResponse(AWSDoor.slowDown(), proto: "rest-xml", UUID().uuidString.lowercased())) }
            let req = DoorRequest(method: head.method.rawValue, uri: head.uri,
                                  headers: head.headers.map { ($0.name.lowercased(), $0.value) }, body: body,
                                  client: (client.0, client.1, client.2))
            body = []
            let loop = context.eventLoop
            let held = reserved
            reserved = 0
            door.handle(req, on: loop).whenSuccess { [door] r in
                door.release(held)
                loop.execute { respond(r) }
            }
        }
    }

    private func write(_ context: ChannelHandlerContext, _ head: HTTPRequestHead, _ r: DoorResponse, keepAlive: Bool) {
        if let stream = r.stream { return writeStream(context, head, r, stream, keepAlive: keepAlive) }
        var headers = HTTPHeaders(r.headers)
        // A HEAD answer states the length of what a GET would return.
        headers.replaceOrAdd(name: "Content-Length", value: head.method == .HEAD ? (r.declaredLength ?? "0") : "\(r.body.count)")
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .init(statusCode: r.status), headers: headers))), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: r.body)))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive { done.whenComplete { _ in context.close(promise: nil) } }
    }

    /// A streamed answer: the head, then each piece as it comes, a credit back to the
    /// upstream once a piece is written; a failed stream closes the connection (the client
    /// sees a cut answer, never a wrong one).
    private func writeStream(_ context: ChannelHandlerContext, _ head: HTTPRequestHead, _ r: DoorResponse,
                             _ stream: AnswerStream, keepAlive: Bool) {
        var headers = HTTPHeaders(r.headers)
        headers.remove(name: "Content-Length")
        if r.streamKeepsLength, let n = r.declaredLength { headers.add(name: "Content-Length", value: n) }
        else { headers.add(name: "Transfer-Encoding", value: "chunked") }
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .init(statusCode: r.status), headers: headers))), promise: nil)
        let loop = context.eventLoop
        let ring = door.ring
        stream.start { [self] frame in
            loop.execute {
                guard let frame else { context.close(promise: nil); return }
                if frame.type == FrameType.resultEnd {
                    let done = context.writeAndFlush(self.wrapOutboundOut(.end(nil)))
                    if !keepAlive { done.whenComplete { _ in context.close(promise: nil) } }
                    return
                }
                var bytes: [UInt8] = []
                if let text = frame["body"]?.string { bytes = Array(text.utf8) }
                else if let b64 = frame["body_base64"]?.string, let d = Data(base64Encoded: b64) { bytes = Array(d) }
                context.writeAndFlush(self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: bytes)))))
                    .whenSuccess { ring.credit(session: stream.session, seq: stream.seq, 1) }
            }
        }
    }

    private func releaseBody() {
        door.release(reserved)
        reserved = 0
        body = []
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }

    func channelInactive(context: ChannelHandlerContext) {
        upload?.fail()   // a client gone mid-upload: the upstream request fails, nothing is stored
        upload = nil
        releaseBody()   // a client gone mid-body gives its bytes back
        context.fireChannelInactive()
    }
}
