import ArgumentParser
import Foundation
import HoopAWS
import HoopApproval
import HoopCommand
import HoopFrames
import HoopIdentity
import HoopSQL

/// What every approver command needs: the configuration, the store, and the approver's
/// own OIDC token, verified like a client's (the issuer, audience and keys of the
/// configuration's `auth` section).
struct ApproverOptions: ParsableArguments {
    @OptionGroup var config: ConfigOption

    @Option(help: "Your OIDC token (default: $HOOP_TOKEN, or --token-file).")
    var token: String?

    @Option(help: "A file holding your OIDC token.")
    var tokenFile: String?

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func load() throws -> (GatewayConfig, ApprovalStore, Policies) {
        let cfg = try config.load()
        return (cfg, try ApprovalStore(path: ApprovalStore.path(cfg)), try Policies(cfg))
    }

    /// The approver, from their token; exits with a clear error when it does not verify.
    func approver(_ cfg: GatewayConfig) throws -> Requester {
        var raw = token ?? ProcessInfo.processInfo.environment["HOOP_TOKEN"]
        if let f = tokenFile {
            guard let d = FileManager.default.contents(atPath: f) else { throw Refused("cannot read \(f)") }
            raw = String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let t = raw, !t.isEmpty else {
            throw Refused("approvers prove who they are: give your OIDC token with --token, --token-file or $HOOP_TOKEN")
        }
        let verifier = OIDCVerifier(try AuthConfig(cfg))
        let result = Blocking<Identity>()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do { result.value = .success(try await verifier.verify(token: t, user: nil)) } catch { result.value = .failure(error) }
            done.signal()
        }
        done.wait()
        switch result.value! {
        case .success(let id):
            return Requester(issuer: id.issuer, subject: id.subject, user: id.user, groups: id.groups, kind: id.kind)
        case .failure(let e as Denial):
            throw Refused("your token was refused: \(e.message)")
        case .failure:
            throw Refused("your token could not be verified")
        }
    }
}

final class Blocking<T>: @unchecked Sendable { var value: Result<T, Error>? }

/// A refusal the approver reads in one line (exit status 1), without the usage text.
struct Refused: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Pending requests you may decide.")
    @OptionGroup var options: ApproverOptions
    @Flag(help: "Every request, decided ones too (the latest 200).") var all = false

    func run() throws {
        let (cfg, store, policies) = try options.load()
        let me = try options.approver(cfg)
        let requests = try store.requests(state: all ? nil : .pending).filter { r in
            r.requester.isSame(as: me) || policies.byConnection[r.connection]?.mayApprove(me, sets: r.sets) == true
        }
        if options.json { return print(JSON.array(requests.map { $0.summaryJSON }).encodedString) }
        if requests.isEmpty { return print(all ? "no requests" : "no pending requests") }
        let now = Date().timeIntervalSince1970
        for r in requests {
            let left = r.state == .pending ? "expires in \(Int(r.expiresAt - now)) s" : r.state.rawValue
            print("\(r.id)  \(r.kind.rawValue)  \(r.connection)  \(r.requester.user) (\(r.requester.kind))  \(left)")
            print("    \(r.reasons.joined(separator: "; "))")
            if let n = r.normalized { print("    \(n.prefix(160))") }
        }
    }
}

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show",
        abstract: "One request in full: the statement, its classification, who asked and why, the decisions.")
    @OptionGroup var options: ApproverOptions
    @Argument(help: "The request id (r-…).") var id: String

    func run() throws {
        let (cfg, store, policies) = try options.load()
        let me = try options.approver(cfg)
        guard let r = try store.request(id) else { throw Refused("no request \(id)") }
        guard r.requester.isSame(as: me) || policies.byConnection[r.connection]?.mayApprove(me, sets: r.sets) == true else {
            throw Refused("\(me.user) may not see requests on \(r.connection)")
        }
        let decisions = try store.decisions(id)
        if options.json {
            var o = r.json.object ?? [:]
            o["decisions"] = .array(decisions.map(\.json))
            return print(JSON.object(o).encodedString)
        }
        let date = { (t: Double) in ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: t)) }
        print("request      \(r.id) (\(r.kind.rawValue)), \(r.state.rawValue)")
        print("connection   \(r.connection)")
        print("asked by     \(r.requester.user) (\(r.requester.kind); groups \(r.requester.groups.joined(separator: ", ")))")
        print("asked at     \(date(r.createdAt)); expires \(date(r.expiresAt))")
        print("why held     \(r.reasons.joined(separator: "; "))")
        // What a bare name in the statement means: the session's search_path (ApprovalGate).
        if let session = r.classification["session"] {
            let paths = (session["search_path"]?.array ?? []).compactMap(\.string)
            print("search_path  " + (session["search_path_known"]?.bool == false || paths.isEmpty ? "not known (set from a value the gateway could not read)"
                                     : paths.count == 1 ? paths[0]
                                     : "\(paths[0]) as set last; a SET that failed or was rolled back leaves one of: \(paths.dropFirst().joined(separator: " | "))"))
        }
        print("justification \(r.justification ?? "(none given)")")
        if let d = r.durationSeconds { print("duration     \(d) s asked") }
        print("approvals    \(decisions.filter { $0.decision == .grant }.count) of \(r.approvalsRequired)"
              + (r.approverSets.isEmpty ? "" : " (one approver from each of: \(r.approverSets.map { $0.joined(separator: " or ") }.joined(separator: "; ")))"))
        if let sql = r.sql { print("statement\n\(sql)") }
        print("classification\n\(r.classification.encodedString)")
        for d in decisions {
            print("decision     \(d.decision.rawValue) by \(d.approver.user) at \(date(d.at))" + (d.reason.map { ": \($0)" } ?? ""))
        }
    }
}

/// grant and deny share their checks (in ApprovalStore.decide) and their output.
func decideCommand(_ options: ApproverOptions, _ id: String, _ kind: Decision.Kind, reason: String?, duration: Int?) throws {
    let (cfg, store, policies) = try options.load()
    let me = try options.approver(cfg)
    let outcome = try store.decide(id, kind, by: me, reason: reason, durationSeconds: duration,
                                   policy: { policies.byConnection[$0.connection] })
    switch outcome {
    case .refused(let why):
        throw Refused(why)
    case .recorded(let state, let approvals, let required):
        if options.json {
            return print(JSON.object(["id": .string(id), "state": .string(state.rawValue), "approvals": .int(Int64(approvals)),
                                      "required": .int(Int64(required))]).encodedString)
        }
        switch state {
        case .pending: print("\(id): your approval is recorded (\(approvals) of \(required)); it waits for more")
        case .approved: print("\(id): approved")
        case .revoked: print("\(id): revoked")
        default: print("\(id): \(state.rawValue)")
        }
    }
}

struct GrantCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "grant", abstract: "Approve a held request or an access request.")
    @OptionGroup var options: ApproverOptions
    @Argument(help: "The request id (r-…).") var id: String
    @Option(help: "Why (kept in the audit trail).") var reason: String?
    @Option(help: "For an access request: seconds of access (at most the connection's max_grant_seconds).") var duration: Int?

    func run() throws { try decideCommand(options, id, .grant, reason: reason, duration: duration) }
}

struct DenyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "deny", abstract: "Refuse a held request; the client gets the reason.")
    @OptionGroup var options: ApproverOptions
    @Argument(help: "The request id (r-…).") var id: String
    @Option(help: "Why (the client reads it; kept in the audit trail).") var reason: String

    func run() throws { try decideCommand(options, id, .deny, reason: reason, duration: nil) }
}

struct GrantsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "grants", abstract: "Live access grants; --revoke ends one and its sessions.")
    @OptionGroup var options: ApproverOptions
    @Option(help: "The grant (request id) to revoke.") var revoke: String?
    @Option(help: "Why it is revoked.") var reason: String?

    func run() throws {
        if let revoke { return try decideCommand(options, revoke, .revoke, reason: reason, duration: nil) }
        let (cfg, store, policies) = try options.load()
        let me = try options.approver(cfg)
        let grants = try store.grants().filter {
            $0.requester.isSame(as: me) || policies.byConnection[$0.connection]?.mayApprove(me, sets: $0.sets) == true
        }
        if options.json { return print(JSON.array(grants.map { $0.summaryJSON }).encodedString) }
        if grants.isEmpty { return print("no live grants") }
        let now = Date().timeIntervalSince1970
        for g in grants {
            print("\(g.id)  \(g.connection)  \(g.requester.user) (\(g.requester.kind))  ends in \(Int((g.validUntil ?? now) - now)) s")
        }
    }
}

/// Who asks, for `classify` and `calls`: a request is judged as this identity's.
struct AskerOptions: ParsableArguments {
    @Option(help: "Judge it as asked by this user.") var user = "someone@example.org"
    @Option(parsing: .upToNextOption, help: "… in these groups.") var groups: [String] = []
    @Flag(help: "… as an agent.") var agent = false

    var requester: Requester { Requester(issuer: "", subject: user, user: user, groups: groups, kind: agent ? "agent" : "person") }
}

struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "classify",
        abstract: "How a statement is classified and judged by a connection's policy (no token needed; nothing is stored).")
    @OptionGroup var config: ConfigOption
    @Option(help: "The connection whose policy judges it.") var connection = "clinic"
    @OptionGroup var asker: AskerOptions
    @Flag(help: "Read one JSON string (a SQL text) per line on stdin; write one verdict per line (for oracles and corpora).")
    var stdin = false
    @Argument(help: "The SQL text.") var sql: String?

    func run() throws {
        let cfg = try config.load()
        let policies = try Policies(cfg)
        guard let policy = policies.byConnection[connection] else { throw Refused("no connection named \(connection)") }
        // Judged with the catalog's facts, read once, as the stage would.
        let catalogs = try CatalogWatches(cfg)
        catalogs.byConnection[connection]?.refresh()
        let who = asker.requester
        guard stdin else {
            guard let sql else { throw Refused("a SQL text, or --stdin") }
            print(judge(sql, policy, who, catalogs).encodedString)
            return
        }
        while let line = readLine() {
            guard let text = (try? JSON.parse(line))?.string else {
                print(JSON.object(["error": .string("a line that is not a JSON string")]).encodedString)
                continue
            }
            print(judge(text, policy, who, catalogs).encodedString)
        }
    }

    func judge(_ sql: String, _ policy: Policy, _ who: Requester, _ catalogs: CatalogWatches) -> JSON {
        let c = catalogs.judged(Classifier.classify(sql, options: policy.classifyOptions), connection: connection)
        let v = policy.verdict(c, who)
        var o: [String: JSON] = ["verdict": .string(v.action.rawValue), "why": .string(v.summary),
                                 "rules": .array(v.reasons.map { .string($0.rule) }),
                                 "statements": .array(c.statements.map { $0.json() })]
        if let e = c.parseError { o["parse_error"] = .string(e) }
        if let n = SQLParser.normalize(sql) { o["normalized"] = .string(n) }
        return .object(o)
    }
}

extension HeldRequest {
    /// What a list shows: no full statement (it may quote PHI), only its normalised form.
    var summaryJSON: JSON {
        var o = json.object ?? [:]
        o.removeValue(forKey: "sql")
        o.removeValue(forKey: "justification")
        // The parser's message can quote the text.
        if var c = o["classification"]?.object { c.removeValue(forKey: "parse_error"); o["classification"] = .object(c) }
        return .object(o)
    }
}

/// How API calls are judged by a connection's call rules: the differential check of the
/// rules (docs/approval.md, "Rules for API calls"). With `--table`, every operation of the
/// named services in the generated operation table, with no parameters; with `--stdin`,
/// one `call` object (as a door writes it) per line.
struct CallsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "calls",
        abstract: "How API calls are judged by a connection's call rules (nothing is stored).")
    @OptionGroup var config: ConfigOption
    @Option(help: "The connection whose rules judge them.") var connection = "aws"
    @OptionGroup var asker: AskerOptions
    @Option(help: "The generated operation table (default: the aws_door's operations_file).") var table: String?
    @Option(parsing: .upToNextOption, help: "Signing names of the services to list (default: all).") var services: [String] = []
    @Flag(help: "Read one call object per line on stdin; write one verdict per line.") var stdin = false

    func run() throws {
        let cfg = try config.load()
        guard let policy = try Policies(cfg).byConnection[connection] else { throw Refused("no connection named \(connection)") }
        guard policy.kind != .postgres else { throw Refused("\(connection) is a PostgreSQL connection: use `classify`") }
        let who = asker.requester
        func judge(_ call: JSON) -> JSON {
            let facts = CallFacts(call)
            let v = policy.verdict(call: facts, who)
            return .object(["service": .string(facts.service), "operation": .string(facts.operation),
                            "iam_action": .string(facts.iamAction), "access": .string(facts.access),
                            "reveals_secrets": .bool(facts.revealsSecrets), "answers_image": .bool(facts.answersImage),
                            "verdict": .string(v.action.rawValue), "rule": .string(v.reasons.first?.rule ?? ""),
                            "why": .string(v.summary)])
        }
        if stdin {
            while let line = readLine() {
                guard let call = try? JSON.parse(line), call.object != nil else {
                    print(JSON.object(["error": .string("a line that is not a JSON object")]).encodedString)
                    continue
                }
                print(judge(call).encodedString)
            }
            return
        }
        guard let file = table ?? cfg.json["aws_door"]?["operations_file"]?.string else {
            throw Refused("no operation table: --table FILE, or aws_door.operations_file")
        }
        let ops = try Operations(file: file)
        for name in services.isEmpty ? ops.signingNames : services {
            for service in ops.services(signingName: name) {
                for op in service.operations.values.sorted(by: { $0.name < $1.name }) {
                    // As the door writes the call, less what only a request has (its parameters).
                    print(judge(.object(["signing_name": .string(name), "action": .string(op.name),
                                         "iam_action": .string(op.iamAction), "access": .string(op.access),
                                         "reveals_secrets": .bool(op.revealsSecrets),
                                         "answers_image": .bool(op.answersImage)])).encodedString)
                }
            }
        }
    }
}
