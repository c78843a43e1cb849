import ArgumentParser
import HoopCommand
import HoopFrames
import HoopMasking

/// hoop-mask: redacts PHI in everything that flows back to a client (docs/masking.md):
/// rows by column rules and content detection, error and notice texts, COPY data.
/// A response it cannot read or decide on is never passed on: its session gets an error.
/// Run without a subcommand it is the ring stage; `detect` shows what content detection
/// finds in texts (scripts/mask-eval scores it).
@main
struct HoopMask: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hoop-mask",
        abstract: "Ring stage: PHI masking of every response; and content detection on texts.",
        subcommands: [Stage.self, DetectCommand.self], defaultSubcommand: Stage.self)
}

struct Stage: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run as a ring stage (the default).")

    @OptionGroup var config: ConfigOption

    func run() throws {
        let cfg = try config.load()
        let policies = try MaskConfig.policies(cfg)
        let masking = ResponseMasking(
            maskers: policies.mapValues { Masker(policy: $0) },
            fallback: Masker(policy: MaskPolicy()))
        Detectors.prepare()
        let loop = StageLoop(stage: "hoop-mask")
        var refused: Set<String> = []
        try loop.run { frame in
            if frame.type == FrameType.sessionOpen, let id = frame.session {
                // Forwarded by hoop-connect ahead of the session's responses: it names the connection.
                masking.opened(session: id, database: (try? frame.decode()).flatMap { $0["connection"]?.string ?? $0["database"]?.string } ?? "")
                return loop.pass(frame)
            }
            if ResponseMasking.tracked.contains(frame.type) {
                // A request on its way to the audit trail: its SQL says what its results carry.
                if let decoded = try? frame.decode(only: ResponseMasking.trackedFields) { masking.track(decoded) }
                else if let id = frame.session { masking.lost(session: id) }
                return loop.pass(frame)
            }
            guard FrameType.responses.contains(frame.type) else { return loop.pass(frame) }
            if let id = frame.session, refused.contains(id) {
                // The session was ended for a response it could not mask: nothing more of it passes.
                if frame.type == FrameType.sessionClosed { refused.remove(id); loop.stamp(frame, as: "mask") }
                return
            }
            // A Parse or Bind that gave a taken name again succeeded: read from the header.
            if frame.type == FrameType.parseComplete || frame.type == FrameType.bindComplete,
               let id = frame.session, let seq = frame.header.seq {
                masking.succeeded(session: id, seq: seq)
            }
            if frame.type == FrameType.complete, let id = frame.session { masking.completed(session: id, frame) }
            // Types with nothing to mask (ready, complete, parse_complete...) are not decoded.
            guard ResponseMasking.inspected.contains(frame.type) else { return loop.stamp(frame, as: "mask") }
            // Most rows hold nothing to mask: read from the bytes, they pass as they came.
            if frame.type == FrameType.rows {
                if masking.rowsAreClean(frame) { return loop.stamp(frame, as: "mask") }
                do {
                    guard let (summary, line) = try masking.maskRows(frame) else { return loop.stamp(frame, as: "mask") }
                    loop.emit(summary)
                    loop.out.enqueue(line)
                } catch {
                    refuse(frame, loop, (error as? MaskFailure)?.why ?? "a value it could not mask")
                    if let id = frame.session { refused.insert(id) }
                }
                return
            }
            let decoded: Frame
            do { decoded = try frame.decode() } catch {
                refuse(frame, loop, "an unreadable response")
                if let id = frame.session { refused.insert(id) }
                return
            }
            do {
                switch try masking.handle(decoded) {
                case .pass: loop.stamp(frame, as: "mask")
                case .replace(let frames):
                    for var f in frames {
                        if f.type != FrameType.masked { f["stamp:mask"] = .bool(true) }
                        loop.emit(f)
                    }
                }
            } catch let r as CallRefusal {
                // Policy, not a fault: this call is refused, the session goes on.
                refuseCall(frame, loop, r.why)
            } catch let e as MaskFailure {
                refuse(frame, loop, e.why)
                if let id = frame.session { refused.insert(id) }
            } catch {
                refuse(frame, loop, "a value it could not mask")
                if let id = frame.session { refused.insert(id) }
            }
        }
    }

    /// Fail closed: the frame's session ends with an error that carries none of it.
    func refuse(_ frame: RawFrame, _ loop: StageLoop, _ why: String) {
        logLine("hoop-mask", "session \(frame.session ?? "-"): \(why); the response was not passed")
        var error = Frame.stageError(stage: "hoop-mask", session: frame.session, seq: frame.header.seq, code: "XX000",
                                     message: "hoop: a response could not be masked (\(why))")
        error["stamp:mask"] = .bool(true)
        loop.emit(error)
    }

    /// One AWS call's answer refused (it cannot be masked): an error the door answers
    /// with AccessDenied (403, which no SDK retries), carrying none of the answer.
    func refuseCall(_ frame: RawFrame, _ loop: StageLoop, _ why: String) {
        logLine("hoop-mask", "session \(frame.session ?? "-"): call \(frame.header.seq ?? -1) refused: \(why)")
        var error = Frame.error(session: frame.session ?? "", seq: frame.header.seq, fields: [
            "stage": .string("hoop-mask"), "code": .string("42501"), "severity": .string("ERROR"),
            "reason": .string("unmaskable"), "message": .string("hoop: the answer was not delivered: \(why)"),
        ])
        error["stamp:mask"] = .bool(true)
        loop.emit(error)
    }
}

/// Content detection on texts, one per line: what the ring's detectors find, without a
/// ring. Input: each line a JSON string (so a text may hold any byte). Output: per line
/// a JSON array of [entity, start, end], UTF-8 byte offsets, overlaps resolved.
struct DetectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "detect",
        abstract: "Print the PHI spans content detection finds in each line of stdin (a JSON string).")

    @OptionGroup var config: ConfigOption
    @Option(help: "The connection whose masking policy applies (default: every detector).")
    var connection: String?

    func run() throws {
        var policy = MaskPolicy()
        if let connection {
            guard let p = try MaskConfig.policies(try config.load())[connection] else {
                throw ValidationError("no connection named \(connection)")
            }
            policy = p
        }
        let masker = Masker(policy: policy)
        while let line = readLine(strippingNewline: true) {
            guard let text = (try? JSON.parse(line))?.string else {
                throw ValidationError("each input line must be a JSON string")
            }
            let spans = masker.detect(text).map { JSON.array([.string($0.entity.rawValue), .int(Int64($0.start)), .int(Int64($0.end))]) }
            print(JSON.array(spans).encodedString)
        }
    }
}
