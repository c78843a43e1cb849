import ArgumentParser
import Foundation
import HoopApproval
import HoopCommand
import HoopFrames

/// hoop-approve: judges every request by the connection's policy, holds the risky ones
/// until named approvers grant them, and grants access just in time (docs/approval.md).
/// Run without a subcommand it is the ring stage; the other subcommands are the
/// approvers' tools.
@main
struct HoopApprove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hoop-approve",
        abstract: "Ring stage: guardrails, approvals and just-in-time access; and the approvers' commands.",
        subcommands: [Stage.self, ListCommand.self, ShowCommand.self, GrantCommand.self, DenyCommand.self,
                      GrantsCommand.self, ClassifyCommand.self, CallsCommand.self],
        defaultSubcommand: Stage.self)
}

struct Stage: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run as a ring stage (the default).")

    @OptionGroup var config: ConfigOption

    @Option(help: "Seconds between looks at the store for decisions, timeouts and grant windows.")
    var tick: Double = 0.25

    func run() throws {
        let loop = StageLoop(stage: ApprovalGate.stage)
        let gate: ApprovalGate
        do {
            let cfg = try config.load()
            let store = try ApprovalStore(path: ApprovalStore.path(cfg))
            let notifier = try Notifier(cfg, store: store)
            let catalogs = try CatalogWatches(cfg)
            gate = ApprovalGate(policies: try Policies(cfg), catalogs: catalogs, store: store, out: loop.out, notifier: notifier)
            notifier?.start()
            for watch in catalogs.byConnection.values { watch.start() }
        } catch {
            // Fail closed: without a policy nothing is judged, so nothing passes.
            logLine(ApprovalGate.stage, "\(error): every session is refused")
            try loop.run { frame in
                guard let id = frame.session, frame.type == FrameType.sessionOpen else { return loop.pass(frame) }
                loop.emit(ApprovalGate.sessionError(id, seq: 0, reason: "not_configured", code: "XX000",
                                                    "hoop: the approval policy could not be loaded"))
            }
            return
        }
        let clock = Thread {
            while true {
                Thread.sleep(forTimeInterval: tick)
                gate.tick()
            }
        }
        clock.name = "hoop-approve clock"
        clock.start()
        try loop.run { frame in try gate.handle(frame) }
        gate.tick()
    }
}
