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
