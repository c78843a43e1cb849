import HoopJSON
import XCTest
@testable import HoopFrames

/// The rows codec: what RowsWriter writes, RowsReader reads back; the general JSON
/// reader (and jansson) agree on what it wrote; anything off the rows frame's shape is
/// refused rather than half read.
final class RowsCodecTests: XCTestCase {
    func read(_ line: [UInt8]) -> (RowsHeader, [[String?]])? {
        line.withUnsafeBytes { RowsReader.values($0) }
    }

    func write(_ rows: [[String?]], stamps: [String] = [], session: String = "s1", seq: Int64 = 4) -> [UInt8] {
        var w = RowsWriter(session: session, seq: seq)
        for r in rows { w.append(r) }
        var line = w.finish(stamps: stamps)
        XCTAssertEqual(line.removeLast(), 0x0A)
        return line
    }

    /// Values a generator of synthetic data would not think of: every escape JSON has,
    /// control characters, quotes and backslashes, multi-byte UTF-8 and emoji (a
    /// surrogate pair when escaped), empty strings beside nulls, a long value.
    static let awkward: [String?] = [
        "", nil, "plain", "quote \" and backslash \\", "tab\tnew\nline\rcr", "\u{01}\u{1f}\u{7f}",
        "slash / and \\/", "é ü ß 漢字", "emoji 😀 here", String(repeating: "x", count: 70_000), "null", "[\"not\", \"an array\"]",
    ]

    func testRoundTrip() throws {
        let rows: [[String?]] = [Self.awkward, [], [nil], ["only"], Self.awkward.reversed()]
        let line = write(rows, stamps: ["connect", "mask"])
        let (header, back) = try XCTUnwrap(read(line))
        XCTAssertEqual(back, rows)
        XCTAssertEqual(header.session, "s1")
        XCTAssertEqual(header.seq, 4)
        XCTAssertEqual(header.stamps, ["connect": true, "mask": true])
        // The general reader and jansson read the same frame, header first.
        let tree = try line.withUnsafeBytes { try Frame.decode($0) }
        XCTAssertEqual(tree.type, FrameType.rows)
        XCTAssertEqual(tree["rows"]?.array?.map { $0.array?.map(\.string) }, rows)
        XCTAssertEqual(try line.withUnsafeBytes { try JSON.parseWithJansson($0) }, try line.withUnsafeBytes { try JSON.parse($0) })
        XCTAssertNotNil(line.withUnsafeBytes { FrameHeader.peek($0) })
    }

    func testEmptyBatch() throws {
        let (_, rows) = try XCTUnwrap(read(write([])))
        XCTAssertEqual(rows, [])
    }

    func testRandomValuesRoundTrip() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let rows: [[String?]] = (0..<Int.random(in: 0...5, using: &rng)).map { _ in
                (0..<Int.random(in: 0...6, using: &rng)).map { _ -> String? in
                    if Int.random(in: 0..<5, using: &rng) == 0 { return nil }
                    let scalars = (0..<Int.random(in: 0...12, using: &rng)).compactMap { _ -> Unicode.Scalar? in
                        let pick = Int.random(in: 0..<4, using: &rng)
                        let v = pick == 0 ? UInt32.random(in: 1...0x7f, using: &rng)
                            : pick == 1 ? UInt32.random(in: 0x80...0xffff, using: &rng) : pick == 2 ? UInt32.random(in: 0x10000...0x10ffff, using: &rng)
                            : [0x22, 0x5c, 0x0a, 0x2f].randomElement(using: &rng)!
                        return Unicode.Scalar(v)
                    }
                    return String(String.UnicodeScalarView(scalars))
                }
            }
            XCTAssertEqual(try XCTUnwrap(read(write(rows))).1, rows)
        }
    }

    /// Rows in another writer's spelling (escaped, spaced, keys in another order) read the same.
    func testOtherSpellings() throws {
        let line = bytes(#" { "seq" : 7 , "rows" : [ [ "a\u00e9\ud83d\ude00" , null ] , [ ] ] , "stamp:mask" : false , "type" : "rows" , "session" : "s-2" } "#)
        let (header, rows) = try XCTUnwrap(read(line))
        XCTAssertEqual(rows, [["aé😀", nil], []])
        XCTAssertEqual(header, { var h = RowsHeader(); h.session = "s-2"; h.seq = 7; h.stamps = ["mask": false]; return h }())
    }

    /// Not a rows frame of the contract's shape: the reader says nil, and a stage then
    /// takes the path that refuses it whole.
    func testRefusesWhatIsNotARowsFrame() {
        let refused = [
            #"{"type":"rows","session":"s1","seq":1,"rows":[["half"]"#,               // truncated
            #"{"type":"rows","session":"s1","seq":1,"rows":[[1]]}"#,                  // a number
            #"{"type":"rows","session":"s1","seq":1,"rows":[[true]]}"#,
            #"{"type":"rows","session":"s1","seq":1,"rows":[[{"x":"y"}]]}"#,          // an object
            #"{"type":"rows","session":"s1","seq":1,"rows":[[["nested"]]]}"#,
            #"{"type":"rows","session":"s1","seq":1,"rows":["flat"]}"#,               // a row that is no array
            #"{"type":"rows","session":"s1","seq":1,"rows":{}}"#,
            #"{"type":"rows","session":"s1","seq":1,"rows":[["a"]],"extra":"unread"}"#,   // a key it does not know
            #"{"type":"rows","session":"s1","seq":1,"rows":[["a"]],"stamp\u003amask":true}"#,   // an escaped key
            #"{"type":"rows","session":"s1","seq":1,"rows":[["a"]],"stamp:mask":"yes"}"#,
            #"{"type":"row","session":"s1","seq":1,"rows":[["a"]]}"#,                 // another type
            #"{"type":"r\u006fws","session":"s1","seq":1,"rows":[["a"]]}"#,
            #"{"session":"s1","seq":1,"rows":[["a"]]}"#,                              // no type
            #"{"type":"rows","seq":1,"rows":[["a"]]}"#,                               // no session
            #"{"type":"rows","session":"bad id!","seq":1,"rows":[["a"]]}"#,
            #"{"type":"rows","session":"s1","seq":1.5,"rows":[["a"]]}"#,              // not an integer
            #"{"type":"rows","session":"s1","seq":-1,"rows":[["a"]]}"#,
            #"{"type":"rows","session":"s1","seq":1}"#,                               // no rows
            #"{"type":"rows","session":"s1","seq":1,"rows":[["a\u0000b"]]}"#,         // \u0000
            #"{"type":"rows","session":"s1","seq":1,"rows":[["\ud800"]]}"#,           // a lone surrogate
            #"{"type":"rows","session":"s1","seq":1,"rows":[["\udc00x"]]}"#,
            #"{"type":"rows","session":"s1","seq":1,"rows":[["\q"]]}"#,               // no such escape
            #"{"type":"rows","session":"s1","seq":1,"rows":[["a"]]} trailing"#,
            #"["type","rows"]"#,
        ]
        for line in refused {
            XCTAssertNil(read(bytes(line)), line)
        }
    }

    /// hoop-mask's clean read: a visitor that stops on the first value it flags stops
    /// the whole read, and escaped values come as their written bytes.
    func testVisitorStopsAndSeesRawBytes() {
        struct Flag: RowsVisitor {
            var seen: [(Int, String, Bool)] = []
            mutating func beginRow() -> Bool { true }
            mutating func null(_ column: Int) -> Bool { true }
            mutating func endRow(columns: Int) -> Bool { true }
            mutating func value(_ column: Int, _ bytes: UnsafeRawBufferPointer, escaped: Bool) -> Bool {
                seen.append((column, String(decoding: bytes, as: UTF8.self), escaped))
                return !bytes.elementsEqual("stop".utf8)
            }
        }
        var v = Flag()
        let line = bytes(#"{"type":"rows","session":"s1","seq":1,"rows":[["a\"b",null,"c"],["stop","never"]]}"#)
        XCTAssertNil(line.withUnsafeBytes { RowsReader.read($0, &v) })
        XCTAssertEqual(v.seen.map(\.0), [0, 2, 0])
        XCTAssertEqual(v.seen.map(\.1), [#"a\"b"#, "c", "stop"])
        XCTAssertEqual(v.seen.map(\.2), [true, false, false])
    }

    func testWriterBatchesAndResets() throws {
        var w = RowsWriter(session: "s1", seq: 9)
        var frames = 0, rows = 0
        for i in 0..<2500 {
            w.append(["row \(i)", nil])
            if w.isFull {
                let (_, back) = try XCTUnwrap(w.finish().dropLast().withUnsafeBytes { RowsReader.values($0) })
                rows += back.count; frames += 1
                w.reset()
            }
        }
        XCTAssertEqual(frames, 2)
        XCTAssertEqual(rows, 2 * Rows.maxRows)
        XCTAssertEqual(w.count, 500)
        // A large value ends a batch by bytes.
        var big = RowsWriter(session: "s1", seq: 9)
        big.append([String(repeating: "y", count: Rows.maxBytes)])
        XCTAssertTrue(big.isFull)
    }

    func testEncodedRowsAndCallbackRowsMatch() throws {
        var a = RowsWriter(session: "s1", seq: 1), b = RowsWriter(session: "s1", seq: 1)
        let values: [UnsafeMutableBufferPointer<UInt8>?] = [Array("x\"y".utf8), nil, []].map { v in
            v.map { v in let p = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: v.count); _ = p.initialize(from: v); return p }
        }
        defer { values.forEach { $0?.deallocate() } }
        a.append(values.count) { i in values[i].map { UnsafeBufferPointer($0) } }
        var row = JSONWriter()
        row.row(values.count) { i in values[i].map { UnsafeBufferPointer($0) } }
        b.append(encoded: row.bytes)
        XCTAssertEqual(a.finish(), b.finish())
        XCTAssertEqual(text(row.bytes), #"["x\"y",null,""]"#)
    }
}
