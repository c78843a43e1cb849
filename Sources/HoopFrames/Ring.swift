/// Who owns a frame in a ring of several doors and upstreams (docs/frames.md, "Doors,
/// upstreams and kinds").
///
/// - A session belongs to the door that opened it: its id begins with the door's
///   prefix (letters and digits, then `:`). A door delivers and ends the frames of its
///   own sessions and passes every other frame on, byte for byte.
/// - Every frame that has been round once carries `stamp:record` (hoop-record stamps
///   all it records). The first stage after the doors drops such a frame: no door
///   claimed it, and it must not go round twice.
/// - Each session is opened for one connection, and each connection is of one kind;
///   an upstream acts only on sessions of its own kind.
public enum Ring {
    /// The door prefixes of the stages this project ships.
    public static let postgresDoor = "pg:"
    public static let awsDoor = "aws:"
    public static let mcpDoor = "mcp:"

    /// The door prefix of a session id: what comes before its first `:`, with the
    /// `:`; nil when it has none (no door owns it).
    public static func door(of session: String) -> Substring? {
        guard let colon = session.firstIndex(of: ":"), colon > session.startIndex else { return nil }
        return session[...colon]
    }

    /// True for a prefix a door may take: 1 to 16 letters or digits, then `:`.
    public static func isDoorPrefix(_ p: String) -> Bool {
        let u = Array(p.utf8)
        guard u.count >= 2, u.count <= 17, u.last == UInt8(ascii: ":") else { return false }
        return u.dropLast().allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) }
    }

    /// A frame type fit for a log line: the characters of a session id, 32 at most.
    public static func loggable(_ type: String) -> String {
        String(type.prefix(32).map { c -> Character in
            c.isASCII && (c.isLetter || c.isNumber || "_.:-".contains(c)) ? c : "?"
        })
    }

    /// The stamp that says a frame has been round: hoop-record adds it to every frame.
    public static let roundStamp = "record"

    /// True when a frame line has been round once: it carries the top-level member
    /// `"stamp:record":true` as hoop-record writes it. A member of that name inside a
    /// request's own data (an API call's parameters) does not count.
    public static func hasBeenRound(_ line: UnsafeRawBufferPointer) -> Bool {
        hasTopLevelStamp(line, roundStamp)
    }
}

/// The kinds of connection the gateway knows: what its requests are (SQL frames, API
/// calls) and which upstream runs them. A connection's `kind` in the configuration
/// (default `postgres`); a kind not here is refused by the deciding stages.
public enum ConnectionKind: String, CaseIterable, Sendable {
    case postgres
    case aws

    /// The configured kind of `connection`; nil when the connection is not configured,
    /// or its kind is not one the gateway knows.
    public static func of(_ connection: String, in cfg: GatewayConfig) -> ConnectionKind? {
        guard let c = cfg.json["connections"]?[connection] else { return nil }
        return ConnectionKind(rawValue: c["kind"]?.string ?? ConnectionKind.postgres.rawValue)
    }
}

/// An API answer's body in a frame (docs/frames.md, "API calls"): `body` when it is text,
/// `body_base64` otherwise. What its content type says is text, read by the upstream that
/// makes the frame and by hoop-mask that reads it.
public enum AnswerBody {
    public static func isTextType(_ type: String) -> Bool {
        let type = type.lowercased()
        return type.hasPrefix("text/") || type.contains("json") || type.contains("xml") || type.contains("csv")
    }
}
