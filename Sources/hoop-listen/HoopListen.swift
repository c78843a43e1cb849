import ArgumentParser
import Foundation
import HoopCommand
import HoopFrames
import NIOCore
import NIOPosix

/// hoop-listen: the PostgreSQL front door. Speaks protocol 3.0 to clients, writes
/// request frames on stdout, reads response frames on stdin (docs/frames.md).
@main
struct HoopListen: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hoop-listen",
        abstract: "Ring stage: the PostgreSQL front door (wire protocol 3.0 to frames and back).")

    @OptionGroup var config: ConfigOption

    @Option(help: "Address to listen on (overrides the configuration).")
    var host: String?

    @Option(help: "Port to listen on (overrides the configuration).")
    var port: Int?

    @Option(help: "Stamps a response frame must carry to reach a client, comma-separated.")
    var require: String = "mask,record"

    func run() throws {
        let cfg = try config.load()
        let listen = cfg.json["listen"]
        let host = self.host ?? listen?["host"]?.string ?? "127.0.0.1"
        let port = self.port ?? listen?["port"]?.int.map { Int(truncatingIfNeeded: $0) } ?? 6432
        guard (0...65535).contains(port) else { throw ValidationError("port \(port) is out of range") }
        let stamps = require.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if stamps.isEmpty {
            logLine(RingLink.stage, "warning: --require is empty: responses are delivered without any stamp")
        }
        let tls: FrontTLS
        do {
            tls = try FrontTLS(cfg)
        } catch {
            logLine(RingLink.stage, "\(error)")
            throw ExitCode(1)
        }
        if tls.context == nil && tls.require != .off {
            logLine(RingLink.stage, tls.require == .all
                ? "warning: listen.tls.require is all but no certificate is configured: every startup is refused"
                : "warning: no TLS certificate configured (listen.tls): clients not on this host are refused")
        }
        try Gateway(host: host, port: port, require: stamps, tls: tls).run()
    }
}

/// The process: the client listener, the ring link, and the way down.
final class Gateway: @unchecked Sendable {
    let host: String
    let port: Int
    let registry = SessionRegistry()
    let ring: RingLink
    let env: ListenEnvironment
    let group: MultiThreadedEventLoopGroup
    var server: Channel?
    private let downLock = NSLock()
    private var goingDown = false
    private var signalSources: [DispatchSourceSignal] = []

    init(host: String, port: Int, require: [String], tls: FrontTLS) {
        self.host = host
        self.port = port
        // One event loop for every client and the ring: nothing on the hot path changes
        // threads (the stage's work per frame is small; the ring's other stages and the
        // server use the other cores).
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        ring = RingLink(registry: registry, loop: group.next())
        env = ListenEnvironment(ring: ring, registry: registry, require: require, tls: tls)
    }

    func run() throws -> Never {
        let env = self.env
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.writeBufferWaterMark, value: .init(low: 256 << 10, high: 1 << 20))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    var decoder = PGFrontendDecoder()
                    decoder.tlsOffered = env.tls.context != nil
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(decoder))
                    try channel.pipeline.syncOperations.addHandler(SessionHandler(env: env))
                }
            }
        let server: Channel
        do {
            server = try bootstrap.bind(host: host, port: port).wait()
        } catch {
            logLine(RingLink.stage, "cannot listen on \(host):\(port): \(error)")
            Foundation.exit(1)
        }
        self.server = server
        let bound = server.localAddress?.port ?? port
        logLine(RingLink.stage, "listening on \(host):\(bound)")

        // Off the loop: going down waits for the sessions, which need the loop.
        ring.onRingDown = { why in DispatchQueue.global().async { self.goDown(why) } }
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { self.goDown(sig == SIGTERM ? "SIGTERM" : "SIGINT") }
            source.resume()
            signalSources.append(source)
        }
        do {
            try ring.start()
        } catch {
            logLine(RingLink.stage, "cannot open the ring on stdin and stdout (pipes or sockets): \(error)")
            Foundation.exit(1)
        }
        while true { sleep(3600) }
    }

    /// The ring is breaking (end of stdin, stdout gone) or we were told to stop: every
    /// client gets FATAL 57P01 and is closed, then the process exits 0, within 2 s.
    func goDown(_ why: String) {
        downLock.lock()
        if goingDown { downLock.unlock(); return }
        goingDown = true
        downLock.unlock()
        logLine(RingLink.stage, "\(why): closing \(registry.allConnections().count) client connection(s)")
        server?.close(promise: nil)
        let done = DispatchGroup()
        for h in registry.allConnections() {
            done.enter()
            h.eventLoop.execute {
                if let closed = h.handler.ringRestarting() {
                    closed.whenComplete { _ in done.leave() }
                } else {
                    done.leave()
                }
            }
        }
        _ = done.wait(timeout: .now() + 1.5)
        // session_close frames for the audit trail, if the ring still takes them.
        ring.drain(seconds: 0.3)
        Foundation.exit(0)
    }
}
