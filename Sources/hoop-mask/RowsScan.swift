/// Reads a `rows` frame's values straight from its bytes, without building a JSON
/// tree: most result rows hold nothing to mask, and then the frame passes as it came.
/// Any escape in a string (the value's bytes are not its text), or a value the
/// visitor flags, sends the frame down the full decode-and-mask path.
enum RowsScan {
    /// True when every value was read and none was flagged by `flagged(column, bytes)`.
    static func clean(_ frame: UnsafeRawBufferPointer, _ flagged: (Int, UnsafeRawBufferPointer) -> Bool) -> Bool {
        var s = Scanner(bytes: frame)
        guard s.take(UInt8(ascii: "{")) else { return false }
        while true {
            s.space()
            guard let key = s.plainString() else { return false }
            s.space()
            guard s.take(UInt8(ascii: ":")) else { return false }
            s.space()
            if key.elementsEqual("rows".utf8) {
                guard s.rows(flagged) else { return false }
            } else {
                guard s.skipValue() else { return false }
            }
            s.space()
            if s.take(UInt8(ascii: ",")) { continue }
            return s.take(UInt8(ascii: "}"))
        }
    }

    struct Scanner {
        let bytes: UnsafeRawBufferPointer
        var i = 0

        mutating func space() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
        }

        mutating func take(_ b: UInt8) -> Bool {
            guard i < bytes.count, bytes[i] == b else { return false }
            i += 1
            return true
        }

        /// A string without escapes, as the bytes between its quotes.
        mutating func plainString() -> UnsafeRawBufferPointer? {
            guard take(0x22) else { return nil }
            let start = i
            while i < bytes.count {
                switch bytes[i] {
                case 0x22: i += 1; return UnsafeRawBufferPointer(rebasing: bytes[start..<(i - 1)])
                case 0x5C: return nil
                default: i += 1
                }
            }
            return nil
        }

        mutating func rows(_ flagged: (Int, UnsafeRawBufferPointer) -> Bool) -> Bool {
            guard take(UInt8(ascii: "[")) else { return false }
            space()
            if take(UInt8(ascii: "]")) { return true }
            while true {
                space()
                guard take(UInt8(ascii: "[")) else { return false }
                var column = 0
                space()
                if !take(UInt8(ascii: "]")) {
                    while true {
                        space()
                        if i + 4 <= bytes.count, bytes[i] == UInt8(ascii: "n") {
                            guard bytes[i + 1] == UInt8(ascii: "u"), bytes[i + 2] == UInt8(ascii: "l"), bytes[i + 3] == UInt8(ascii: "l")
                            else { return false }
                            i += 4
                        } else {
                            guard let value = plainString(), !flagged(column, value) else { return false }
                        }
                        column += 1
                        space()
                        if take(UInt8(ascii: ",")) { continue }
                        guard take(UInt8(ascii: "]")) else { return false }
                        break
                    }
                }
                space()
                if take(UInt8(ascii: ",")) { continue }
                return take(UInt8(ascii: "]"))
            }
        }

        /// Skips any JSON value (the frame was validated when it was read).
        mutating func skipValue() -> Bool {
            var depth = 0
            while i < bytes.count {
                let b = bytes[i]
                switch b {
                case 0x22:
                    i += 1
                    while i < bytes.count, bytes[i] != 0x22 { i += bytes[i] == 0x5C ? 2 : 1 }
                    i += 1
                    if depth == 0 { return true }
                    continue
                case UInt8(ascii: "["), UInt8(ascii: "{"): depth += 1
                case UInt8(ascii: "]"), UInt8(ascii: "}"):
                    if depth == 0 { return true }
                    depth -= 1
                    if depth == 0 { i += 1; return true }
                case UInt8(ascii: ","):
                    if depth == 0 { return true }
                default: break
                }
                i += 1
            }
            return false
        }
    }
}
