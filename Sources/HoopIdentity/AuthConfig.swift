import Foundation
import HoopFrames

/// The `auth` section and the connections' `allow` rules (docs/auth.md).
public struct AuthConfig: Sendable {
    public let issuer: String
    public let audience: String
    public let userClaim: String
    public let groupsClaim: String
    /// How a token says what it is; nil: nothing does, so every identity is an agent.
    public let kindClaim: KindClaim?
    /// Whether a token without `email_verified` may still be known by its `email` (a
    /// provider documented never to send it); `false` is refused whatever this says.
    public let allowMissingEmailVerified: Bool
    public let algorithms: Set<String>
    public let requiredClaims: [String]
    public let clockSkew: Double
    public let jwksMinRefresh: Double
    public let jwksMaxAge: Double
    public let policies: [String: [AllowRule]]
    /// Each connection's kind; nil for a kind the gateway does not know (refused).
    public let kinds: [String: ConnectionKind?]

    /// Algorithms hoop-auth never accepts, whatever the configuration says: the issuer's
    /// keys are public, so a symmetric "signature" could be made by anyone.
    public static let forbidden: Set<String> = ["none", "HS256", "HS384", "HS512"]
    public static let supported: Set<String> = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]

    public init(_ cfg: GatewayConfig) throws {
        guard let a = cfg.json["auth"] else { throw ConfigError("no \"auth\" section: every session is refused") }
        guard let issuer = a["issuer"]?.string, let url = URL(string: issuer), let host = url.host,
              url.scheme == "https" || (url.scheme == "http" && isLoopback(host)) else {
            throw ConfigError("auth.issuer must be an https URL (http only on a loopback host)")
        }
        guard let audience = a["audience"]?.string, !audience.isEmpty else { throw ConfigError("auth.audience is required") }
        self.issuer = issuer
        self.audience = audience
        userClaim = a["user_claim"]?.string ?? "email"
        guard ["email", "preferred_username", "sub"].contains(userClaim) else {
            throw ConfigError("auth.user_claim must be email, preferred_username or sub")
        }
        groupsClaim = a["groups_claim"]?.string ?? "groups"
        kindClaim = try KindClaim(a["agents"])
        guard a["allow_missing_email_verified"].map({ $0.bool != nil }) ?? true else {
            throw ConfigError("auth.allow_missing_email_verified must be true or false")
        }
        allowMissingEmailVerified = a["allow_missing_email_verified"]?.bool ?? false
        let algs = Set((a["algorithms"]?.array ?? [.string("RS256"), .string("ES256"), .string("EdDSA")]).compactMap(\.string))
        if let bad = algs.first(where: { Self.forbidden.contains($0) || !Self.supported.contains($0) }) {
            throw ConfigError("auth.algorithms: \(bad) is not allowed")
        }
        algorithms = algs
        requiredClaims = (a["required_claims"]?.array ?? [.string("sub"), .string("exp")]).compactMap(\.string)
        clockSkew = Double(a["clock_skew_seconds"]?.int ?? 30)
        jwksMinRefresh = Double(a["jwks_min_refresh_seconds"]?.int ?? 30)
        jwksMaxAge = Double(a["jwks_max_age_seconds"]?.int ?? 600)
        var p: [String: [AllowRule]] = [:]
        var k: [String: ConnectionKind?] = [:]
        for (name, c) in cfg.json["connections"]?.object ?? [:] {
            p[name] = try (c["allow"]?.array ?? []).map { try AllowRule($0, connection: name) }
            k[name] = ConnectionKind.of(name, in: cfg)
        }
        policies = p
        kinds = k
    }
}

/// The `agents` section: the claim that says whether a token is a person's or an
/// agent's, and its values for each (docs/auth.md, "Agents and persons"). Shared by
/// hoop-auth, hoop-approve and the development issuer, so all read it alike.
public struct KindClaim: Sendable {
    public let claim: String
    public let agentValues: [String]
    public let personValues: [String]

    /// nil when the section is absent. Misread, it would make every agent a person:
    /// any other shape is a configuration error instead.
    public init?(_ agents: JSON?) throws {
        guard let agents else { return nil }
        guard let claim = agents["claim"]?.string, !claim.isEmpty else { throw ConfigError("auth.agents.claim must name a claim") }
        func list(_ key: String, default d: [String]?) throws -> [String] {
            guard let v = agents[key] else {
                if let d { return d }
                throw ConfigError("auth.agents.\(key) must be a string or a list of strings")
            }
            let values = v.string.map { [JSON.string($0)] } ?? v.array ?? []
            guard !values.isEmpty, values.allSatisfy({ $0.string.map { !$0.isEmpty } ?? false }) else {
                throw ConfigError("auth.agents.\(key) must be a string or a list of strings")
            }
            return values.compactMap(\.string)
        }
        self.claim = claim
        agentValues = try list("values", default: nil)
        personValues = try list("person_values", default: ["person"])
        guard Set(agentValues).isDisjoint(with: personValues) else {
            throw ConfigError("auth.agents: a value cannot name both an agent and a person")
        }
    }
}

/// One `allow` rule of a connection.
public struct AllowRule: Sendable {
    public let groups: Set<String>
    public let users: Set<String>
    public let kind: String?
    public let maxSession: Double

    public init(_ j: JSON, connection: String = "") throws {
        groups = Set((j["groups"]?.array ?? []).compactMap(\.string))
        users = Set((j["users"]?.array ?? []).compactMap(\.string))
        // A kind misread as absent would let either kind in.
        guard j["kind"] == nil || ["person", "agent"].contains(j["kind"]?.string ?? "") else {
            throw ConfigError("connections.\(connection).allow: kind must be \"person\" or \"agent\"")
        }
        kind = j["kind"]?.string
        maxSession = Double(j["max_session_seconds"]?.int ?? 3600)
    }

    public func allows(_ id: Identity) -> Bool {
        if let kind, kind != id.kind { return false }
        return users.contains(id.user) || !groups.isDisjoint(with: id.groups)
    }
}

public func isLoopback(_ host: String) -> Bool {
    host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
}
