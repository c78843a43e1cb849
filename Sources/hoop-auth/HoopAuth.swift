import ArgumentParser
import HoopFrames

/// hoop-auth: ties each session to an identity and strips every credential.
/// Today it strips the client's credential and stamps request frames; verifying the
/// OIDC token behind it is issue 3, so `identity.method` says `unverified`.
@main
struct HoopAuth: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hoop-auth",
        abstract: "Ring stage: session identity; strips credentials.")

    @Option(help: "The gateway configuration (JSON). Unused by this stage until its issue lands.")
    var config: String?

    func run() throws {
        let loop = StageLoop(stage: "hoop-auth")
        try loop.run { frame in
            guard requestTypes.contains(frame.type) else { return loop.pass(frame) }
            if frame.type == "session_open" {
                var open = try frame.decode()
                // No credential travels past this stage (DESIGN invariant 3).
                open.fields.removeValue(forKey: "credential")
                open["identity"] = .object(["user": open["user"] ?? .null, "method": .string("unverified")])
                open["stamp:auth"] = .bool(true)
                return loop.emit(open)
            }
            loop.stamp(frame, as: "auth")
        }
    }
}
