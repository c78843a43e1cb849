/// A position in JSON text that a validator has already accepted (FrameValidator on
/// the frame path): readers that take values straight from a frame's bytes, without
/// building a tree (the rows codec), step through it with this. Every method returns
/// nil or false, leaving the cursor where it stopped, on what it does not expect.
public struct JSONCursor {
    public let bytes: UnsafeRawBufferPointer
    public var i = 0

    @inlinable public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    @inlinable public var atEnd: Bool { i >= bytes.count }

    @inlinable public mutating func space() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
    }

    /// The next byte after whitespace, not taken.
    @inlinable public mutating func peek() -> UInt8? {
        space()
        return i < bytes.count ? bytes[i] : nil
    }

    /// Takes `c` after whitespace.
    @inlinable public mutating func take(_ c: UInt8) -> Bool {
        space()
        guard i < bytes.count, bytes[i] == c else { return false }
        i += 1
        return true
    }

    /// A string's bytes between its quotes, escapes as written, and whether it has any.
    @inlinable public mutating func stringBytes() -> (bytes: UnsafeRawBufferPointer, escaped: Bool)? {
        guard take(0x22) else { return nil }
        let start = i
        var escaped = false
        while i < bytes.count {
            switch bytes[i] {
            case 0x22:
                i += 1
                return (UnsafeRawBufferPointer(rebasing: bytes[start..<(i - 1)]), escaped)
            case 0x5C:
                escaped = true
                i += 2
            default:
                i += 1
            }
        }
        return nil
    }

    /// A string without escapes (keys, types, ids), as text.
    @inlinable public mutating func plainString() -> String? {
        guard let (b, escaped) = stringBytes(), !escaped else { return nil }
        return String(decoding: b, as: UTF8.self)
    }

    /// A non-negative integer of at most 18 digits (a sequence number).
    @inlinable public mutating func integer() -> Int64? {
        space()
        var v: Int64 = 0
        let start = i
        while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39, i - start < 18 {
            v = v * 10 + Int64(bytes[i] - 0x30)
            i += 1
        }
        guard i > start, i == bytes.count || !(bytes[i] >= 0x30 && bytes[i] <= 0x39 || bytes[i] == 0x2E || bytes[i] | 0x20 == 0x65)
        else { return nil }
        return v
    }

    /// `true` or `false`.
    @inlinable public mutating func boolean() -> Bool? {
        if word("true") { return true }
        if word("false") { return false }
        return nil
    }

    /// `null`.
    @inlinable public mutating func null() -> Bool { word("null") }

    @inlinable mutating func word(_ w: StaticString) -> Bool {
        space()
        let n = w.utf8CodeUnitCount
        guard bytes.count - i >= n else { return false }
        for k in 0..<n where bytes[i + k] != w.utf8Start[k] { return false }
        i += n
        return true
    }
}

/// JSON string escapes, undone once for every reader (JSONReader, the rows codec).
public enum JSONString {
    /// Hands out `raw` (a string's bytes between its quotes) unescaped, in runs. False
    /// on a malformed escape, `\u0000`, or a lone surrogate: the readers refuse those.
    @inlinable public static func unescape(_ raw: UnsafeRawBufferPointer, _ emit: (UnsafeRawBufferPointer) -> Void) -> Bool {
        var i = 0, run = 0
        func flush() { if run < i { emit(UnsafeRawBufferPointer(rebasing: raw[run..<i])) } }
        func hex4() -> UInt32? {
            guard raw.count - i >= 4 else { return nil }
            var v: UInt32 = 0
            for k in 0..<4 {
                let c = raw[i + k]
                switch c {
                case 0x30...0x39: v = v << 4 | UInt32(c - 0x30)
                case 0x41...0x46: v = v << 4 | UInt32(c - 0x41 + 10)
                case 0x61...0x66: v = v << 4 | UInt32(c - 0x61 + 10)
                default: return nil
                }
            }
            i += 4
            return v
        }
        while i < raw.count {
            guard raw[i] == 0x5C else { i += 1; continue }
            flush()
            guard i + 1 < raw.count else { return false }
            let e = raw[i + 1]
            i += 2
            var one = e
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): break
            case UInt8(ascii: "b"): one = 0x08
            case UInt8(ascii: "f"): one = 0x0C
            case UInt8(ascii: "n"): one = 0x0A
            case UInt8(ascii: "r"): one = 0x0D
            case UInt8(ascii: "t"): one = 0x09
            case UInt8(ascii: "u"):
                guard var scalar = hex4() else { return false }
                if (0xD800...0xDBFF).contains(scalar) {
                    guard raw.count - i >= 6, raw[i] == 0x5C, raw[i + 1] == UInt8(ascii: "u") else { return false }
                    i += 2
                    guard let low = hex4(), (0xDC00...0xDFFF).contains(low) else { return false }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    return false
                }
                guard scalar != 0, let u = Unicode.Scalar(scalar) else { return false }
                var utf8: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
                var n = 0
                withUnsafeMutableBytes(of: &utf8) { out in
                    for b in UTF8.encode(u)! { out[n] = b; n += 1 }
                    emit(UnsafeRawBufferPointer(rebasing: out[0..<n]))
                }
                run = i
                continue
            default:
                return false
            }
            withUnsafeBytes(of: one) { emit($0) }
            run = i
        }
        flush()
        return true
    }
}
