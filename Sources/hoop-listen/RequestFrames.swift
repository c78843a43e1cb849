import HoopFrames

// Client messages into request frames (docs/frames.md, Requests), and the session
// frames hoop-listen writes.

/// A request forwarded upstream, remembered until its last response has come back, so
/// that replies made here (local errors) keep their place among the upstream's.
enum RequestKind {
    case query, parse, bind, describe, execute, close, sync

    /// Whether a response frame of `type` is the last one this request gets.
    func isAnsweredBy(_ type: String) -> Bool {
        switch self {
        case .query, .sync: return type == FrameType.ready
        case .parse: return type == FrameType.parseComplete || type == FrameType.error
        case .bind: return type == FrameType.bindComplete || type == FrameType.error
        case .describe: return type == FrameType.columns || type == FrameType.noData || type == FrameType.error
        case .execute: return type == FrameType.complete || type == FrameType.empty || type == FrameType.suspended || type == FrameType.error
        case .close: return type == FrameType.closeComplete || type == FrameType.error
        }
    }
}

extension ClientMessage {
    /// The request frame's type and fields, and what answers it; nil for messages that
    /// are not forwarded.
    var request: (type: String, fields: [String: JSON], kind: RequestKind?)? {
        switch self {
        case .query(let sql):
            return (FrameType.query, ["sql": .string(sql)], .query)
        case .parse(let name, let sql, let types):
            return (FrameType.parse, ["name": .string(name), "sql": .string(sql),
                              "param_types": .array(types.map { .int(Int64($0)) })], .parse)
        case .bind(let portal, let statement, let params, let paramFormats, let resultFormats):
            return (FrameType.bind, ["portal": .string(portal), "statement": .string(statement),
                             "params": .array(params),
                             "param_formats": .array(paramFormats.map { .int(Int64($0)) }),
                             "result_formats": .array(resultFormats.map { .int(Int64($0)) })], .bind)
        case .describe(let kind, let name):
            return (FrameType.describe, ["kind": .string(String(UnicodeScalar(kind))), "name": .string(name)], .describe)
        case .execute(let portal, let maxRows):
            return (FrameType.execute, ["portal": .string(portal), "max_rows": .int(Int64(max(0, maxRows)))], .execute)
        case .close(let kind, let name):
            return (FrameType.close, ["kind": .string(String(UnicodeScalar(kind))), "name": .string(name)], .close)
        case .sync:
            return (FrameType.sync, [:], .sync)
        case .flush:
            return (FrameType.flush, [:], nil)
        case .copyData(let data):
            return (FrameType.copyData, ["data": data], nil)
        case .copyDone:
            return (FrameType.copyDone, [:], nil)
        case .copyFail(let message):
            return (FrameType.copyFail, ["message": .string(message)], nil)
        case .password, .terminate, .functionCall:
            return nil
        }
    }
}

enum SessionFrames {
    static func open(session: String, user: String, database: String, parameters: [(String, String)],
                     credential: String, clientAddr: String, clientPort: Int, tls: String? = nil) -> Frame {
        var options: [String: JSON] = [:]
        var client: [String: JSON] = ["addr": .string(clientAddr), "port": .int(Int64(clientPort))]
        if let tls { client["tls"] = .string(tls) }   // the TLS version the client's connection uses
        for (k, v) in parameters { options[k] = .string(v) }
        let app = parameters.last(where: { $0.0 == "application_name" })?.1 ?? ""
        return Frame(FrameType.sessionOpen, session: session, seq: 0, [
            "user": .string(user), "database": .string(database), "connection": .string(database), "options": .object(options),
            "credential": .string(credential),
            "client": .object(client),
            "application_name": .string(app),
        ])
    }

    static func close(session: String, reason: String) -> Frame {
        Frame(FrameType.sessionClose, session: session, ["reason": .string(reason)])
    }

    static func credit(session: String, batches: Int = 1) -> [UInt8] {
        // The exact form of docs/frames.md, Flow control.
        Frame(FrameType.credit, session: session, ["batches": .int(Int64(batches))]).encoded()
    }
}
