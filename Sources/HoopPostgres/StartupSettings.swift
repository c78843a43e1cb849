/// A session's settings as its StartupMessage gives them to the server (docs, "Protocol
/// Flow", StartupMessage; postgres's `options`): every parameter but the connection's
/// own (user, database, replication) is a setting, and `options` holds more, as
/// `-c name=value` or `--name=value` words, separated by any whitespace, a backslash
/// escaping the next character. A setting's name is case-insensitive, and `-` in it
/// reads as `_`. hoop-approve judges, and hoop-connect forwards, by this one reading.
public enum StartupSettings {
    /// Every value given to a setting: `options`' first, then the parameters' (which the
    /// server applies after them, so the last wins), by name. Names normalized.
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

    /// The server's white space in `options` (C's isspace, byte by byte: "\r\n" is two).
    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }

    /// The `-c name=value` and `--name=value` pairs of an `options` string, read byte by
    /// byte as the server's pg_split_opts reads it.
    public static func options(_ s: String) -> [(name: String, value: String)] {
        var words: [String] = [], word: [UInt8] = [], escaped = false
        for b in s.utf8 {
            if escaped { word.append(b); escaped = false; continue }
            if b == UInt8(ascii: "\\") { escaped = true; continue }
            if isSpace(b) { if !word.isEmpty { words.append(String(decoding: word, as: UTF8.self)); word = [] }; continue }
            word.append(b)
        }
        if !word.isEmpty { words.append(String(decoding: word, as: UTF8.self)) }
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

    /// A value escaped for `-c name=value` in `options`: a backslash before every
    /// backslash and every byte the server splits on.
    public static func escaped(_ value: String) -> String {
        var out: [UInt8] = []
        for b in value.utf8 {
            if b == UInt8(ascii: "\\") || isSpace(b) { out.append(UInt8(ascii: "\\")) }
            out.append(b)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
