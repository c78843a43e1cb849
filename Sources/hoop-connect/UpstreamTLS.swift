import Foundation
import HoopFrames

/// TLS to the upstream server (docs/tls.md): `connections.NAME.tls` becomes libpq's own
/// keywords, which override whatever the conninfo string says. Paths are relative to
/// the configuration's folder (libpq would read them relative to the stage's cwd).
enum UpstreamTLS {
    static let modes: Set<String> = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
    static let fileKeys = ["sslrootcert", "sslcert", "sslkey", "sslcrl"]

    static func keywords(_ tls: JSON?, name: String, cfg: GatewayConfig) throws -> [(String, String)] {
        guard let tls else { return [] }
        guard let object = tls.object else { throw ConfigError("connection \(name): \"tls\" must be an object") }
        var out: [(String, String)] = []
        for key in object.keys.sorted() {
            guard let value = object[key]?.string else {
                throw ConfigError("connection \(name): tls.\(key) must be a string")
            }
            switch key {
            case "sslmode":
                guard modes.contains(value) else {
                    throw ConfigError("connection \(name): tls.sslmode \"\(value)\" is not one of \(modes.sorted().joined(separator: ", "))")
                }
                out.append((key, value))
            case _ where fileKeys.contains(key):
                let path = cfg.file(value)
                guard FileManager.default.isReadableFile(atPath: path) else {
                    throw ConfigError("connection \(name): tls.\(key): cannot read \(path)")
                }
                out.append((key, path))
            default:
                throw ConfigError("connection \(name): tls.\(key) is not a TLS setting (sslmode, \(fileKeys.joined(separator: ", ")))")
            }
        }
        return out
    }

    /// Why a connection failed, in fixed words: libpq's own message can quote the
    /// client's startup settings, so none of it is passed on.
    static func failure(_ libpqMessage: String) -> String? {
        let m = libpqMessage
        if m.contains("certificate verify failed") { return "the server's TLS certificate is not signed by the configured CA (tls.sslrootcert)" }
        if m.contains("does not match host name") { return "the server's TLS certificate does not match the host name" }
        if m.contains("server does not support SSL") { return "the server does not offer TLS, and tls.sslmode requires it" }
        if m.contains("root certificate file") { return "the CA file (tls.sslrootcert) cannot be used" }
        if m.contains("certificate") && m.contains("private key") { return "the client certificate or key (tls.sslcert, tls.sslkey) cannot be used" }
        if m.contains("SSL") { return "the TLS handshake with the server failed" }
        return nil
    }
}
