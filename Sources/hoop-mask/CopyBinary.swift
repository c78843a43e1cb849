import HoopBinary
import HoopMasking

/// COPY TO STDOUT in binary format (docs, "COPY — File Formats", Binary Format): a
/// header, then tuples of length-prefixed fields, then a -1 trailer. Each field is
/// read back as text by its column's type, masked like a row value, and written back
/// in binary when it changed. Only `COPY table` has typed fields; anything that cannot
/// be read or written back valid fails closed.
struct CopyBinary {
    static let signature: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00]

    var headerDone = false
    var finished = false
    /// The bytes of a tuple not complete yet (a chunk may end anywhere).
    var carry: [UInt8] = []

    /// Masks what `data` completes; keeps the rest for the next chunk.
    mutating func mask(_ data: [UInt8], columns: [ColumnPlan], ruled: (ColumnPlan) -> Bool,
                       field: (Int, String?) throws -> MaskResult) throws -> [UInt8] {
        let input = carry + data
        carry = []
        var out: [UInt8] = []
        out.reserveCapacity(input.count)
        var r = ByteCursor(bytes: input)
        if !headerDone {
            guard input.count >= 19 else { carry = input; return [] }
            guard Array(input[0..<11]) == Self.signature else { throw MaskFailure("binary COPY data without its signature") }
            r.i = 11
            let flags = r.int32()!, extensionLength = r.int32()!
            guard flags & (1 << 16) == 0 else { throw MaskFailure("binary COPY WITH OIDS cannot be masked") }
            guard extensionLength >= 0, input.count >= 19 + Int(extensionLength) else { carry = input; return [] }
            r.i += Int(extensionLength)
            out.append(contentsOf: input[0..<r.i])
            headerDone = true
        }
        while r.i < input.count {
            guard !finished else { throw MaskFailure("binary COPY data after its trailer") }
            let tupleStart = r.i
            guard let count = r.int16() else { carry = Array(input[tupleStart...]); break }
            if count == -1 { finished = true; out.append(contentsOf: [0xFF, 0xFF]); continue }
            guard Int(count) == columns.count else { throw MaskFailure("binary COPY tuple of \(count) fields for \(columns.count) columns") }
            var tuple: [UInt8] = []
            tuple.reserveCapacity(64)
            tuple.append(contentsOf: input[tupleStart..<r.i])
            var complete = true
            for i in 0..<Int(count) {
                guard let length = r.int32() else { complete = false; break }
                if length == -1 {
                    try Self.written(try field(i, nil), original: nil, columns[i]).write(into: &tuple)
                    continue
                }
                guard length >= 0 else { throw MaskFailure("binary COPY field of negative length") }
                guard input.count - r.i >= Int(length) else { complete = false; break }
                let value = input[r.i..<r.i + Int(length)]
                r.i += Int(length)
                try Self.maskField(value, columns[i], ruled: ruled(columns[i])) { try field(i, $0) }.write(into: &tuple)
            }
            guard complete else { carry = Array(input[tupleStart...]); break }
            out.append(contentsOf: tuple)
        }
        return out
    }

    enum Field {
        case original(ArraySlice<UInt8>), replaced([UInt8]), null

        func write(into out: inout [UInt8]) {
            switch self {
            case .null: out.append(contentsOf: [0xFF, 0xFF, 0xFF, 0xFF])
            case .original(let b): out.appendLength(b.count); out.append(contentsOf: b)
            case .replaced(let b): out.appendLength(b.count); out.append(contentsOf: b)
            }
        }
    }

    static func maskField(_ value: ArraySlice<UInt8>, _ column: ColumnPlan, ruled: Bool,
                          mask: (String) throws -> MaskResult) throws -> Field {
        guard let text = BinaryDecoder.text(value, oid: column.typeOID) else {
            // Numbers (and arrays of numbers) carry no content to detect: only a column
            // rule masks them, and then the value must be read.
            if PGType.isNumeric(column.typeOID) && !ruled { return .original(value) }
            throw MaskFailure("binary COPY of a column of type \(column.typeOID) cannot be masked")
        }
        return try written(mask(text), original: value, column)
    }

    /// A field as masked: as it came when nothing changed (`original`, nil: NULL), else
    /// the masked value written back in binary.
    static func written(_ r: MaskResult, original: ArraySlice<UInt8>?, _ column: ColumnPlan) throws -> Field {
        guard r.changed else { return original.map { .original($0) } ?? .null }
        guard let masked = r.value else { return .null }
        var out: [UInt8] = []
        do { try BinaryEncoder.encode(Array(masked.utf8)[...], oid: column.typeOID, into: &out) } catch {
            throw MaskFailure("a masked binary COPY field of type \(column.typeOID) could not be written back")
        }
        return .replaced(out)
    }

}

struct ByteCursor {
    let bytes: [UInt8]
    var i = 0
    mutating func int16() -> Int16? {
        guard bytes.count - i >= 2 else { return nil }
        defer { i += 2 }
        return Int16(bitPattern: UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1]))
    }
    mutating func int32() -> Int32? {
        guard bytes.count - i >= 4 else { return nil }
        defer { i += 4 }
        return Int32(bitPattern: UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3]))
    }
}

extension Array where Element == UInt8 {
    mutating func appendLength(_ n: Int) {
        let v = UInt32(n)
        append(contentsOf: [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)])
    }
}
