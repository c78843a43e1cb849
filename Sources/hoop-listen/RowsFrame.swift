import HoopFrames
import HoopJSON
import NIOCore

/// The hot path of every large result: a `rows` frame straight to DataRow messages,
/// through the rows codec's reader, without a JSON tree. Nil for a line that is not a
/// well-formed rows frame (the session then ends: rows carry nothing else).
enum RowsFrame {
    static func decode(_ line: UnsafeRawBufferPointer, allocator: ByteBufferAllocator) -> (Frame, ByteBuffer)? {
        guard FrameValidator.isValidObject(line) else { return nil }
        var rows = DataRows(out: allocator.buffer(capacity: line.count + line.count / 4))
        guard let header = RowsReader.read(line, &rows) else { return nil }
        var frame = Frame(FrameType.rows, session: header.session, seq: header.seq)
        for (name, value) in header.stamps { frame.fields["stamp:" + name] = .bool(value) }
        return (frame, rows.out)
    }

    /// Writes each row as a DataRow ('D'): length, column count, then each value
    /// length-prefixed (-1 for null).
    struct DataRows: RowsVisitor {
        var out: ByteBuffer
        var lengthAt = 0

        mutating func beginRow() -> Bool {
            out.writeInteger(UInt8(ascii: "D"))
            lengthAt = out.writerIndex
            out.writeInteger(Int32(0))
            out.writeInteger(Int16(0))
            return true
        }

        mutating func value(_ column: Int, _ bytes: UnsafeRawBufferPointer, escaped: Bool) -> Bool {
            let at = out.writerIndex
            out.writeInteger(Int32(0))
            if escaped {
                guard JSONString.unescape(bytes, { out.writeBytes($0) }) else { return false }
            } else {
                out.writeBytes(bytes)
            }
            out.setInteger(Int32(truncatingIfNeeded: out.writerIndex - at - 4), at: at)
            return true
        }

        mutating func null(_ column: Int) -> Bool {
            out.writeInteger(Int32(-1))
            return true
        }

        mutating func endRow(columns: Int) -> Bool {
            out.setInteger(Int32(truncatingIfNeeded: out.writerIndex - lengthAt), at: lengthAt)
            out.setInteger(Int16(truncatingIfNeeded: columns), at: lengthAt + 4)
            return true
        }
    }
}
