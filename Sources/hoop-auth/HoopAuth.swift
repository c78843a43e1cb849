import ArgumentParser
import Foundation
import HoopCommand
import HoopFrames
import HoopAWS
import HoopIdentity

/// hoop-auth: ties each session to a verified OIDC identity, for as long as the
/// connection's policy allows, and strips every credential (docs/auth.md).
@main
struct HoopAuth: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hoop-auth",
        abstract: "Ring stage: OIDC identity and connection policy; strips credentials.",
        subcommands: [Stage.self], defaultSubcommand: Stage.self)
}

struct Stage: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run as a ring stage (the default).")

    @OptionGroup var config: ConfigOption

    func run() throws {
        let cfg = try config.load()
        let loop = StageLoop(stage: "hoop-auth")
        // The first stage after the doors: what has been round once ends here.
        loop.endsRounds = true
        let gate: SessionGate?
        do {
            // The AWS door's session tokens are the gateway's own statement of an identity
            // it verified before: checked with the gateway key (docs/aws.md).
            let awsKey = try cfg.json["aws_door"]?["key_file"]?.string.map { try GatewayKey(file: cfg.file($0)) }
            let auth = try AuthConfig(cfg)
            if auth.kindClaim == nil {
                logLine("hoop-auth", "auth.agents is not configured: every identity is an agent (it may ask, never approve)")
            }
            gate = SessionGate(verifier: OIDCVerifier(auth), awsKey: awsKey, out: loop.out)
            gate?.startClock()
        } catch {
            // Fail closed: without a usable auth section every session is refused.
            logLine("hoop-auth", "\(error)")
            gate = nil
        }
        try loop.run { frame in
            guard let id = frame.session, FrameType.requests.contains(frame.type) || frame.type == FrameType.sessionClose else {
                return loop.pass(frame)
            }
            switch frame.type {
            case FrameType.sessionOpen:
                guard let gate else {
                    return loop.emit(SessionGate.denialFrame(id, seq: 0, Denial(reason: "not_configured",
                                                                                message: "authentication is not configured")))
                }
                try gate.open(frame)
            case FrameType.sessionClose:
                gate?.close(id)
                loop.pass(frame)
            default:
                guard let gate else {
                    return loop.emit(SessionGate.denialFrame(id, seq: frame.header.seq, Denial(reason: "no_session", message: "no open session")))
                }
                gate.request(frame, id: id) { loop.stamp(frame, as: "auth") }
            }
        }
        // End of input: the decisions still being made are written before we exit.
        gate?.waitForDecisions(seconds: 10)
        try loop.out.flush()
    }
}
