import ArgumentParser

/// hoop-audit: the auditors' tools, a program of its own beside the ring (as Postfix's
/// postqueue and postcat are): read the audit store that hoop-record writes, through
/// the HoopAudit library (docs/audit.md).
@main
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hoop-audit",
        abstract: "The auditors' tools: sessions, show, replay, export, verify, prune, key (docs/audit.md).",
        subcommands: [SessionsCommand.self, ShowCommand.self, ReplayCommand.self, ExportCommand.self,
                      VerifyCommand.self, PruneCommand.self, KeyCommand.self])
}
