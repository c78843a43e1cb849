import ArgumentParser
import HoopFrames

/// hoop-mask: redacts PHI in everything flowing back. Today it stamps every
/// response; the detectors and policies are issue 4.
@main
struct HoopMask: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hoop-mask",
        abstract: "Ring stage: PHI masking (pass-through in this version).")

    @Option(help: "The gateway configuration (JSON). Unused by this stage until its issue lands.")
    var config: String?

    func run() throws {
        let loop = StageLoop(stage: "hoop-mask")
        try loop.run { frame in
            if responseTypes.contains(frame.type) { loop.stamp(frame, as: "mask") } else { loop.pass(frame) }
        }
    }
}
