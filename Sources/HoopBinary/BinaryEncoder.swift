// A value in PostgreSQL's text output format turned into its binary format (the
// server's `*_send` functions), so that hoop-connect can always read text from the
// server, hoop-mask can mask text, and a client that asked for binary columns still
// gets binary. The text is what the server printed under its default output settings
// (DateStyle ISO, IntervalStyle postgres, bytea_output hex or escape); anything else
// is an error, never a guess.

public struct BinaryEncodingError: Error, CustomStringConvertible {
    public let oid: UInt32
    public var description: String { "a value of type \(oid) is not in a text form hoop can send in binary" }
}

public enum BinaryEncoder {
    /// Appends the binary form of `text`, a value of type `oid`, to `out`.
    public static func encode(_ text: ArraySlice<UInt8>, oid: UInt32, into out: inout [UInt8]) throws {
        if let element = BinaryTypes.element(of: oid) {
            guard try ArrayText.encode(text, element: element, into: &out) else { throw BinaryEncodingError(oid: oid) }
            return
        }
        var t = TextReader(text)
        guard try scalar(&t, oid: oid, into: &out) else { throw BinaryEncodingError(oid: oid) }
    }

    /// False when the text does not read as a value of the type.
    static func scalar(_ t: inout TextReader, oid: UInt32, into out: inout [UInt8]) throws -> Bool {
        switch oid {
        case BinaryTypes.text, BinaryTypes.varchar, BinaryTypes.bpchar, BinaryTypes.name, BinaryTypes.unknown, BinaryTypes.json:
            out.append(contentsOf: t.rest)
            return true
        case BinaryTypes.jsonb:
            out.append(1)   // jsonb's binary format version
            out.append(contentsOf: t.rest)
            return true
        case BinaryTypes.bool:
            guard t.rest.count == 1, let c = t.rest.first, c == UInt8(ascii: "t") || c == UInt8(ascii: "f") else { return false }
            out.append(c == UInt8(ascii: "t") ? 1 : 0)
            return true
        case BinaryTypes.char:
            return char(t.rest, into: &out)
        case BinaryTypes.int2:
            guard let v = t.wholeInteger(), let n = Int16(exactly: v) else { return false }
            out.appendBigEndian(n)
        case BinaryTypes.int4:
            guard let v = t.wholeInteger(), let n = Int32(exactly: v) else { return false }
            out.appendBigEndian(n)
        case BinaryTypes.int8:
            guard let v = t.wholeInteger() else { return false }
            out.appendBigEndian(v)
        case BinaryTypes.oid:
            guard let v = t.wholeInteger(), let n = UInt32(exactly: v) else { return false }
            out.appendBigEndian(n)
        case BinaryTypes.float4:
            guard let v = Float(t.string) ?? special(t.string).map(Float.init) else { return false }
            out.appendBigEndian(v.bitPattern)
        case BinaryTypes.float8:
            guard let v = Double(t.string) ?? special(t.string) else { return false }
            out.appendBigEndian(v.bitPattern)
        case BinaryTypes.numeric:
            return NumericText.encode(t.rest, into: &out)
        case BinaryTypes.bytea:
            return ByteaText.decode(t.rest, into: &out)
        case BinaryTypes.uuid:
            return uuid(t.rest, into: &out)
        case BinaryTypes.date:
            guard let days = DateTimeText.date(&t), t.atEnd else { return false }
            out.appendBigEndian(days)
        case BinaryTypes.time:
            guard let micros = DateTimeText.time(&t), t.atEnd else { return false }
            out.appendBigEndian(micros)
        case BinaryTypes.timetz:
            guard let micros = DateTimeText.time(&t), let offset = DateTimeText.offset(&t), t.atEnd else { return false }
            out.appendBigEndian(micros)
            out.appendBigEndian(Int32(-offset))   // the server keeps seconds west of UTC
        case BinaryTypes.timestamp:
            guard let micros = DateTimeText.timestamp(&t, zoned: false) else { return false }
            out.appendBigEndian(micros)
        case BinaryTypes.timestamptz:
            guard let micros = DateTimeText.timestamp(&t, zoned: true) else { return false }
            out.appendBigEndian(micros)
        case BinaryTypes.interval:
            guard let (micros, days, months) = DateTimeText.interval(&t) else { return false }
            out.appendBigEndian(micros)
            out.appendBigEndian(days)
            out.appendBigEndian(months)
        default:
            throw BinaryEncodingError(oid: oid)
        }
        return true
    }

    /// float4/float8's words for the values that are not numbers.
    static func special(_ s: String) -> Double? {
        switch s {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default: return nil
        }
    }

    /// `"char"`: one byte, printed as itself, `\ooo` when its high bit is set, or
    /// nothing for the zero byte.
    static func char(_ s: ArraySlice<UInt8>, into out: inout [UInt8]) -> Bool {
        switch s.count {
        case 0: out.append(0)
        case 1: out.append(s.first!)
        case 4 where s.first == UInt8(ascii: "\\"):
            guard let v = octal(s.dropFirst()) else { return false }
            out.append(v)
        default: return false
        }
        return true
    }

    static func octal(_ s: ArraySlice<UInt8>) -> UInt8? {
        var v = 0
        for c in s {
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "7") else { return nil }
            v = v * 8 + Int(c - UInt8(ascii: "0"))
        }
        return UInt8(exactly: v)
    }

    static func uuid(_ s: ArraySlice<UInt8>, into out: inout [UInt8]) -> Bool {
        var nibbles: [UInt8] = []
        nibbles.reserveCapacity(32)
        for c in s where c != UInt8(ascii: "-") {
            guard let n = hexValue(c) else { return false }
            nibbles.append(n)
        }
        guard nibbles.count == 32, s.count == 36 else { return false }
        for i in stride(from: 0, to: 32, by: 2) { out.append(nibbles[i] << 4 | nibbles[i + 1]) }
        return true
    }
}

func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
    default: return nil
    }
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian<T: FixedWidthInteger>(_ v: T) {
        Swift.withUnsafeBytes(of: v.bigEndian) { append(contentsOf: $0) }
    }
}

/// A cursor over a text value.
struct TextReader {
    let bytes: ArraySlice<UInt8>
    var i: Int

    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes; i = bytes.startIndex }

    var rest: ArraySlice<UInt8> { bytes[i...] }
    var string: String { String(decoding: rest, as: UTF8.self) }
    var atEnd: Bool { i == bytes.endIndex }
    var peek: UInt8? { i < bytes.endIndex ? bytes[i] : nil }

    mutating func eat(_ c: UInt8) -> Bool {
        guard peek == c else { return false }
        i += 1
        return true
    }

    mutating func eat(_ word: String) -> Bool {
        let w = Array(word.utf8)
        guard bytes.endIndex - i >= w.count, bytes[i..<i + w.count].elementsEqual(w) else { return false }
        i += w.count
        return true
    }

    /// Decimal digits, at most 18 of them; nil when there are none.
    mutating func digits() -> (value: Int64, count: Int)? {
        var v: Int64 = 0, n = 0
        while let c = peek, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
            guard n < 18 else { return nil }
            v = v * 10 + Int64(c - UInt8(ascii: "0"))
            n += 1; i += 1
        }
        return n == 0 ? nil : (v, n)
    }

    /// An optionally signed integer (up to int8's range) that is the whole text.
    mutating func wholeInteger() -> Int64? {
        let negative = eat(UInt8(ascii: "-"))
        if !negative { _ = eat(UInt8(ascii: "+")) }
        var v: Int64 = 0, n = 0
        while let c = peek, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
            let d = Int64(c - UInt8(ascii: "0"))
            // Accumulate negatively so that int8's minimum fits.
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.subtractingReportingOverflow(d)
            guard !o1, !o2 else { return nil }
            v = s; n += 1; i += 1
        }
        guard n > 0, atEnd else { return nil }
        if negative { return v }
        return v == .min ? nil : -v
    }
}
