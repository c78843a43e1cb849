#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Foundation

/// The frame size limit of docs/frames.md, overridable for tests.
public let maxFrameBytes: Int = {
    if let v = ProcessInfo.processInfo.environment["HOOP_MAX_FRAME_BYTES"], let n = Int(v), n > 0 { return n }
    return 16 * 1024 * 1024
}()

/// Reads newline-ended lines from a file descriptor with bounded memory: a line
/// longer than the limit is skipped to its newline and reported, never kept.
public final class LineReader {
    public enum Item {
        case line(UnsafeRawBufferPointer)
        /// A line over the limit: its first bytes (for the header) and its length.
        case oversize(prefix: UnsafeRawBufferPointer, length: Int)
    }

    let fd: Int32
    let limit: Int
    var buffer: UnsafeMutableRawBufferPointer
    var start = 0, end = 0
    var skipping = false, skippedPrefix: [UInt8] = [], skippedLength = 0
    public private(set) var atEOF = false

    public init(fd: Int32 = 0, limit: Int = maxFrameBytes) {
        self.fd = fd
        self.limit = limit
        buffer = .allocate(byteCount: 1 << 20, alignment: 16)
    }
    deinit { buffer.deallocate() }

    /// Whether the descriptor has bytes to read right now (never blocks).
    public var inputReady: Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) > 0 && (p.revents & Int16(POLLIN)) != 0
    }

    /// Waits until input is readable (or ends), `seconds` at most; false on timeout.
    public func waitForInput(seconds: Double) -> Bool {
        // select: a wait shorter than a millisecond (hoop-record's commit delay) stays
        // short (poll's timeout counts whole milliseconds).
        guard fd >= 0, fd < 1024 else {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            return poll(&p, 1, Int32(max(1, (seconds * 1000).rounded(.up)))) > 0
        }
        var set = fd_set()
        withUnsafeMutableBytes(of: &set) { $0[Int(fd) / 8] |= UInt8(1 << (Int(fd) % 8)) }   // FD_SET (little-endian words)
        let micros = max(1, Int((min(seconds, 60) * 1e6).rounded(.up)))
        var limit = timeval(tv_sec: micros / 1_000_000, tv_usec: micros % 1_000_000)
        return select(fd + 1, &set, nil, nil, &limit) > 0
    }

    /// Whether a complete line is already buffered (no read needed).
    public var hasBufferedLine: Bool {
        guard end > start, !skipping else { return false }
        return memchr(buffer.baseAddress! + start, 0x0A, end - start) != nil
    }

    /// Calls `body` for every line that a single read makes available; returns false
    /// at end of input. The pointer passed to `body` is valid only during the call.
    public func readBatch(_ body: (Item) throws -> Void) rethrows -> Bool {
        if !hasBufferedLine {
            makeRoom()
            let n = read(fd, buffer.baseAddress! + end, buffer.count - end)
            if n < 0 {
                if errno == EINTR { return true }
            } else if n > 0 {
                end += n
                try splitLines(body)
                return true
            }
            try finish(body)
            return false
        }
        try splitLines(body)
        return true
    }

    /// The same lines from bytes someone else read (an event loop's pipe channel): calls
    /// `body` for every line they complete. `finish` at end of input.
    public func feed(_ bytes: UnsafeRawBufferPointer, _ body: (Item) throws -> Void) rethrows {
        var offset = 0
        while offset < bytes.count {
            makeRoom()
            let n = min(bytes.count - offset, buffer.count - end)
            (buffer.baseAddress! + end).copyMemory(from: bytes.baseAddress! + offset, byteCount: n)
            end += n; offset += n
            try splitLines(body)
        }
    }

    /// End of input: a last line without its newline is still a line (and still checked).
    public func finish(_ body: (Item) throws -> Void) rethrows {
        atEOF = true
        if end > start && !skipping {
            try body(.line(UnsafeRawBufferPointer(start: buffer.baseAddress! + start, count: end - start)))
        } else if skipping {
            try finishSkip(body)
        }
        start = 0; end = 0
    }

    /// Space after `end`: the buffer compacted, or grown up to one line over the limit.
    private func makeRoom() {
        if start > 0 && start == end { start = 0; end = 0 }
        guard end == buffer.count else { return }
        if start > 0 {
            memmove(buffer.baseAddress!, buffer.baseAddress! + start, end - start)
            end -= start; start = 0
        } else if buffer.count < limit + 1 {
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: min(buffer.count * 2, limit + 1), alignment: 16)
            bigger.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: end)
            buffer.deallocate()
            buffer = bigger
        }
    }

    /// Every complete line buffered; a partial one longer than the limit starts a skip.
    private func splitLines(_ body: (Item) throws -> Void) rethrows {
        while start < end {
            let base = buffer.baseAddress! + start
            if let nl = memchr(base, 0x0A, end - start) {
                let length = UnsafeRawPointer(nl) - UnsafeRawPointer(base)
                if skipping {
                    skippedLength += length
                    try finishSkip(body)
                } else if length > limit {
                    try body(.oversize(prefix: UnsafeRawBufferPointer(start: base, count: min(length, 4096)), length: length))
                } else {
                    try body(.line(UnsafeRawBufferPointer(start: base, count: length)))
                }
                start += length + 1
            } else {
                let pending = end - start
                if skipping {
                    skippedLength += pending
                    start = end
                } else if pending > limit {
                    skipping = true
                    skippedPrefix = Array(UnsafeRawBufferPointer(start: base, count: min(pending, 4096)))
                    skippedLength = pending
                    start = end
                }
                break
            }
        }
    }

    func finishSkip(_ body: (Item) throws -> Void) rethrows {
        let prefix = skippedPrefix
        let length = skippedLength
        skipping = false; skippedPrefix = []; skippedLength = 0
        try prefix.withUnsafeBytes { try body(.oversize(prefix: $0, length: length)) }
    }
}

/// Writes frames to a file descriptor. Thread-safe; whole frames only, so frames of
/// different threads never interleave within a line. Copies what it writes to the
/// stage's tap when someone listens (scripts/hoop tap).
public final class FrameWriter: @unchecked Sendable {
    let fd: Int32
    let lock = NSLock()
    var pending: [UInt8] = []
    let tap: Tap?

    public init(fd: Int32 = 1, stage: String? = nil) {
        self.fd = fd
        tap = stage.map { Tap(stage: $0) }
        signal(SIGPIPE, SIG_IGN)
        pending.reserveCapacity(1 << 20)
    }

    /// Queues encoded frame lines (each ending in a newline).
    public func enqueue(_ bytes: UnsafeRawBufferPointer) {
        lock.lock(); pending.append(contentsOf: bytes); lock.unlock()
    }
    public func enqueue(_ bytes: [UInt8]) {
        lock.lock(); pending.append(contentsOf: bytes); lock.unlock()
    }
    public func enqueue(_ frame: Frame) { enqueue(frame.encoded()) }

    public var pendingBytes: Int { lock.lock(); defer { lock.unlock() }; return pending.count }

    /// Writes everything queued. Throws when the reader has gone (the ring is broken).
    public func flush() throws {
        lock.lock(); defer { lock.unlock() }
        guard !pending.isEmpty else { return }
        try pending.withUnsafeBytes { try writeAll(fd, $0) }
        tap?.copy(pending)
        pending.removeAll(keepingCapacity: pending.count <= (4 << 20))
    }

    /// Queues and writes at once.
    public func write(_ frame: Frame) throws { try write(frame.encoded()) }
    public func write(_ bytes: [UInt8]) throws {
        lock.lock(); pending.append(contentsOf: bytes); lock.unlock()
        try flush()
    }
}

public struct BrokenPipe: Error {}

func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws {
    var off = 0
    while off < bytes.count {
        let n = Glibc.write(fd, bytes.baseAddress! + off, bytes.count - off)
        if n < 0 {
            if errno == EINTR || errno == EAGAIN { continue }
            throw BrokenPipe()
        }
        off += n
    }
}

/// The tap of docs/frames.md: a FIFO at $HOOP_RUN/tap/STAGE, written without blocking
/// when it has a reader. Checked at most once a second, so it costs nothing untapped.
public final class Tap: @unchecked Sendable {
    let path: String?
    var fd: Int32 = -1
    var lastCheck: time_t = 0

    public init(stage: String) {
        if let run = ProcessInfo.processInfo.environment["HOOP_RUN"] { path = run + "/tap/" + stage } else { path = nil }
    }

    public func copy(_ bytes: [UInt8]) { bytes.withUnsafeBytes { copy($0) } }

    public func copy(_ bytes: UnsafeRawBufferPointer) {
        guard let path, bytes.count > 0 else { return }
        if fd < 0 {
            let now = time(nil)
            guard now != lastCheck else { return }
            lastCheck = now
            fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)   // ENXIO while nobody reads
            if fd < 0 { return }
        }
        let n = Glibc.write(fd, bytes.baseAddress!, bytes.count)
        if n < 0 && errno != EAGAIN { close(fd); fd = -1 }      // reader gone; a full pipe just drops
    }
}

/// Stage diagnostics go to stderr, one line each, prefixed by the stage name. They
/// never carry frame content: callers pass counts, codes and ids only.
public func logLine(_ stage: String, _ message: String) {
    let line = "\(stage): \(message)\n"
    FileHandle.standardError.write(line.data(using: .utf8)!)
}
