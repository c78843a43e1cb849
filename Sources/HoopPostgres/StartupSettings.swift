/// A session's settings as its StartupMessage gives them to the server (docs, "Protocol
/// Flow", StartupMessage; postgres's `options`): every parameter but the connection's
/// own (user, database, replication) is a setting, and `options` holds more, as
/// `-c name=value` or `--name=value` words, separated by any whitespace, a backslash
/// escaping the next character. A setting's name is case-insensitive, and `-` in it
/// reads as `_`. hoop-approve judges, and hoop-connect forwards, by this one reading.
public enum StartupSettings {
    /// Every value given to a setting, in the order the server applies them (`options`
    /// first, then the parameters; the last one given wins). Names normalized.
    public static func all(_ parameters: [String: String]) -> [(name: String, value: String)] {
        var out = options(parameters["options"] ?? "")
        for (k, v) in parameters.sorted(by: { $0.key < $1.key }) where !["options", "user", "database", "replication"].contains(k) {
            out.append((normalized(k), v))
        }
        return out
    }

    /// The value each setting ends with (the last one given).
    public static func final(_ parameters: [String: String]) -> [String: String] {
        var out: [String: String] = [:]
        for (name, value) in all(parameters) { out[name] = value }
        return out
    }

    /// The `-c name=value` and `--name=value` pairs of an `options` string.
    public static func options(_ s: String) -> [(name: String, value: String)] {
        var words: [String] = [], word = "", escaped = false
        for ch in s {
            if escaped { word.append(ch); escaped = false; continue }
            if ch == "\\" { escaped = true; continue }
            if ch.isWhitespace { if !word.isEmpty { words.append(word); word = "" }; continue }
            word.append(ch)
        }
        if !word.isEmpty { words.append(word) }
        var pairs: [(name: String, value: String)] = []
        var i = 0
        while i < words.count {
            var setting: Substring? = nil
            if words[i] == "-c", i + 1 < words.count { setting = words[i + 1][...]; i += 1 }
            else if words[i].hasPrefix("-c") { setting = words[i].dropFirst(2) }
            else if words[i].hasPrefix("--") { setting = words[i].dropFirst(2) }
            if let setting, let eq = setting.firstIndex(of: "=") {
                pairs.append((normalized(String(setting[..<eq])), String(setting[setting.index(after: eq)...])))
            }
            i += 1
        }
        return pairs
    }

    public static func normalized(_ name: String) -> String { name.lowercased().replacingOccurrences(of: "-", with: "_") }
}
