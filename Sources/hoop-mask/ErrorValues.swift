/// PostgreSQL error texts that quote data: the value that failed a cast
/// (`invalid input syntax for type integer: "…"`), the key of a unique or foreign-key
/// violation (`Key (mrn)=(…) already exists.`), the row that failed a constraint
/// (`Failing row contains (…).`). Those values are row data whatever content
/// detection makes of them, so they are redacted whole; object names stay readable.
enum ErrorValues {
    static let marker = "[REDACTED]"

    static let valueMessages = ["invalid input syntax for ", "invalid input value for ", "date/time field value out of range",
                                "value \"", "malformed array literal", "malformed record literal", "invalid value \"",
                                "time zone displacement out of range", "invalid hexadecimal"]

    /// The text with its quoted values redacted, and how many were.
    static func redact(_ text: String) -> (String, Int) {
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

    /// Every double-quoted text redacted (for an error of a statement that reads ruled columns).
    static func redactQuoted(_ text: String) -> (String, Int) {
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
