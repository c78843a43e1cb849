import Foundation
import HoopFrames
import HoopMasking
import HoopSQL

/// What the policy says about a request (docs/approval.md).
public enum Action: String, Sendable, Comparable {
    case allow, review, deny

    var strictness: Int { self == .allow ? 0 : self == .review ? 1 : 2 }
    public static func < (a: Action, b: Action) -> Bool { a.strictness < b.strictness }
}

/// Who asks: the identity hoop-auth put on the session.
public struct Requester: Sendable, Equatable {
    public var issuer: String
    public var subject: String
    public var user: String
    public var groups: [String]
    public var kind: String

    public init(issuer: String, subject: String, user: String, groups: [String], kind: String) {
        self.issuer = issuer; self.subject = subject; self.user = user; self.groups = groups; self.kind = kind
    }

    /// From a `session_open` frame's `identity` object; nil when it has none (a ring
    /// without hoop-auth), which the stage refuses.
    public init?(identity j: JSON?) {
        guard let j, let subject = j["subject"]?.string, let user = j["user"]?.string else { return nil }
        self.init(issuer: j["issuer"]?.string ?? "", subject: subject, user: user,
                  groups: (j["groups"]?.array ?? []).compactMap(\.string), kind: j["kind"]?.string ?? "agent")   // no kind said: the least a token may be
    }

    public var json: JSON {
        .object(["issuer": .string(issuer), "subject": .string(subject), "user": .string(user),
                 "groups": .array(groups.map(JSON.string)), "kind": .string(kind)])
    }

    /// The same person or agent: the issuer's subject, or (belt and braces) the same user name.
    public func isSame(as other: Requester) -> Bool {
        (issuer == other.issuer && subject == other.subject) || user.lowercased() == other.user.lowercased()
    }
}

/// One rule of a connection's `approval.rules`: conditions (all given must hold) and
/// an action. The first rule that matches a statement decides it.
public struct Rule: Sendable {
    public var name: String
    public var action: Action
    public var message: String?
    // conditions
    var kinds: Set<String>? = nil
    var commands: Set<String>? = nil
    var tables: Set<String>? = nil
    var phi: Bool? = nil
    var unboundedWrite: Bool? = nil
    var unboundedRead: Bool? = nil
    var export: Bool? = nil
    var hidden: Bool? = nil
    var flags: Set<String>? = nil
    var writesTokenized: Bool? = nil
    var users: Set<String>? = nil
    var groups: Set<String>? = nil
    var identityKind: String? = nil
    var hours: (from: Int, to: Int)? = nil      // minutes after midnight, [from, to)
    var days: Set<Int>? = nil                     // 1 = Sunday … 7 = Saturday (Calendar's weekday)
    // for API calls (CallRules.swift)
    var actions: [String]? = nil                  // globs on the IAM action or service:Operation
    var exceptActions: [String]? = nil            // the same, that the rule does not cover
    var accessLevels: Set<String>? = nil          // lower-case IAM access levels
    var resources: [ResourceSelector]? = nil
    var params: [(name: String, test: ParamTest)]? = nil
    var passesRole: Bool? = nil
    var setsPolicy: Bool? = nil
    var revealsSecrets: Bool? = nil
    var answersImage: Bool? = nil
    // for `review`
    public var approvals: Int? = nil
    public var approverGroups: Set<String>? = nil
    public var requireJustification = false

    /// Conditions of every kind of connection, of statements (SQL), of API calls.
    static let sharedKeys: Set<String> = ["phi", "users", "groups", "identity_kind", "hours", "days"]
    static let statementKeys: Set<String> = ["kind", "command", "tables", "unbounded_write", "unbounded_read", "export", "hidden", "flags",
                                             "writes_tokenized"]
    static let callKeys: Set<String> = ["actions", "except_actions", "access", "resources", "params", "passes_role", "sets_policy",
                                        "reveals_secrets", "answers_image"]

    public init(_ j: JSON, index: Int, for connectionKind: ConnectionKind = .postgres) throws {
        name = j["name"]?.string ?? "rule \(index + 1)"
        guard let a = j["action"]?.string, let action = Action(rawValue: a) else {
            throw ConfigError("approval rule \"\(name)\": \"action\" must be allow, review or deny")
        }
        self.action = action
        message = j["message"]?.string
        let m = j["match"] ?? .object([:])
        guard let conditions = m.object else { throw ConfigError("approval rule \"\(name)\": \"match\" must be an object") }
        let known = Self.sharedKeys.union(connectionKind == .postgres ? Self.statementKeys : Self.callKeys)
        if let unknown = conditions.keys.first(where: { !known.contains($0) }) {
            // A misspelt condition, or one of the other kind of connection, would silently
            // widen the rule: refuse it.
            throw ConfigError("approval rule \"\(name)\": unknown condition \"\(unknown)\" for a \(connectionKind.rawValue) connection")
        }
        func strings(_ key: String, lower: Bool = true) throws -> Set<String>? {
            guard let v = m[key] else { return nil }
            let list = v.string.map { [$0] } ?? (v.array ?? []).compactMap(\.string)
            guard !list.isEmpty else { throw ConfigError("approval rule \"\(name)\": \"\(key)\" must be a string or a list of strings") }
            return Set(list.map { lower ? $0.lowercased() : $0 })
        }
        func bool(_ key: String) throws -> Bool? {
            guard let v = m[key] else { return nil }
            guard let b = v.bool else { throw ConfigError("approval rule \"\(name)\": \"\(key)\" must be true or false") }
            return b
        }
        kinds = try strings("kind")
        if let bad = kinds?.first(where: { StatementKind(rawValue: $0) == nil }) {
            throw ConfigError("approval rule \"\(name)\": unknown statement kind \"\(bad)\"")
        }
        commands = try strings("command")?.map { $0.uppercased() }.reduce(into: Set<String>()) { $0.insert($1) }
        tables = try strings("tables")
        phi = try bool("phi")
        unboundedWrite = try bool("unbounded_write")
        unboundedRead = try bool("unbounded_read")
        export = try bool("export")
        hidden = try bool("hidden")
        writesTokenized = try bool("writes_tokenized")
        flags = try strings("flags")
        if let bad = flags?.first(where: { StatementFlag(rawValue: $0) == nil }) {
            throw ConfigError("approval rule \"\(name)\": unknown flag \"\(bad)\"")
        }
        users = try strings("users")
        groups = try strings("groups", lower: false)
        identityKind = m["identity_kind"]?.string
        if let h = m["hours"] {
            guard let s = h.string, let range = Self.hours(s) else {
                throw ConfigError("approval rule \"\(name)\": \"hours\" must look like \"08:00-18:00\"")
            }
            hours = range
        }
        if let d = try strings("days") {
            let names = ["sun": 1, "mon": 2, "tue": 3, "wed": 4, "thu": 5, "fri": 6, "sat": 7]
            days = Set(try d.map { n in
                guard let v = names[String(n.prefix(3))] else { throw ConfigError("approval rule \"\(name)\": unknown day \"\(n)\"") }
                return v
            })
        }
        if connectionKind != .postgres { try readCallConditions(m) }
        approvals = j["approvals"]?.int.map(Int.init)
        if let n = approvals, n < 1 || n > 10 { throw ConfigError("approval rule \"\(name)\": \"approvals\" must be 1 to 10") }
        approverGroups = (j["approver_groups"]?.array).map { Set($0.compactMap(\.string)) }
        requireJustification = j["require_justification"]?.bool ?? false
    }

    static func hours(_ s: String) -> (Int, Int)? {
        let parts = s.split(separator: "-")
        guard parts.count == 2 else { return nil }
        func minutes(_ t: Substring) -> Int? {
            let hm = t.trimmingCharacters(in: .whitespaces).split(separator: ":")
            guard hm.count == 2, let h = Int(hm[0]), let m = Int(hm[1]), (0...24).contains(h), (0..<60).contains(m) else { return nil }
            return h * 60 + m
        }
        guard let a = minutes(parts[0]), let b = minutes(parts[1]) else { return nil }
        return (a, b)
    }

    /// Whether every condition holds for this statement, asked by this identity, now.
    func matches(_ s: StatementClass, _ who: Requester, phiTables: Set<String>, tokenized: [ColumnRule] = [],
                 at time: DateComponents) -> Bool {
        if let kinds, !kinds.contains(s.kind.rawValue) { return false }
        if let commands, !commands.contains(s.command.uppercased()) { return false }
        let touched = s.tablesRead.union(s.tablesWritten)
        if let tables, !touched.contains(where: { Policy.names($0, in: tables) }) { return false }
        if let phi, touched.contains(where: { Policy.names($0, in: phiTables) }) != phi { return false }
        if let unboundedWrite, s.unboundedWrite != unboundedWrite { return false }
        if let unboundedRead {
            // An unbounded read of a PHI table when the rule also asks for phi; of any table otherwise.
            let reads = phi == true ? s.tablesRead.contains(where: { Policy.names($0, in: phiTables) }) : !s.tablesRead.isEmpty
            if (reads && !s.readsBounded) != unboundedRead { return false }
        }
        if let export, s.export != export { return false }
        if let hidden, s.hidden.isEmpty == hidden { return false }
        if let writesTokenized, Policy.writesTokenized(s, tokenized) != writesTokenized { return false }
        if let flags, flags.isDisjoint(with: s.flags.map(\.rawValue)) { return false }
        return matchesIdentityAndTime(who, at: time)
    }

    /// The conditions on who asks and when, shared by statements and calls.
    func matchesIdentityAndTime(_ who: Requester, at time: DateComponents) -> Bool {
        if let users, !users.contains(who.user.lowercased()) { return false }
        if let groups, groups.isDisjoint(with: who.groups) { return false }
        if let identityKind, identityKind != who.kind { return false }
        if let (from, to) = hours {
            let now = (time.hour ?? 0) * 60 + (time.minute ?? 0)
            let inside = from <= to ? (from <= now && now < to) : (now >= from || now < to)
            if !inside { return false }
        }
        if let days, !days.contains(time.weekday ?? 0) { return false }
        return true
    }

    var describes: String { message ?? name }
}

/// A statement's verdict and the rule that gave it.
public struct StatementVerdict: Sendable {
    public var action: Action
    public var rule: String
    public var message: String
    public var statement: StatementClass?
}

/// The verdict on a whole request: the strictest of its statements'.
public struct Verdict: Sendable {
    public var action: Action
    public var reasons: [StatementVerdict]      // the statements that made it (all at `action`)
    public var approvalsRequired: Int
    /// Who may approve: for each deciding rule that names approver groups, one set; a
    /// request is approved only when every set is represented among its approvers.
    /// Empty: the connection's approvers.
    public var approverSets: [Set<String>]
    public var requireJustification: Bool
    public var parseError: String?

    /// Every group named, for display.
    public var approverGroups: Set<String> { approverSets.reduce(into: Set<String>()) { $0.formUnion($1) } }

    /// Words for the client and the approver: why, in one line.
    public var summary: String {
        var seen: [String] = []
        for r in reasons where !seen.contains(r.message) { seen.append(r.message) }
        return seen.joined(separator: "; ")
    }
}

/// A connection's approval policy (`connections.NAME.approval`).
public struct Policy: Sendable {
    public var rules: [Rule]
    public var phiTables: Set<String>
    /// The masking rules of this connection that give tokens (`hash`): a value written into
    /// such a column reads back, in any later session, as the token the same value has in
    /// every row, so that written guesses make a codebook (the `writes_tokenized` condition).
    public var tokenized: [ColumnRule]
    /// Every column the masking rules mask (any strategy but `keep`): a counter on one
    /// is an export.
    public var maskedColumns: [ColumnRule]
    /// API resources the masking policy names (`masking.resources`): the `phi` condition of calls.
    public var phiResources: [ResourceSelector]
    public var kind: ConnectionKind
    public var classifyOptions: ClassifyOptions
    public var unparsed: Action
    public var approverGroups: Set<String>
    public var approverUsers: Set<String>
    public var approvalsRequired: Int
    public var holdTimeout: Double
    public var approvalValidFor: Double
    public var timeZone: TimeZone
    // just-in-time access
    public var requireGrant: Bool
    public var maxGrant: Double
    public var defaultGrant: Double
    public var accessWait: Double

    /// The rules a connection gets when its configuration names none: the defaults
    /// for a database that holds PHI (docs/approval.md, "Default rules").
    public static let defaultRules: JSON = .array([
        rule("no-alter-system", "deny", ["flags": ["alter_system"]], "ALTER SYSTEM is not allowed through the gateway"),
        rule("no-copy-program", "deny", ["flags": ["copy_program"]], "COPY ... PROGRAM runs a shell command on the database server: not allowed"),
        rule("no-role-change", "deny", ["flags": ["set_role", "set_session_authorization"]],
             "changing role or session authorisation is not allowed: the gateway chooses the role"),
        rule("no-load", "deny", ["flags": ["load_library"]], "LOAD of a server library is not allowed"),
        rule("no-lexer-change", "deny", ["flags": ["lexer_setting"]],
             "standard_conforming_strings, backslash_quote and client_encoding keep the gateway's values: they change how SQL text is read"),
        rule("review-server-files", "review", ["flags": ["server_file"]], "reads or writes files on the database server"),
        rule("review-admin-functions", "review", ["flags": ["admin_function"]], "calls a server administration function"),
        rule("review-hidden", "review", ["hidden": true], "its effect cannot be seen from the statement"),
        rule("review-ddl", "review", ["kind": ["ddl"]], "changes the schema (DDL)"),
        rule("review-dcl", "review", ["kind": ["dcl"]], "changes privileges or roles (DCL)"),
        rule("review-unbounded-write", "review", ["unbounded_write": true], "writes whose WHERE clause does not pin them to a few rows"),
        rule("review-exclusive-lock", "review", ["flags": ["exclusive_lock"]],
             "locks or rewrites a table exclusively (LOCK, CLUSTER, VACUUM FULL, REINDEX, SET TABLESPACE): every session using it waits"),
        rule("review-export", "review", ["export": true], "exports data (COPY TO, CREATE TABLE AS, SELECT INTO)"),
        rule("review-statistics", "review", ["flags": ["statistics"]],
             "moves the planner's statistics (ANALYZE, default_statistics_target), which bound a read by a key"),
        rule("review-tokenized-write", "review", ["writes_tokenized": true],
             "writes a column masked with tokens: what it writes there reads back as the token the same value has in any row (a codebook of guesses)"),
        rule("review-phi-bulk-read", "review", ["phi": true, "unbounded_read": true],
             "reads a PHI table without a LIMIT or a key filter"),
        rule("allow-rest", "allow", [:], "allowed"),
    ])

    private static func rule(_ name: String, _ action: String, _ match: [String: Any], _ message: String) -> JSON {
        var m: [String: JSON] = [:]
        for (k, v) in match {
            if let b = v as? Bool { m[k] = .bool(b) } else if let l = v as? [String] { m[k] = .array(l.map(JSON.string)) }
        }
        return .object(["name": .string(name), "action": .string(action), "match": .object(m), "message": .string(message)])
    }

    /// `connection`: the connection's configuration object; `gateway`: the whole file
    /// (for the masking rules' tables and the `approval` section).
    public init(connection c: JSON, gateway: JSON) throws {
        let a = c["approval"] ?? .object([:])
        let kind = ConnectionKind(rawValue: c["kind"]?.string ?? ConnectionKind.postgres.rawValue) ?? .postgres
        self.kind = kind
        let defaults = kind == .postgres ? Self.defaultRules : Self.defaultCallRules
        rules = try (a["rules"] ?? defaults).array.map { list in try list.enumerated().map { try Rule($1, index: $0, for: kind) } }
            ?? { throw ConfigError("approval.rules must be a list") }()
        phiResources = try (c["masking"]?["resources"]?.array ?? []).enumerated().map { i, r in
            do { return try ResourceSelector(r, what: "masking.resources[\(i)]") }
            catch let e as SelectorError { throw ConfigError(e.description) }
        }
        // PHI tables: the tables the masking rules name, and those listed here.
        var phi = Set((a["phi_tables"]?.array ?? []).compactMap { $0.string?.lowercased() })
        for r in c["masking"]?["columns"]?.array ?? [] { if let t = r["table"]?.string { phi.insert(t.lowercased()) } }
        phiTables = phi
        maskedColumns = (c["masking"]?["columns"]?.array ?? []).compactMap { r in
            guard r["strategy"]?.string != "keep", let column = r["column"]?.string else { return nil }
            return ColumnRule(table: r["table"]?.string ?? "*", column: column, strategy: .redact)
        }
        tokenized = (c["masking"]?["columns"]?.array ?? []).compactMap { r in
            guard r["strategy"]?.string == "hash", let column = r["column"]?.string else { return nil }
            return ColumnRule(table: r["table"]?.string ?? "*", column: column, strategy: .redact)
        }
        var o = ClassifyOptions()
        o.maxBoundedLimit = Int(a["max_bounded_limit"]?.int ?? 1000)
        o.keyColumns = Set((a["key_columns"]?.array ?? []).compactMap { $0.string?.lowercased() })
        classifyOptions = o
        switch a["unparsed"]?.string ?? "review" {
        case "review": unparsed = .review
        case "deny": unparsed = .deny
        default: throw ConfigError("approval.unparsed must be review or deny: a statement the parser cannot read never passes")
        }
        approverGroups = Set((a["approvers"]?["groups"]?.array ?? [.string("approvers")]).compactMap(\.string))
        approverUsers = Set((a["approvers"]?["users"]?.array ?? []).compactMap { $0.string?.lowercased() })
        approvalsRequired = max(1, Int(a["approvals_required"]?.int ?? 1))
        holdTimeout = Double(a["hold_timeout_seconds"]?.int ?? 300)
        guard holdTimeout > 0 && holdTimeout <= 86_400 else { throw ConfigError("approval.hold_timeout_seconds must be 1 to 86400: a hold never waits for ever") }
        approvalValidFor = Double(a["approval_valid_seconds"]?.int ?? 900)
        let tz = gateway["approval"]?["timezone"]?.string ?? "UTC"
        guard let zone = TimeZone(identifier: tz) else { throw ConfigError("approval.timezone: unknown time zone \(tz)") }
        timeZone = zone
        let access = a["access"] ?? .object([:])
        requireGrant = access["require_grant"]?.bool ?? false
        maxGrant = Double(access["max_grant_seconds"]?.int ?? 3600)
        defaultGrant = min(maxGrant, Double(access["default_grant_seconds"]?.int ?? 900))
        accessWait = Double(access["wait_seconds"]?.int ?? 60)
        if a["calls"] != nil {
            throw ConfigError("approval.calls is gone: API calls are judged by approval.rules (docs/approval.md, \"Rules for API calls\")")
        }
    }

    /// A table name as written (maybe schema-qualified) is one of `set` when its last
    /// part or the whole qualified name is listed. Schemas are not trusted to tell a
    /// PHI table from another of the same name: fail closed.
    static func names(_ table: String, in set: Set<String>) -> Bool {
        let t = table.lowercased()
        if set.contains(t) { return true }
        if let dot = t.lastIndex(of: ".") { return set.contains(String(t[t.index(after: dot)...])) }
        return false
    }

    /// Whether a statement writes a column a `hash` rule masks: `table.column` as written
    /// (its last part names the table, as `names` reads it), `table.*` for every column.
    static func writesTokenized(_ s: StatementClass, _ rules: [ColumnRule]) -> Bool {
        ruled(s.columnsWritten, by: rules)
    }

    /// Whether one of these "table.column" (or "table.*") is named by one of the rules.
    static func ruled(_ columns: Set<String>, by rules: [ColumnRule]) -> Bool {
        guard !rules.isEmpty else { return false }
        return columns.contains { written in
            guard let dot = written.lastIndex(of: ".") else { return false }
            let qualified = written[..<dot], column = String(written[written.index(after: dot)...])
            let table = String(qualified.split(separator: ".").last ?? qualified)
            return rules.contains { r in
                (column == "*" ? true : Glob.matches(r.column, column)) && (r.table == "*" || Glob.matches(r.table, table))
            }
        }
    }

    /// The hour, minute and weekday of `date` in the policy's time zone, as the rules'
    /// `hours` and `days` read them; none when no rule has either (a calendar's
    /// reckoning cost more than the rest of a verdict on the hot path).
    func clock(_ date: Date) -> DateComponents {
        guard rules.contains(where: { $0.hours != nil || $0.days != nil }) else { return DateComponents() }
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = timeZone
        return cal.dateComponents([.hour, .minute, .weekday], from: date)
    }

    /// The verdict on one statement: the first rule that matches. A statement whose
    /// effect is hidden is allowed only by a rule that says `"hidden": true`.
    public func verdict(_ s: StatementClass, _ who: Requester, at date: Date = Date()) -> (StatementVerdict, Rule?) {
        let time = clock(date)
        var s = s
        if !s.export && Self.ruled(s.countersWritten, by: maskedColumns) { s.export = true }
        for rule in rules where rule.matches(s, who, phiTables: phiTables, tokenized: tokenized, at: time) {
            if rule.action == .allow && !s.hidden.isEmpty && rule.hidden != true {
                return (StatementVerdict(action: .review, rule: "hidden-effect",
                                         message: "its effect cannot be seen from the statement (\(s.hidden.joined(separator: ", ")))",
                                         statement: s), nil)
            }
            return (StatementVerdict(action: rule.action, rule: rule.name, message: rule.describes, statement: s), rule)
        }
        // No rule matched: allowed, unless the effect is hidden.
        if !s.hidden.isEmpty {
            return (StatementVerdict(action: .review, rule: "hidden-effect",
                                     message: "its effect cannot be seen from the statement (\(s.hidden.joined(separator: ", ")))",
                                     statement: s), nil)
        }
        return (StatementVerdict(action: .allow, rule: "no-rule", message: "allowed", statement: s), nil)
    }

    /// The verdict on a request: every statement is judged; the strictest wins.
    public func verdict(_ c: Classification, _ who: Requester, at date: Date = Date()) -> Verdict {
        if let error = c.parseError {
            // The parser's message may quote the text (a literal): it stays out of the
            // reason, which notifications carry; the classification keeps it.
            let why = "the statement could not be parsed: its effect cannot be seen"
            return Verdict(action: unparsed, reasons: [StatementVerdict(action: unparsed, rule: "unparsed", message: why)],
                           approvalsRequired: approvalsRequired, approverSets: [],
                           requireJustification: false, parseError: error)
        }
        var worst = Action.allow
        var judged: [(StatementVerdict, Rule?)] = []
        for s in c.statements {
            let v = verdict(s, who, at: date)
            worst = max(worst, v.0.action)
            judged.append(v)
        }
        let deciding = judged.filter { $0.0.action == worst }
        let rules = deciding.compactMap(\.1)
        var sets: [Set<String>] = []
        for g in rules.compactMap(\.approverGroups) where !sets.contains(g) { sets.append(g) }
        return Verdict(action: worst, reasons: deciding.map(\.0),
                       approvalsRequired: max(approvalsRequired, rules.compactMap(\.approvals).max() ?? 1, sets.count),
                       approverSets: sets,
                       requireJustification: rules.contains { $0.requireJustification }, parseError: nil)
    }

    /// Whether `who` may decide a request held with these approver sets (those of the
    /// rules that held it; none: the connection's approvers, by group or by name). Only a
    /// person decides: an agent's token (a CI bot, another AI agent) in an approvers'
    /// group would let one machine release another's held work with no human in the loop.
    public func mayApprove(_ who: Requester, sets: [Set<String>]) -> Bool {
        guard who.kind == "person" else { return false }
        if sets.isEmpty { return approverUsers.contains(who.user.lowercased()) || !approverGroups.isDisjoint(with: who.groups) }
        return sets.contains { !$0.isDisjoint(with: who.groups) }
    }
}

/// Every connection's policy, from the configuration file.
public struct Policies: Sendable {
    public let byConnection: [String: Policy]
    /// Each connection's kind; nil for a kind the gateway does not know (refused).
    public let kinds: [String: ConnectionKind?]

    public init(_ cfg: GatewayConfig) throws {
        var p: [String: Policy] = [:]
        kinds = (cfg.json["connections"]?.object ?? [:]).mapValues { c in
            ConnectionKind(rawValue: c["kind"]?.string ?? ConnectionKind.postgres.rawValue)
        }
        for (name, c) in cfg.json["connections"]?.object ?? [:] {
            do { p[name] = try Policy(connection: c, gateway: cfg.json) } catch let e as ConfigError {
                throw ConfigError("connection \(name): \(e.description)")
            }
        }
        byConnection = p
    }
}
