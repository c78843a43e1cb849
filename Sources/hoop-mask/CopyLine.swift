import HoopMasking
import HoopSQL

/// One line of COPY TO STDOUT output, masked field by field (text and CSV formats, as
/// PostgreSQL writes them: docs, "COPY — File Formats"). A field is unescaped, masked
/// like a row value of its column, and written back escaped for the same format.
enum CopyLine {
    /// `field` masks a field's value (nil: NULL).
    static func mask(_ line: String, format: CopyFormat,
                     field: (Int, String?) throws -> MaskResult) throws -> MaskResult {
        let bytes = Array(line.utf8)
        var end = bytes.count
        if end > 0, bytes[end - 1] == 0x0A { end -= 1 }
        if end > 0, bytes[end - 1] == 0x0D { end -= 1 }
        let fields = format.kind == .csv ? csvFields(bytes[..<end], format) : textFields(bytes[..<end], format.delimiter)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16)
        var counts: [String: Int] = [:]
        for (i, f) in fields.enumerated() {
            if i > 0 { out.append(format.delimiter) }
            let r = try field(i, f.value)
            guard r.changed else { out.append(contentsOf: f.raw); continue }
            counts.merge(r.counts, uniquingKeysWith: +)
            switch (r.value, format.kind) {
            case (nil, .csv): break                                     // unquoted empty: NULL
            case (nil, _): out.append(contentsOf: Array("\\N".utf8))
            case (let v?, .csv): out.append(contentsOf: csvQuote(v, format))
            case (let v?, _): out.append(contentsOf: textEscape(v, format.delimiter))
            }
        }
        out.append(contentsOf: bytes[end...])
        return MaskResult(String(decoding: out, as: UTF8.self), counts: counts)
    }

    struct Field { var raw: ArraySlice<UInt8>; var value: String? }

    /// Text format: delimiter-separated, backslash escapes, `\N` for NULL.
    static func textFields(_ line: ArraySlice<UInt8>, _ delimiter: UInt8) -> [Field] {
        var fields: [Field] = []
        var start = line.startIndex, i = start
        var value: [UInt8] = []
        func finish() {
            let raw = line[start..<i]
            fields.append(Field(raw: raw, value: raw.elementsEqual("\\N".utf8) ? nil : String(decoding: value, as: UTF8.self)))
            value.removeAll(keepingCapacity: true)
        }
        while i < line.endIndex {
            let b = line[i]
            if b == delimiter { finish(); i += 1; start = i; continue }
            if b == 0x5C, i + 1 < line.endIndex {
                let n = line[i + 1]
                i += 2
                switch n {
                case UInt8(ascii: "b"): value.append(0x08)
                case UInt8(ascii: "f"): value.append(0x0C)
                case UInt8(ascii: "n"): value.append(0x0A)
                case UInt8(ascii: "r"): value.append(0x0D)
                case UInt8(ascii: "t"): value.append(0x09)
                case UInt8(ascii: "v"): value.append(0x0B)
                default: value.append(n)   // \\, \delimiter; the server writes no octal or \x
                }
                continue
            }
            value.append(b); i += 1
        }
        finish()
        return fields
    }

    static func textEscape(_ v: String, _ delimiter: UInt8) -> [UInt8] {
        var out: [UInt8] = []
        for b in v.utf8 {
            switch b {
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case 0x09 where delimiter == 0x09: out += [0x5C, UInt8(ascii: "t")]
            case delimiter: out += [0x5C, b]
            default: out.append(b)
            }
        }
        return out
    }

    /// CSV: a quoted field may hold the delimiter, newlines and doubled (or escaped)
    /// quotes; an unquoted empty field is NULL.
    static func csvFields(_ line: ArraySlice<UInt8>, _ f: CopyFormat) -> [Field] {
        var fields: [Field] = []
        var i = line.startIndex
        while true {
            let start = i
            var value: [UInt8] = []
            var quoted = false
            if i < line.endIndex, line[i] == f.quote {
                quoted = true
                i += 1
                while i < line.endIndex {
                    let b = line[i]
                    if b == f.escape, i + 1 < line.endIndex, line[i + 1] == f.quote || line[i + 1] == f.escape, f.escape != f.quote || line[i + 1] == f.quote {
                        value.append(line[i + 1]); i += 2; continue
                    }
                    if b == f.quote { i += 1; break }
                    value.append(b); i += 1
                }
            }
            while i < line.endIndex, line[i] != f.delimiter { value.append(line[i]); i += 1 }
            let raw = line[start..<i]
            fields.append(Field(raw: raw, value: raw.isEmpty && !quoted ? nil : String(decoding: value, as: UTF8.self)))
            if i >= line.endIndex { break }
            i += 1
        }
        return fields
    }

    static func csvQuote(_ v: String, _ f: CopyFormat) -> [UInt8] {
        var out: [UInt8] = [f.quote]
        for b in v.utf8 {
            if b == f.quote || b == f.escape { out.append(f.escape) }
            out.append(b)
        }
        out.append(f.quote)
        return out
    }
}
