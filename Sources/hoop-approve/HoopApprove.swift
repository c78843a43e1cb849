import ArgumentParser
import HoopFrames

/// hoop-approve: decides whether each request may run. Today it stamps every
/// request; classification, guardrails and holds are issue 5.
@main
struct HoopApprove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hoop-approve",
        abstract: "Ring stage: request approval (pass-through in this version).")

    @Option(help: "The gateway configuration (JSON). Unused by this stage until its issue lands.")
    var config: String?

    func run() throws {
        let loop = StageLoop(stage: "hoop-approve")
        try loop.run { frame in
            if requestTypes.contains(frame.type) { loop.stamp(frame, as: "approve") } else { loop.pass(frame) }
        }
    }
}
