import Foundation
import HoopJSON

/// Who a verified token says the session is.
public struct Identity: Sendable {
    public let issuer: String
    public let subject: String
    public let user: String
    public let email: String?
    public let groups: [String]
    public let kind: String          // "person" or "agent"
    public let tokenExpiresAt: Double

    public init(issuer: String, subject: String, user: String, email: String?, groups: [String], kind: String, tokenExpiresAt: Double) {
        self.issuer = issuer; self.subject = subject; self.user = user; self.email = email
        self.groups = groups; self.kind = kind; self.tokenExpiresAt = tokenExpiresAt
    }

    public func json(sessionEndsAt: Double) -> JSON {
        var o: [String: JSON] = [
            "issuer": .string(issuer), "subject": .string(subject), "user": .string(user),
            "groups": .array(groups.map(JSON.string)), "kind": .string(kind),
            "token_expires_at": .int(wholeSeconds(tokenExpiresAt)), "session_ends_at": .int(wholeSeconds(sessionEndsAt)),
        ]
        if let email { o["email"] = .string(email) }
        return .object(o)
    }
}

/// A time as whole seconds, never trapping: OIDCVerifier bounds a token's times, but
/// this is the last conversion before a frame (Int64(Double) traps out of range).
public func wholeSeconds(_ t: Double) -> Int64 {
    guard t.isFinite else { return t > 0 ? Int64.max : 0 }
    return Int64(min(max(t, -9.0e18), 9.0e18))
}

/// Why a session was refused or ended: the `reason` of the decision frame and the
/// words the client reads. Never the token.
public struct Denial: Error {
    public let reason: String
    public let message: String
    public var code = "28000"

    public init(reason: String, message: String, code: String = "28000") {
        self.reason = reason; self.message = message; self.code = code
    }

    public static func malformed() -> Denial { Denial(reason: "malformed", message: "the password is not a well-formed token") }
}
