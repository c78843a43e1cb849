// JSON codecs on frames, in process: `scripts/bench codecs` builds this with swiftc
// against the release build's HoopFrames objects and runs it on a corpus it records
// from a real ring (scripts/bench-codecs). Nothing here is built by `swift build`.
//
//   codec_bench DIR [SECONDS]   for every DIR/KIND.ndjson (one frame a line), every codec:
//                               decode and encode frames/s and MB/s (single-threaded,
//                               after a warm-up pass, best of 3 trials of SECONDS / 3 of
//                               thread CPU time each), and whether the
//                               codec's output reads back as the same JSON value and
//                               keeps the header keys first
//
// Output, one line per kind and codec, tab-separated:
//   kind codec frames bytes decode_fps decode_MBps encode_fps encode_MBps same_value header_first
// (a codec that does not encode prints "-" for its encode figures).
import CJansson
import Foundation
import HoopFrames

// MARK: the corpus

struct Kind { let name: String; let lines: [[UInt8]]; let datas: [Data]; let bytes: Int }

func loadCorpus(_ dir: String) -> [Kind] {
    let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".ndjson") }.sorted()
    return files.map { f in
        let data = FileManager.default.contents(atPath: dir + "/" + f) ?? Data()
        let lines = data.split(separator: 0x0A).map { Array($0) }
        return Kind(name: String(f.dropLast(7)), lines: lines, datas: lines.map { Data($0) },
                    bytes: lines.reduce(0) { $0 + $1.count })
    }
}

// MARK: timing

/// This thread's CPU time: time spent waiting for a core on a busy machine is left out.
func cpuNow() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

/// Runs `pass` (one pass over a kind's frames) once to warm up, then in three trials
/// of `seconds` / 3 of CPU time each; returns the best trial's passes per CPU second
/// (the least disturbed by the machine's other work).
func rate(_ seconds: Double, _ pass: () -> Void) -> Double {
    pass()
    var best = 0.0
    for _ in 0..<3 {
        var passes = 0
        let start = cpuNow()
        var elapsed = 0.0
        repeat {
            pass()
            passes += 1
            elapsed = cpuNow() - start
        } while elapsed < seconds / 3
        best = max(best, Double(passes) / elapsed)
    }
    return best
}

var sink = 0   // keeps results alive so the optimiser cannot drop the work

// MARK: the reference every codec's output is checked against

func reference(_ line: [UInt8]) -> JSON { (try? JSON.parse(line)) ?? .null }

func header(_ line: [UInt8]) -> FrameHeader? { line.withUnsafeBytes { FrameHeader.peek($0) } }

/// Same value as the input (plus `added` members), and header keys first: the output
/// starts with the input's type, session and seq in that order (docs/frames.md)?
func check(_ kind: Kind, _ outputs: [[UInt8]], added: [String: JSON] = [:]) -> (Bool, Bool) {
    var same = true, first = true
    for (line, out) in zip(kind.lines, outputs) {
        var out = out
        if out.last == 0x0A { out.removeLast() }
        var expected = reference(line)
        if case .object(var o) = expected { o.merge(added) { $1 }; expected = .object(o) }
        if (try? JSON.parse(out)) != expected { same = false }
        if !out.starts(with: headerPrefix(expected)) { first = false }
    }
    return (same, first)
}

func headerPrefix(_ v: JSON) -> [UInt8] {
    var w = JSONWriter()
    w.raw("{\"type\":"); w.string(v["type"]?.string ?? "")
    if let s = v["session"]?.string { w.raw(",\"session\":"); w.string(s) }
    if let n = v["seq"]?.int { w.raw(",\"seq\":"); w.int(n) }
    return w.bytes
}

/// Frames whose header FrameHeader.peek cannot read from the prefix: StageLoop then
/// decodes them in full, in every stage they pass.
func peekMisses(_ kind: Kind) -> Int { kind.lines.filter { header($0) == nil }.count }

// MARK: codecs

protocol Codec {
    var name: String { get }
    associatedtype Value
    func decode(_ kind: Kind, _ i: Int) -> Value?
    func encode(_ value: Value) -> [UInt8]?   // nil: the codec does not encode
}

/// HoopFrames as the stages use it: jansson's tree converted to the JSON enum, the
/// header taken out (Frame.decode); Frame.encoded() writes header keys first.
struct HoopFramesCodec: Codec {
    let name = "HoopFrames Frame"
    func decode(_ kind: Kind, _ i: Int) -> Frame? { kind.lines[i].withUnsafeBytes { try? Frame.decode($0) } }
    func encode(_ f: Frame) -> [UInt8]? { f.encoded() }
}

/// jansson alone: json_loadb to its own tree (the flags HoopFrames uses), json_dumpb.
final class JanssonTree { let root: UnsafeMutablePointer<json_t>; init(_ r: UnsafeMutablePointer<json_t>) { root = r }
    deinit { json_decref(root) } }
final class JanssonCodec: Codec {
    let name = "jansson tree"
    var buffer = [CChar](repeating: 0, count: 32 << 20)
    func decode(_ kind: Kind, _ i: Int) -> JanssonTree? {
        var error = json_error_t()
        let root = kind.lines[i].withUnsafeBytes {
            json_loadb($0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count,
                       Int(JSON_REJECT_DUPLICATES | JSON_DECODE_ANY), &error)
        }
        return root.map(JanssonTree.init)
    }
    func encode(_ t: JanssonTree) -> [UInt8]? {
        let n = buffer.withUnsafeMutableBufferPointer { json_dumpb(t.root, $0.baseAddress, $0.count, Int(JSON_COMPACT)) }
        return buffer.withUnsafeBufferPointer { Array(UnsafeRawBufferPointer(start: $0.baseAddress, count: n)) }
    }
}

/// Foundation's JSONSerialization: Any trees of NSDictionary, NSArray, NSString, NSNumber.
struct SerializationCodec: Codec {
    let name = "JSONSerialization"
    func decode(_ kind: Kind, _ i: Int) -> Any? { try? JSONSerialization.jsonObject(with: kind.datas[i]) }
    func encode(_ v: Any) -> [UInt8]? { (try? JSONSerialization.data(withJSONObject: v)).map { Array($0) } }
}

/// Foundation's JSONDecoder/JSONEncoder with Codable structs of the frame's kind.
struct CodableCodec<T: Codable>: Codec {
    let name = "Codable structs"
    let decoder = JSONDecoder(), encoder = JSONEncoder()
    func decode(_ kind: Kind, _ i: Int) -> T? { try? decoder.decode(T.self, from: kind.datas[i]) }
    func encode(_ v: T) -> [UInt8]? { (try? encoder.encode(v)).map { Array($0) } }
}

/// What a pass-through stage does with a frame it does not handle: read the header
/// from the prefix (FrameHeader.peek; a full decode where the peek misses, as
/// StageLoop.route does), write the line with a stamp appended.
struct PeekCodec: Codec {
    let name = "prefix peek + stamp"
    func decode(_ kind: Kind, _ i: Int) -> [UInt8]? {
        kind.lines[i].withUnsafeBytes { b in
            if FrameHeader.peek(b) != nil { return true }
            return (try? Frame.decode(b)) != nil
        } ? kind.lines[i] : nil
    }
    func encode(_ line: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        line.withUnsafeBytes { appendStamp("bench", to: $0, into: &out) }
        return out
    }
}

/// What StageLoop.route runs on every line before a stage sees it: the validating
/// scan (FrameValidator) and the prefix peek.
struct ValidatePeekCodec: Codec {
    let name = "validate + peek"
    func decode(_ kind: Kind, _ i: Int) -> FrameHeader? {
        kind.lines[i].withUnsafeBytes { b in
            guard FrameValidator.isValidObject(b) else { return nil }
            if let h = FrameHeader.peek(b) { return h }
            return (try? Frame.decode(b)).map { FrameHeader(type: $0.type, session: $0.session, seq: $0.seq) }
        }
    }
    func encode(_ h: FrameHeader) -> [UInt8]? { nil }
}

/// RawFrame.decode(only:): the few fields a stage reads of a frame it passes on (hoop-mask's
/// tracked requests; complete and ready with what hoop-listen would read of them).
struct PartCodec: Codec {
    let name = "read in part"
    static let keys: [String: Set<String>] = [
        "query": ["sql", "name", "portal", "statement", "kind"], "bind": ["sql", "name", "portal", "statement", "kind"],
        "complete": ["tag", "fatal", "stamp:mask", "stamp:record"], "ready": ["status", "fatal", "stamp:mask", "stamp:record"],
    ]
    static func keys(_ kind: Kind) -> Set<String>? { keys[kind.name.split(separator: "-").first.map(String.init) ?? ""] }
    func decode(_ kind: Kind, _ i: Int) -> Frame? {
        guard let keys = Self.keys(kind) else { return nil }
        return kind.lines[i].withUnsafeBytes { b in FrameHeader.peek(b).flatMap { try? RawFrame(bytes: b, header: $0).decode(only: keys) } }
    }
    func encode(_ f: Frame) -> [UInt8]? { nil }
}

// MARK: Codable models of the frames (every key the ring writes, so nothing is dropped)

struct Stamps: Codable, Equatable {
    var auth: Bool?, approve: Bool?, mask: Bool?, record: Bool?
    enum CodingKeys: String, CodingKey { case auth = "stamp:auth", approve = "stamp:approve", mask = "stamp:mask",
                                              record = "stamp:record" }
}
/// The header and the stamps around a kind's own fields (flattened: one JSON object).
struct Framed<Body: Codable & Equatable>: Codable, Equatable {
    var type: String, session: String?, seq: Int64?
    var body: Body, stamps: Stamps
    enum CodingKeys: String, CodingKey { case type, session, seq }
    init(from d: Decoder) throws {
        let c = try d.container(keyedBy: CodingKeys.self)
        type = try c.decode(String.self, forKey: .type)
        session = try c.decodeIfPresent(String.self, forKey: .session)
        seq = try c.decodeIfPresent(Int64.self, forKey: .seq)
        body = try Body(from: d)
        stamps = try Stamps(from: d)
    }
    func encode(to e: Encoder) throws {
        var c = e.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        try c.encodeIfPresent(session, forKey: .session)
        try c.encodeIfPresent(seq, forKey: .seq)
        try body.encode(to: e)
        try stamps.encode(to: e)
    }
}
struct Identity: Codable, Equatable {
    var email: String?, groups: [String], issuer: String, kind: String, session_ends_at: Int64?
    var subject: String, token_expires_at: Int64?, user: String
}
struct Client: Codable, Equatable { var addr: String, port: Int }
struct SessionOpen: Codable, Equatable {
    var application_name: String?, client: Client?, database: String, decision: String?, identity: Identity?
    var options: [String: String], user: String
}
struct Query: Codable, Equatable { var sql: String }
enum Param: Codable, Equatable {
    case text(String), binary(base64: String)
    init(from d: Decoder) throws {
        if let s = try? d.singleValueContainer().decode(String.self) { self = .text(s); return }
        self = .binary(base64: try d.singleValueContainer().decode([String: String].self)["base64"] ?? "")
    }
    func encode(to e: Encoder) throws {
        var c = e.singleValueContainer()
        switch self { case .text(let s): try c.encode(s); case .binary(let b): try c.encode(["base64": b]) }
    }
}
struct Bind: Codable, Equatable {
    var param_formats: [Int], params: [Param?], portal: String, result_formats: [Int], statement: String
}
struct Rows: Codable, Equatable { var rows: [[String?]] }
struct Complete: Codable, Equatable { var tag: String }
struct Ready: Codable, Equatable { var status: String }
struct Credit: Codable, Equatable { var batches: Int }
struct Field: Codable, Equatable {
    var column: Int, format: Int, name: String, table_oid: UInt32, type_mod: Int32, type_oid: UInt32, type_size: Int
    var schema_name: String?, table_name: String?, column_name: String?
}
struct Columns: Codable, Equatable { var fields: [Field] }

// MARK: the run

func measure<C: Codec>(_ c: C, _ kind: Kind, _ seconds: Double) {
    let n = kind.lines.count
    var values: [C.Value] = []
    values.reserveCapacity(n)
    for i in 0..<n { if let v = c.decode(kind, i) { values.append(v) } }
    guard values.count == n else {
        print([kind.name, c.name, "\(n)", "\(kind.bytes)", "-", "-", "-", "-", "no (\(n - values.count) frames refused)", "-"]
            .joined(separator: "\t"))
        return
    }
    let dec = rate(seconds) { for i in 0..<n { if c.decode(kind, i) != nil { sink &+= 1 } } }
    let outputs = values.compactMap { c.encode($0) }
    var enc: Double? = nil
    var same = "-", first = "-"
    if outputs.count == n {
        enc = rate(seconds) { for v in values { sink &+= c.encode(v)?.count ?? 0 } }
        let (s, f) = check(kind, outputs, added: c is PeekCodec ? ["stamp:bench": .bool(true)] : [:])
        same = s ? "yes" : "NO"
        first = f ? "yes" : "no"
    } else if !(c is ValidatePeekCodec || c is PartCodec) {
        same = "NO (encode failed)"
    }
    if let c = c as? ValidatePeekCodec {   // a check, not a codec: does it agree with the full parse?
        let agree = (0..<n).allSatisfy { i in
            let f = kind.lines[i].withUnsafeBytes { try? Frame.decode($0) }
            return c.decode(kind, i) == f.map { FrameHeader(type: $0.type, session: $0.session, seq: $0.seq) }
        }
        same = agree ? "yes (header)" : "NO"
    }
    if let c = c as? PartCodec, let keys = PartCodec.keys(kind) {   // the same fields as the whole decode's?
        let agree = (0..<n).allSatisfy { i in
            guard var f = kind.lines[i].withUnsafeBytes({ try? Frame.decode($0) }) else { return false }
            f.fields = f.fields.filter { keys.contains($0.key) }
            return c.decode(kind, i) == f
        }
        same = agree ? "yes (its fields)" : "NO"
    }
    if c is PeekCodec || c is ValidatePeekCodec, peekMisses(kind) > 0 {
        same += "; peek missed \(peekMisses(kind))/\(n): full decode"
    }
    let mb = Double(kind.bytes) / 1e6
    func f(_ r: Double?) -> [String] { r.map { [String(format: "%.0f", $0 * Double(n)), String(format: "%.1f", $0 * mb)] } ?? ["-", "-"] }
    print(([kind.name, c.name, "\(n)", "\(kind.bytes)"] + f(dec) + f(enc) + [same, first]).joined(separator: "\t"))
}

func codable(_ kind: Kind, _ seconds: Double) {
    switch kind.name.split(separator: "-").first.map(String.init) ?? "" {
    case "session_open": measure(CodableCodec<Framed<SessionOpen>>(), kind, seconds)
    case "query": measure(CodableCodec<Framed<Query>>(), kind, seconds)
    case "bind": measure(CodableCodec<Framed<Bind>>(), kind, seconds)
    case "rows": measure(CodableCodec<Framed<Rows>>(), kind, seconds)
    case "complete": measure(CodableCodec<Framed<Complete>>(), kind, seconds)
    case "ready": measure(CodableCodec<Framed<Ready>>(), kind, seconds)
    case "credit": measure(CodableCodec<Framed<Credit>>(), kind, seconds)
    case "columns": measure(CodableCodec<Framed<Columns>>(), kind, seconds)
    default: print([kind.name, "Codable structs", "-", "-", "-", "-", "-", "-", "no model", "-"].joined(separator: "\t"))
    }
}

let args = CommandLine.arguments
guard args.count >= 2 else {
    FileHandle.standardError.write("usage: codec_bench DIR [SECONDS]\n".data(using: .utf8)!)
    exit(2)
}
let seconds = args.count > 2 ? Double(args[2]) ?? 0.5 : 0.5
setvbuf(stdout, nil, _IOLBF, 0)
for kind in loadCorpus(args[1]) where !kind.lines.isEmpty {
    measure(HoopFramesCodec(), kind, seconds)
    measure(JanssonCodec(), kind, seconds)
    measure(SerializationCodec(), kind, seconds)
    codable(kind, seconds)
    measure(PeekCodec(), kind, seconds)
    measure(ValidatePeekCodec(), kind, seconds)
    if PartCodec.keys(kind) != nil { measure(PartCodec(), kind, seconds) }
}
if sink == 42 { print("") }
