import Foundation
import HoopAWS
import HoopFrames
import HoopIdentity

/// Which sessions may pass, and until when (docs/auth.md). The frame loop asks it about
/// every request; token checks run off the loop, so a slow issuer holds only the session
/// being opened; a clock ends sessions whose token or window runs out.
final class SessionGate: @unchecked Sendable {
    enum State {
        case verifying(queued: [[UInt8]])
        case allowed(until: Double, reason: String)
        case closedWhileVerifying
        case ended
    }

    let verifier: OIDCVerifier
    let awsKey: GatewayKey?
    let out: FrameWriter
    private let lock = NSCondition()
    private var sessions: [String: State] = [:]
    private var inFlight = 0

    init(verifier: OIDCVerifier, awsKey: GatewayKey? = nil, out: FrameWriter) {
        self.verifier = verifier
        self.awsKey = awsKey
        self.out = out
    }

    // MARK: from the frame loop

    /// A session asks to open: check its token off the loop.
    func open(_ raw: RawFrame) throws {
        var frame = try raw.decode()
        guard let id = frame.session else { return }
        let token = frame.fields.removeValue(forKey: "credential")?.string ?? ""
        // A door that does not know the user name (the AWS door's token exchange) sends none.
        let user = frame["user"]?.string
        // The connection the session is for (a PostgreSQL door names it as the database too).
        let database = frame["connection"]?.string ?? frame["database"]?.string ?? ""
        lock.lock(); sessions[id] = .verifying(queued: []); inFlight += 1; lock.unlock()
        let verifier = self.verifier
        let awsKey = self.awsKey
        Task.detached { [self] in
            let decision: Result<(Identity, Double, String), Denial>
            do {
                // A session token is the AWS door's to give, after it checked the call's
                // signature: as another door's password it would be a bearer credential (a
                // presigned URL carries it in clear, for the keys' whole life).
                if token.hasPrefix(GatewayKey.tokenPrefix), !id.hasPrefix(Ring.awsDoor) {
                    throw Denial(reason: "wrong_door", message: "an AWS session token signs AWS calls; it is no password")
                }
                let identity = token.hasPrefix(GatewayKey.tokenPrefix)
                    ? try Self.sessionToken(token, awsKey, connection: database, user: user, verifier.config)
                    : try await verifier.verify(token: token, user: user)
                decision = Self.admit(identity, to: database, verifier.config)
            } catch let d as Denial {
                decision = .failure(d)
            } catch {
                decision = .failure(Denial(reason: "malformed", message: "the token could not be read"))
            }
            self.decided(id, frame, decision)
        }
    }

    /// An AWS door session token: signed by this gateway's key, unexpired, for this
    /// connection and user. The allow rules are applied again by `admit`.
    static func sessionToken(_ token: String, _ key: GatewayKey?, connection: String, user: String?, _ config: AuthConfig) throws -> Identity {
        guard let key, let c = key.verify(token: token) else {
            throw Denial(reason: "signature", message: "the session token is not this gateway's")
        }
        guard c.expires > Date().timeIntervalSince1970 else { throw Denial(reason: "expired", message: "the session token has expired") }
        guard c.connection == connection, user == nil || user == c.user, c.issuer == config.issuer else {
            throw Denial(reason: "user_mismatch", message: "the session token is for another connection or user")
        }
        return Identity(issuer: c.issuer, subject: c.subject, user: c.user, email: nil, groups: c.groups, kind: c.kind,
                        tokenExpiresAt: c.expires)
    }

    /// The policy: the first rule of the connection that allows the identity decides
    /// how long the session may last; the token's expiry ends it sooner.
    static func admit(_ id: Identity, to database: String, _ config: AuthConfig) -> Result<(Identity, Double, String), Denial> {
        if case .some(.none) = config.kinds[database] {
            // Fail closed: a connection of a kind this gateway cannot judge.
            return .failure(Denial(reason: "unknown_kind", message: "the connection \"\(database)\" is of a kind this gateway does not know"))
        }
        guard let rule = config.policies[database]?.first(where: { $0.allows(id) }) else {
            return .failure(Denial(reason: "not_allowed", message: "\(id.user) may not use the connection \"\(database)\""))
        }
        let window = Date().timeIntervalSince1970 + rule.maxSession
        return id.tokenExpiresAt <= window ? .success((id, id.tokenExpiresAt, "token_expired"))
                                           : .success((id, window, "window_closed"))
    }

    /// A request of an open session: stamped and passed, held while the session is being
    /// verified, refused when the session is not (or no longer) allowed.
    func request(_ raw: RawFrame, id: String, pass: () -> Void) {
        lock.lock(); defer { lock.unlock() }
        switch sessions[id] {
        case .allowed(let until, _)? where Date().timeIntervalSince1970 < until:
            pass()
        case .verifying(var queued)?:
            queued.append(Array(raw.bytes))
            sessions[id] = .verifying(queued: queued)
        case .ended?, .closedWhileVerifying?, .allowed?:
            return   // its end was already said; nothing more passes
        case nil:
            sessions[id] = .ended
            out.enqueue(Self.denialFrame(id, seq: raw.header.seq, Denial(reason: "no_session", message: "no open session")))
        }
    }

    /// The client went away: later decisions about the session are moot.
    func close(_ id: String) {
        lock.lock(); defer { lock.unlock() }
        if case .verifying? = sessions[id] { sessions[id] = .closedWhileVerifying } else { sessions.removeValue(forKey: id) }
    }

    // MARK: decisions and the clock

    /// At end of input: every decision still being made is written before the stage exits.
    func waitForDecisions(seconds: Double) {
        let deadline = Date(timeIntervalSinceNow: seconds)
        lock.lock(); defer { lock.unlock() }
        while inFlight > 0 { if !lock.wait(until: deadline) { return } }
    }

    private func decided(_ id: String, _ open: Frame, _ decision: Result<(Identity, Double, String), Denial>) {
        lock.lock()
        inFlight -= 1
        lock.broadcast()
        guard case .verifying(let queued)? = sessions[id] else {
            sessions.removeValue(forKey: id)
            lock.unlock()
            return
        }
        switch decision {
        case .success(let (identity, until, reason)):
            var f = open
            f["identity"] = identity.json(sessionEndsAt: until)
            f["decision"] = .string("allowed")
            f["stamp:auth"] = .bool(true)
            out.enqueue(f)
            for bytes in queued {
                var stamped: [UInt8] = []
                bytes.withUnsafeBytes { appendStamp("auth", to: $0, into: &stamped) }
                out.enqueue(stamped)
            }
            sessions[id] = .allowed(until: until, reason: reason)
            logLine("hoop-auth", "session \(id): allowed (\(identity.kind)) until \(wholeSeconds(until))")
        case .failure(let denial):
            out.enqueue(Self.denialFrame(id, seq: 0, denial))
            sessions[id] = .ended
            logLine("hoop-auth", "session \(id): denied (\(denial.reason))")
        }
        lock.unlock()
        try? out.flush()
    }

    /// Ends sessions whose token or window ran out, mid-session.
    func startClock() {
        let t = Thread { [self] in
            while true {
                Thread.sleep(forTimeInterval: 0.25)
                let now = Date().timeIntervalSince1970
                lock.lock()
                var ended = 0
                for (id, state) in sessions {
                    guard case .allowed(let until, let reason) = state, until <= now else { continue }
                    let message = reason == "token_expired" ? "the session's token has expired" : "the session's allowed time is over"
                    out.enqueue(Self.denialFrame(id, seq: nil, Denial(reason: reason, message: message, code: "57P05")))
                    sessions[id] = .ended
                    ended += 1
                    logLine("hoop-auth", "session \(id): ended (\(reason))")
                }
                lock.unlock()
                if ended > 0 { try? out.flush() }
            }
        }
        t.name = "hoop-auth clock"
        t.start()
    }

    static func denialFrame(_ id: String, seq: Int64?, _ d: Denial) -> Frame {
        .error(session: id, seq: seq, code: d.code, message: "hoop: " + d.message, fatal: true,
               stage: "hoop-auth", decision: "denied", reason: d.reason)
    }
}
