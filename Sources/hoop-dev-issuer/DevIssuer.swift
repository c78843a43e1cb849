import ArgumentParser
import Crypto
import _CryptoExtras
import Foundation
import HoopCommand
import HoopFrames
import HoopIdentity
import JWTKit
import NIOCore
import NIOHTTP1
import NIOPosix

// The development issuer (docs/auth.md): FOR DEVELOPMENT ONLY. Two subcommands share
// one pair of signing keys under $HOOP_VAR/dev-issuer/: `dev-issuer` publishes their
// public halves (discovery and JWKS, loopback HTTP), `token` signs tokens with them.
// Minting is a local command on purpose: only who can read the key files can mint.

/// hoop-dev-issuer: the development OIDC issuer, a program of its own (not a stage):
/// `serve` (the default) answers discovery and JWKS on loopback, `token` mints a token.
@main
struct HoopDevIssuer: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hoop-dev-issuer",
        abstract: "Development only: a local OIDC issuer for hoop-auth (docs/auth.md).",
        subcommands: [DevIssuerCommand.self, TokenCommand.self], defaultSubcommand: DevIssuerCommand.self)
}

/// `hoop-dev-issuer serve`: serves the discovery document and the JWKS until SIGTERM/SIGINT.
struct DevIssuerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve",
        abstract: "Development only: serve the development issuer's discovery document and JWKS on loopback.")

    @OptionGroup var config: ConfigOption

    func run() throws {
        let (settings, keys) = try DevIssuer.prepare(config: config.path, command: "dev-issuer")
        try DevIssuer.serve(settings: settings, keys: keys)
    }
}

/// `hoop-dev-issuer token USER [GROUP...]`: prints one signed token on stdout.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "token",
        abstract: "Development only: mint a token from the development issuer for a named identity.")

    @OptionGroup var config: ConfigOption

    @Flag(help: "Mark the identity as an agent (the configuration's auth.agents claim).")
    var agent = false

    @Option(help: "Lifetime in seconds.")
    var ttl: Int = 3600

    @Option(help: "Signing algorithm: EdDSA or RS256.")
    var alg: DevIssuer.Algorithm = .eddsa

    @Argument(help: "The user (the value of the configuration's user_claim, e.g. an email address).")
    var user: String

    @Argument(help: "Groups (the configuration's groups_claim).")
    var groups: [String] = []

    func validate() throws {
        guard ttl > 0 else { throw ValidationError("--ttl must be at least 1 second") }
        guard !user.isEmpty else { throw ValidationError("USER must not be empty") }
    }

    func run() throws {
        let (s, keys) = try DevIssuer.prepare(config: config.path, command: "token")
        let now = Int(Date().timeIntervalSince1970)
        var claims: [String: DevIssuer.Claim] = [
            "iss": .string(s.issuer), "aud": .string(s.audience),
            "sub": .string(s.userClaim == "sub" ? user : "dev|" + user),
            "preferred_username": .string(user),
            "iat": .number(now), "nbf": .number(now), "exp": .number(now + ttl),
        ]
        if user.contains("@") { claims["email"] = .string(user) }
        claims[s.userClaim] = .string(user)
        // This issuer vouches for the address it was given, as a provider does for one it verified.
        if claims["email"] != nil { claims["email_verified"] = .bool(true) }
        claims[s.groupsClaim] = .strings(groups)
        // Persons are marked too: a token that says nothing is an agent's (docs/auth.md).
        if let kinds = s.kinds {
            claims[kinds.claim] = .string(agent ? kinds.agentValues[0] : kinds.personValues[0])
        } else if agent {
            DevIssuer.refuse("token", "--agent needs auth.agents {\"claim\": …, \"values\": [\"…\"]} in the configuration")
        } else {
            FileHandle.standardError.write(Data("hoop-dev-issuer: no auth.agents in the configuration: hoop-auth takes this token for an agent's\n".utf8))
        }
        print(try keys.sign(DevIssuer.Claims(values: claims), alg: alg))
    }
}

enum DevIssuer {
    enum Algorithm: String, ExpressibleByArgument, CaseIterable, Sendable {
        case eddsa = "EdDSA", rs256 = "RS256"
    }

    /// What the two commands read from the configuration.
    struct Settings {
        let issuer: String
        let port: Int
        let audience: String
        let userClaim: String
        let groupsClaim: String
        let kinds: KindClaim?
        let keyDir: String
    }

    /// Loads the configuration and the keys, or refuses (exit 2) when the development
    /// issuer is not enabled or its issuer is not loopback HTTP.
    static func prepare(config: String?, command: String) throws -> (Settings, Keys) {
        let cfg: GatewayConfig
        do { cfg = try GatewayConfig.load(config) } catch { refuse(command, "\(error)") }
        let dev = cfg.json["dev_issuer"], auth = cfg.json["auth"]
        guard dev?["enabled"]?.bool == true else {
            refuse(command, "the development issuer is not enabled (\"dev_issuer\": {\"enabled\": true, …}) in \(cfg.path)")
        }
        guard let port = dev?["port"]?.int, (1...65535).contains(port) else {
            refuse(command, "dev_issuer.port is missing or not a port number in \(cfg.path)")
        }
        guard let issuer = auth?["issuer"]?.string, let url = URLComponents(string: issuer),
              url.scheme == "http", let host = url.host, ["127.0.0.1", "localhost"].contains(host),
              url.port == Int(port), url.path.isEmpty || url.path == "/", url.query == nil
        else {
            refuse(command, "auth.issuer must be http://127.0.0.1:\(port) (loopback HTTP on dev_issuer.port) for the development issuer")
        }
        guard let audience = auth?["audience"]?.string, !audience.isEmpty else {
            refuse(command, "auth.audience is missing in \(cfg.path)")
        }
        let kinds: KindClaim?
        do { kinds = try KindClaim(auth?["agents"]) } catch { refuse(command, "\(error)") }
        let env = ProcessInfo.processInfo.environment
        let hoopVar = env["HOOP_VAR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? URL(fileURLWithPath: cfg.path).deletingLastPathComponent().path
        let settings = Settings(issuer: issuer, port: Int(port), audience: audience,
            userClaim: auth?["user_claim"]?.string ?? "email",
            groupsClaim: auth?["groups_claim"]?.string ?? "groups",
            kinds: kinds, keyDir: hoopVar + "/dev-issuer")
        do { return (settings, try Keys.loadOrCreate(in: settings.keyDir)) } catch { refuse(command, "\(error)") }
    }

    static func refuse(_ command: String, _ why: String) -> Never {
        FileHandle.standardError.write(Data("hoop-auth \(command): \(why)\n".utf8))
        Foundation.exit(2)
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    // MARK: keys

    /// The two signing keys, each named by the first 16 hex digits of the SHA-256 of its
    /// public key (raw for Ed25519, DER SubjectPublicKeyInfo for RSA).
    struct Keys {
        let ed25519: Curve25519.Signing.PrivateKey
        let rsa: _RSA.Signing.PrivateKey
        var edKid: String { kid(ed25519.publicKey.rawRepresentation) }
        var rsaKid: String { kid(rsa.publicKey.derRepresentation) }

        private func kid(_ publicKey: Data) -> String {
            SHA256.hash(data: publicKey).prefix(8).map { String(format: "%02x", $0) }.joined()
        }

        static func loadOrCreate(in dir: String) throws -> Keys {
            try privateDirectory(dir)
            let ed = try pemFile(dir + "/ed25519.pem") { Curve25519.Signing.PrivateKey().pemRepresentation }
            let rsa = try pemFile(dir + "/rsa.pem") { try _RSA.Signing.PrivateKey(keySize: .bits2048).pemRepresentation }
            return Keys(ed25519: try .init(pemRepresentation: ed), rsa: try .init(pemRepresentation: rsa))
        }

        /// The JWKS document: both public keys.
        func jwks() throws -> [String: Any] {
            let rsaPublic = try rsa.publicKey.getKeyPrimitives()
            return ["keys": [
                ["kty": "OKP", "crv": "Ed25519", "x": base64url(ed25519.publicKey.rawRepresentation),
                 "alg": "EdDSA", "use": "sig", "kid": edKid],
                ["kty": "RSA", "n": base64url(rsaPublic.modulus), "e": base64url(rsaPublic.publicExponent),
                 "alg": "RS256", "use": "sig", "kid": rsaKid],
            ]]
        }

        /// A compact JWS of `claims`, signed by jwt-kit, with the key's kid in the header.
        func sign(_ claims: Claims, alg: Algorithm) throws -> String {
            let keys = JWTKeyCollection()
            let (ed, rsa, edKid, rsaKid) = (ed25519, self.rsa, edKid, rsaKid)
            return try blocking {
                switch alg {
                case .eddsa:
                    await keys.add(eddsa: EdDSA.PrivateKey(backing: ed), kid: JWKIdentifier(string: edKid))
                    return try await keys.sign(claims, kid: JWKIdentifier(string: edKid))
                case .rs256:
                    await keys.add(rsa: try Insecure.RSA.PrivateKey(backing: rsa), digestAlgorithm: .sha256,
                                   kid: JWKIdentifier(string: rsaKid))
                    return try await keys.sign(claims, kid: JWKIdentifier(string: rsaKid))
                }
            }
        }

        /// mkdir 0700; an existing directory must be ours and private.
        private static func privateDirectory(_ dir: String) throws {
            let parent = URL(fileURLWithPath: dir).deletingLastPathComponent().path
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            if mkdir(dir, 0o700) != 0 && errno != EEXIST {
                throw Failure("cannot create \(dir): \(String(cString: strerror(errno)))")
            }
            try checkPrivate(dir, directory: true)
        }

        private static func checkPrivate(_ path: String, directory: Bool) throws {
            var st = stat()
            guard lstat(path, &st) == 0 else { throw Failure("cannot stat \(path): \(String(cString: strerror(errno)))") }
            let isDir = (st.st_mode & S_IFMT) == S_IFDIR, isFile = (st.st_mode & S_IFMT) == S_IFREG
            guard directory ? isDir : isFile else { throw Failure("\(path) is not a \(directory ? "directory" : "regular file")") }
            guard st.st_uid == geteuid(), st.st_mode & 0o077 == 0 else {
                throw Failure("\(path) must belong to this user and be private (chmod \(directory ? "700" : "600"))")
            }
        }

        /// Reads a private key file, creating it first if it is missing. Creation is
        /// race-free: the key goes to a private temporary file (O_EXCL, 0600) that is
        /// then hard-linked to its name; link() never replaces a file, so when two
        /// processes race, both end up using the one that got there first.
        private static func pemFile(_ path: String, make: () throws -> String) throws -> String {
            if access(path, F_OK) != 0 {
                let tmp = "\(path).\(getpid()).tmp"
                let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
                guard fd >= 0 else { throw Failure("cannot create \(tmp): \(String(cString: strerror(errno)))") }
                defer { unlink(tmp) }
                let bytes = Array(try make().utf8)
                let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                guard written == bytes.count, fsync(fd) == 0, close(fd) == 0 else {
                    throw Failure("cannot write \(tmp)")
                }
                if link(tmp, path) != 0 && errno != EEXIST {
                    throw Failure("cannot create \(path): \(String(cString: strerror(errno)))")
                }
            }
            try checkPrivate(path, directory: false)
            guard let data = FileManager.default.contents(atPath: path) else { throw Failure("cannot read \(path)") }
            return String(decoding: data, as: UTF8.self)
        }
    }

    // MARK: claims

    enum Claim: Codable, Sendable {
        case string(String), number(Int), strings([String]), bool(Bool)

        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { self = .string(s) }
            else if let n = try? c.decode(Int.self) { self = .number(n) }
            else if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else { self = .strings(try c.decode([String].self)) }
        }

        func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .string(let s): try c.encode(s)
            case .number(let n): try c.encode(n)
            case .strings(let a): try c.encode(a)
            case .bool(let b): try c.encode(b)
            }
        }
    }

    /// A payload whose claim names come from the configuration.
    struct Claims: JWTPayload {
        var values: [String: Claim]
        init(values: [String: Claim]) { self.values = values }
        init(from decoder: Decoder) throws { values = try [String: Claim](from: decoder) }
        func encode(to encoder: Encoder) throws { try values.encode(to: encoder) }
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    // MARK: the HTTP server

    static func serve(settings: Settings, keys: Keys) throws {
        let issuer = settings.issuer.hasSuffix("/") ? String(settings.issuer.dropLast()) : settings.issuer
        let discovery: [String: Any] = [
            "issuer": settings.issuer,
            "jwks_uri": issuer + "/jwks.json",
            "id_token_signing_alg_values_supported": ["EdDSA", "RS256"],
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
        ]
        let routes = [
            "/.well-known/openid-configuration": try json(discovery),
            "/jwks.json": try json(keys.jwks()),
        ]
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 64)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(HTTPHandler(routes: routes))
                }
            }
        let channel: Channel
        do { channel = try bootstrap.bind(host: "127.0.0.1", port: settings.port).wait() } catch {
            log("hoop-dev-issuer: cannot listen on 127.0.0.1:\(settings.port): \(error)")
            throw ExitCode.failure
        }

        let signals = [SIGTERM, SIGINT].map { number -> DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { channel.close(promise: nil) }
            source.resume()
            return source
        }
        log("hoop-dev-issuer: FOR DEVELOPMENT ONLY: issuer \(settings.issuer) serving discovery and JWKS "
            + "on 127.0.0.1:\(settings.port) (keys \(keys.edKid) EdDSA, \(keys.rsaKid) RS256 in \(settings.keyDir))")
        try channel.closeFuture.wait()
        signals.forEach { $0.cancel() }
        log("hoop-dev-issuer: stopped")
    }

    private static func log(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    private static func json(_ object: Any) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
    }

    /// GET of a known path → its JSON document; anything else → 404.
    final class HTTPHandler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let routes: [String: [UInt8]]
        private var head: HTTPRequestHead?

        init(routes: [String: [UInt8]]) { self.routes = routes }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h): head = h
            case .body: break
            case .end:
                guard let head else { return }
                self.head = nil
                let path = String(head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
                let found = head.method == .GET ? routes[path] : nil
                let body = found ?? Array(#"{"error":"not found"}"#.utf8)
                var headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", "\(body.count)"),
                                           ("Cache-Control", "no-store")])
                if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version,
                    status: found == nil ? .notFound : .ok, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
                let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
                if !head.isKeepAlive {
                    let channel = context.channel
                    done.whenComplete { _ in channel.close(promise: nil) }
                }
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            context.close(promise: nil)
        }
    }
}

private func base64url(_ data: Data) -> String {
    data.base64EncodedString().replacingOccurrences(of: "+", with: "-")
        .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
}

/// Runs async work (jwt-kit's signing API) to completion from a synchronous command.
private func blocking<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let box = BlockingResult<T>(), done = DispatchSemaphore(value: 0)
    Task {
        do { box.result = .success(try await work()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}

private final class BlockingResult<T>: @unchecked Sendable { var result: Result<T, Error>? }
