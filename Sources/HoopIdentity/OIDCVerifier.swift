import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HoopFrames
import JWTKit

/// Verifies OIDC tokens (docs/auth.md, "What is verified"): the JOSE work is jwt-kit's;
/// the choices (which algorithms, which key, which claims, how stale keys may be) are ours.
public final class OIDCVerifier: Sendable {
    public let config: AuthConfig
    let keys: IssuerKeys

    public init(_ config: AuthConfig) {
        self.config = config
        keys = IssuerKeys(config)
    }

    static let maxTokenBytes = 16 * 1024

    /// The identity behind `token`, for a client that logged in as `user`.
    public func verify(token: String, user: String?) async throws -> Identity {
        guard token.utf8.count <= Self.maxTokenBytes else { throw Denial(reason: "malformed", message: "the token is too large") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = base64URL(parts[0]), let payloadBytes = base64URL(parts[1]),
              base64URL(parts[2]) != nil,
              case .object(let header)? = try? JSON.parse(headerBytes),
              case .object(let claims)? = try? JSON.parse(payloadBytes) else { throw Denial.malformed() }

        // The algorithm first: `none` and HMAC never, whatever the token or the key says.
        guard let alg = header["alg"]?.string, !AuthConfig.forbidden.contains(alg), config.algorithms.contains(alg) else {
            throw Denial(reason: "algorithm", message: "the token's signature algorithm is not accepted")
        }
        // No `kid`: only an issuer with a single key that fits the algorithm is unambiguous.
        let (collection, jwk) = try await keys.key(header["kid"]?.string, fitting: { self.fits($0, alg) })
        guard fits(jwk, alg) else { throw Denial(reason: "algorithm", message: "the token's algorithm does not match its key") }
        do {
            _ = try await collection.verify(token, as: AnyClaims.self)
        } catch {
            throw Denial(reason: "signature", message: "the token's signature is not valid")
        }
        return try check(claims, user: user)
    }

    /// Whether the key can make this algorithm's signatures (no RSA key for EdDSA, …).
    func fits(_ jwk: JWK, _ alg: String) -> Bool {
        if let keyAlg = jwk.algorithm?.rawValue, keyAlg != alg { return false }
        switch jwk.keyType {
        case .rsa: return alg.hasPrefix("RS") || alg.hasPrefix("PS")
        case .ecdsa: return (alg == "ES256" && jwk.curve?.rawValue == "P-256") || (alg == "ES384" && jwk.curve?.rawValue == "P-384")
        case .octetKeyPair: return alg == "EdDSA" && jwk.curve?.rawValue == "Ed25519"
        default: return false
        }
    }

    /// The latest time a token may name (9999-12-31T23:59:59Z): past it a value is no
    /// date but an attack on whatever converts it (docs/auth.md, "Claims").
    public static let maxTime: Double = 253_402_300_799

    /// The claims, read by one rule: a claim hoop reads is absent or of the shape the
    /// docs give it; any other shape is refused (`invalid_claim`), never read as absent,
    /// which could give more (a person's rules to an agent, a token without its limits).
    public func check(_ claims: [String: JSON], user: String?, now: Double = Date().timeIntervalSince1970) throws -> Identity {
        let skew = config.clockSkew
        for name in config.requiredClaims where claims[name] == nil || claims[name] == .null {
            throw Denial(reason: "missing_claim", message: "the token has no \"\(name)\" claim")
        }
        guard let iss = try Self.string(claims, "iss"), iss == config.issuer else {
            throw Denial(reason: "issuer", message: "the token is from another issuer")
        }
        let audiences = try Self.strings(claims, "aud") ?? []
        guard audiences.contains(config.audience) else { throw Denial(reason: "audience", message: "the token is not meant for this gateway (audience)") }
        guard let exp = try Self.time(claims, "exp") else { throw Denial(reason: "missing_claim", message: "the token has no expiry") }
        // No skew on expiry: the session would end at `exp` anyway, so a token already
        // past it opens nothing. (The skew is for `nbf` and `iat`, which a fast issuer
        // clock can put slightly in our future.)
        guard exp > now else { throw Denial(reason: "expired", message: "the token has expired") }
        if let nbf = try Self.time(claims, "nbf"), nbf > now + skew { throw Denial(reason: "not_yet_valid", message: "the token is not valid yet") }
        if let iat = try Self.time(claims, "iat"), iat > now + skew { throw Denial(reason: "issued_in_future", message: "the token was issued in the future") }
        // An empty subject would be everyone's: requester and approver are told apart by it.
        guard let subject = try Self.string(claims, "sub"), !subject.isEmpty else {
            throw Denial(reason: "missing_claim", message: "the token has no subject (\"sub\" claim)")
        }
        let email = try verifiedEmail(claims)
        guard let claimed = try Self.string(claims, config.userClaim), user == nil || claimed == user else {
            throw Denial(reason: "user_mismatch", message: "the user name does not match the token")
        }
        // At some providers (Entra ID, …) a user may set `email` to anyone's address:
        // only one the issuer vouches for names a person.
        if config.userClaim == "email", email == nil {
            throw Self.invalid("email", "not one the issuer verified (\"email_verified\" is not true)")
        }
        try Self.readable(claimed, config.userClaim)
        let groups = try Self.strings(claims, config.groupsClaim) ?? []
        let kind = try self.kind(claims)
        return Identity(issuer: config.issuer, subject: subject, user: claimed, email: email,
                        groups: groups, kind: kind, tokenExpiresAt: exp)
    }

    /// "person" only when the agents claim names a person value (and no agent value);
    /// otherwise an agent: absent, empty or unknown values say nothing, and an agent may
    /// ask but never approve (least privilege). Both kinds at once: refused. Without an
    /// `agents` section nothing tells a person from an agent: every identity is an agent.
    func kind(_ claims: [String: JSON]) throws -> String {
        guard let k = config.kindClaim else { return "agent" }
        let values = try Self.strings(claims, k.claim) ?? []
        let agent = values.contains { k.agentValues.contains($0) }, person = values.contains { k.personValues.contains($0) }
        if agent && person { throw Self.invalid(k.claim, "naming both an agent and a person") }
        return person ? "person" : "agent"
    }

    /// The `email`, when the issuer verified it (`"email_verified": true`, a boolean;
    /// absent only with `allow_missing_email_verified`); nil otherwise, so an address the
    /// user typed is neither their name nor recorded as theirs.
    func verifiedEmail(_ claims: [String: JSON]) throws -> String? {
        let email = try Self.string(claims, "email")
        switch claims["email_verified"] {
        case .bool(let verified)?: return verified ? email : nil
        case nil: return config.allowMissingEmailVerified ? email : nil
        default: throw Self.invalid("email_verified", "not true or false")
        }
    }

    /// A user name a person reading the audit trail or an approval list cannot mistake
    /// for another: no invisible or control characters (zero-width, bidi overrides), no
    /// compatibility forms (fullwidth or mathematical letters) and no label (between `@`
    /// and `.`) mixing scripts whose letters look alike (Latin `a`, Cyrillic `а`).
    static func readable(_ name: String, _ claim: String) throws {
        for s in name.unicodeScalars {
            switch s.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .privateUse, .surrogate, .unassigned:
                throw invalid(claim, "holding an invisible or control character")
            default: continue
            }
        }
        guard name.precomposedStringWithCompatibilityMapping == name else {
            throw invalid(claim, "holding a compatibility character (fullwidth, ligature, styled letter)")
        }
        for label in name.unicodeScalars.split(whereSeparator: { $0 == "@" || $0 == "." }) {
            if Set(label.compactMap(lookalikeScript)).count > 1 {
                throw invalid(claim, "mixing letters of scripts that look alike")
            }
        }
    }

    /// The script of a letter that has look-alikes in another (UTS #39's usual
    /// suspects); nil for other characters.
    static func lookalikeScript(_ s: Unicode.Scalar) -> String? {
        guard s.properties.isAlphabetic else { return nil }
        switch s.value {
        case 0x41...0x5A, 0x61...0x7A, 0xC0...0x2AF, 0x1E00...0x1EFF, 0x2C60...0x2C7F, 0xA720...0xA7FF, 0xAB30...0xAB6F:
            return "Latin"
        case 0x370...0x3FF, 0x1F00...0x1FFF: return "Greek"
        case 0x400...0x52F, 0x1C80...0x1C8F, 0x2DE0...0x2DFF, 0xA640...0xA69F: return "Cyrillic"
        case 0x530...0x58F: return "Armenian"
        case 0x13A0...0x13FF, 0xAB70...0xABBF: return "Cherokee"
        default: return nil
        }
    }

    static func invalid(_ name: String, _ what: String) -> Denial {
        Denial(reason: "invalid_claim", message: "the token's \"\(name)\" claim is \(what)")
    }

    /// A string claim: absent is nil, any other shape is refused.
    static func string(_ claims: [String: JSON], _ name: String) throws -> String? {
        switch claims[name] {
        case nil: return nil
        case .string(let s)?: return s
        default: throw invalid(name, "not a string")
        }
    }

    /// A claim that is a string or a list of strings (aud, groups, the agents claim).
    static func strings(_ claims: [String: JSON], _ name: String) throws -> [String]? {
        switch claims[name] {
        case nil: return nil
        case .string(let s)?: return [s]
        case .array(let a)?:
            let strings = a.compactMap(\.string)
            guard strings.count == a.count else { throw invalid(name, "a list of something other than strings") }
            return strings
        default: throw invalid(name, "neither a string nor a list of strings")
        }
    }

    /// A NumericDate (seconds since 1970): a finite number between 0 and `maxTime`.
    static func time(_ claims: [String: JSON], _ name: String) throws -> Double? {
        let t: Double
        switch claims[name] {
        case nil: return nil
        case .int(let i)?: t = Double(i)
        case .double(let d)?: t = d
        default: throw invalid(name, "not a number of seconds")
        }
        guard t.isFinite, t >= 0, t <= maxTime else { throw invalid(name, "not a date from 1970 to 9999") }
        return t
    }
}

/// jwt-kit checks the signature; the claims are checked by `OIDCVerifier.check`, which
/// knows the clock skew and says which claim failed.
struct AnyClaims: JWTPayload {
    init(from decoder: Decoder) throws {}
    func encode(to encoder: Encoder) throws {}
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

public func base64URL(_ s: Substring) -> [UInt8]? {
    guard !s.isEmpty, s.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
    var b = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while b.count % 4 != 0 { b += "=" }
    return Data(base64Encoded: b).map(Array.init)
}

/// The issuer's signing keys: discovered, cached, refreshed on an unknown `kid` at
/// most once per `jwks_min_refresh_seconds`, and kept while the issuer is unreachable.
actor IssuerKeys {
    let config: AuthConfig
    private var collection = JWTKeyCollection()
    private var jwks: [String: JWK] = [:]
    private var fetchedAt: Double = 0
    private var lastAttempt: Double = -.infinity
    private var refreshing: Task<Void, Never>? = nil

    init(_ config: AuthConfig) { self.config = config }

    func key(_ kid: String?, fitting fits: (JWK) -> Bool) async throws -> (JWTKeyCollection, JWK) {
        let now = Date().timeIntervalSince1970
        let stale = now - fetchedAt > config.jwksMaxAge
        let known = kid.map { jwks[$0] != nil } ?? !jwks.isEmpty
        if let inFlight = refreshing, !known || stale {
            // Another session is fetching the keys right now and ours are not enough (an
            // unknown kid, or keys past their age): wait for that fetch rather than judge
            // this token on the keys from before it. A token whose key is cached and
            // fresh does not wait on someone else's fetch (a hanging issuer holds only
            // the session that needs it).
            await inFlight.value
        } else if (!known || stale) && now - lastAttempt >= config.jwksMinRefresh {
            lastAttempt = now
            let task = Task { await self.refresh() }
            refreshing = task
            await task.value
            refreshing = nil
        }
        if jwks.isEmpty { throw Denial(reason: "issuer_unavailable", message: "the identity provider cannot be reached", code: "08006") }
        if let kid {
            guard let jwk = jwks[kid] else { throw Denial(reason: "unknown_key", message: "the token's signing key is not the issuer's") }
            return (collection, jwk)
        }
        let candidates = jwks.values.filter(fits)
        guard candidates.count == 1, let jwk = candidates.first else {
            throw Denial(reason: "unknown_key", message: "the token names no signing key and the issuer has several")
        }
        // jwt-kit checks a kid-less token with its default key (the JWKS's first), not
        // necessarily the one chosen here: a collection of that key alone.
        let single = JWTKeyCollection()
        do { try await single.add(jwk: jwk) } catch { throw Denial(reason: "unknown_key", message: "the issuer's key cannot be used") }
        return (single, jwk)
    }

    /// Fetches discovery and the JWKS; on any failure keeps what it had.
    private func refresh() async {
        do {
            let discovery = try await fetchJSON(config.issuer.trimmingSuffix("/") + "/.well-known/openid-configuration")
            guard discovery["issuer"]?.string == config.issuer, let uri = discovery["jwks_uri"]?.string else {
                return logLine("hoop-auth", "discovery document does not name this issuer or a jwks_uri; keys kept")
            }
            let set = try await fetchData(uri)
            // Key by key: one key of a kind we do not take (symmetric, encryption) must not
            // make the others unusable.
            guard case .array(let entries)? = try set.withUnsafeBytes({ try JSON.parse($0) })["keys"] else {
                return logLine("hoop-auth", "the issuer's JWKS has no \"keys\"; keys kept")
            }
            let fresh = JWTKeyCollection()
            var byKid: [String: JWK] = [:]
            for entry in entries {
                guard entry["kty"]?.string != "oct", entry["use"]?.string ?? "sig" == "sig",
                      let data = jsonData(entry), let jwk = try? JSONDecoder().decode(JWK.self, from: data),
                      let kid = jwk.keyIdentifier?.string else { continue }
                do { try await fresh.add(jwk: jwk); byKid[kid] = jwk } catch { continue }
            }
            guard !byKid.isEmpty else { return logLine("hoop-auth", "the issuer's JWKS has no usable key; keys kept") }
            collection = fresh
            jwks = byKid
            fetchedAt = Date().timeIntervalSince1970
            logLine("hoop-auth", "fetched \(byKid.count) signing keys from the issuer")
        } catch {
            logLine("hoop-auth", "could not refresh the issuer's keys (\(type(of: error))); \(jwks.count) cached keys kept")
        }
    }

    private func fetchJSON(_ url: String) async throws -> JSON {
        let data = try await fetchData(url)
        return try data.withUnsafeBytes { try JSON.parse($0) }
    }

    private func fetchData(_ url: String) async throws -> Data {
        guard let u = URL(string: url), let host = u.host, u.scheme == "https" || (u.scheme == "http" && isLoopback(host)) else {
            throw ConfigError("refusing to fetch \(url): https only, http on loopback")
        }
        var request = URLRequest(url: u, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: 5)
        request.httpMethod = "GET"
        return try await withCheckedThrowingContinuation { (c: CheckedContinuation<Data, Error>) in
            let task = URLSession.shared.dataTask(with: request) { data, response, error in
                if let error { return c.resume(throwing: error) }
                guard let http = response as? HTTPURLResponse, http.statusCode == 200, let data, data.count < (1 << 20) else {
                    return c.resume(throwing: ConfigError("HTTP fetch failed"))
                }
                c.resume(returning: data)
            }
            task.resume()
            // The request's own timeout is per read on Linux: an issuer that accepts and
            // never answers would hold the session for a minute. Five seconds in all.
            DispatchQueue.global().asyncAfter(deadline: .now() + 5) { [weak task] in task?.cancel() }
        }
    }
}

/// A JSON value as UTF-8 bytes (for Codable decoders).
public func jsonData(_ v: JSON) -> Data? {
    var w = JSONWriter()
    w.value(v)
    return Data(w.bytes)
}

extension String {
    public func trimmingSuffix(_ s: String) -> String { hasSuffix(s) ? String(dropLast(s.count)) : self }
}
