import ArgumentParser
import Crypto
import Foundation
import HoopCommand
import HoopFrames

/// Where the store is and how checkpoints are signed, for every subcommand.
public struct StoreOptions: ParsableArguments {
    public init() {}

    @Option(help: "The SQLite audit store (default: the configuration's audit.sqlite, else $HOOP_VAR/audit.sqlite).")
    public var store: String?

    @OptionGroup public var config: ConfigOption

    /// The configuration: --config, else $HOOP_CONFIG, else $HOOP_VAR/hoop.json (default
    /// var/hoop.json) when it exists, as scripts/hoop finds it.
    public func gateway() -> GatewayConfig? {
        if config.path != nil || ProcessInfo.processInfo.environment["HOOP_CONFIG"] != nil { return try? config.load() }
        let fallback = Self.varFolder + "/hoop.json"
        return FileManager.default.fileExists(atPath: fallback) ? try? GatewayConfig.load(fallback) : nil
    }

    /// $HOOP_VAR, default var (scripts/hoop's).
    public static var varFolder: String { ProcessInfo.processInfo.environment["HOOP_VAR"] ?? "var" }

    public func storePath() -> String {
        if let store { return store }
        if let cfg = gateway(), let p = cfg.json["audit"]?["sqlite"]?.string {
            return p.hasPrefix("/") ? p : URL(fileURLWithPath: cfg.path).deletingLastPathComponent().path + "/" + p
        }
        return Self.varFolder + "/audit.sqlite"
    }

    /// The checkpoint signing key (`audit.signing_key`: a secret reference to 32 bytes
    /// in hex, an Ed25519 seed); nil when none is configured.
    public func signer() throws -> Curve25519.Signing.PrivateKey? {
        guard let cfg = gateway(), let ref = cfg.json["audit"]?["signing_key"] else { return nil }
        guard let hex = try cfg.secret(ref), let seed = Data(hex: hex), seed.count == 32 else {
            throw ConfigError("audit.signing_key must hold 32 bytes in hex (an Ed25519 seed)")
        }
        return try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
    }
}

public extension Data {
    init?(hex: String) {
        let chars = Array(hex.trimmingCharacters(in: .whitespacesAndNewlines).utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = Data(capacity: chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let v = UInt8(String(decoding: chars[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
            out.append(v)
            i += 2
        }
        self = out
    }

    var hex: String { map { String(format: "%02x", $0) }.joined() }
}
