/// Checks that a line is one well-formed JSON object (RFC 8259, UTF-8) without
/// building anything. Pass-through stages run it on every frame so that a broken
/// frame is stopped where it is first seen, at a fraction of a full parse's cost.
/// Duplicate keys are left to the full parse of the stages that read the frame.
public enum FrameValidator {
    public static func isValidObject(_ b: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        skipSpace(b, &i)
        guard i < b.count, b[i] == UInt8(ascii: "{") else { return false }
        guard value(b, &i, depth: 0) else { return false }
        skipSpace(b, &i)
        return i == b.count
    }

    @inline(__always) static func skipSpace(_ b: UnsafeRawBufferPointer, _ i: inout Int) {
        while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 }
    }

    static func value(_ b: UnsafeRawBufferPointer, _ i: inout Int, depth: Int) -> Bool {
        guard depth < 64 else { return false }
        skipSpace(b, &i)
        guard i < b.count else { return false }
        switch b[i] {
        case UInt8(ascii: "{"):
            i += 1; skipSpace(b, &i)
            if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return true }
            while true {
                skipSpace(b, &i)
                guard i < b.count, b[i] == UInt8(ascii: "\""), string(b, &i) else { return false }
                skipSpace(b, &i)
                guard i < b.count, b[i] == UInt8(ascii: ":") else { return false }
                i += 1
                guard value(b, &i, depth: depth + 1) else { return false }
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
                guard value(b, &i, depth: depth + 1) else { return false }
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
        if i < b.count, b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < b.count else { return false }
        if b[i] == UInt8(ascii: "0") { i += 1 } else if digits(&i) == 0 { return false }
        if i < b.count, b[i] == UInt8(ascii: ".") { i += 1; guard digits(&i) > 0 else { return false } }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard digits(&i) > 0 else { return false }
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
                    // \u0000 would end a C string early in a reader; refuse it.
                    if b[i + 2] == 0x30 && b[i + 3] == 0x30 && b[i + 4] == 0x30 && b[i + 5] == 0x30 { return false }
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

    @inline(__always) static func isHex(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
    }
}
