#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Foundation
import XCTest
@testable import HoopFrames

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

/// A pipe; both ends are closed by `close()`.
final class Pipe2 {
    let read: Int32, write: Int32
    private var writeOpen = true, readOpen = true

    init() {
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0)
        read = fds[0]
        write = fds[1]
    }

    func closeWrite() { if writeOpen { Glibc.close(write); writeOpen = false } }
    func closeRead() { if readOpen { Glibc.close(read); readOpen = false } }
    deinit { closeWrite(); closeRead() }
}

func writeBytes(_ fd: Int32, _ data: [UInt8]) {
    data.withUnsafeBytes { buf in
        var off = 0
        while off < buf.count {
            let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
            precondition(n > 0 || errno == EINTR)
            if n > 0 { off += n }
        }
    }
}

func readAll(_ fd: Int32) -> [UInt8] {
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        out.append(contentsOf: chunk[0..<n])
    }
    return out
}

/// Writes `chunks` to the pipe on another thread, pausing between them so that the
/// reader sees them in separate reads, then closes the write end.
func feed(_ pipe: Pipe2, _ chunks: [[UInt8]], pause: useconds_t = 20_000) -> DispatchSemaphore {
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        for (n, chunk) in chunks.enumerated() {
            if n > 0 && pause > 0 { usleep(pause) }
            writeBytes(pipe.write, chunk)
        }
        pipe.closeWrite()
        done.signal()
    }
    thread.start()
    return done
}

/// One item a LineReader produced, copied out of its buffer.
enum ReadItem: Equatable, CustomStringConvertible {
    case line([UInt8])
    case oversize(prefix: [UInt8], length: Int)

    var description: String {
        switch self {
        case .line(let b): return b.count > 60 ? ".line(\(b.count) bytes)" : ".line(\"\(text(b))\")"
        case .oversize(let p, let n): return ".oversize(prefix \(p.count) bytes, length \(n))"
        }
    }
}

func readItems(_ reader: LineReader) -> [ReadItem] {
    var items: [ReadItem] = []
    var more = true
    while more {
        more = reader.readBatch { item in
            switch item {
            case .line(let b): items.append(.line(Array(b)))
            case .oversize(let p, let n): items.append(.oversize(prefix: Array(p), length: n))
            }
        }
    }
    return items
}

/// Runs a StageLoop over pipes with `input`, returning what it wrote, one string per line.
func runStage(_ input: [UInt8], handle: @escaping (StageLoop, RawFrame) throws -> Void) throws -> [String] {
    let inPipe = Pipe2(), outPipe = Pipe2()
    let fed = feed(inPipe, [input], pause: 0)
    final class Box: @unchecked Sendable { var bytes: [UInt8] = [] }
    let output = Box()
    let drained = DispatchSemaphore(value: 0)
    let reader = Thread { output.bytes = readAll(outPipe.read); drained.signal() }
    reader.start()
    let loop = StageLoop(stage: "hoop-test", input: inPipe.read, output: outPipe.write)
    try loop.run { frame in try handle(loop, frame) }
    fed.wait()
    outPipe.closeWrite()
    drained.wait()
    var lines = text(output.bytes).components(separatedBy: "\n")
    XCTAssertEqual(lines.last, "", "output must end with a newline")
    lines.removeLast()
    return lines
}

/// Parses an output line strictly (jansson, duplicates rejected) into an object.
func object(_ line: String) -> [String: JSON]? {
    (try? JSON.parse(line))?.object
}
