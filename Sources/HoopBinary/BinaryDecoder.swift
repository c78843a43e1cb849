// A value in binary format read back into PostgreSQL's text output (DateStyle ISO,
// IntervalStyle postgres, timestamptz in UTC, bytea in hex), so that hoop-mask can
// read a binary COPY field like a text one. Arrays and types not listed are nil:
// the caller fails closed.

public enum BinaryDecoder {
    public static func text(_ b: ArraySlice<UInt8>, oid: UInt32) -> String? {
        var r = ByteReader(b)
        switch oid {
        case BinaryTypes.text, BinaryTypes.varchar, BinaryTypes.bpchar, BinaryTypes.name, BinaryTypes.unknown, BinaryTypes.json:
            return String(validating: b, as: UTF8.self)
        case BinaryTypes.jsonb:
            guard b.first == 1 else { return nil }
            return String(validating: b.dropFirst(), as: UTF8.self)
        case BinaryTypes.bool:
            guard b.count == 1 else { return nil }
            return b.first == 0 ? "f" : "t"
        case BinaryTypes.char:
            guard b.count == 1, let c = b.first else { return nil }
            if c == 0 { return "" }
            return c < 0x80 ? String(UnicodeScalar(c)) : "\\" + String(c, radix: 8)
        case BinaryTypes.int2: return r.whole(Int16.self).map { String($0) }
        case BinaryTypes.int4: return r.whole(Int32.self).map { String($0) }
        case BinaryTypes.int8: return r.whole(Int64.self).map { String($0) }
        case BinaryTypes.oid: return r.whole(UInt32.self).map { String($0) }
        case BinaryTypes.float4: return r.whole(UInt32.self).map { float(Double(Float(bitPattern: $0)), Float(bitPattern: $0).description) }
        case BinaryTypes.float8: return r.whole(UInt64.self).map { float(Double(bitPattern: $0), Double(bitPattern: $0).description) }
        case BinaryTypes.numeric: return numeric(&r)
        case BinaryTypes.bytea: return "\\x" + b.map { hexDigits[Int($0 >> 4)] + hexDigits[Int($0 & 15)] }.joined()
        case BinaryTypes.uuid:
            guard b.count == 16 else { return nil }
            let h = b.map { hexDigits[Int($0 >> 4)] + hexDigits[Int($0 & 15)] }
            return [h[0..<4], h[4..<6], h[6..<8], h[8..<10], h[10..<16]].map { $0.joined() }.joined(separator: "-")
        case BinaryTypes.date:
            guard let d = r.whole(Int32.self) else { return nil }
            if d == .max { return "infinity" }
            if d == .min { return "-infinity" }
            return date(Int64(d))
        case BinaryTypes.time: return r.whole(Int64.self).map(time)
        case BinaryTypes.timetz:
            guard let t = r.read(Int64.self), let zone = r.whole(Int32.self) else { return nil }
            return time(t) + offset(-Int64(zone))
        case BinaryTypes.interval:
            guard let t = r.read(Int64.self), let days = r.read(Int32.self), let months = r.whole(Int32.self) else { return nil }
            return interval(t, Int64(days), Int64(months))
        case BinaryTypes.timestamp, BinaryTypes.timestamptz:
            guard let t = r.whole(Int64.self) else { return nil }
            if t == .max { return "infinity" }
            if t == .min { return "-infinity" }
            var days = t / DateTimeText.microsPerDay, micros = t % DateTimeText.microsPerDay
            if micros < 0 { days -= 1; micros += DateTimeText.microsPerDay }
            let (d, bc) = dateParts(days)
            return d + " " + time(micros) + (oid == BinaryTypes.timestamptz ? "+00" : "") + (bc ? " BC" : "")
        default:
            return nil
        }
    }

    static let hexDigits = (0..<16).map { String($0, radix: 16) }

    static func float(_ v: Double, _ swift: String) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v < 0 ? "-Infinity" : "Infinity" }
        if v == 0 { return v.sign == .minus ? "-0" : "0" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return swift
    }

    static func numeric(_ r: inout ByteReader) -> String? {
        guard let n = r.read(Int16.self), let weight = r.read(Int16.self), let sign = r.read(UInt16.self),
              let scale = r.read(Int16.self), n >= 0, scale >= 0 else { return nil }
        switch sign {
        case NumericText.nan: return "NaN"
        case NumericText.plusInfinity: return "Infinity"
        case NumericText.minusInfinity: return "-Infinity"
        case NumericText.positive, NumericText.negative: break
        default: return nil
        }
        var digits: [Int16] = []
        for _ in 0..<n { guard let d = r.read(Int16.self), (0..<10000).contains(d) else { return nil }; digits.append(d) }
        guard r.atEnd else { return nil }
        // Whole part: groups 0...weight; fraction: the groups after, cut to the scale.
        var whole = ""
        if weight < 0 { whole = "0" } else {
            for g in 0...Int(weight) {
                let d = g < digits.count ? digits[g] : 0
                whole += g == 0 ? String(d) : String(repeating: "0", count: 4 - String(d).count) + String(d)
            }
        }
        var fraction = ""
        var g = Int(weight) + 1
        while fraction.count < Int(scale) {
            let d: Int16 = g >= 0 && g < digits.count ? digits[g] : 0
            fraction += String(repeating: "0", count: 4 - String(d).count) + String(d)
            g += 1
        }
        fraction = String(fraction.prefix(Int(scale)))
        let text = whole + (scale > 0 ? "." + fraction : "")
        return sign == NumericText.negative && digits.contains { $0 != 0 } ? "-" + text : text
    }

    /// The server's j2date: a Julian day back to year, month, day.
    static func dateParts(_ days: Int64) -> (String, Bool) {
        var julian = days + DateTimeText.postgresEpochJulian + 32044
        var quad = julian / 146097
        let extra = (julian - quad * 146097) * 4 + 3
        julian += 60 + quad * 3 + extra / 146097
        quad = julian / 1461
        julian -= quad * 1461
        var y = julian * 4 / 1461
        julian = (y != 0 ? ((julian + 305) % 365) : ((julian + 306) % 366)) + 123
        y += quad * 4
        let year = y - 4800
        quad = julian * 2141 / 65536
        let day = julian - 7834 * quad / 256
        let month = (quad + 10) % 12 + 1
        let bc = year <= 0
        let shown = bc ? 1 - year : year
        func pad(_ v: Int64, _ w: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, w - s.count)) + s }
        return (pad(shown, 4) + "-" + pad(month, 2) + "-" + pad(day, 2), bc)
    }

    static func date(_ days: Int64) -> String {
        let (d, bc) = dateParts(days)
        return bc ? d + " BC" : d
    }

    /// `+HH[:MM[:SS]]` of seconds east of UTC.
    static func offset(_ east: Int64) -> String {
        func pad(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let a = abs(east)
        var out = (east < 0 ? "-" : "+") + pad(a / 3600)
        if a % 3600 != 0 { out += ":" + pad(a / 60 % 60) }
        if a % 60 != 0 { out += ":" + pad(a % 60) }
        return out
    }

    /// IntervalStyle postgres, as the server's EncodeInterval writes it: a `+` before
    /// a positive part that follows a negative one, the time part when nonzero or alone.
    static func interval(_ micros: Int64, _ days: Int64, _ months: Int64) -> String {
        var out = "", isZero = true, isBefore = false
        for (value, unit) in [(months / 12, "year"), (months % 12, "mon"), (days, "day")] where value != 0 {
            out += (isZero ? "" : " ") + (isBefore && value > 0 ? "+" : "") + "\(value) \(unit)" + (value != 1 ? "s" : "")
            isBefore = value < 0
            isZero = false
        }
        if isZero || micros != 0 {
            out += (isZero ? "" : " ") + (micros < 0 ? "-" : (isBefore ? "+" : ""))
            out += time(micros == .min ? .max : abs(micros))
        }
        return out
    }

    static func time(_ micros: Int64) -> String {
        func pad(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let s = micros / 1_000_000, f = micros % 1_000_000
        var out = pad(s / 3600) + ":" + pad(s / 60 % 60) + ":" + pad(s % 60)
        if f > 0 {
            var frac = String(f)
            frac = String(repeating: "0", count: 6 - frac.count) + frac
            while frac.hasSuffix("0") { frac.removeLast() }
            out += "." + frac
        }
        return out
    }
}

/// Big-endian integers out of a binary value.
struct ByteReader {
    let bytes: ArraySlice<UInt8>
    var i: Int
    init(_ b: ArraySlice<UInt8>) { bytes = b; i = b.startIndex }
    var atEnd: Bool { i == bytes.endIndex }

    mutating func read<T: FixedWidthInteger>(_: T.Type) -> T? {
        let n = MemoryLayout<T>.size
        guard bytes.endIndex - i >= n else { return nil }
        var v: T = 0
        for k in 0..<n { v = v << 8 | T(bytes[i + k]) }
        i += n
        return v
    }

    /// A value that is exactly one integer.
    mutating func whole<T: FixedWidthInteger>(_ t: T.Type) -> T? {
        guard let v = read(t), atEnd else { return nil }
        return v
    }
}
