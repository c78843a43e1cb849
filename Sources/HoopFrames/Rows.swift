import HoopJSON

/// The `rows` frame, the one response whose size scales with the data:
/// `{"type":"rows","session":S,"seq":N,"rows":[[v,…],…],"stamp:…":true…}`, each value
/// a string (the column's text, or base64 of a binary value's bytes) or null. Its
/// writer and its reader work on bytes, without a JSON tree, because every large
/// result passes through them in three stages.
public enum Rows {
    /// A batch ends at this many rows or bytes, whichever comes first: large enough
    /// to amortize a frame's cost, small enough that a stage never holds much.
    public static let maxRows = 1000
    public static let maxBytes = 256 * 1024
}

extension JSONWriter {
    /// `{"type":T,"session":S,"seq":N`: a frame's header keys, first, as FrameHeader.peek reads them.
    public mutating func frameStart(_ type: String, session: String, seq: Int64) {
        raw("{\"type\":")
        string(type)
        raw(",\"session\":")
        string(session)
        raw(",\"seq\":")
        int(seq)
    }

    /// One row as a rows frame carries it: `[v,…]`; `value(i)` is nil for a null.
    @inlinable public mutating func row(_ count: Int, _ value: (Int) -> UnsafeBufferPointer<UInt8>?) {
        bytes.append(UInt8(ascii: "["))
        for i in 0..<count {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            if let v = value(i) { escaped(v) } else { raw("null") }
        }
        bytes.append(UInt8(ascii: "]"))
    }
}

/// Builds `rows` frames of one request, a row at a time, straight into their bytes.
public struct RowsWriter {
    public internal(set) var count = 0
    @usableFromInline var w = JSONWriter(reserving: 64 * 1024)
    let header: [UInt8]

    public init(session: String, seq: Int64) {
        var h = JSONWriter()
        h.frameStart(FrameType.rows, session: session, seq: seq)
        h.raw(",\"rows\":[")
        header = h.bytes
        reset()
    }

    public var isFull: Bool { count >= Rows.maxRows || w.bytes.count >= Rows.maxBytes }

    /// Starts the next frame of the same request.
    public mutating func reset() {
        w.bytes.removeAll(keepingCapacity: true)
        w.bytes.append(contentsOf: header)
        count = 0
    }

    /// A row of `count` values; `value(i)` is nil for a null.
    @inlinable public mutating func append(_ columns: Int, _ value: (Int) -> UnsafeBufferPointer<UInt8>?) {
        separate()
        w.row(columns, value)
    }

    public mutating func append(_ row: [String?]) {
        separate()
        w.bytes.append(UInt8(ascii: "["))
        for (i, v) in row.enumerated() {
            if i > 0 { w.bytes.append(UInt8(ascii: ",")) }
            if let v { w.string(v) } else { w.raw("null") }
        }
        w.bytes.append(UInt8(ascii: "]"))
    }

    /// A row already encoded by `JSONWriter.row`.
    public mutating func append(encoded row: [UInt8]) {
        separate()
        w.bytes.append(contentsOf: row)
    }

    @usableFromInline mutating func separate() {
        if count > 0 { w.bytes.append(UInt8(ascii: ",")) }
        count += 1
    }

    /// The frame's line, newline included, with the given stamps.
    public mutating func finish(stamps: [String] = []) -> [UInt8] {
        w.raw("]")
        for s in stamps {
            w.raw(",")
            w.string("stamp:" + s)
            w.raw(":true")
        }
        w.raw("}\n")
        return w.bytes
    }
}

/// What a rows reader is told, value by value. Returning false stops the reading
/// (`RowsReader.read` then returns nil).
public protocol RowsVisitor {
    mutating func beginRow() -> Bool
    /// A value's bytes as written between its quotes; `escaped` when they hold escapes
    /// (JSONString.unescape gives the text).
    mutating func value(_ column: Int, _ bytes: UnsafeRawBufferPointer, escaped: Bool) -> Bool
    mutating func null(_ column: Int) -> Bool
    mutating func endRow(columns: Int) -> Bool
}

/// A rows frame's keys other than its rows.
public struct RowsHeader: Equatable {
    public var session: String?
    public var seq: Int64?
    /// `stamp:NAME` keys, by NAME, with their values.
    public var stamps: [String: Bool] = [:]
    @inlinable public init() {}
}

/// Reads a `rows` frame from its bytes. The line must have passed FrameValidator
/// (well-formed JSON, UTF-8, no duplicate keys): this checks the rows frame's shape
/// (its type, a session id, a sequence number, rows of strings and nulls, stamps),
/// not the JSON grammar again. Nil for anything else; the caller then takes its
/// general path, which reports what is wrong. A key it does not know makes it nil
/// too: it could carry anything, and hoop-mask passes nothing it has not read.
public enum RowsReader {
    @inlinable public static func read<V: RowsVisitor>(_ line: UnsafeRawBufferPointer, _ visitor: inout V) -> RowsHeader? {
        var c = JSONCursor(line)
        var header = RowsHeader()
        var sawType = false, sawRows = false
        guard c.take(UInt8(ascii: "{")) else { return nil }
        repeat {
            guard let (key, escaped) = c.stringBytes(), !escaped, c.take(UInt8(ascii: ":")) else { return nil }
            if key.elementsEqual("rows".utf8) {
                guard rows(&c, &visitor) else { return nil }
                sawRows = true
            } else if key.elementsEqual("type".utf8) {
                guard let t = c.stringBytes(), !t.escaped, t.bytes.elementsEqual(FrameType.rows.utf8) else { return nil }
                sawType = true
            } else if key.elementsEqual("session".utf8) {
                guard let s = c.plainString(), FrameHeader.isValidSession(s) else { return nil }
                header.session = s
            } else if key.elementsEqual("seq".utf8) {
                guard let n = c.integer() else { return nil }
                header.seq = n
            } else if key.starts(with: "stamp:".utf8) {
                guard let v = c.boolean() else { return nil }
                header.stamps[String(decoding: key.dropFirst(6), as: UTF8.self)] = v
            } else {
                return nil
            }
        } while c.take(UInt8(ascii: ","))
        guard c.take(UInt8(ascii: "}")), sawType, sawRows, header.session != nil else { return nil }
        c.space()
        return c.atEnd ? header : nil
    }

    @inlinable static func rows<V: RowsVisitor>(_ c: inout JSONCursor, _ visitor: inout V) -> Bool {
        guard c.take(UInt8(ascii: "[")) else { return false }
        if c.take(UInt8(ascii: "]")) { return true }
        repeat {
            guard c.take(UInt8(ascii: "[")), visitor.beginRow() else { return false }
            var column = 0
            if !c.take(UInt8(ascii: "]")) {
                repeat {
                    switch c.peek() {
                    case UInt8(ascii: "\""):
                        guard let (v, escaped) = c.stringBytes(), visitor.value(column, v, escaped: escaped) else { return false }
                    case UInt8(ascii: "n"):
                        guard c.null(), visitor.null(column) else { return false }
                    default:
                        return false
                    }
                    column += 1
                } while c.take(UInt8(ascii: ","))
                guard c.take(UInt8(ascii: "]")), column <= Int(Int16.max) else { return false }
            }
            guard visitor.endRow(columns: column) else { return false }
        } while c.take(UInt8(ascii: ","))
        return c.take(UInt8(ascii: "]"))
    }

    /// Every value as text (nil for null), for the readers that need them all.
    public static func values(_ line: UnsafeRawBufferPointer) -> (RowsHeader, [[String?]])? {
        var collect = Collector()
        guard let header = read(line, &collect) else { return nil }
        return (header, collect.rows)
    }

    struct Collector: RowsVisitor {
        var rows: [[String?]] = []
        mutating func beginRow() -> Bool { rows.append([]); return true }
        mutating func value(_ column: Int, _ bytes: UnsafeRawBufferPointer, escaped: Bool) -> Bool {
            guard escaped else { rows[rows.count - 1].append(String(decoding: bytes, as: UTF8.self)); return true }
            var text: [UInt8] = []
            guard JSONString.unescape(bytes, { text.append(contentsOf: $0) }) else { return false }
            rows[rows.count - 1].append(String(decoding: text, as: UTF8.self))
            return true
        }
        mutating func null(_ column: Int) -> Bool { rows[rows.count - 1].append(nil); return true }
        mutating func endRow(columns: Int) -> Bool { true }
    }
}
