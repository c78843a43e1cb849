import Foundation

/// PostgreSQL error texts that quote data: the value that failed a cast
/// (`invalid input syntax for type integer: "…"`), the key of a unique or foreign-key
/// violation (`Key (mrn)=(…) already exists.`), the row that failed a constraint
/// (`Failing row contains (…).`). Those values are row data whatever content
/// detection makes of them, so they are redacted whole; object names stay readable.
public enum ErrorValues {
    public static let marker = "[REDACTED]"

    static let valueMessages = ["invalid input syntax for ", "invalid input value for ", "date/time field value out of range",
                                "value \"", "malformed array literal", "malformed record literal", "invalid value \"",
                                "time zone displacement out of range", "invalid hexadecimal"]

    /// Errors that only name what the client wrote, never a value a statement computed:
    /// a statement or portal name unknown or taken (26, 34, 42P03, 42P05), a syntax
    /// error (it quotes the request's text), a transaction's state (25), the connection (08).
    public static func namesOnly(_ code: String) -> Bool {
        ["26", "34", "25", "08"].contains { code.hasPrefix($0) } || ["42601", "42P03", "42P05"].contains(code)
    }

    /// The text with its quoted values redacted, and how many were.
    public static func redact(_ text: String) -> (String, Int) {
        var out = text, n = 0
        // message: the value that failed its type's input (casts, literals, parameters).
        // The server does not escape quotes in it: it runs to the last quote.
        if valueMessages.contains(where: { out.hasPrefix($0) }),
           let open = out.firstIndex(of: "\""), let close = out.lastIndex(of: "\""), open < close {
            out.replaceSubrange(out.index(after: open)..<close, with: marker); n += 1
        }
        // where: COPY t, line 3, column c: "value" (the input line's field)
        if out.hasPrefix("COPY "), let col = out.range(of: ", column "),
           let open = out.range(of: ": \"", range: col.upperBound..<out.endIndex), let close = out.lastIndex(of: "\""),
           close >= open.upperBound {
            out.replaceSubrange(open.upperBound..<close, with: marker); n += 1
        }
        // detail: Key (columns)=(values) …, Failing row contains (values). Values may hold
        // parentheses of their own: everything to the last ")" goes.
        for lead in [")=(", "Failing row contains ("] {
            guard let r = out.range(of: lead) else { continue }
            let close = out.lastIndex(of: ")").flatMap { $0 >= r.upperBound ? $0 : nil } ?? out.endIndex
            out.replaceSubrange(r.upperBound..<close, with: marker); n += 1
        }
        return (out, n)
    }

    /// The data-bearing parts of an error text of a statement that reads ruled columns,
    /// whatever their quoting: every double-quoted text, everything after the first
    /// ": " (the value a message names: "date field value out of range: 2000-13-1",
    /// "operator does not exist: …", XML's "line 1: …"), and every word with a digit
    /// ("index 4821 out of valid range", "0xf0 0x9f"). The message's own words stay.
    public static func redactData(_ text: String) -> (String, Int) {
        var (out, n) = redactQuoted(text)
        if let colon = out.range(of: ": "), out[colon.upperBound...].trimmingCharacters(in: ["\""]) != marker {
            out.replaceSubrange(colon.upperBound..., with: marker); n += 1
        }
        var words: [Substring] = []
        for word in out.split(separator: " ", omittingEmptySubsequences: false) {
            if word.contains(where: \.isNumber) && !word.contains(marker) {
                // Keep the punctuation around it readable: "(4821)" -> "([REDACTED])".
                let lead = word.prefix { !$0.isLetter && !$0.isNumber }
                let tail = word.reversed().prefix { !$0.isLetter && !$0.isNumber }
                words.append(Substring(String(lead) + marker + String(tail.reversed()))); n += 1
            } else {
                words.append(word)
            }
        }
        return (words.joined(separator: " "), n)
    }

    /// Every double-quoted text redacted.
    public static func redactQuoted(_ text: String) -> (String, Int) {
        var out = "", n = 0
        var inside = false
        for ch in text {
            if ch == "\"" {
                if inside { out += marker; n += 1 }
                inside.toggle()
                out.append(ch)
            } else if !inside {
                out.append(ch)
            }
        }
        if inside { out += marker; n += 1 }
        return (out, n)
    }
}
