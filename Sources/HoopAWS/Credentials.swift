import Foundation
import HoopJSON

/// The gateway's own AWS keys, as a connection of kind `aws` names them (docs/aws.md,
/// "The upstream"): hoop-connect-aws signs API calls with them, hoop-connect signs RDS
/// IAM database tokens with them. Never printed: `description` names no key.
public struct AWSCredentials: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public let accessKeyId: String
    public let secretAccessKey: String
    /// Temporary credentials' session token (X-Amz-Security-Token); nil for long-term keys.
    public let sessionToken: String?

    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String?) {
        self.accessKeyId = accessKeyId; self.secretAccessKey = secretAccessKey; self.sessionToken = sessionToken
    }

    public var description: String { sessionToken == nil ? "AWS keys (hidden)" : "temporary AWS keys (hidden)" }
    public var debugDescription: String { description }

    /// Why a connection's keys cannot be read; the message names the setting and the
    /// file or variable, never a value.
    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
        public init(_ d: String) { description = d }
    }

    /// The keys of the aws connection `name` (its configuration object `connection`): each
    /// of `access_key_id`, `secret_access_key` and the optional `session_token` by
    /// `…_file` (a path, relative ones resolved by `path`) or `…_env` (a variable of
    /// `environment`).
    public static func load(connection: JSON, name: String, path: (String) -> String,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AWSCredentials {
        func secret(_ field: String) throws -> String? {
            if let file = connection[field + "_file"]?.string {
                guard let text = try? String(contentsOfFile: path(file), encoding: .utf8) else {
                    throw LoadError("connections.\(name).\(field)_file: cannot read \(path(file))")
                }
                return text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            if let env = connection[field + "_env"]?.string {
                guard let v = environment[env] else {
                    throw LoadError("connections.\(name).\(field)_env: \(env) is not set")
                }
                return v
            }
            return nil
        }
        guard let akid = try secret("access_key_id"), let sk = try secret("secret_access_key") else {
            throw LoadError("connections.\(name): an aws connection needs access_key_id and secret_access_key (by _file or _env)")
        }
        return AWSCredentials(accessKeyId: akid, secretAccessKey: sk, sessionToken: try secret("session_token"))
    }
}
