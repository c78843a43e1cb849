import HoopFrames
import HoopSQL

/// The session settings a client uses to talk to this stage: `hoop.justification`
/// (why it asks) and `hoop.duration` (seconds of access it asks for). PostgreSQL
/// takes such dotted names as placeholders, so they pass upstream harmlessly.
enum SessionSettings {
    /// `-c name=value` (or `--name=value`) pairs of the StartupMessage's `options`
    /// parameter (libpq: options='-c hoop.justification=ticket\ 42'); a backslash
    /// escapes the next character, as the server reads them.
    static func startup(_ options: String) -> [String: String] {
        var words: [String] = [], word = "", escaped = false
        for ch in options {
            if escaped { word.append(ch); escaped = false }
            else if ch == "\\" { escaped = true }
            else if ch == " " || ch == "\t" { if !word.isEmpty { words.append(word); word = "" } }
            else { word.append(ch) }
        }
        if !word.isEmpty { words.append(word) }
        var out: [String: String] = [:]
        var i = 0
        while i < words.count {
            var pair: Substring?
            if words[i] == "-c", i + 1 < words.count { pair = words[i + 1][...]; i += 1 }
            else if words[i].hasPrefix("-c") { pair = words[i].dropFirst(2) }
            else if words[i].hasPrefix("--") { pair = words[i].dropFirst(2) }
            if let pair, let eq = pair.firstIndex(of: "=") {
                out[pair[..<eq].lowercased().replacingOccurrences(of: "-", with: "_")] = String(pair[pair.index(after: eq)...])
            }
            i += 1
        }
        return out
    }

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
