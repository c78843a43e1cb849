/// JSON text into a `JSON` value, in one pass over the bytes. It replaced jansson on
/// the frame path: jansson reads a byte at a time through a callback and builds its
/// own tree to be converted again, and `scripts/bench codecs` measured it the slowest
/// part of a stage that decodes a frame. The rules are jansson's with
/// JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, which the tests check against jansson
/// itself: RFC 8259 grammar, valid UTF-8, no control characters in strings, no
/// `\u0000`, no lone surrogates, integers within int64, duplicate keys refused, nesting
/// at most 2048 deep.
struct JSONReader {
    let b: UnsafeRawBufferPointer
    var i = 0
    var depth = 0

    static let maxDepth = 2048

    struct Failure: Error { let position: Int }

    static func parse(_ bytes: UnsafeRawBufferPointer) throws -> JSON {
        var r = JSONReader(b: bytes)
        r.space()
        let v = try r.value()
        r.space()
        guard r.i == bytes.count else { throw Failure(position: r.i) }
        return v
    }

    func fail() -> Failure { Failure(position: i) }

    mutating func space() {
        while i < b.count {
            switch b[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    mutating func value() throws -> JSON {
        guard i < b.count else { throw fail() }
        switch b[i] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try word("true"); return .bool(true)
        case UInt8(ascii: "f"): try word("false"); return .bool(false)
        case UInt8(ascii: "n"): try word("null"); return .null
        default: return try number()
        }
    }

    mutating func word(_ w: StaticString) throws {
        let n = w.utf8CodeUnitCount
        guard b.count - i >= n else { throw fail() }
        let p = w.utf8Start
        for k in 0..<n where b[i + k] != p[k] { throw fail() }
        i += n
    }

    mutating func object() throws -> JSON {
        depth += 1
        guard depth <= Self.maxDepth else { throw fail() }
        defer { depth -= 1 }
        i += 1
        space()
        if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return .object([:]) }
        // Room for a frame's keys at once (growing 1, 3, 6, 12 rehashed every key each
        // time); nested objects grow as they fill, so a large document of small objects
        // takes no more memory than it did.
        var o = [String: JSON](minimumCapacity: depth == 1 ? 12 : 0)
        while true {
            space()
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail() }
            let key = try string()
            space()
            guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail() }
            i += 1
            space()
            let v = try value()
            guard o.updateValue(v, forKey: key) == nil else { throw fail() }   // a duplicate key
            space()
            guard i < b.count else { throw fail() }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            guard b[i] == UInt8(ascii: "}") else { throw fail() }
            i += 1
            return .object(o)
        }
    }

    mutating func array() throws -> JSON {
        depth += 1
        guard depth <= Self.maxDepth else { throw fail() }
        defer { depth -= 1 }
        i += 1
        var items: [JSON] = []
        space()
        if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
        while true {
            space()
            items.append(try value())
            space()
            guard i < b.count else { throw fail() }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            guard b[i] == UInt8(ascii: "]") else { throw fail() }
            i += 1
            return .array(items)
        }
    }

    mutating func number() throws -> JSON {
        let start = i
        if i < b.count, b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < b.count, isDigit(b[i]) else { throw fail() }
        if b[i] == UInt8(ascii: "0") { i += 1 } else { while i < b.count, isDigit(b[i]) { i += 1 } }
        var real = false
        if i < b.count, b[i] == UInt8(ascii: ".") {
            real = true
            i += 1
            guard i < b.count, isDigit(b[i]) else { throw fail() }
            while i < b.count, isDigit(b[i]) { i += 1 }
        }
        if i < b.count, b[i] | 0x20 == UInt8(ascii: "e") {
            real = true
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard i < b.count, isDigit(b[i]) else { throw fail() }
            while i < b.count, isDigit(b[i]) { i += 1 }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
        if real {
            guard let d = Double(text), d.isFinite else { throw Failure(position: start) }
            return .double(d)
        }
        guard let n = Int64(text) else { throw Failure(position: start) }   // beyond int64: jansson refuses too
        return .int(n)
    }

    func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// A string at `i` (on its opening quote), unescaped. Runs without escapes are
    /// copied whole; every byte sequence is checked as UTF-8.
    mutating func string() throws -> String {
        i += 1
        let start = i
        // The common case: no escapes, ASCII or valid UTF-8 up to the closing quote.
        var bits: UInt8 = 0
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                let run = UnsafeRawBufferPointer(rebasing: b[start..<i])
                i += 1
                // ASCII as it is (String(utf8Text:)); the rest validated, without a second scan.
                guard let s = bits < 0x80 ? String(decoding: run, as: UTF8.self) : String(validating: run, as: UTF8.self) else {
                    throw Failure(position: start)
                }
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            guard c >= 0x20 else { throw fail() }
            bits |= c
            i += 1
        }
        // Escapes: find the closing quote, then undo them (JSONString.unescape).
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") { break }
            guard c >= 0x20 else { throw fail() }
            i += c == UInt8(ascii: "\\") ? 2 : 1
        }
        guard i < b.count else { throw fail() }
        let raw = UnsafeRawBufferPointer(rebasing: b[start..<i])
        i += 1
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        guard JSONString.unescape(raw, { out.append(contentsOf: $0) }),
              let s = out.withUnsafeBytes({ String(utf8Text: $0) }) else { throw Failure(position: start) }
        return s
    }
}

extension String {
    /// The bytes as a String, nil unless they are valid UTF-8. ASCII (most of what the
    /// ring carries) is valid as it is and is taken without the standard library's
    /// generic validation (`String(validating:as:)`), which looks up type metadata at
    /// run time on every call: it was a few per cent of every stage that decodes.
    @inlinable
    public init?(utf8Text bytes: UnsafeRawBufferPointer) {
        if !bytes.contains(where: { $0 >= 0x80 }) {
            self = String(decoding: bytes, as: UTF8.self)
        } else {
            guard let s = String(validating: bytes, as: UTF8.self) else { return nil }
            self = s
        }
    }
}
