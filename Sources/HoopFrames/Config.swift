import Foundation

/// The gateway's configuration file (JSON; see README, Configuration). Each stage
/// reads the parts it needs.
public struct GatewayConfig {
    public let json: JSON
    public let path: String

    public static func load(_ path: String?) throws -> GatewayConfig {
        let path = path ?? ProcessInfo.processInfo.environment["HOOP_CONFIG"] ?? "var/hoop.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError("cannot read configuration \(path)")
        }
        do {
            let json = try data.withUnsafeBytes { try JSON.parse($0) }
            guard json.object != nil else { throw ConfigError("\(path): not a JSON object") }
            return GatewayConfig(json: json, path: path)
        } catch let e as JSONParseError {
            throw ConfigError("\(path): \(e.description)")
        }
    }

    /// A path from the configuration: relative paths are relative to its folder.
    public func file(_ file: String) -> String {
        file.hasPrefix("/") ? file : (URL(fileURLWithPath: path).deletingLastPathComponent().path + "/" + file)
    }

    /// Reads a secret by reference: `{"file": PATH}` or `{"env": NAME}`, never inline,
    /// so that the configuration file itself can be shown and versioned.
    public func secret(_ ref: JSON?) throws -> String? {
        guard let ref else { return nil }
        if let file = ref["file"]?.string {
            let resolved = self.file(file)
            guard let data = FileManager.default.contents(atPath: resolved) else {
                throw ConfigError("cannot read secret file \(resolved)")
            }
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let name = ref["env"]?.string {
            guard let v = ProcessInfo.processInfo.environment[name] else { throw ConfigError("environment variable \(name) is not set") }
            return v
        }
        throw ConfigError("a secret must be {\"file\": …} or {\"env\": …}")
    }
}

public struct ConfigError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
