import Foundation
import HoopFrames
import NIOCore

// Wire encoding: backend messages (protocol 3.0) written into ByteBuffers, and the
// translation of response frames (docs/frames.md, Responses) into them. Frames come
// from the ring, not from the client, but are still checked: a frame of the wrong
// shape is an error of the ring (FramesShapeError), never a crash.

struct FrameShapeError: Error {}

extension ByteBuffer {
    /// Writes one message: type byte, Int32 length (filled in afterwards), body.
    mutating func writeMessage(_ type: UInt8, _ body: (inout ByteBuffer) throws -> Void) rethrows {
        writeInteger(type)
        let lengthAt = writerIndex
        writeInteger(Int32(0))
        try body(&self)
        setInteger(Int32(truncatingIfNeeded: writerIndex - lengthAt), at: lengthAt)
    }

    /// Writes a string as a C string; a NUL inside (never in valid frames) ends it.
    mutating func writeCString(_ s: String) {
        var s = s
        _ = s.withUTF8 { utf8 in
            if let nul = utf8.firstIndex(of: 0) {
                writeBytes(UnsafeBufferPointer(rebasing: utf8[..<nul]))
            } else {
                writeBytes(utf8)
            }
        }
        writeInteger(UInt8(0))
    }
}

enum Backend {
    static func authenticationOk(_ b: inout ByteBuffer) {
        b.writeMessage(UInt8(ascii: "R")) { $0.writeInteger(Int32(0)) }
    }

    static func authenticationCleartextPassword(_ b: inout ByteBuffer) {
        b.writeMessage(UInt8(ascii: "R")) { $0.writeInteger(Int32(3)) }
    }

    /// NegotiateProtocolVersion: we speak 3.0 and none of the `_pq_.` options.
    static func negotiateProtocolVersion(_ b: inout ByteBuffer, unrecognized: [String]) {
        b.writeMessage(UInt8(ascii: "v")) { m in
            m.writeInteger(Int32(0))
            m.writeInteger(Int32(truncatingIfNeeded: unrecognized.count))
            for name in unrecognized { m.writeCString(name) }
        }
    }

    static func parameterStatus(_ b: inout ByteBuffer, name: String, value: String) {
        b.writeMessage(UInt8(ascii: "S")) { m in
            m.writeCString(name)
            m.writeCString(value)
        }
    }

    static func backendKeyData(_ b: inout ByteBuffer, pid: Int32, secret: Int32) {
        b.writeMessage(UInt8(ascii: "K")) { m in
            m.writeInteger(pid)
            m.writeInteger(secret)
        }
    }

    static func readyForQuery(_ b: inout ByteBuffer, status: UInt8) {
        b.writeMessage(UInt8(ascii: "Z")) { $0.writeInteger(status) }
    }

    /// An ErrorResponse made by hoop-listen itself.
    static func error(_ b: inout ByteBuffer, severity: String, code: String, message: String) {
        b.writeMessage(UInt8(ascii: "E")) { m in
            for (c, v) in [(UInt8(ascii: "S"), severity), (UInt8(ascii: "V"), severity),
                           (UInt8(ascii: "C"), code), (UInt8(ascii: "M"), message)] {
                m.writeInteger(c)
                m.writeCString(v)
            }
            m.writeInteger(UInt8(0))
        }
    }

    /// ErrorResponse ('E') or NoticeResponse ('N') from a frame's fields. S, C and M are
    /// always present (clients rely on them); `fatal` forces the severity to FATAL.
    static func notice(_ b: inout ByteBuffer, type: UInt8, fields: [String: JSON], fatal: Bool) {
        let defaultSeverity = type == UInt8(ascii: "E") ? "ERROR" : "NOTICE"
        b.writeMessage(type) { m in
            for (name, code) in errorFieldCodes {
                var value = fields[name].flatMap(scalarText)
                switch name {
                case "severity", "severity_nonlocalized":
                    if fatal { value = "FATAL" } else if value == nil && name == "severity" { value = defaultSeverity }
                case "code": if value == nil { value = "XX000" }
                case "message": if value == nil { value = "" }
                default: break
                }
                guard let value else { continue }
                m.writeInteger(code)
                m.writeCString(value)
            }
            m.writeInteger(UInt8(0))
        }
    }

    /// A JSON scalar as protocol text (strings as they are, numbers in decimal).
    static func scalarText(_ v: JSON) -> String? {
        switch v {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return d == d.rounded() && abs(d) < 9e15 ? String(Int64(d)) : String(d)
        case .bool(let x): return x ? "t" : "f"
        default: return nil
        }
    }

    static func int(_ v: JSON?) -> Int64? {
        guard let v else { return nil }
        return v.int
    }

    /// RowDescription from a `columns` frame.
    static func rowDescription(_ b: inout ByteBuffer, _ frame: Frame) throws {
        guard let fields = frame["fields"]?.array, fields.count <= Int(Int16.max) else { throw FrameShapeError() }
        try b.writeMessage(UInt8(ascii: "T")) { m in
            m.writeInteger(Int16(truncatingIfNeeded: fields.count))
            for f in fields {
                guard let name = f["name"].flatMap(scalarText) else { throw FrameShapeError() }
                m.writeCString(name)
                m.writeInteger(UInt32(truncatingIfNeeded: int(f["table_oid"]) ?? 0))
                m.writeInteger(Int16(truncatingIfNeeded: int(f["column"]) ?? 0))
                m.writeInteger(UInt32(truncatingIfNeeded: int(f["type_oid"]) ?? 25))
                m.writeInteger(Int16(truncatingIfNeeded: int(f["type_size"]) ?? -1))
                m.writeInteger(Int32(truncatingIfNeeded: int(f["type_mod"]) ?? -1))
                m.writeInteger(Int16(truncatingIfNeeded: int(f["format"]) ?? 0))
            }
        }
    }

    /// CopyInResponse ('G') or CopyOutResponse ('H').
    static func copyResponse(_ b: inout ByteBuffer, type: UInt8, _ frame: Frame) throws {
        guard let columns = frame["column_formats"]?.array else { throw FrameShapeError() }
        b.writeMessage(type) { m in
            m.writeInteger(Int8(truncatingIfNeeded: int(frame["format"]) ?? 0))
            m.writeInteger(Int16(truncatingIfNeeded: columns.count))
            for c in columns { m.writeInteger(Int16(truncatingIfNeeded: int(c) ?? 0)) }
        }
    }

    /// One CopyData ('d') per element of a `copy_out_data` frame.
    static func copyData(_ b: inout ByteBuffer, _ frame: Frame) throws {
        guard let chunks = frame["data"]?.array else { throw FrameShapeError() }
        for chunk in chunks {
            switch chunk {
            case .string(let s): b.writeMessage(UInt8(ascii: "d")) { $0.writeString(s) }
            case .object(let o):
                guard let b64 = o["base64"]?.string, let data = Data(base64Encoded: b64) else { throw FrameShapeError() }
                b.writeMessage(UInt8(ascii: "d")) { $0.writeBytes(data) }
            default: throw FrameShapeError()
            }
        }
    }

    static func commandComplete(_ b: inout ByteBuffer, tag: String) {
        b.writeMessage(UInt8(ascii: "C")) { $0.writeCString(tag) }
    }

    static func empty(_ b: inout ByteBuffer, _ type: UInt8) {
        b.writeMessage(type) { _ in }
    }

    static func parameterDescription(_ b: inout ByteBuffer, _ frame: Frame) throws {
        guard let types = frame["types"]?.array, types.count <= Int(Int16.max) else { throw FrameShapeError() }
        try b.writeMessage(UInt8(ascii: "t")) { m in
            m.writeInteger(Int16(truncatingIfNeeded: types.count))
            for t in types {
                guard let oid = t.int else { throw FrameShapeError() }
                m.writeInteger(UInt32(truncatingIfNeeded: oid))
            }
        }
    }

    static func notification(_ b: inout ByteBuffer, _ frame: Frame) {
        b.writeMessage(UInt8(ascii: "A")) { m in
            m.writeInteger(Int32(truncatingIfNeeded: int(frame["pid"]) ?? 0))
            m.writeCString(frame["channel"].flatMap(scalarText) ?? "")
            m.writeCString(frame["payload"].flatMap(scalarText) ?? "")
        }
    }

    /// The ReadyForQuery status byte of a frame's `status` (I when absent or odd).
    static func status(_ v: JSON?) -> UInt8 {
        switch v?.string {
        case "T": return UInt8(ascii: "T")
        case "E": return UInt8(ascii: "E")
        default: return UInt8(ascii: "I")
        }
    }
}
