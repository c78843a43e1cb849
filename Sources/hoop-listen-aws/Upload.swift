import Foundation
import HoopAWS
import HoopFrames
import NIOCore

/// A request body too large to travel in its `call` frame (docs/aws.md, "Large uploads"):
/// an S3 PutObject or UploadPart whose body the client did not sign (UNSIGNED-PAYLOAD or
/// STREAMING-UNSIGNED-PAYLOAD-TRAILER). The call goes first, with `body_streamed`; the
/// body follows as `call_data` pieces, at most `window` ahead of hoop-connect-aws's
/// credits, so the door stops reading its client rather than holding the object. The
/// trailer's checksum is checked over the decoded bytes before the last piece says `end`;
/// a mismatch says `abort`, and the upstream request fails rather than store it.
final class Upload: @unchecked Sendable {
    static let pieceBytes = 256 << 10
    static let window = 8

    let door: AWSDoor
    let request: SigV4.Request
    let verified: SigV4Verifier.Verified
    let identified: Operations.Identified
    let params: [String: JSON]
    let length: Int
    var decoder: AWSChunkedDecoder?
    var checksum: UploadChecksum.Running?

    private let lock = NSLock()
    private var session: String?
    private var seq: Int64 = 0
    private var pending: [UInt8] = []
    private var early: [UInt8] = []
    private var outstanding = 0
    private var sent = 0
    private var failed = false
    /// Called with true when the client may be read again, false when it must wait.
    var reading: ((Bool) -> Void)?

    init(door: AWSDoor, request: SigV4.Request, verified: SigV4Verifier.Verified, identified: Operations.Identified,
         params: [String: JSON], length: Int, chunked: Bool, trailer: String?) {
        self.door = door; self.request = request; self.verified = verified; self.identified = identified; self.params = params
        self.length = length
        decoder = chunked ? AWSChunkedDecoder() : nil
        checksum = trailer.map { UploadChecksum.Running(name: $0) }
    }

    /// Opens the key's session and sends the call; the future is the call's answer.
    func start(_ client: JSON, on loop: EventLoop) -> EventLoopFuture<Frame> {
        let claims = verified.claims
        let ring = door.ring
        return ring.session(forKey: claims.accessKeyId, on: loop) { id in
            Frame(FrameType.sessionOpen, session: id, seq: 0, [
                "connection": .string(claims.connection), "user": .string(claims.user),
                "credential": .string(self.verified.token), "client": client,
            ])
        }.flatMap { id in
            let answer = ring.call(id, { seq in
                var f = self.door.callFrame(id, seq, self.request, self.verified, self.identified, self.params, client: client)
                f["body_streamed"] = .bool(true)
                f["decoded_length"] = .int(Int64(self.length))
                self.lock.withLock { self.session = id; self.seq = seq }
                ring.onCallCredit(session: id, seq: seq) { [weak self] n in self?.credited(n) }
                return f
            }, on: loop)
            // The call is on the ring: the pieces read so far follow it, and the client is read again.
            self.callSent()
            self.reading?(true)
            return answer.always { _ in ring.dropCallCredit(session: id, seq: self.lock.withLock { self.seq }) }
        }
    }

    /// Bytes of the body as they arrive from the client.
    func feed(_ bytes: [UInt8]) {
        do {
            let decoded = try decoder.map { d -> [UInt8] in var d = d; let out = try d.push(bytes); decoder = d; return out } ?? bytes
            checksum?.update(decoded)
            let over = lock.withLock { () -> Bool in
                pending.append(contentsOf: decoded)
                return sent + pending.count > length
            }
            // More than the declared length: never forwarded, whatever the trailer says.
            if over { return fail() }
            try flushPieces(final: false)
        } catch {
            fail()
        }
    }

    /// The client's body ended. The last piece is sent only once the length and the
    /// trailer's checksum are right: until then the upstream has not got the whole body,
    /// so an abort leaves nothing stored.
    func end() {
        do {
            try decoder?.finish()
            let total = lock.withLock { sent + pending.count }
            var ok = total == length
            if let c = checksum {
                let stated = decoder?.trailers.first { $0.0 == c.name }?.1 ?? request.header(c.name)
                ok = ok && stated == c.base64()
            }
            guard ok else { return fail() }
            try flushPieces(final: true)
            send(["end": .bool(true)])
        } catch {
            fail()
        }
    }

    /// The client went away, or its body could not be read: the upload ends, failed.
    func fail() {
        guard lock.withLock({ () -> Bool in defer { failed = true }; return !failed }) else { return }
        send(["abort": .bool(true)])   // before the call is sent: callSent says it
    }

    private func flushPieces(final: Bool) throws {
        while true {
            lock.lock()
            // Short of the end, the declared length's last byte is always kept back (see `end`).
            guard session != nil, !failed,
                  (pending.count >= Self.pieceBytes && sent + Self.pieceBytes < length) || (final && !pending.isEmpty) else { lock.unlock(); return }
            let n = min(Self.pieceBytes, pending.count)
            let piece = Array(pending[..<n])
            pending.removeFirst(n)
            sent += n
            outstanding += 1
            let pause = outstanding >= Self.window
            lock.unlock()
            send(["body_base64": .string(Data(piece).base64EncodedString())])
            if pause { reading?(false) }
        }
    }

    private func credited(_ n: Int) {
        let resume = lock.withLock { () -> Bool in
            outstanding = max(0, outstanding - n)
            return outstanding < Self.window
        }
        if resume { reading?(true) }
    }

    /// Once the call is sent, pieces read before it go too, or the abort of a client that
    /// went away before.
    func callSent() {
        if lock.withLock({ failed }) { return send(["abort": .bool(true)]) }
        try? flushPieces(final: false)
    }

    private func send(_ fields: [String: JSON]) {
        guard let (session, seq) = lock.withLock({ self.session.map { ($0, self.seq) } }) else { return }
        door.ring.send(Frame(FrameType.callData, session: session, seq: seq, fields))
    }
}
