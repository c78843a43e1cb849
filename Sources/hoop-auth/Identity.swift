import Foundation
import HoopFrames

/// Who a verified token says the session is.
struct Identity {
    let issuer: String
    let subject: String
    let user: String
    let email: String?
    let groups: [String]
    let kind: String          // "person" or "agent"
    let tokenExpiresAt: Double

    func json(sessionEndsAt: Double) -> JSON {
        var o: [String: JSON] = [
            "issuer": .string(issuer), "subject": .string(subject), "user": .string(user),
            "groups": .array(groups.map(JSON.string)), "kind": .string(kind),
            "token_expires_at": .int(Int64(tokenExpiresAt)), "session_ends_at": .int(Int64(sessionEndsAt)),
        ]
        if let email { o["email"] = .string(email) }
        return .object(o)
    }
}

/// Why a session was refused or ended: the `reason` of the decision frame and the
/// words the client reads. Never the token.
struct Denial: Error {
    let reason: String
    let message: String
    var code = "28000"

    static func malformed() -> Denial { Denial(reason: "malformed", message: "the password is not a well-formed token") }
}
