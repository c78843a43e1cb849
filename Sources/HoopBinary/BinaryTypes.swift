/// The types whose binary form hoop can write, by their `pg_type` OID, and the
/// element type of each array type of the built-in types (PostgreSQL's catalog,
/// `pg_type.dat`): hoop-mask masks an array element by element.
public enum BinaryTypes {
    public static let bool: UInt32 = 16, bytea: UInt32 = 17, char: UInt32 = 18, name: UInt32 = 19
    public static let int8: UInt32 = 20, int2: UInt32 = 21, int4: UInt32 = 23, text: UInt32 = 25, oid: UInt32 = 26
    public static let json: UInt32 = 114, float4: UInt32 = 700, float8: UInt32 = 701, unknown: UInt32 = 705
    public static let bpchar: UInt32 = 1042, varchar: UInt32 = 1043, date: UInt32 = 1082, time: UInt32 = 1083
    public static let timestamp: UInt32 = 1114, timestamptz: UInt32 = 1184, interval: UInt32 = 1186
    public static let timetz: UInt32 = 1266, numeric: UInt32 = 1700, uuid: UInt32 = 2950, jsonb: UInt32 = 3802
    /// Types hoop masks but does not send in binary.
    static let xml: UInt32 = 142, cidr: UInt32 = 650, money: UInt32 = 790, inet: UInt32 = 869

    static let scalars: Set<UInt32> = [bool, bytea, char, name, int8, int2, int4, text, oid, json, float4, float8,
                                       unknown, bpchar, varchar, date, time, timestamp, timestamptz, interval,
                                       timetz, numeric, uuid, jsonb]

    /// Array type → element type.
    static let arrays: [UInt32: UInt32] = [
        1000: bool, 1001: bytea, 1002: char, 1003: name, 1016: int8, 1005: int2, 1007: int4, 1009: text,
        1028: oid, 199: json, 1021: float4, 1022: float8, 1014: bpchar, 1015: varchar, 1182: date,
        1183: time, 1115: timestamp, 1185: timestamptz, 1187: interval, 1270: timetz, 1231: numeric,
        2951: uuid, 3807: jsonb, 143: xml, 651: cidr, 791: money, 1041: inet,
    ]

    /// Whether a value of this type can be sent in binary.
    public static func supports(_ oid: UInt32) -> Bool { scalars.contains(arrays[oid] ?? oid) }

    /// The element type of an array type, nil for a scalar.
    public static func element(of oid: UInt32) -> UInt32? { arrays[oid] }
}
