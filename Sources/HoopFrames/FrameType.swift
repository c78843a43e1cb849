/// The frame types of docs/frames.md, named once: every stage routes on these, and a
/// type spelled anywhere else is a type no stage knows.
public enum FrameType {
    // Sessions: a door opens one, the upstream answers; either end closes it.
    public static let sessionOpen = "session_open"
    public static let sessionOpened = "session_opened"
    public static let sessionClose = "session_close"
    public static let sessionClosed = "session_closed"

    // Requests: from a door towards an upstream.
    public static let query = "query"
    public static let parse = "parse"
    public static let bind = "bind"
    public static let describe = "describe"
    public static let execute = "execute"
    public static let close = "close"
    public static let sync = "sync"
    public static let flush = "flush"
    public static let cancel = "cancel"
    public static let copyData = "copy_data"
    public static let copyDone = "copy_done"
    public static let copyFail = "copy_fail"
    /// An API call (kind `aws`; the MCP door's tool calls later): `action`, `target`,
    /// `access` (the IAM access level), `params`, `detached`.
    public static let call = "call"
    /// A streamed request body's pieces, after a `call` with `"body_streamed": true`:
    /// `body_base64`, then one with `end` (or `abort`).
    public static let callData = "call_data"

    // Responses: from an upstream towards the door.
    public static let columns = "columns"
    public static let rows = "rows"
    public static let complete = "complete"
    public static let empty = "empty"
    public static let suspended = "suspended"
    public static let parseComplete = "parse_complete"
    public static let bindComplete = "bind_complete"
    public static let closeComplete = "close_complete"
    public static let noData = "no_data"
    public static let parameters = "parameters"
    public static let parameterStatus = "parameter_status"
    public static let notice = "notice"
    public static let error = "error"
    public static let ready = "ready"
    public static let notification = "notification"
    public static let copyInResponse = "copy_in_response"
    public static let copyOutResponse = "copy_out_response"
    public static let copyOutData = "copy_out_data"
    public static let copyOutDone = "copy_out_done"
    /// An API call's answer: `status`, `body` (text).
    public static let result = "result"
    /// A streamed answer's pieces, after a `result` with `"chunked": true`, and its end.
    public static let resultData = "result_data"
    public static let resultEnd = "result_end"

    // Decisions: a deciding stage's answer in place of, or beside, a request.
    public static let deny = "deny"
    public static let hold = "hold"
    public static let approved = "approved"
    public static let decision = "decision"
    public static let refused = "refused"
    public static let masked = "masked"

    // Control: flow credit travels back from the door to the upstream, and for a streamed
    // request body (an upload, COPY FROM STDIN) from the upstream to the door.
    public static let credit = "credit"
    public static let callCredit = "call_credit"
    /// COPY FROM STDIN's `copy_data` frames the upstream has handed to the server
    /// (`frames`): the door reads its client only a window of them ahead.
    public static let copyCredit = "copy_credit"

    /// The frame types that travel from a door towards an upstream.
    public static let requests: Set<String> = [
        sessionOpen, query, parse, bind, describe, execute, close, sync, flush, cancel, copyData, copyDone, copyFail, call,
        callData,
    ]

    /// The frame types that travel from an upstream towards the door.
    public static let responses: Set<String> = [
        sessionOpened, sessionClosed, columns, rows, complete, empty, suspended, parseComplete, bindComplete,
        closeComplete, noData, parameters, parameterStatus, notice, error, ready, notification,
        result, resultData, resultEnd, copyInResponse, copyOutResponse, copyOutData, copyOutDone,
    ]
}

/// The fields of an error or notice frame and PostgreSQL's field codes for them
/// (ErrorResponse / NoticeResponse; libpq's PG_DIAG_*): a door writes them to its
/// clients, an upstream reads them from the server.
public let errorFieldCodes: [(name: String, code: UInt8)] = [
    ("severity", UInt8(ascii: "S")), ("severity_nonlocalized", UInt8(ascii: "V")), ("code", UInt8(ascii: "C")),
    ("message", UInt8(ascii: "M")), ("detail", UInt8(ascii: "D")), ("hint", UInt8(ascii: "H")),
    ("position", UInt8(ascii: "P")), ("internal_position", UInt8(ascii: "p")), ("internal_query", UInt8(ascii: "q")),
    ("where", UInt8(ascii: "W")), ("schema", UInt8(ascii: "s")), ("table", UInt8(ascii: "t")),
    ("column", UInt8(ascii: "c")), ("datatype", UInt8(ascii: "d")), ("constraint", UInt8(ascii: "n")),
    ("file", UInt8(ascii: "F")), ("line", UInt8(ascii: "L")), ("routine", UInt8(ascii: "R")),
]
