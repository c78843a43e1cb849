/// XML text as an answer carries it: one rule for the masker's reading of an answer and
/// the AWS door's reading of its page tokens.
public enum XMLText {
    /// XML's predefined entities and character references, decoded; anything else as it is.
    public static func unescaped(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = "", rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let after = rest[rest.index(after: amp)...]
            guard let semi = after.prefix(12).firstIndex(of: ";") else { out += "&"; rest = after; continue }
            let name = after[..<semi]
            var scalar: Unicode.Scalar?
            switch name {
            case "lt": scalar = "<"
            case "gt": scalar = ">"
            case "amp": scalar = "&"
            case "quot": scalar = "\""
            case "apos": scalar = "'"
            default:
                if name.hasPrefix("#x") || name.hasPrefix("#X") { scalar = UInt32(name.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init) }
                else if name.hasPrefix("#") { scalar = UInt32(name.dropFirst()).flatMap(Unicode.Scalar.init) }
            }
            if let scalar { out.unicodeScalars.append(scalar); rest = after[after.index(after: semi)...] }
            else { out += "&"; rest = after }
        }
        return out + rest
    }
}
