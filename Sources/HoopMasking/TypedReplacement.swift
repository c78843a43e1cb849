import HoopBinary
#if canImport(Glibc)
import Glibc
#endif

/// Replacement values that stay valid for a column's PostgreSQL type (text output
/// format), so that a masked date still parses as a date in the client's driver.
public enum PGType {
    public static let bool: UInt32 = 16, bytea: UInt32 = 17, name: UInt32 = 19, int8: UInt32 = 20
    public static let int2: UInt32 = 21, int4: UInt32 = 23, text: UInt32 = 25, oid: UInt32 = 26
    public static let json: UInt32 = 114, xml: UInt32 = 142, float4: UInt32 = 700, float8: UInt32 = 701
    public static let unknown: UInt32 = 705, money: UInt32 = 790, inet: UInt32 = 869, cidr: UInt32 = 650
    public static let bpchar: UInt32 = 1042, varchar: UInt32 = 1043, date: UInt32 = 1082, time: UInt32 = 1083
    public static let timestamp: UInt32 = 1114, timestamptz: UInt32 = 1184, interval: UInt32 = 1186
    public static let timetz: UInt32 = 1266, numeric: UInt32 = 1700, uuid: UInt32 = 2950, jsonb: UInt32 = 3802
    /// A function that returns nothing (`pg_sleep`, `pg_notify`): its one value is empty.
    public static let void: UInt32 = 2278
    public static let citext: UInt32 = 0   // extension types have site-specific OIDs; treated as text

    /// Types whose text form is free text: strategies write their text as it is.
    /// Arrays and JSON are text-like too: markers contain no quotes or backslashes,
    /// so replacing a span inside them keeps them well formed.
    public static func isTextLike(_ oid: UInt32) -> Bool {
        if let element = BinaryTypes.element(of: oid) { return isTextLike(element) }
        switch oid {
        case text, varchar, bpchar, name, unknown, json, jsonb, xml, 0: return true
        case 1000...1300 where ![date, time, timestamp, timestamptz, interval, timetz, bpchar, varchar].contains(oid)
                               && !numericArrays.contains(oid) && !temporalArrays.contains(oid):
            return true   // array types of text-like elements (_text 1009, _varchar 1015, _name 1003, ...)
        default: return false
        }
    }

    /// Arrays of numbers and of dates and times: a marker in place of an element
    /// would not be a valid array of their type, so they are typed, not text-like.
    /// _bool, _int2, _int4, _int8, _oid, _float4, _float8, _numeric, _money.
    static let numericArrays: Set<UInt32> = [1000, 1005, 1007, 1016, 1028, 1021, 1022, 1231, 791]
    static let temporalArrays: Set<UInt32> = [1182, 1183, 1115, 1185, 1187, 1270]

    /// Dates, times and intervals, and arrays of them.
    public static func isTemporal(_ oid: UInt32) -> Bool {
        [date, time, timestamp, timestamptz, interval, timetz].contains(oid) || temporalArrays.contains(oid)
    }

    /// Numbers carry no context for content detection (a count, an epoch second):
    /// only column rules mask them. Arrays of numbers likewise.
    public static func isNumeric(_ type: UInt32) -> Bool {
        [bool, int2, int4, int8, oid, float4, float8, numeric, money].contains(type) || numericArrays.contains(type)
    }
}

public enum TypedReplacement {
    /// A year a masked date keeps, as Safe Harbor allows it: a year that says its person
    /// may be 90 or older (this year minus 90, or before) is one identifier for all of
    /// them, this year minus 90 ("90 or older").
    static func shownYear(_ year: Int) -> String {
        var now = time(nil), parts = tm()
        gmtime_r(&now, &parts)
        let oldest = Int(parts.tm_year) + 1900 - 90
        return String(max(year, oldest))
    }

    /// The replacement for a whole value of type `oid` masked by `strategy`; nil when
    /// the type is not known (the caller fails closed rather than guess).
    /// `keepsYear` false: a date or time becomes 1900's (a computed one's year could be
    /// any four digits of a value).
    public static func value(for original: String, oid: UInt32, strategy: MaskStrategy, keepsYear: Bool = true) -> String?? {
        if case .null = strategy { return .some(nil) }
        if case .keep = strategy { return .some(original) }
        let bytes = Array(original.utf8)
        // (Worked out for dates and times only: a year is no number's business.)
        var year: String { keepsYear && Scan.digits(bytes, 0, 4) ? Self.shownYear(Scan.number(bytes, 0, 4)) : "1900" }
        let mac: [UInt8]? = { if case .hash(let key) = strategy { return key.mac(bytes, bytes: 16) } else { return nil } }()
        func derived(_ modulo: UInt64) -> String {
            guard let mac else { return "0" }
            let v = mac.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            return String(v % modulo)
        }
        switch oid {
        case PGType.date: return .some("\(year)-01-01")
        case PGType.timestamp: return .some("\(year)-01-01 00:00:00")
        case PGType.timestamptz: return .some("\(year)-01-01 00:00:00+00")
        case PGType.time: return .some("00:00:00")
        case PGType.timetz: return .some("00:00:00+00")
        case PGType.interval: return .some("00:00:00")
        case PGType.int2: return .some(derived(32_768))
        case PGType.int4, PGType.oid: return .some(derived(2_147_483_648))
        case PGType.int8, PGType.numeric: return .some(derived(9_223_372_036_854_775_808))
        case PGType.float4, PGType.float8: return .some(derived(1_000_000_000))
        case PGType.money: return .some("$0.00")
        case PGType.bool: return .some("f")
        case PGType.void: return .some("")
        case PGType.bytea: return .some("\\x")
        case PGType.inet, PGType.cidr: return .some("0.0.0.0")
        case PGType.uuid:
            guard let mac else { return .some("00000000-0000-0000-0000-000000000000") }
            let h = mac.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
            let c = Array(h)
            return .some("\(String(c[0..<8]))-\(String(c[8..<12]))-\(String(c[12..<16]))-\(String(c[16..<20]))-\(String(c[20..<32]))")
        case PGType.json, PGType.jsonb:
            // A JSON string; partial could keep quotes or backslashes, so it redacts here.
            if case .hash = strategy { return .some("\"" + strategy.text(for: bytes[...], marker: "") + "\"") }
            return .some("\"[REDACTED]\"")
        case let o where PGType.temporalArrays.contains(o) || PGType.numericArrays.contains(o):
            // An array of dates or numbers: the empty array is valid and says nothing.
            return .some("{}")
        default:
            return nil
        }
    }
}
