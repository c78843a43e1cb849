import Foundation
import HoopAWS
import HoopFrames
import NIOCore

/// hoop-listen-aws's two ends of the ring (docs/frames.md, "Doors, upstreams and kinds").
/// Out: frames of its own sessions, written whole by any event loop. In: one thread
/// reads the ring; frames of sessions with this door's prefix end here (responses
/// complete the waiting call, requests coming round end), every other line is passed
/// on byte for byte.
///
/// One ring session per temporary access key: opened at its first call with the session
/// token as the credential (hoop-auth checks it), reused by the calls that follow; a
/// fatal error ends it and the next call opens another.
final class RingSessions: @unchecked Sendable {
    static let stage = "hoop-listen-aws"
    let writer = FrameWriter(fd: 1, stage: RingSessions.stage)
    let require: [String]
    private let lock = NSLock()
    private var counter = 0
    private let prefix: String
    /// Access key id → its session id.
    private var byKey: [String: String] = [:]
    private var opening: [String: [EventLoopPromise<String>]] = [:]
    private var pending: [String: [Int64: EventLoopPromise<Frame>]] = [:]
    private var nextSeq: [String: Int64] = [:]
    /// The identity hoop-auth put on a session's `session_open` (read as it comes round).
    private var identities: [String: JSON] = [:]
    /// Streamed answers under way (after a `result` with `"chunked": true`), by session and seq.
    private var streams: [String: [Int64: AnswerStream]] = [:]
    /// Streamed uploads under way: the upstream's credits for their pieces.
    private var callCredits: [String: (Int) -> Void] = [:]
    /// The page tokens each session's answers delivered (PageTokens): only those are pages.
    private var pageTokens: [String: IssuedTokens] = [:]

    func rememberPageTokens(_ session: String, _ keys: [String]) {
        guard !keys.isEmpty else { return }
        lock.withLock { for k in keys { pageTokens[session, default: IssuedTokens()].insert(k) } }
    }

    func wasIssued(_ session: String, _ key: String) -> Bool {
        lock.withLock { pageTokens[session]?.contains(key) == true }
    }

    func onCallCredit(session: String, seq: Int64, _ body: @escaping (Int) -> Void) {
        lock.withLock { callCredits[session + "\n" + String(seq)] = body }
    }

    func dropCallCredit(session: String, seq: Int64) {
        lock.withLock { _ = callCredits.removeValue(forKey: session + "\n" + String(seq)) }
    }

    init(require: [String]) {
        self.require = require
        prefix = Ring.awsDoor + "s" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
    }

    func newSessionId() -> String {
        lock.lock(); defer { lock.unlock() }
        counter += 1
        return "\(prefix)-\(counter)"
    }

    func send(_ frame: Frame) {
        writer.enqueue(frame)
        do { try writer.flush() } catch { ringDown("the ring's output is closed") }
    }

    // MARK: sessions and calls

    /// Opens a session and completes with its `session_opened` frame (with the identity
    /// hoop-auth attached as `identity`), or fails with the denial.
    func open(_ id: String, _ open: Frame, on loop: EventLoop) -> EventLoopFuture<Frame> {
        let p = loop.makePromise(of: Frame.self)
        lock.lock(); pending[id, default: [:]][0] = p; nextSeq[id] = 1; lock.unlock()
        send(open)
        return p.futureResult
    }

    /// The session for an access key: the open one, or a new one opened with `makeOpen`.
    func session(forKey key: String, on loop: EventLoop, makeOpen: @escaping (String) -> Frame) -> EventLoopFuture<String> {
        lock.lock()
        if let id = byKey[key] {
            if var waiters = opening[id] {
                let p = loop.makePromise(of: String.self)
                waiters.append(p); opening[id] = waiters
                lock.unlock()
                return p.futureResult
            }
            lock.unlock()
            return loop.makeSucceededFuture(id)
        }
        counter += 1
        let id = "\(prefix)-\(counter)"
        byKey[key] = id
        opening[id] = []
        lock.unlock()
        return open(id, makeOpen(id), on: loop).map { _ in id }.flatMapErrorThrowing { error in
            self.forget(id)
            throw error
        }.always { result in
            self.lock.lock()
            let waiters = self.opening.removeValue(forKey: id) ?? []
            self.lock.unlock()
            for w in waiters {
                switch result {
                case .success(let id): w.succeed(id)
                case .failure(let e): w.fail(e)
                }
            }
        }
    }

    /// Sends a request frame of an open session and completes with its answer.
    func call(_ id: String, _ make: (Int64) -> Frame, on loop: EventLoop) -> EventLoopFuture<Frame> {
        let p = loop.makePromise(of: Frame.self)
        lock.lock()
        let seq = nextSeq[id] ?? 1
        nextSeq[id] = seq + 1
        pending[id, default: [:]][seq] = p
        lock.unlock()
        send(make(seq))
        return p.futureResult
    }

    /// A refusal the door made itself on a caller it had verified: round the ring, so the
    /// audit trail holds the attempt (an AssumeRole of another role, a relabelled answer).
    func refused(_ id: String, code: String, message: String, method: String, path: String) {
        lock.lock()
        let seq = nextSeq[id] ?? 1
        nextSeq[id] = seq + 1
        lock.unlock()
        send(Frame(FrameType.refused, session: id, seq: seq, [
            "stage": .string(Self.stage), "code": .string(code), "message": .string(message),
            "method": .string(method), "path": .string(path)]))
    }

    func close(_ id: String) {
        send(Frame(FrameType.sessionClose, session: id, seq: nil, ["reason": .string("done")]))
        forget(id)
    }

    func identity(of id: String) -> JSON? {
        lock.lock(); defer { lock.unlock() }
        return identities[id]
    }

    private func forget(_ id: String) {
        lock.lock()
        if let key = byKey.first(where: { $0.value == id })?.key { byKey.removeValue(forKey: key) }
        let waiting = pending.removeValue(forKey: id) ?? [:]
        nextSeq.removeValue(forKey: id)
        identities.removeValue(forKey: id)
        pageTokens.removeValue(forKey: id)
        lock.unlock()
        for p in waiting.values { p.fail(AWSError("InternalFailure", 500, "hoop: the session ended")) }
    }

    // MARK: in

    func startReading() {
        let t = Thread { [self] in readLoop() }
        t.name = "hoop-listen-aws ring in"
        t.start()
    }

    private func readLoop() {
        let reader = LineReader(fd: 0)
        var more = true
        while more {
            more = reader.readBatch { item in
                switch item {
                case .line(let bytes):
                    route(bytes)
                case .oversize(let head, let length):
                    let (session, seq) = FrameHeader.salvage(head)
                    if let session, session.hasPrefix(Ring.awsDoor) {
                        fail(session, seq: seq, AWSError("InternalFailure", 500, "hoop: a response was too large for the ring"), fatal: true)
                    } else {
                        writer.enqueue(Frame.stageError(stage: Self.stage, session: session, seq: seq, code: "54000",
                                                        message: "frame too large", droppedBytes: length))
                    }
                }
            }
            do { try writer.flush() } catch { ringDown("the ring's output is closed"); return }
        }
        ringDown("end of input")
    }

    private func route(_ bytes: UnsafeRawBufferPointer) {
        let header = FrameHeader.peek(bytes)
        let session = header?.session ?? FrameHeader.salvage(bytes).session
        // Every session of the door's prefix is this door's, an earlier run's too: its frames end here.
        guard let session, session.hasPrefix(Ring.awsDoor) else {
            // Another door's session, a ring-level frame, a line we cannot read that names
            // no session of ours: the next stage's, byte for byte.
            // One enqueue: an event loop's frame must never land between a line and its newline.
            var line = [UInt8](bytes)
            line.append(0x0A)
            writer.enqueue(line)
            return
        }
        guard let frame = try? Frame.decode(bytes) else {
            return fail(session, seq: header?.seq, AWSError("InternalFailure", 500, "hoop: a broken frame for this call"), fatal: true)
        }
        if FrameType.requests.contains(frame.type) || frame.type == FrameType.credit || frame.type == FrameType.sessionClose {
            // Our own request come round: its round ends here. The session_open tells
            // who hoop-auth found.
            if frame.type == FrameType.sessionOpen, let identity = frame["identity"] {
                lock.lock(); identities[session] = identity; lock.unlock()
            }
            return
        }
        if frame.type == FrameType.callCredit {
            // Control, not content: the upstream took pieces of an upload.
            let body = lock.withLock { callCredits[session + "\n" + String(frame.seq ?? -1)] }
            body?(Int(frame["chunks"]?.int ?? 1))
            return
        }
        // The audit's own frames (hold, masked, decision, …) are for the record, not the client.
        guard [FrameType.sessionOpened, FrameType.result, FrameType.resultData, FrameType.resultEnd, FrameType.error,
               FrameType.sessionClosed].contains(frame.type) else { return }
        // Invariant 1: nothing reaches a client without every required stamp.
        if let missing = require.first(where: { !frame.stamped(by: $0) }) {
            logLine(Self.stage, "session \(session): a \(Ring.loggable(frame.type)) frame without stamp:\(missing) was not delivered")
            return fail(session, seq: frame.seq, AWSError("InternalFailure", 500, "hoop: a response did not pass the required stages"), fatal: true)
        }
        switch frame.type {
        case FrameType.sessionOpened:
            var f = frame
            lock.lock(); f["identity"] = identities[session]; lock.unlock()
            complete(session, seq: 0, .success(f))
        case FrameType.result:
            if frame["chunked"]?.bool == true, let seq = frame.seq {
                let stream = AnswerStream(session: session, seq: seq, ring: self)
                lock.lock(); streams[session, default: [:]][seq] = stream; lock.unlock()
                var f = frame
                f.fields.removeValue(forKey: "chunked")
                return complete(session, seq: seq, .success(f), stream: stream)
            }
            complete(session, seq: frame.seq ?? -1, .success(frame))
        case FrameType.resultData, FrameType.resultEnd:
            lock.lock(); let stream = frame.seq.flatMap { streams[session]?[$0] }; lock.unlock()
            stream?.deliver(frame)
            if frame.type == FrameType.resultEnd, let seq = frame.seq {
                lock.lock(); streams[session]?.removeValue(forKey: seq); lock.unlock()
            }
        case FrameType.error:
            if frame["reason"]?.string == "unmaskable", frame["fatal"]?.bool != true, let seq = frame.seq {
                // A refused answer may be a stream under way: its upstream stops sending it.
                send(Frame(FrameType.credit, session: session, seq: seq, ["chunks": .int(0), "cancel": .bool(true)]))
            }
            fail(session, seq: frame.seq, Self.awsError(frame), fatal: frame["fatal"]?.bool == true)
        case FrameType.sessionClosed:
            forget(session)
            lock.lock(); identities.removeValue(forKey: session); lock.unlock()
        default:
            break
        }
    }

    /// Streams handed out with their head, until the door takes them (`stream(for:)`).
    private var heads: [String: AnswerStream] = [:]

    private func complete(_ session: String, seq: Int64, _ r: Result<Frame, Error>, stream: AnswerStream? = nil) {
        lock.lock()
        let p = pending[session]?.removeValue(forKey: seq)
        if let stream { heads[session + "\n" + String(seq)] = stream }
        lock.unlock()
        switch r {
        case .success(let f): p?.succeed(f)
        case .failure(let e): p?.fail(e)
        }
    }

    /// The stream that follows a head `result` of `session`'s call `seq`, once.
    func stream(session: String, seq: Int64) -> AnswerStream? {
        lock.lock(); defer { lock.unlock() }
        return heads.removeValue(forKey: session + "\n" + String(seq))
    }

    /// Tells the upstream that `n` pieces were written to the client.
    func credit(session: String, seq: Int64, _ n: Int) {
        send(Frame(FrameType.credit, session: session, seq: seq, ["chunks": .int(Int64(n))]))
    }

    private func fail(_ session: String, seq: Int64?, _ error: AWSError, fatal: Bool) {
        if let seq {
            lock.lock(); let stream = streams[session]?.removeValue(forKey: seq); lock.unlock()
            stream?.deliver(nil)
            complete(session, seq: seq, .failure(error))
        }
        if fatal || seq == nil {
            lock.lock()
            let waiting = pending[session] ?? [:]
            pending[session] = [:]
            let open = streams.removeValue(forKey: session) ?? [:]
            lock.unlock()
            for p in waiting.values { p.fail(error) }
            for s in open.values { s.deliver(nil) }
            forget(session)
        }
    }

    /// A ring error frame in AWS's words: denials and holds are the service's AccessDenied.
    static func awsError(_ f: Frame) -> AWSError {
        let message = f["message"]?.string ?? "hoop: the call failed"
        switch f["reason"]?.string {
        case "token_expired"?, "expired"?: return AWSError.expiredToken()
        case "signature"?, "malformed"?, "issuer"?, "audience"?: return AWSError.invalidToken(message)
        // An answer the gateway cannot read for PHI (hoop-mask, hoop-connect-aws): refused, not failed.
        case "unmaskable"?: return AWSError("AccessDenied", 403, message)
        default: break
        }
        // hoop-mask's refusals too (an answer it cannot mask): a 4xx, which no SDK retries.
        if f["decision"]?.string == "denied" || f["stage"]?.string == "hoop-approve" || f["stage"]?.string == "hoop-mask"
            || f["code"]?.string == "42501" {
            return AWSError("AccessDenied", 403, message)
        }
        return AWSError("InternalFailure", 500, message)
    }

    var onRingDown: ((String) -> Void)?

    private func ringDown(_ why: String) {
        logLine(Self.stage, "ring down (\(why)): stopping")
        onRingDown?(why)
    }
}

/// The pieces of one streamed answer, from the ring's reader to the client's event loop.
/// Pieces that come before the door is ready wait here (the upstream's credit window
/// bounds them); nil is the end of a failed stream.
final class AnswerStream: @unchecked Sendable {
    let session: String, seq: Int64
    weak var ring: RingSessions?
    private let lock = NSLock()
    private var early: [Frame?] = []
    private var sink: ((Frame?) -> Void)?

    init(session: String, seq: Int64, ring: RingSessions) { self.session = session; self.seq = seq; self.ring = ring }

    func deliver(_ frame: Frame?) {
        lock.lock()
        guard let sink else { early.append(frame); lock.unlock(); return }
        lock.unlock()
        sink(frame)
    }

    /// `body` gets each piece (`result_data`), the end (`result_end`), or nil (failed), in
    /// order: what came early is replayed first, and the sink is set only once none is left.
    func start(_ body: @escaping (Frame?) -> Void) {
        while true {
            lock.lock()
            if early.isEmpty { sink = body; lock.unlock(); return }
            let before = early
            early = []
            lock.unlock()
            for f in before { body(f) }
        }
    }
}
