import HoopFrames
import HoopSQL

/// The session settings a client uses to talk to this stage: `hoop.justification`
/// (why it asks) and `hoop.duration` (seconds of access it asks for), given at startup
/// (HoopPostgres.StartupSettings) or by SET. PostgreSQL takes such dotted names as
/// placeholders, so they pass upstream harmlessly.
enum SessionSettings {
    /// The `SET [SESSION] name = 'value'` statements of a request, in order; `RESET
    /// name` gives nil. SET LOCAL counts too (the transaction is the session's).
    static func set(in sql: String) -> [(String, String?)] {
        guard let statements = try? SQLParser.statements(sql) else { return [] }
        return statements.compactMap { st in
            guard let v = st["VariableSetStmt"], let name = v["name"]?.string?.lowercased() else { return nil }
            if v["kind"]?.string == "VAR_RESET" { return (name, nil) }
            guard v["kind"]?.string == "VAR_SET_VALUE", let arg = v["args"]?.array?.first?["A_Const"] else { return nil }
            if let s = arg["sval"]?["sval"]?.string { return (name, s) }
            if let i = arg["ival"]?["ival"]?.int { return (name, String(i)) }
            return nil
        }
    }
}

/// The session's search_path, which decides what a bare name means (`update providers`
/// writes the first schema of it that has a `providers`): shown to the approver with a
/// held statement, and part of the text an approval is for, so that an approval given
/// under one search_path is no ticket under another (docs/approval.md).
///
/// This stage sees requests, not the server's answers: a SET it let through may have
/// failed or been rolled back (an aborted transaction, a later error in the same text),
/// leaving an earlier value. So every value the session gave stays possible; the one set
/// last is shown first. A value this stage cannot read (computed at run time) makes it
/// unknown for the rest of the session.
struct SearchPathState {
    /// The value the session started with (startup options); nil: the role's default.
    let initial: String?
    /// Values it may have now, the one set last at the end.
    private(set) var possible: [String?]
    private(set) var known = true
    /// A text let through may have made a temporary table, which a bare name means first.
    private(set) var mayHaveTemporary = false
    /// Past this many values it is shown as not known (a client setting it without end
    /// must not grow this stage or the approver's view).
    static let maxValues = 8

    init(initial: String?) { self.initial = initial; possible = [initial] }

    /// Whether the session's search_path is other than the role's default as far as
    /// anyone can tell (nothing to show otherwise).
    var changed: Bool { !known || possible != [nil] }

    mutating func add(_ value: String?) {
        possible.removeAll { $0 == value }
        possible.append(value)
        if possible.count > Self.maxValues { known = false }
    }

    /// The values, the one set last first, as the approver reads them.
    var shown: [String] { known ? possible.reversed().map { $0 ?? "(the role's default)" } : [] }

    /// The line a held text carries: when the path changed, or when the text already has
    /// such a line of the client's own (else a text held under one path, sent word for
    /// word with that line by a session on the role's default, would match its approval).
    func line(for sql: String) -> String? {
        comment ?? (sql.range(of: "-- search_path", options: .caseInsensitive) != nil ? "-- search_path: the role's default" : nil)
    }

    /// The line that says the search_path (nil when nothing changed it).
    var comment: String? {
        guard changed else { return nil }
        guard known else { return "-- search_path: not known (set from a value this gateway could not read)" }
        let values = shown
        return values.count == 1 ? "-- search_path: \(values[0])"
            : "-- search_path, as set last: \(values[0]); a SET that failed or was rolled back leaves one of: \(values.dropFirst().joined(separator: " | "))"
    }

    /// The schema lists it may be, for CatalogFacts.label (the role's default: `defaultPath`);
    /// nil when that is not sure: not known, a temporary table, a value not read.
    func schemaLists(defaultPath: String?) -> [[String]]? {
        guard known, !mayHaveTemporary else { return nil }
        var lists: [[String]] = []
        for value in possible {
            // A path naming pg_temp makes a bare CREATE temporary (when first), which no
            // text here need say.
            guard let text = value ?? defaultPath, !text.containsIgnoringASCIICase("pg_temp"),
                  let list = SearchPath.schemas(text) else { return nil }
            lists.append(list)
        }
        return lists
    }

    var json: JSON {
        .object(["search_path": .array(shown.map(JSON.string)), "search_path_known": .bool(known)])
    }

    /// What an allowed text does to it: SET / SET LOCAL / RESET [ALL] / SET … TO DEFAULT,
    /// DISCARD ALL, and set_config('search_path', …) anywhere in it. `classification`
    /// spares the parse of texts that cannot change it.
    mutating func learn(_ sql: String, _ classification: Classification) {
        // Work this stage cannot see into (DO, CALL, SQL run from text, a function of the
        // database's own), once approved, may set it where no text here says so.
        if classification.statements.contains(where: { !$0.hidden.isEmpty || ["DO", "CALL"].contains($0.command) }) {
            known = false
            return
        }
        if !mayHaveTemporary, Self.mayMakeTemporary(sql) { mayHaveTemporary = true }
        guard classification.statements.contains(where: { ["SET", "RESET", "DISCARD ALL"].contains($0.command) })
                || sql.containsIgnoringASCIICase("set_config")
                || sql.containsIgnoringASCIICase("u&") else { return }
        guard let statements = try? SQLParser.statements(sql) else { return }
        for st in statements {
            if let v = st["VariableSetStmt"] {
                let kind = v["kind"]?.string ?? ""
                if kind == "VAR_RESET_ALL" { add(initial); continue }
                guard v["name"]?.string?.lowercased() == "search_path" else { continue }
                switch kind {
                case "VAR_SET_VALUE":
                    let parts = (v["args"]?.array ?? []).map { Self.constant($0) }
                    // Each a name, as the server keeps them (`'a, b'` is one schema).
                    if parts.contains(nil) { known = false } else { add(parts.compactMap { $0 }.map(SearchPath.quoted).joined(separator: ", ")) }
                case "VAR_SET_DEFAULT", "VAR_RESET": add(initial)
                default: known = false
                }
            } else if st["DiscardStmt"]?["target"]?.string == "DISCARD_ALL" {
                add(initial)
            }
            Self.setConfigCalls(st) { name, value in
                guard let name else { known = false; return }     // a setting named at run time
                guard name.lowercased() == "search_path" else { return }
                if let value { add(value) } else { known = false }
            }
        }
    }

    /// Whether a text may make a temporary relation, read as the server reads it (so not
    /// `temperature`): a relation made TEMP / TEMPORARY (CREATE, SELECT … INTO, CREATE
    /// TABLE AS, a view or sequence), or pg_temp named anywhere once the parser has decoded
    /// it (a schema, a U& identifier, a string set_config or SET gives). A text that does
    /// not parse may.
    static func mayMakeTemporary(_ sql: String) -> Bool {
        // Each such text spells "temp" or escapes it (U&…); the parse only for those.
        guard sql.containsIgnoringASCIICase("temp") || sql.containsIgnoringASCIICase("u&") else { return false }
        guard let statements = try? SQLParser.statements(sql) else { return true }
        func found(_ node: JSON) -> Bool {
            switch node {
            case .object(let o):
                if o["relpersistence"]?.string == "t" { return true }
                return o.values.contains(where: found)
            case .array(let a): return a.contains(where: found)
            case .string(let v): return v.containsIgnoringASCIICase("pg_temp")
            default: return false
            }
        }
        return statements.contains(where: found)
    }

    /// A constant's text (a string, a number), through casts; nil for anything else.
    static func constant(_ e: JSON?) -> String? {
        if let c = e?["A_Const"] {
            if let s = c["sval"]?["sval"]?.string { return s }
            if c["sval"] != nil { return "" }
            if let i = c["ival"] { return String(i["ival"]?.int ?? 0) }
            return c["fval"]?["fval"]?.string
        }
        if let t = e?["TypeCast"] { return constant(t["arg"]) }
        return nil
    }

    /// Every set_config(name, value, …) call in a parse tree: its constant name and value.
    static func setConfigCalls(_ node: JSON, _ found: (String?, String?) -> Void) {
        switch node {
        case .object(let o):
            if let f = o["FuncCall"], (f["funcname"]?.array?.last?["String"]?["sval"]?.string)?.lowercased() == "set_config" {
                let args = f["args"]?.array ?? []
                found(args.first.flatMap { constant($0) }, args.dropFirst().first.flatMap { constant($0) })
            }
            for v in o.values { setConfigCalls(v, found) }
        case .array(let a):
            for v in a { setConfigCalls(v, found) }
        default: break
        }
    }
}
