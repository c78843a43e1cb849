import Foundation

/// Checks that a line is one well-formed JSON object (RFC 8259, UTF-8) without
/// building anything. Pass-through stages run it on every frame so that a broken
/// frame is stopped where it is first seen, at a fraction of a full parse's cost.
/// It accepts exactly what the full parse (JSONReader) accepts, so a frame's verdict
/// never depends on which path read it: duplicate keys, lone surrogates, integers
/// outside 64 bits and numbers that overflow a double are all refused.
public enum FrameValidator {
    /// Nesting deeper than this is refused (docs/frames.md, Lines).
    public static let maxDepth = 64

    public static func isValidObject(_ b: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        skipSpace(b, &i)
        guard i < b.count, b[i] == UInt8(ascii: "{") else { return false }
        // The keys of the objects open around the cursor, innermost last: one list for
        // the whole line, not one per object.
        var keys: [Key] = []
        keys.reserveCapacity(32)
        guard value(b, &i, depth: 0, &keys) else { return false }
        skipSpace(b, &i)
        return i == b.count
    }

    /// An object's key: its bytes between the quotes, and whether it is compared only
    /// once decoded (looked for once, not at each comparison): an escape, or a byte past
    /// ASCII, since the decoder's keys are Swift strings, for which canonically equivalent
    /// spellings (é composed or decomposed) are one key.
    struct Key { let range: Range<Int>; let escaped: Bool }

    /// Whether a key repeats one of `keys`. A key marked `escaped` is compared after
    /// decoding, through the full parse, which is rare and exact.
    static func isDuplicate(_ b: UnsafeRawBufferPointer, _ key: Key, _ keys: ArraySlice<Key>) -> Bool {
        for other in keys {
            if key.escaped || other.escaped {
                if decodedKey(b, key.range) == decodedKey(b, other.range) { return true }
            } else if other.range.count == key.range.count,
                      memcmp(b.baseAddress! + other.range.lowerBound, b.baseAddress! + key.range.lowerBound, key.range.count) == 0 {
                return true
            }
        }
        return false
    }

    static func decodedKey(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> String? {
        let quoted = UnsafeRawBufferPointer(rebasing: b[(r.lowerBound - 1)..<(r.upperBound + 1)])
        return try? JSON.parse(quoted).string
    }

    @inline(__always) static func skipSpace(_ b: UnsafeRawBufferPointer, _ i: inout Int) {
        while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 }
    }

    static func value(_ b: UnsafeRawBufferPointer, _ i: inout Int, depth: Int, _ keys: inout [Key]) -> Bool {
        guard depth < maxDepth else { return false }
        skipSpace(b, &i)
        guard i < b.count else { return false }
        switch b[i] {
        case UInt8(ascii: "{"):
            i += 1; skipSpace(b, &i)
            if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return true }
            let first = keys.count
            defer { keys.removeSubrange(first...) }
            while true {
                skipSpace(b, &i)
                let keyStart = i + 1
                guard i < b.count, b[i] == UInt8(ascii: "\""), string(b, &i) else { return false }
                let range = keyStart..<(i - 1)
                let key = Key(range: range, escaped: b[range].contains { $0 == UInt8(ascii: "\\") || $0 >= 0x80 })
                if keys.count > first && isDuplicate(b, key, keys[first...]) { return false }
                keys.append(key)
                skipSpace(b, &i)
                guard i < b.count, b[i] == UInt8(ascii: ":") else { return false }
                i += 1
                guard value(b, &i, depth: depth + 1, &keys) else { return false }
                skipSpace(b, &i)
                guard i < b.count else { return false }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "}") { i += 1; return true }
                return false
            }
        case UInt8(ascii: "["):
            i += 1; skipSpace(b, &i)
            if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return true }
            while true {
                guard value(b, &i, depth: depth + 1, &keys) else { return false }
                skipSpace(b, &i)
                guard i < b.count else { return false }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "]") { i += 1; return true }
                return false
            }
        case UInt8(ascii: "\""): return string(b, &i)
        case UInt8(ascii: "t"): return literal(b, &i, "true")
        case UInt8(ascii: "f"): return literal(b, &i, "false")
        case UInt8(ascii: "n"): return literal(b, &i, "null")
        default: return number(b, &i)
        }
    }

    static func literal(_ b: UnsafeRawBufferPointer, _ i: inout Int, _ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard i + n <= b.count else { return false }
        for k in 0..<n where b[i + k] != s.utf8Start[k] { return false }
        i += n
        return true
    }

    static func number(_ b: UnsafeRawBufferPointer, _ i: inout Int) -> Bool {
        func digits(_ i: inout Int) -> Int {
            let s = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
            return i - s
        }
        let start = i
        if i < b.count, b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < b.count else { return false }
        let intStart = i
        if b[i] == UInt8(ascii: "0") { i += 1 } else if digits(&i) == 0 { return false }
        let intDigits = i - intStart
        var isReal = false
        if i < b.count, b[i] == UInt8(ascii: ".") { i += 1; isReal = true; guard digits(&i) > 0 else { return false } }
        var hasExponent = false
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1; isReal = true; hasExponent = true
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard digits(&i) > 0 else { return false }
        }
        if !isReal && intDigits >= 19 {
            // The full parse keeps integers in 64 bits and refuses the rest.
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
            return Int64(text) != nil
        }
        if isReal && (i - start > 15 || hasExponent) {
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
            return Double(text).map { $0.isFinite } ?? false
        }
        return true
    }

    /// A string starting at the opening quote; checks escapes and UTF-8.
    static func string(_ b: UnsafeRawBufferPointer, _ i: inout Int) -> Bool {
        i += 1
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") { i += 1; return true }
            if c < 0x20 { return false }
            if c == UInt8(ascii: "\\") {
                guard i + 1 < b.count else { return false }
                switch b[i + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                     UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    i += 2
                case UInt8(ascii: "u"):
                    guard i + 6 <= b.count else { return false }
                    for k in 2..<6 where !isHex(b[i + k]) { return false }
                    let unit = hexValue(b, i + 2)
                    // \u0000 would end a C string early in a reader; refuse it.
                    if unit == 0 { return false }
                    if (0xDC00...0xDFFF).contains(unit) { return false }          // a lone low surrogate
                    if (0xD800...0xDBFF).contains(unit) {                         // must pair with a low one
                        guard i + 12 <= b.count, b[i + 6] == UInt8(ascii: "\\"), b[i + 7] == UInt8(ascii: "u") else { return false }
                        for k in 8..<12 where !isHex(b[i + k]) { return false }
                        guard (0xDC00...0xDFFF).contains(hexValue(b, i + 8)) else { return false }
                        i += 6
                    }
                    i += 6
                default: return false
                }
                continue
            }
            if c < 0x80 { i += 1; continue }
            // UTF-8: reject overlongs, surrogates and code points above U+10FFFF.
            let n: Int
            var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
            switch c {
            case 0xC2...0xDF: n = 1
            case 0xE0: n = 2; lo = 0xA0
            case 0xE1...0xEC, 0xEE, 0xEF: n = 2
            case 0xED: n = 2; hi = 0x9F
            case 0xF0: n = 3; lo = 0x90
            case 0xF1...0xF3: n = 3
            case 0xF4: n = 3; hi = 0x8F
            default: return false
            }
            guard i + n < b.count else { return false }
            guard b[i + 1] >= lo, b[i + 1] <= hi else { return false }
            if n >= 2 { for k in 2...n { guard b[i + k] >= 0x80, b[i + k] <= 0xBF else { return false } } }
            i += n + 1
        }
        return false
    }

    static func hexValue(_ b: UnsafeRawBufferPointer, _ at: Int) -> Int {
        var v = 0
        for k in 0..<4 {
            let c = b[at + k]
            v = v * 16 + Int(c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10)
        }
        return v
    }

    @inline(__always) static func isHex(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
    }
}
