import ArgumentParser
import Foundation
import HoopFrames

/// hoop-record: appends every frame to the audit store, durably, before passing it
/// on; stamps responses so hoop-listen knows they were recorded.
@main
struct HoopRecord: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hoop-record",
        abstract: "Ring stage: the audit trail.")

    @Option(help: "The SQLite audit store (default: $HOOP_VAR/audit.sqlite or var/audit.sqlite).")
    var store: String?

    func run() throws {
        let path = store ?? ((ProcessInfo.processInfo.environment["HOOP_VAR"] ?? "var") + "/audit.sqlite")
        let audit = try AuditStore(path: path)
        let loop = StageLoop(stage: "hoop-record")
        // The commit runs before each flush, so nothing leaves unrecorded (invariant 2).
        try loop.run(beforeFlush: { try audit.commit() }) { frame in
            try audit.append(frame)
            if responseTypes.contains(frame.type) { loop.stamp(frame, as: "record") } else { loop.pass(frame) }
        }
    }
}
