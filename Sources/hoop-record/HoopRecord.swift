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
        // The loop's own error frames (lines it could not read) are recorded and stamped too.
        loop.ownFrame = { frame in
            let bytes = frame.encoded().dropLast()
            try bytes.withUnsafeBytes { raw in
                let header = FrameHeader(type: frame.type, session: frame.session, seq: frame.seq)
                let f = RawFrame(bytes: raw, header: header)
                try audit.append(f)
                loop.stamp(f, as: "record")
            }
        }
        try loop.run(beforeFlush: { try audit.commit() }) { frame in
            // A backstop: no credential is ever stored, even from a ring without hoop-auth.
            if frame.type == "session_open", var open = try? frame.decode(), open.fields.removeValue(forKey: "credential") != nil {
                let bytes = open.encoded().dropLast()
                return try bytes.withUnsafeBytes { raw in
                    let f = RawFrame(bytes: raw, header: frame.header)
                    try audit.append(f)
                    loop.pass(f)
                }
            }
            try audit.append(frame)
            if responseTypes.contains(frame.type) { loop.stamp(frame, as: "record") } else { loop.pass(frame) }
        }
    }
}
