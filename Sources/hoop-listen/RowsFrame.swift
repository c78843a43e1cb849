import HoopFrames
import NIOCore

/// The hot path of every large result: a `rows` frame straight to DataRow messages,
/// without a JSON tree. It reads only the shape hoop-connect writes (header, `rows`,
/// stamps); for anything else it returns nil and the frame takes the general path
/// (JSONReader), which also reports what is malformed. The line has already passed
/// FrameValidator, so the JSON is well formed, UTF-8 and free of duplicate keys.
enum RowsFrame {
    static func decode(_ line: UnsafeRawBufferPointer, allocator: ByteBufferAllocator) -> (Frame, ByteBuffer)? {
        guard FrameValidator.isValidObject(line) else { return nil }
        var p = Parser(b: line)
        var frame = Frame(FrameType.rows)
        var out = allocator.buffer(capacity: line.count + line.count / 4)
        var sawRows = false, sawType = false
        guard p.eat(UInt8(ascii: "{")) else { return nil }
        repeat {
            guard let key = p.plainString() else { return nil }
            guard p.eat(UInt8(ascii: ":")) else { return nil }
            switch key {
            case "type":
                guard p.plainString() == FrameType.rows else { return nil }
                sawType = true
            case "session":
                guard let s = p.plainString(), FrameHeader.isValidSession(s) else { return nil }
                frame.session = s
            case "seq":
                guard let n = p.integer() else { return nil }
                frame.seq = n
            case "rows":
                guard p.rows(into: &out) else { return nil }
                sawRows = true
            default:
                guard key.hasPrefix("stamp:"), let v = p.boolean() else { return nil }
                frame.fields[key] = .bool(v)
            }
        } while p.eat(UInt8(ascii: ","))
        guard p.eat(UInt8(ascii: "}")), sawRows, sawType, frame.session != nil else { return nil }
        return (frame, out)
    }

    struct Parser {
        let b: UnsafeRawBufferPointer
        var i = 0

        mutating func space() { while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 } }

        mutating func eat(_ c: UInt8) -> Bool {
            space()
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }

        /// A string without escapes (keys, types, ids).
        mutating func plainString() -> String? {
            guard eat(UInt8(ascii: "\"")) else { return nil }
            let start = i
            while i < b.count, b[i] != UInt8(ascii: "\"") {
                if b[i] == UInt8(ascii: "\\") { return nil }
                i += 1
            }
            guard i < b.count else { return nil }
            defer { i += 1 }
            return String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
        }

        mutating func integer() -> Int64? {
            space()
            let start = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
            guard i > start, i - start <= 18, i < b.count, b[i] != UInt8(ascii: "."), b[i] | 0x20 != UInt8(ascii: "e") else { return nil }
            return Int64(String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<i]), as: UTF8.self))
        }

        mutating func boolean() -> Bool? {
            space()
            if b.count - i >= 4, b[i] == UInt8(ascii: "t"), b[i + 3] == UInt8(ascii: "e") { i += 4; return true }
            if b.count - i >= 5, b[i] == UInt8(ascii: "f"), b[i + 4] == UInt8(ascii: "e") { i += 5; return false }
            return nil
        }

        /// `[[v,…],…]` as DataRow messages; a value is a string or null.
        mutating func rows(into out: inout ByteBuffer) -> Bool {
            guard eat(UInt8(ascii: "[")) else { return false }
            if eat(UInt8(ascii: "]")) { return true }
            repeat {
                guard eat(UInt8(ascii: "[")) else { return false }
                out.writeInteger(UInt8(ascii: "D"))
                let lengthAt = out.writerIndex
                out.writeInteger(Int32(0))
                out.writeInteger(Int16(0))
                var columns = 0
                if !eat(UInt8(ascii: "]")) {
                    repeat {
                        space()
                        guard i < b.count else { return false }
                        if b[i] == UInt8(ascii: "n") {
                            guard b.count - i >= 4 else { return false }
                            i += 4
                            out.writeInteger(Int32(-1))
                        } else if b[i] == UInt8(ascii: "\"") {
                            guard string(into: &out) else { return false }
                        } else {
                            return false
                        }
                        columns += 1
                    } while eat(UInt8(ascii: ","))
                    guard eat(UInt8(ascii: "]")), columns <= Int(Int16.max) else { return false }
                }
                out.setInteger(Int32(truncatingIfNeeded: out.writerIndex - lengthAt), at: lengthAt)
                out.setInteger(Int16(truncatingIfNeeded: columns), at: lengthAt + 4)
            } while eat(UInt8(ascii: ","))
            return eat(UInt8(ascii: "]"))
        }

        /// A JSON string, unescaped, as a length-prefixed DataRow value.
        mutating func string(into out: inout ByteBuffer) -> Bool {
            i += 1
            let lengthAt = out.writerIndex
            out.writeInteger(Int32(0))
            var run = i
            func flushRun(_ out: inout ByteBuffer) {
                if run < i { out.writeBytes(UnsafeRawBufferPointer(rebasing: b[run..<i])) }
            }
            while i < b.count {
                let c = b[i]
                if c == UInt8(ascii: "\"") {
                    flushRun(&out)
                    i += 1
                    out.setInteger(Int32(truncatingIfNeeded: out.writerIndex - lengthAt - 4), at: lengthAt)
                    return true
                }
                if c != UInt8(ascii: "\\") { i += 1; continue }
                flushRun(&out)
                guard i + 1 < b.count else { return false }
                let e = b[i + 1]
                i += 2
                switch e {
                case UInt8(ascii: "n"): out.writeInteger(UInt8(0x0A))
                case UInt8(ascii: "t"): out.writeInteger(UInt8(0x09))
                case UInt8(ascii: "r"): out.writeInteger(UInt8(0x0D))
                case UInt8(ascii: "b"): out.writeInteger(UInt8(0x08))
                case UInt8(ascii: "f"): out.writeInteger(UInt8(0x0C))
                case UInt8(ascii: "u"):
                    guard var scalar = hex4() else { return false }
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard b.count - i >= 6, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else { return false }
                        i += 2
                        guard let low = hex4() else { return false }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { return false }
                    out.writeString(String(Character(u)))
                default: out.writeInteger(e)   // \" \\ \/
                }
                run = i
            }
            return false
        }

        mutating func hex4() -> UInt32? {
            guard b.count - i >= 4 else { return nil }
            var v: UInt32 = 0
            for k in 0..<4 {
                let c = b[i + k]
                switch c {
                case 0x30...0x39: v = v * 16 + UInt32(c - 0x30)
                case 0x41...0x46: v = v * 16 + UInt32(c - 0x41 + 10)
                case 0x61...0x66: v = v * 16 + UInt32(c - 0x61 + 10)
                default: return nil
                }
            }
            i += 4
            return v
        }
    }
}
