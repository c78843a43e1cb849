@_exported import HoopJSON
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// One frame of the ring: a header (type, session, seq) and the rest of its fields.
/// See docs/frames.md.
public struct Frame: Equatable, Sendable {
    public var type: String
    public var session: String?
    public var seq: Int64?
    public var fields: [String: JSON]

    public init(_ type: String, session: String? = nil, seq: Int64? = nil, _ fields: [String: JSON] = [:]) {
        self.type = type
        self.session = session
        self.seq = seq
        self.fields = fields
    }

    public subscript(key: String) -> JSON? {
        get { fields[key] }
        set { fields[key] = newValue }
    }

    public func stamped(by stage: String) -> Bool { fields["stamp:\(stage)"] == .bool(true) }

    /// Decodes a frame line (without its newline).
    public static func decode(_ line: UnsafeRawBufferPointer) throws -> Frame {
        guard case .object(var object) = try JSON.parse(line) else {
            throw JSONParseError(description: "not a JSON object")
        }
        guard case .string(let type)? = object.removeValue(forKey: "type") else {
            throw JSONParseError(description: "no string \"type\"")
        }
        var session: String? = nil
        if let s = object.removeValue(forKey: "session") {
            guard case .string(let id) = s, FrameHeader.isValidSession(id) else {
                throw JSONParseError(description: "invalid \"session\"")
            }
            session = id
        }
        var seq: Int64? = nil
        if let n = object.removeValue(forKey: "seq") {
            guard case .int(let i) = n, i >= 0 else { throw JSONParseError(description: "invalid \"seq\"") }
            seq = i
        }
        return Frame(type, session: session, seq: seq, object)
    }

    public static func decode(_ line: [UInt8]) throws -> Frame {
        try line.withUnsafeBytes { try decode($0) }
    }

    /// Encodes the frame as one line, newline included, header keys first.
    public func encoded() -> [UInt8] {
        var w = JSONWriter(reserving: 128)
        w.raw("{\"type\":")
        w.string(type)
        if let session {
            w.raw(",\"session\":")
            w.string(session)
        }
        if let seq {
            w.raw(",\"seq\":")
            w.int(seq)
        }
        for key in fields.keys.sorted() {
            w.bytes.append(UInt8(ascii: ","))
            w.string(key)
            w.bytes.append(UInt8(ascii: ":"))
            w.value(fields[key]!)
        }
        w.raw("}\n")
        return w.bytes
    }
}

/// What a router reads from the front of a line without parsing the rest.
public struct FrameHeader: Equatable {
    public var type: String
    public var session: String?
    public var seq: Int64?

    public static func isValidSession(_ s: String) -> Bool {
        let u = s.utf8
        guard (1...64).contains(u.count) else { return false }
        return u.allSatisfy(isSessionByte)
    }

    static func isSessionByte(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
            || c == UInt8(ascii: "_") || c == UInt8(ascii: ".") || c == UInt8(ascii: ":") || c == UInt8(ascii: "-")
    }

    /// Reads `{"type":"T","session":"S","seq":N` from the start of a line written by
    /// a hoop writer. Returns a header only when it is complete: the seq is followed by
    /// `,` or `}`, or the frame ends right after the session. Anything else returns
    /// nil and the caller decodes the whole frame — a fast path, never a validation.
    public static func peek(_ line: UnsafeRawBufferPointer) -> FrameHeader? {
        var i = 0
        func expect(_ s: StaticString) -> Bool {
            let n = s.utf8CodeUnitCount
            guard i + n <= line.count else { return false }
            let p = s.utf8Start
            for k in 0..<n where line[i + k] != p[k] { return false }
            i += n
            return true
        }
        func token() -> String? {
            let start = i
            while i < line.count, line[i] != UInt8(ascii: "\"") {
                guard isSessionByte(line[i]), i - start < 64 else { return nil }
                i += 1
            }
            guard i < line.count, i > start else { return nil }
            defer { i += 1 }
            return String(decoding: UnsafeRawBufferPointer(rebasing: line[start..<i]), as: UTF8.self)
        }
        func endsHere() -> Bool { i < line.count && (line[i] == UInt8(ascii: "}") || line[i] == UInt8(ascii: ",")) }
        guard expect("{\"type\":\""), let type = token() else { return nil }
        if i < line.count, line[i] == UInt8(ascii: "}") { return FrameHeader(type: type) }
        guard expect(",\"session\":\"") else { return nil }
        guard let session = token() else { return nil }
        if i < line.count, line[i] == UInt8(ascii: "}") { return FrameHeader(type: type, session: session) }
        // A credit carries no seq by contract ({"type":"credit","session":…,"batches":n}):
        // one goes round the ring per rows frame, so it must not take the slow path.
        if type == FrameType.credit, line.count - i > 2, line[i] == UInt8(ascii: ","), line[i + 1] == UInt8(ascii: "\""),
           line[i + 2] != UInt8(ascii: "s") { return FrameHeader(type: type, session: session) }
        guard expect(",\"seq\":") else { return nil }
        let start = i
        var n: Int64 = 0
        while i < line.count, line[i] >= 0x30, line[i] <= 0x39, i - start < 18 {
            n = n * 10 + Int64(line[i] - 0x30)
            i += 1
        }
        guard i > start, endsHere(), !(line[start] == 0x30 && i - start > 1) else { return nil }
        return FrameHeader(type: type, session: session, seq: n)
    }

    public init(type: String, session: String? = nil, seq: Int64? = nil) {
        self.type = type
        self.session = session
        self.seq = seq
    }

    /// Best effort for a line that failed to parse: find `"session":"…"` and
    /// `"seq":N` anywhere in the first 4 KiB so that the error goes to its session.
    public static func salvage(_ line: UnsafeRawBufferPointer) -> (session: String?, seq: Int64?) {
        let window = UnsafeRawBufferPointer(rebasing: line[0..<min(line.count, 4096)])
        func find(_ needle: StaticString) -> Int? {
            let n = needle.utf8CodeUnitCount
            guard window.count >= n else { return nil }
            let p = needle.utf8Start
            outer: for start in 0...(window.count - n) {
                for k in 0..<n where window[start + k] != p[k] { continue outer }
                return start + n
            }
            return nil
        }
        var session: String? = nil
        if var i = find("\"session\":\"") {
            let start = i
            while i < window.count, isSessionByte(window[i]), i - start < 64 { i += 1 }
            if i < window.count, window[i] == UInt8(ascii: "\""), i > start {
                session = String(decoding: UnsafeRawBufferPointer(rebasing: window[start..<i]), as: UTF8.self)
            }
        }
        var seq: Int64? = nil
        if var i = find("\"seq\":") {
            var n: Int64 = 0
            let start = i
            while i < window.count, window[i] >= 0x30, window[i] <= 0x39, i - start < 18 {
                n = n * 10 + Int64(window[i] - 0x30); i += 1
            }
            if i > start { seq = n }
        }
        return (session, seq)
    }
}

extension Frame {
    /// An error frame with the server's own fields (docs/frames.md, Errors and notices).
    public static func error(session: String?, seq: Int64?, fields: [String: JSON]) -> Frame {
        Frame(FrameType.error, session: session, seq: seq, fields)
    }

    /// An error frame of the gateway's own: what a client shows (severity, code,
    /// message), `fatal` when it ends the session, and, when a stage refused rather
    /// than the server, which stage, its decision and the reason's key.
    public static func error(session: String?, seq: Int64?, code: String, message: String, fatal: Bool = false,
                             stage: String? = nil, decision: String? = nil, reason: String? = nil,
                             extra: [String: JSON] = [:]) -> Frame {
        let severity = JSON.string(fatal ? "FATAL" : "ERROR")
        var f: [String: JSON] = ["severity": severity, "severity_nonlocalized": severity,
                                 "code": .string(code), "message": .string(message)]
        if fatal { f["fatal"] = .bool(true) }
        if let stage { f["stage"] = .string(stage) }
        if let decision { f["decision"] = .string(decision) }
        if let reason { f["reason"] = .string(reason) }
        for (k, v) in extra where f[k] == nil { f[k] = v }
        return error(session: session, seq: seq, fields: f)
    }

    /// The error a stage writes in place of a line it could not read.
    public static func stageError(stage: String, session: String?, seq: Int64?, code: String,
                                  message: String, droppedBytes: Int? = nil) -> Frame {
        error(session: session, seq: seq, code: code, message: message, fatal: true, stage: stage,
              extra: droppedBytes.map { ["dropped_bytes": .int(Int64($0))] } ?? [:])
    }
}

/// Adds `"stamp:STAGE":true` before the final `}` of an encoded line (newline
/// excluded), leaving the rest byte for byte. See docs/frames.md, Stamps.
public func appendStamp(_ stage: String, to line: UnsafeRawBufferPointer, into out: inout [UInt8]) {
    // A frame that names the stamp already (in any spelling or value), or whose keys
    // spell it with escapes, is decoded and re-encoded: appending would make a
    // duplicate key, which readers refuse. Escapes in values leave the bytes alone.
    if containsBytes(line, "stamp:\(stage)\"")
        || (containsBytes(line, "\\u") && mayHaveEscapedKey(line, "stamp:\(stage)")) {
        guard var frame = try? Frame.decode(line), frame["stamp:\(stage)"] != .bool(true) else {
            // Stamped already, or not a frame at all: unchanged.
            out.append(contentsOf: line); out.append(0x0A)
            return
        }
        frame["stamp:\(stage)"] = .bool(true)
        out.append(contentsOf: frame.encoded())
        return
    }
    let key = "\"stamp:\(stage)\":true"
    var end = line.count
    while end > 0, line[end - 1] == UInt8(ascii: " ") || line[end - 1] == UInt8(ascii: "\r") || line[end - 1] == UInt8(ascii: "\t") { end -= 1 }
    guard end > 0, line[end - 1] == UInt8(ascii: "}") else {
        out.append(contentsOf: line); out.append(0x0A); return
    }
    let body = UnsafeRawBufferPointer(rebasing: line[0..<(end - 1)])
    out.append(contentsOf: body)
    // `{}` has no member to put a comma after.
    var k = body.count
    while k > 0, body[k - 1] == UInt8(ascii: " ") { k -= 1 }
    if !(k > 0 && body[k - 1] == UInt8(ascii: "{")) { out.append(UInt8(ascii: ",")) }
    out.append(contentsOf: key.utf8)
    out.append(contentsOf: [UInt8(ascii: "}"), 0x0A])
}

/// True when a top-level key of `line` is written with escapes and reads as `key`,
/// or when the line cannot be read that far (the caller then decodes it).
func mayHaveEscapedKey(_ line: UnsafeRawBufferPointer, _ key: String) -> Bool {
    var found = false
    let read = topLevelMembers(line) { k, escaped, _ in
        guard escaped else { return true }
        var text: [UInt8] = []
        guard JSONString.unescape(k, { text.append(contentsOf: $0) }) else { found = true; return false }
        if text.elementsEqual(key.utf8) { found = true; return false }
        return true
    }
    return found || !read
}

/// True when `line` has the top-level member `"stamp:NAME":true`, spelled plainly
/// (a nested object's member of that name does not count).
func hasTopLevelStamp(_ line: UnsafeRawBufferPointer, _ name: String) -> Bool {
    let key = "stamp:" + name
    guard containsBytes(line, "\"\(key)\":true") else { return false }
    var found = false
    _ = topLevelMembers(line) { k, escaped, c in
        guard !escaped, k.elementsEqual(key.utf8) else { return true }
        var probe = c
        found = probe.boolean() == true
        return false
    }
    return found
}

/// Walks the top-level members of an object line: `visit(key, escaped, cursor at the
/// value)` returns false to stop. False when the line is not read to its end.
func topLevelMembers(_ line: UnsafeRawBufferPointer,
                     _ visit: (UnsafeRawBufferPointer, Bool, JSONCursor) -> Bool) -> Bool {
    var c = JSONCursor(line)
    guard c.take(UInt8(ascii: "{")) else { return false }
    if c.take(UInt8(ascii: "}")) { return true }
    repeat {
        guard let (k, escaped) = c.stringBytes(), c.take(UInt8(ascii: ":")) else { return false }
        guard visit(k, escaped, c) else { return true }
        guard skipValue(&c) else { return false }
    } while c.take(UInt8(ascii: ","))
    return c.take(UInt8(ascii: "}"))
}

/// Steps over one JSON value of a validated line.
func skipValue(_ c: inout JSONCursor) -> Bool {
    var depth = 0
    repeat {
        guard let b = c.peek() else { return false }
        switch b {
        case UInt8(ascii: "\""):
            guard c.stringBytes() != nil else { return false }
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            depth += 1; c.i += 1
        case UInt8(ascii: "]"), UInt8(ascii: "}"):
            guard depth > 0 else { return false }
            depth -= 1; c.i += 1
        case UInt8(ascii: ","), UInt8(ascii: ":"):
            guard depth > 0 else { return false }
            c.i += 1
        default:
            // A number or a word, up to the next delimiter.
            let start = c.i
            while c.i < c.bytes.count, !",:[]{}\" \t\r\n".utf8.contains(c.bytes[c.i]) { c.i += 1 }
            guard c.i > start else { return false }
        }
    } while depth > 0
    return true
}

/// Whether a line holds these bytes anywhere: a cheap filter before a decode.
public func lineContains(_ line: UnsafeRawBufferPointer, _ needle: String) -> Bool { containsBytes(line, needle) }

func containsBytes(_ hay: UnsafeRawBufferPointer, _ needle: String) -> Bool {
    var needle = needle
    return needle.withUTF8 { n in
        guard let base = hay.baseAddress, hay.count >= n.count, n.count > 0 else { return false }
        // memchr for the first byte, then compare: glibc's memmem is not exported without _GNU_SOURCE.
        var i = 0
        let last = hay.count - n.count
        while i <= last {
            guard let hit = memchr(base + i, Int32(n[0]), last - i + 1) else { return false }
            i = UnsafeRawPointer(hit) - base
            if memcmp(base + i, n.baseAddress!, n.count) == 0 { return true }
            i += 1
        }
        return false
    }
}
