#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Foundation
import XCTest
@testable import HoopFrames

final class LineReaderTests: XCTestCase {
    func read(_ chunks: [[UInt8]], limit: Int = 1 << 20, pause: useconds_t = 20_000) -> [ReadItem] {
        let pipe = Pipe2()
        let done = feed(pipe, chunks, pause: pause)
        let items = readItems(LineReader(fd: pipe.read, limit: limit))
        done.wait()
        // The same bytes handed over in the same pieces (an event loop's reads) make the same lines.
        XCTAssertEqual(fedItems(chunks, limit: limit), items, "feed differs from read")
        return items
    }

    func fedItems(_ chunks: [[UInt8]], limit: Int) -> [ReadItem] {
        let reader = LineReader(fd: -1, limit: limit)
        var items: [ReadItem] = []
        func take(_ item: LineReader.Item) {
            switch item {
            case .line(let b): items.append(.line(Array(b)))
            case .oversize(let p, let n): items.append(.oversize(prefix: Array(p), length: n))
            }
        }
        for c in chunks { c.withUnsafeBytes { reader.feed($0, take) } }
        reader.finish(take)
        return items
    }

    func testFeedInOnePieceOrByteByByte() {
        let input = bytes("a\nbb\n") + [UInt8](repeating: 0x61, count: 300) + bytes("\nc\nlast")
        let want: [ReadItem] = [.line(bytes("a")), .line(bytes("bb")), .oversize(prefix: [UInt8](repeating: 0x61, count: 300), length: 300),
                                .line(bytes("c")), .line(bytes("last"))]
        XCTAssertEqual(fedItems([input], limit: 100), want)
        // Byte by byte the skip starts one byte past the limit: its prefix is what was there.
        var bytewise = want
        bytewise[2] = .oversize(prefix: [UInt8](repeating: 0x61, count: 101), length: 300)
        XCTAssertEqual(fedItems(input.map { [$0] }, limit: 100), bytewise)
    }

    func testEmptyInput() {
        XCTAssertEqual(read([]), [])
    }

    func testLines() {
        XCTAssertEqual(read([bytes("a\nbb\n\nccc\n")]), [.line(bytes("a")), .line(bytes("bb")), .line([]), .line(bytes("ccc"))])
    }

    func testLinesSplitAcrossReads() {
        let chunks = [bytes("{\"type\":"), bytes("\"x\"}\n{\"ty"), bytes("pe\":\"y\"}\n"), bytes("\n"), bytes("z"), bytes("z\n")]
        XCTAssertEqual(read(chunks), [.line(bytes(#"{"type":"x"}"#)), .line(bytes(#"{"type":"y"}"#)), .line([]), .line(bytes("zz"))])
    }

    func testLastLineWithoutNewline() {
        XCTAssertEqual(read([bytes("a\nlast")]), [.line(bytes("a")), .line(bytes("last"))])
        XCTAssertEqual(read([bytes("a\n"), bytes("la"), bytes("st")]), [.line(bytes("a")), .line(bytes("last"))])
    }

    func testOversizeLinesSkipped() {
        let long = [UInt8](repeating: 0x61, count: 250)
        let justOver = [UInt8](repeating: 0x62, count: 101)
        let exact = [UInt8](repeating: 0x63, count: 100)
        let input = bytes("a\n") + long + bytes("\nb\n") + justOver + bytes("\n") + exact + bytes("\nc\n")
        XCTAssertEqual(read([input], limit: 100), [
            .line(bytes("a")), .oversize(prefix: long, length: 250), .line(bytes("b")),
            .oversize(prefix: justOver, length: 101), .line(exact), .line(bytes("c")),
        ])
    }

    func testOversizeLineArrivingInPieces() {
        let head = bytes(#"{"type":"x","session":"s","seq":3,"v":""#)
        let long = head + [UInt8](repeating: 0x61, count: 10_000) + bytes(#""}"#)
        let chunks = [bytes("a\n"), Array(long[0..<150]), Array(long[150..<5000]), Array(long[5000...]) + bytes("\nb\n")]
        let items = read(chunks, limit: 100)
        XCTAssertEqual(items.count, 3, "\(items)")
        XCTAssertEqual(items.first, .line(bytes("a")))
        XCTAssertEqual(items.last, .line(bytes("b")))
        guard items.count == 3, case .oversize(let prefix, let length) = items[1] else { return XCTFail("\(items)") }
        XCTAssertEqual(length, long.count)
        XCTAssertFalse(prefix.isEmpty)
        XCTAssertLessThanOrEqual(prefix.count, 4096)
        XCTAssertEqual(prefix, Array(long[0..<prefix.count]), "the prefix is the line's start")
        let salvaged = prefix.withUnsafeBytes { FrameHeader.salvage($0) }
        XCTAssertEqual(salvaged.session, "s")
        XCTAssertEqual(salvaged.seq, 3)
    }

    func testOversizeLastLineWithoutNewline() {
        let long = [UInt8](repeating: 0x61, count: 300)
        XCTAssertEqual(read([bytes("a\n"), long], limit: 100), [.line(bytes("a")), .oversize(prefix: long, length: 300)])
        XCTAssertEqual(read([bytes("a\n") + long], limit: 100), [.line(bytes("a")), .oversize(prefix: long, length: 300)])
    }

    func testLinesLargerThanTheInitialBuffer() {
        // The buffer starts at 1 MiB and grows up to the limit (+1 for the newline).
        let limit = 3 << 20
        let exact = [UInt8](repeating: 0x78, count: limit)
        let big = [UInt8](repeating: 0x79, count: 2 << 20)
        let over = [UInt8](repeating: 0x7A, count: limit + 1)
        let input = bytes("a\n") + big + bytes("\n") + over + bytes("\n") + exact + bytes("\nb\n")
        let items = read(stride(from: 0, to: input.count, by: 300_000).map { Array(input[$0..<min($0 + 300_000, input.count)]) },
                         limit: limit, pause: 0)
        XCTAssertEqual(items.count, 5, "\(items)")
        guard items.count == 5 else { return }
        XCTAssertEqual(items[0], .line(bytes("a")))
        XCTAssertEqual(items[1], .line(big))
        guard case .oversize(let prefix, let length) = items[2] else { return XCTFail("\(items[2])") }
        XCTAssertEqual(length, over.count)
        XCTAssertEqual(prefix, Array(over[0..<prefix.count]))
        XCTAssertEqual(items[3], .line(exact))
        XCTAssertEqual(items[4], .line(bytes("b")))
    }

    func testManySmallLines() {
        var input: [UInt8] = []
        for i in 0..<50_000 { input += bytes("{\"type\":\"x\",\"n\":\(i)}\n") }
        let items = read([input], pause: 0)
        XCTAssertEqual(items.count, 50_000)
        XCTAssertEqual(items.last, .line(bytes(#"{"type":"x","n":49999}"#)))
    }
}

extension LineReaderTests {
    /// hoop-record's commit delay waits a fraction of a millisecond for input.
    func testWaitForInputShorterThanAMillisecond() throws {
        let pipe = Pipe2()
        let reader = LineReader(fd: pipe.read)
        XCTAssertFalse(reader.waitForInput(seconds: 0.0002), "nothing to read: the wait ends")
        XCTAssertEqual(write(pipe.write, "x\n", 2), 2)
        XCTAssertTrue(reader.waitForInput(seconds: 0.0002))
        XCTAssertTrue(reader.waitForInput(seconds: 5), "input ready: no wait")
        pipe.closeWrite()
        XCTAssertTrue(reader.waitForInput(seconds: 5), "the end of input is readable too")
    }
}

final class FrameWriterTests: XCTestCase {
    func testWritesWholeFramesInOrder() throws {
        let pipe = Pipe2()
        let writer = FrameWriter(fd: pipe.write)
        writer.enqueue(Frame("a", session: "s", seq: 1))
        writer.enqueue(bytes("{\"type\":\"raw\"}\n"))
        try writer.flush()
        try writer.write(Frame("b"))
        try writer.flush()      // nothing queued: no-op
        pipe.closeWrite()
        XCTAssertEqual(text(readAll(pipe.read)), "{\"type\":\"a\",\"session\":\"s\",\"seq\":1}\n{\"type\":\"raw\"}\n{\"type\":\"b\"}\n")
    }

    func testBrokenPipeThrows() {
        let pipe = Pipe2()
        pipe.closeRead()
        let writer = FrameWriter(fd: pipe.write)    // ignores SIGPIPE
        XCTAssertThrowsError(try writer.write(Frame("x")))
    }
}

final class StageLoopTests: XCTestCase {
    let passAll: (StageLoop, RawFrame) throws -> Void = { loop, frame in loop.pass(frame) }

    func testPassThroughAndStamps() throws {
        let input = [
            #"{"type":"query","session":"s","seq":1,"sql":"x"}"#,
            #"{"type":"unknown","session":"s","seq":1,"a":{"b":[1, 2]}}"#,
            #"{"seq":2,"sql":"y","session":"s","type":"query"}"#,
            #"{"type":"rows","session":"s","seq":1,"rows":[["1"]]}"#,
        ].joined(separator: "\n") + "\n"
        let out = try runStage(bytes(input)) { loop, frame in
            if FrameType.requests.contains(frame.type) { loop.stamp(frame, as: "test") } else { loop.pass(frame) }
        }
        XCTAssertEqual(out, [
            #"{"type":"query","session":"s","seq":1,"sql":"x","stamp:test":true}"#,
            #"{"type":"unknown","session":"s","seq":1,"a":{"b":[1, 2]}}"#,
            #"{"seq":2,"sql":"y","session":"s","type":"query","stamp:test":true}"#,
            #"{"type":"rows","session":"s","seq":1,"rows":[["1"]]}"#,
        ])
    }

    func testHandlerSeesHeaderInAnyKeyOrder() throws {
        var seen: [FrameHeader] = []
        let input = [
            #"{"type":"x","session":"a","seq":1}"#,
            #"{"seq":2,"session":"a","type":"x"}"#,
            #"{"session":"a","type":"x","seq":3}"#,
            #"{"type":"x","seq":4,"session":"a"}"#,
            #"{"type":"x","session":"a","v":0,"seq":5}"#,
        ].joined(separator: "\n") + "\n"
        _ = try runStage(bytes(input)) { loop, frame in seen.append(frame.header); loop.pass(frame) }
        XCTAssertEqual(seen, (1...5).map { FrameHeader(type: "x", session: "a", seq: Int64($0)) })
    }

    func testMalformedLinesBecomeErrors() throws {
        let secret = "SECRET-PHI-42"
        let bad: [[UInt8]] = [
            bytes(#"{"type":"x","session":"m1","seq":2,"v":"\#(secret)"#),
            bytes(#"{"type":"x","session":"m2","seq":3,"v":""#) + bytes(secret) + [0xFF, 0x22, 0x7D],
            bytes(#"{"session":"m3","seq":4,"v":"\#(secret)"}"#),
            bytes(#"["\#(secret)"]"#),
        ]
        var input: [UInt8] = []
        for b in bad { input += b + [0x0A] + bytes(#"{"type":"ok"}"#) + [0x0A] }
        let out = try runStage(input, handle: passAll)
        XCTAssertEqual(out.count, 8)
        XCTAssertFalse(out.joined().contains(secret))
        let errors = out.enumerated().filter { $0.offset % 2 == 0 }.map { object($0.element) ?? [:] }
        XCTAssertEqual(out.enumerated().filter { $0.offset % 2 == 1 }.map(\.element), Array(repeating: #"{"type":"ok"}"#, count: 4))
        XCTAssertEqual(errors.map { $0["session"]?.string }, ["m1", "m2", "m3", nil])
        XCTAssertEqual(errors.map { $0["seq"]?.int }, [2, 3, 4, nil])
        for e in errors {
            XCTAssertEqual(e["type"], .string("error"))
            XCTAssertEqual(e["code"], .string("08P01"))
            XCTAssertEqual(e["fatal"], .bool(true))
            XCTAssertEqual(e["stage"], .string("hoop-test"))
            XCTAssertTrue(e["message"]?.string?.hasPrefix("malformed frame") ?? false)
        }
        XCTAssertEqual(errors[3]["dropped_bytes"], .int(Int64(bad[3].count)))
        XCTAssertNil(errors[0]["dropped_bytes"])
        XCTAssertTrue(out[0].hasPrefix(#"{"type":"error","session":"m1","seq":2,"#), out[0])
    }

    /// docs/frames.md: "A reader rejects a frame with a duplicate key as malformed."
    func testDuplicateKeysBecomeErrors() throws {
        let input = [
            #"{"type":"x","session":"d1","seq":1,"v":1,"v":2}"#,
            #"{"type":"x","session":"d2","seq":1,"type":"query"}"#,
            #"{"type":"query","session":"d3","seq":1,"sql":"a","sql":"b"}"#,
        ].joined(separator: "\n") + "\n"
        let out = try runStage(bytes(input), handle: passAll)
        XCTAssertEqual(out.map { object($0)?["type"]?.string }, ["error", "error", "error"], "\(out)")
    }

    func testBlankLinesAreIgnoredAndEndOfInputFlushes() throws {
        let out = try runStage(bytes("\n  \n{\"type\":\"a\"}\n\r\n{\"type\":\"b\"}"), handle: passAll)
        XCTAssertEqual(out, [#"{"type":"a"}"#, #"{"type":"b"}"#])
    }

    func testRequestAndResponseTypesAreDisjoint() {
        XCTAssertTrue(FrameType.requests.isDisjoint(with: FrameType.responses))
        // docs/frames.md, Requests and Responses.
        XCTAssertEqual(FrameType.requests, ["session_open", "query", "parse", "bind", "describe", "execute", "close", "sync",
                                      "flush", "cancel", "copy_data", "copy_done", "copy_fail", "call", "call_data"])
        XCTAssertTrue(FrameType.responses.isSuperset(of: ["rows", "copy_out_data", "ready", "session_closed"]))
        XCTAssertTrue(FrameType.responses.contains("error"))
        XCTAssertFalse(FrameType.requests.contains("credit") || FrameType.responses.contains("credit"))
    }
}

final class GatewayConfigTests: XCTestCase {
    func testLoadAndSecrets() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hoop-config-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "s3cret\n".write(to: dir.appendingPathComponent("pw"), atomically: true, encoding: .utf8)
        let path = dir.appendingPathComponent("hoop.json").path
        try #"{"connections":{"db":{"password":{"file":"pw"}}}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        let config = try GatewayConfig.load(path)
        XCTAssertEqual(try config.secret(config.json["connections"]?["db"]?["password"]), "s3cret")
        XCTAssertNil(try config.secret(nil))
        XCTAssertThrowsError(try config.secret(.string("inline")))
        XCTAssertThrowsError(try config.secret(.object(["env": .string("HOOP_TEST_UNSET_\(getpid())")])))
        XCTAssertEqual(try config.secret(.object(["env": .string("PATH")])), ProcessInfo.processInfo.environment["PATH"])

        try "[1]".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try GatewayConfig.load(path))
        try #"{"a":1,"a":2}"#.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try GatewayConfig.load(path))
        XCTAssertThrowsError(try GatewayConfig.load(dir.appendingPathComponent("missing.json").path))
    }
}
