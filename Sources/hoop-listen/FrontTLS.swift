import Foundation
import HoopFrames
import NIOCore
import NIOSSL

/// The front door's TLS (docs/tls.md): the certificate an SSLRequest is answered with,
/// and which clients must use it. The password a client sends is a bearer token, so by
/// default only a client on this host may send it in clear.
struct FrontTLS {
    /// Who must encrypt before the startup message (`listen.tls.require`).
    enum Require: String {
        case off, nonLoopback = "non_loopback", all
    }

    /// nil: no certificate configured, an SSLRequest is answered 'N'.
    let context: NIOSSLContext?
    let require: Require

    /// From `listen.tls`: `cert`, `key` (PEM files, relative to the configuration's
    /// folder), `require`. A certificate that does not load stops the stage: a front
    /// door that silently fell back to clear text would fail open.
    init(_ cfg: GatewayConfig) throws {
        let tls = cfg.json["listen"]?["tls"]
        let word = tls?["require"]?.string ?? Require.nonLoopback.rawValue
        guard let require = Require(rawValue: word) else {
            throw ConfigError("listen.tls.require: \"\(word)\" is not one of off, non_loopback, all")
        }
        self.require = require
        let cert = tls?["cert"]?.string, key = tls?["key"]?.string
        guard cert != nil || key != nil else { context = nil; return }
        guard let cert, let key else { throw ConfigError("listen.tls: \"cert\" and \"key\" go together") }
        let certPath = cfg.file(cert), keyPath = cfg.file(key)
        try Self.checkKeyFile(keyPath)
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certPath)
            guard !chain.isEmpty else { throw ConfigError("no certificate in \(certPath)") }
            var config = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: keyPath, format: .pem)))
            // PostgreSQL's own default floor (ssl_min_protocol_version).
            config.minimumTLSVersion = .tlsv12
            context = try NIOSSLContext(configuration: config)
        } catch let e as ConfigError {
            throw e
        } catch {
            throw ConfigError("listen.tls: cannot load the certificate \(certPath) or the key \(keyPath): \(error)")
        }
    }

    /// PostgreSQL's rule for its own key file: owned by the user the stage runs as,
    /// mode 0600 or less, or owned by root, 0640 or less.
    static func checkKeyFile(_ path: String) throws {
        var st = stat()
        guard stat(path, &st) == 0 else { throw ConfigError("listen.tls: cannot read the key file \(path)") }
        guard st.st_uid == geteuid() || st.st_uid == 0 else {
            throw ConfigError("listen.tls: private key file \(path) must be owned by the user hoop-listen runs as, or by root")
        }
        let allowed: mode_t = st.st_uid == geteuid() ? 0o600 : 0o640
        guard st.st_mode & 0o777 & ~allowed == 0 else {
            throw ConfigError("listen.tls: private key file \(path) has group or world access "
                + "(it must be u=rw (0600) or less, or u=rw,g=r (0640) or less if owned by root)")
        }
    }

    /// Whether a client at `remote` must have encrypted before its startup message.
    func mustEncrypt(_ remote: SocketAddress?) -> Bool {
        switch require {
        case .off: return false
        case .all: return true
        case .nonLoopback: return !Self.isLoopback(remote)
        }
    }

    /// 127.0.0.0/8, ::1 and IPv4-mapped 127/8. Anything unknown is not loopback.
    static func isLoopback(_ address: SocketAddress?) -> Bool {
        switch address {
        case .v4(let a):
            return UInt32(bigEndian: a.address.sin_addr.s_addr) >> 24 == 127
        case .v6(let a):
            let b = withUnsafeBytes(of: a.address.sin6_addr) { Array($0) }
            if b[0..<15].allSatisfy({ $0 == 0 }) && b[15] == 1 { return true }
            return b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF && b[12] == 127
        default:
            return false
        }
    }

    /// A failed handshake in a few words for the log: BoringSSL's reason codes
    /// (WRONG_VERSION_NUMBER, …), which say what went wrong and carry no client bytes.
    static func reason(_ error: BoringSSLError) -> String {
        let text = String(describing: error)
        var reasons: [String] = []
        var rest = text[...]
        while let r = rest.range(of: "OPENSSL_internal:") {
            rest = rest[r.upperBound...]
            let word = rest.prefix { $0.isASCII && ($0.isUppercase || $0.isNumber || $0 == "_") }
            if !word.isEmpty && !reasons.contains(String(word)) { reasons.append(String(word)) }
        }
        if !reasons.isEmpty { return reasons.joined(separator: ", ") }
        return String(text.prefix { $0 != "(" }.prefix(40))
    }

    /// What a startup without TLS is told when it needed TLS: PostgreSQL's pg_hba
    /// wording ("…, no encryption"), SQLSTATE 28000.
    static func refusal(host: String, user: String, database: String) -> String {
        "hoop: TLS is required for host \"\(host)\", user \"\(user)\", database \"\(database)\", no encryption"
    }
}
