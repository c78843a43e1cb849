import HoopJSON

/// API answers (JSON, XML, text) masked by content detection without breaking their
/// structure: only JSON string values, XML text and attribute values are read, never
/// keys, element or attribute names, so that the SDK can still parse what it gets.
extension Masker {
    public func maskDocument(_ body: String, contentType: String?) -> MaskResult {
        let type = (contentType ?? "").lowercased()
        let head = body.drop(while: { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }).first
        if type.contains("json") || (!type.contains("xml") && (head == "{" || head == "[")) {
            if let doc = try? JSON.parse(body) {
                var counts: [String: Int] = [:]
                let masked = maskJSON(doc, &counts)
                return counts.isEmpty ? MaskResult(value: body, counts: [:]) : MaskResult(value: masked.encodedString, counts: counts)
            }
        }
        if type.contains("xml") || head == "<" {
            return maskXML(body)
        }
        return maskText(body)
    }

    func maskJSON(_ v: JSON, _ counts: inout [String: Int]) -> JSON {
        switch v {
        case .string(let s):
            let r = maskText(s)
            for (k, n) in r.counts { counts[k, default: 0] += n }
            return r.counts.isEmpty ? v : .string(r.value ?? "")
        case .array(let a):
            return .array(a.map { maskJSON($0, &counts) })
        case .object(let o):
            return .object(o.mapValues { maskJSON($0, &counts) })
        default:
            return v
        }
    }

    /// Text between tags, in comments and CDATA, and quoted attribute values; element and
    /// attribute names and namespaces as they are.
    func maskXML(_ body: String) -> MaskResult {
        var out = ""
        out.reserveCapacity(body.utf8.count)
        var counts: [String: Int] = [:]
        let s = Array(body.unicodeScalars)
        var i = 0
        func masked(_ text: String) -> String {
            guard !text.isEmpty else { return text }
            let r = maskText(text)
            for (k, n) in r.counts { counts[k, default: 0] += n }
            return r.counts.isEmpty ? text : (r.value ?? "")
        }
        func starts(_ p: String, at k: Int) -> Bool {
            let ps = Array(p.unicodeScalars)
            return k + ps.count <= s.count && Array(s[k..<(k + ps.count)]) == ps
        }
        while i < s.count {
            if s[i] == "<" {
                // CDATA and comments carry text too; declarations and names are markup.
                if let (open, close) = [("<!--", "-->"), ("<![CDATA[", "]]>")].first(where: { starts($0.0, at: i) }) {
                    let from = i + open.unicodeScalars.count
                    var j = from
                    while j < s.count && !starts(close, at: j) { j += 1 }
                    out += open + masked(String(String.UnicodeScalarView(s[from..<min(j, s.count)]))) + close
                    i = j + close.unicodeScalars.count
                    continue
                }
                var j = i
                var quote: Unicode.Scalar? = nil
                var valueStart = 0
                var attributeName = ""
                while j < s.count {
                    let c = s[j]
                    if let q = quote {
                        if c == q {
                            // A namespace is the document's vocabulary, not data.
                            let value = String(String.UnicodeScalarView(s[valueStart..<j]))
                            out += attributeName.hasPrefix("xmlns") ? value : masked(value)
                            out.unicodeScalars.append(c)
                            quote = nil
                        }
                    } else {
                        out.unicodeScalars.append(c)
                        if c == "\"" || c == "'" { quote = c; valueStart = j + 1 }
                        else if c == " " || c == "\t" || c == "\n" { attributeName = "" }
                        else if c != "=" { attributeName.unicodeScalars.append(c) }
                        if c == ">" { break }
                    }
                    j += 1
                }
                i = j + 1
            } else {
                var j = i
                while j < s.count && s[j] != "<" { j += 1 }
                out += masked(String(String.UnicodeScalarView(s[i..<j])))
                i = j
            }
        }
        return counts.isEmpty ? MaskResult(value: body, counts: [:]) : MaskResult(value: out, counts: counts)
    }
}
