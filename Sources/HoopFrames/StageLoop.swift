#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A frame as read: its bytes (newline excluded) and its header. Only a stage that
/// handles the frame pays for `decode()`.
public struct RawFrame {
    public let bytes: UnsafeRawBufferPointer
    public let header: FrameHeader
    public var type: String { header.type }
    public var session: String? { header.session }
    public func decode() throws -> Frame { try Frame.decode(bytes) }
    /// The frame with only the top-level fields in `keys` (header aside): for a stage
    /// that reads a few fields of a frame it then passes on as it came, without building
    /// every field's value. The fields are read as `decode()` reads them (a key spelled
    /// with escapes too; a value it refuses throws); the others are only stepped over.
    public func decode(only keys: Set<String>) throws -> Frame {
        var fields: [String: JSON] = [:]
        var failure: Error? = nil
        var cut = false
        let walked = topLevelMembers(bytes) { key, escaped, value in
            var name = String(decoding: key, as: UTF8.self)
            if escaped {
                var text: [UInt8] = []
                guard JSONString.unescape(key, { text.append(contentsOf: $0) }) else { cut = true; return false }
                name = String(decoding: text, as: UTF8.self)
            }
            guard keys.contains(name) else { return true }
            var end = value
            guard skipValue(&end), fields[name] == nil else { cut = true; return false }
            do { fields[name] = try JSON.parse(UnsafeRawBufferPointer(rebasing: bytes[value.i..<end.i])) } catch {
                failure = error
                return false
            }
            return true
        }
        if let failure { throw failure }
        // Not walked to its end (a line no hoop writer makes): the whole decode says why.
        guard walked, !cut else {
            var whole = try decode()
            whole.fields = whole.fields.filter { keys.contains($0.key) }
            return whole
        }
        return Frame(header.type, session: header.session, seq: header.seq, fields)
    }
    public init(bytes: UnsafeRawBufferPointer, header: FrameHeader) {
        self.bytes = bytes
        self.header = header
    }
}

/// The loop every filter stage shares: read lines, turn broken ones into error
/// frames, hand the rest to the stage, write what it emits. Output is flushed once
/// per read, after `beforeFlush` (hoop-record commits there).
public final class StageLoop {
    public let stage: String
    public let out: FrameWriter
    let reader: LineReader
    var scratch: [UInt8] = []

    public init(stage: String, input: Int32 = 0, output: Int32 = 1) {
        self.stage = stage
        out = FrameWriter(fd: output, stage: stage)
        reader = LineReader(fd: input)
        scratch.reserveCapacity(1 << 16)
    }

    /// Writes the frame unchanged.
    public func pass(_ frame: RawFrame) {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: frame.bytes)
        scratch.append(0x0A)
        out.enqueue(scratch)
    }

    /// Writes the frame with this stage's stamp added.
    public func stamp(_ frame: RawFrame, as name: String) {
        scratch.removeAll(keepingCapacity: true)
        appendStamp(name, to: frame.bytes, into: &scratch)
        out.enqueue(scratch)
    }

    public func emit(_ frame: Frame) { out.enqueue(frame) }

    /// What the loop does with the error frames it makes itself (malformed and
    /// oversize lines); hoop-record sets it so that those are recorded and stamped too.
    public var ownFrame: ((Frame) throws -> Void)? = nil

    func emitOwn(_ frame: Frame) throws {
        if let ownFrame { try ownFrame(frame) } else { emit(frame) }
    }

    /// Runs until end of input; returns normally then (exit status 0). `mayWait`, when
    /// given, says how long the flush (and `beforeFlush`) may still wait for more input,
    /// given the seconds it has waited so far (nothing more: 0 or less).
    public func run(beforeFlush: () throws -> Void = {}, mayWait: ((_ waited: Double) -> Double)? = nil,
                    _ handle: (RawFrame) throws -> Void) throws {
        var more = true
        var waitingSince: Double? = nil
        while more {
            more = try readOnce(handle)
            // Flush only when no more input is waiting: under load, one write (and, in
            // hoop-record, one commit) then covers many frames, and the next stage wakes
            // once for all of them instead of once per frame.
            if !reader.hasBufferedLine && (out.pendingBytes > (1 << 20) || !reader.inputReady) {
                if let mayWait, out.pendingBytes <= (1 << 20) {
                    let now = monotonicSeconds()
                    let since = waitingSince ?? now
                    waitingSince = since
                    let left = mayWait(now - since)
                    if left > 0, reader.waitForInput(seconds: left) { continue }
                }
                waitingSince = nil
                try beforeFlush()
                try out.flush()
            }
        }
        try beforeFlush()
        try out.flush()
    }

    /// One read of the input (it blocks unless input is ready): every line it completes
    /// handed to the stage, nothing flushed. False at end of input. For a stage that runs
    /// its own event loop and reads when its poll says so.
    public func readOnce(_ handle: (RawFrame) throws -> Void) throws -> Bool {
        try reader.readBatch { item in
            switch item {
            case .line(let bytes):
                try route(bytes, handle)
            case .oversize(let prefix, let length):
                let (session, seq) = FrameHeader.salvage(prefix)
                logLine(stage, "refused a frame of \(length) bytes (limit \(maxFrameBytes))")
                try emitOwn(.stageError(stage: stage, session: session, seq: seq, code: "54000",
                                        message: "frame too large", droppedBytes: length))
            }
        }
    }

    /// Set in the first stage after the doors (hoop-auth): a frame that has been round
    /// once (Ring.hasBeenRound) is dropped with a log line, since no door claimed it.
    public var endsRounds = false

    func route(_ bytes: UnsafeRawBufferPointer, _ handle: (RawFrame) throws -> Void) throws {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }
        if endsRounds && Ring.hasBeenRound(bytes) {
            let header = FrameHeader.peek(bytes)
            let (session, _) = FrameHeader.salvage(bytes)
            logLine(stage, "dropped a \(header.map { Ring.loggable($0.type) } ?? "") frame that has been round"
                    + (session.map { " (session \($0): no door claimed it)" } ?? " (ring-level)"))
            return
        }
        guard FrameValidator.isValidObject(bytes) else {
            return try malformed(bytes, "not a well-formed JSON object")
        }
        // A frame the stage cannot decode becomes an error frame, whichever path reads
        // it: a stage never dies of what it reads.
        do {
            if let header = FrameHeader.peek(bytes) {
                return try handle(RawFrame(bytes: bytes, header: header))
            }
            // Keys in another order: read the header the slow way.
            let f = try Frame.decode(bytes)
            try handle(RawFrame(bytes: bytes, header: FrameHeader(type: f.type, session: f.session, seq: f.seq)))
        } catch let e as JSONParseError {
            try malformed(bytes, e.description)
        }
    }

    func malformed(_ bytes: UnsafeRawBufferPointer, _ why: String) throws {
        let (session, seq) = FrameHeader.salvage(bytes)
        // The reason names the defect, never the content.
        logLine(stage, "malformed frame of \(bytes.count) bytes" + (session.map { " for session \($0)" } ?? ""))
        try emitOwn(.stageError(stage: stage, session: session, seq: seq, code: "08P01",
                                message: "malformed frame: \(why)", droppedBytes: session == nil ? bytes.count : nil))
    }
}

public func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}
