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
    /// attribute names and namespaces as they are. Only a body that reads as XML is read
    /// this way (tags of names and `name="value"` attributes, the declaration only first):
    /// anything else is masked whole as text, so that no text can pass as markup.
    /// `rules`: field rules by element (or attribute) name: such a text is masked whole.
    func maskXML(_ body: String, rules: FieldRules = FieldRules([])) -> MaskResult {
        readXML(body, rules: rules, digests: false) ?? maskText(body)
    }

    /// The XML reading of `maskXML`; nil when the body does not read as XML (then it is
    /// text: masked whole by content detection, or refused where field rules apply).
    /// `digests`: the service's digests of a resource the policy names are redacted (FieldWalk.digests).
    /// `pairs`: the model's name/value pairs of the answer (AWSCallContext.pairs).
    func readXML(_ body: String, rules: FieldRules, digests: Bool, pairs: [String: Set<String>] = [:]) -> MaskResult? {
        let s = Array(body.unicodeScalars)
        // Name/value pairs whose name says credential (CredentialValues), as sibling
        // elements: found by a first reading, since the value may come before its name.
        var hidden: Set<Int> = []
        if body.range(of: "value", options: .caseInsensitive) != nil {
            var tree: XMLTree? = XMLTree()
            guard xmlPass(s, body, rules: rules, digests: digests, hidden: [], tree: &tree) != nil, let tree else { return nil }
            hidden = tree.credentialValues(pairs)
        }
        var none: XMLTree? = nil
        return xmlPass(s, body, rules: rules, digests: digests, hidden: hidden, tree: &none)
    }

    /// One reading of readXML: with `tree`, its elements and their text only (nothing
    /// masked); without, the answer masked, the text in the elements `hidden` (by order of
    /// opening) redacted.
    private func xmlPass(_ s: [Unicode.Scalar], _ body: String, rules: FieldRules, digests: Bool, hidden: Set<Int>,
                         tree: inout XMLTree?) -> MaskResult? {
        var out = ""
        out.reserveCapacity(body.utf8.count)
        var counts: [String: Int] = [:]
        var elements: [String] = []   // the elements the text is in
        var open: [Int] = [], opened = 0   // their order of opening; how many were opened
        func masked(_ a: Int, _ b: Int, name: String? = nil) -> String {
            let text = String(String.UnicodeScalarView(s[a..<b]))
            guard !text.isEmpty else { return text }
            if tree != nil {
                if name == nil, let e = open.last { tree?.text[e] += XMLText.unescaped(text) }
                return text
            }
            if name == nil, !hidden.isEmpty, open.contains(where: hidden.contains), !text.allSatisfy(\.isWhitespace) {
                counts["SECRET", default: 0] += 1
                return "[REDACTED]"
            }
            if digests, name == nil, let e = elements.last, FieldWalk.isDigest(e.split(separator: ":").last.map(String.init) ?? e),
               !text.allSatisfy(\.isWhitespace) {
                counts["DIGEST", default: 0] += 1
                return "[REDACTED]"
            }
            if !rules.isEmpty, let rule = xmlRule(name), !rule.keeps, !text.allSatisfy(\.isWhitespace) {
                counts[rule.label, default: 0] += 1
                return rule.strategy.text(for: Array(text.utf8)[...], marker: "[REDACTED]")
            }
            // Read as the client will: character references decoded (`385&#45;89&#45;7453` is
            // an SSN); what is masked is written back escaped.
            let decoded = XMLText.unescaped(text)
            let r = maskText(decoded, key: name ?? elements.last)   // `<Size>8004714115</Size>` is a size
            for (k, n) in r.counts { counts[k, default: 0] += n }
            if r.counts.isEmpty { return text }
            return decoded == text ? (r.value ?? "") : Self.xmlEscaped(r.value ?? "")
        }
        /// The rule of an attribute (`name`), else of the innermost open element a rule names:
        /// a ruled element is masked whole, whatever elements it holds.
        func xmlRule(_ attribute: String?) -> FieldRule? {
            // By local names: `<p:mrn>` is an `mrn`, whatever its namespace's prefix.
            func local(_ n: String) -> String { n.split(separator: ":").last.map(String.init) ?? n }
            let path = elements.map(local)
            if let attribute { return rules.rule(local(attribute), (path + [local(attribute)]).map { PathKey.member($0) }) }
            for k in stride(from: path.count - 1, through: 0, by: -1) {
                if let r = rules.rule(path[k], path[...k].map { PathKey.member($0) }) { return r }
            }
            return nil
        }
        func starts(_ p: String, at k: Int) -> Bool {
            var k = k
            for c in p.unicodeScalars { guard k < s.count, s[k] == c else { return false }; k += 1 }
            return true
        }
        func isNameStart(_ c: Unicode.Scalar) -> Bool { c.properties.isAlphabetic || c == "_" || c == ":" }
        func isName(_ c: Unicode.Scalar) -> Bool { isNameStart(c) || c.properties.numericType != nil || c == "-" || c == "." }
        func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" }
        var i = 0
        if starts("<?xml", at: 0) {
            // The declaration: names and quoted values only, copied as they are.
            guard let end = (0..<s.count).first(where: { starts("?>", at: $0) }) else { return nil }
            out += String(String.UnicodeScalarView(s[0..<(end + 2)]))
            i = end + 2
        }
        while i < s.count {
            guard s[i] == "<" else {
                var j = i
                while j < s.count && s[j] != "<" { j += 1 }
                out += masked(i, j)
                i = j
                continue
            }
            if let (open, close) = [("<!--", "-->"), ("<![CDATA[", "]]>")].first(where: { starts($0.0, at: i) }) {
                let from = i + open.unicodeScalars.count
                var j = from
                while j < s.count && !starts(close, at: j) { j += 1 }
                guard j < s.count else { return nil }
                out += open + masked(from, j) + close
                i = j + close.unicodeScalars.count
                continue
            }
            // A tag: `</name>`, or `<name` then attributes `name="value"`, then `>` or `/>`.
            var j = i + 1
            let closing = j < s.count && s[j] == "/"
            if closing { j += 1 }
            guard j < s.count, isNameStart(s[j]) else { return nil }
            let elementStart = j
            while j < s.count && isName(s[j]) { j += 1 }
            let element = String(String.UnicodeScalarView(s[elementStart..<j]))
            out += String(String.UnicodeScalarView(s[i..<j]))
            let me = opened
            if !closing {
                opened += 1
                tree?.add(parent: open.last ?? -1, name: element.split(separator: ":").last.map(String.init) ?? element)
            }
            while true {
                let ws = j
                while j < s.count && isSpace(s[j]) { j += 1 }
                out += String(String.UnicodeScalarView(s[ws..<j]))
                guard j < s.count else { return nil }
                if s[j] == ">" {
                    out += ">"; j += 1
                    if closing {
                        if elements.last == element { elements.removeLast(); open.removeLast() }
                    } else { elements.append(element); open.append(me) }
                    break
                }
                if !closing, s[j] == "/", j + 1 < s.count, s[j + 1] == ">" { out += "/>"; j += 2; break }
                guard !closing, j > ws, isNameStart(s[j]) else { return nil }
                let nameStart = j
                while j < s.count && isName(s[j]) { j += 1 }
                let name = String(String.UnicodeScalarView(s[nameStart..<j]))
                guard j + 1 < s.count, s[j] == "=", s[j + 1] == "\"" || s[j + 1] == "'" else { return nil }
                let quote = s[j + 1]
                let valueStart = j + 2
                var k = valueStart
                while k < s.count && s[k] != quote { k += 1 }
                guard k < s.count else { return nil }
                // A namespace is the document's vocabulary, not data.
                let value = name.hasPrefix("xmlns") ? String(String.UnicodeScalarView(s[valueStart..<k])) : masked(valueStart, k, name: name)
                out += name + "=" + String(quote) + value + String(quote)
                j = k + 1
            }
            i = j
        }
        return counts.isEmpty ? MaskResult(value: body, counts: [:]) : MaskResult(value: out, counts: counts)
    }
}

/// An XML answer's elements, by order of opening: for finding name/value pairs among
/// siblings (`<member><ParameterKey>…</ParameterKey><ParameterValue>…</ParameterValue>`).
struct XMLTree {
    var parent: [Int] = [], name: [String] = [], text: [String] = []

    mutating func add(parent p: Int, name n: String) { parent.append(p); name.append(n); text.append("") }

    /// The elements that are the value of a pair whose name says credential, read as
    /// CredentialValues reads a JSON structure: an element of elements is one of members,
    /// its text-only children string members (a repeated or nested one is no name).
    func credentialValues(_ pairs: [String: Set<String>]) -> Set<Int> {
        var children: [Int: [Int]] = [:]
        for (i, p) in parent.enumerated() { children[p, default: []].append(i) }
        var out: Set<Int> = []
        for (_, kids) in children where kids.count >= 2 {
            var o: [String: JSON] = [:]
            for k in kids { o[name[k]] = o[name[k]] == nil && children[k] == nil ? .string(text[k]) : .null }
            let values = CredentialValues.valuesNamedCredential(o, pairs: pairs)
            if !values.isEmpty { out.formUnion(kids.filter { values.contains(name[$0]) }) }
        }
        return out
    }
}

extension Masker {
    /// Masks `text`, a piece of a longer text, reading the end of the piece before it
    /// (`context`) too: a label there ("SSN:") still names a value here. Only `text`'s
    /// part is returned; a span that begins in the context is masked from the piece's start.
    public func maskText(_ text: String, context: String) -> MaskResult {
        guard !context.isEmpty else { return maskText(text) }
        let lead = context.utf8.count
        guard let (bytes, spans) = find(context + text) else { return MaskResult(value: text, counts: [:]) }
        let mine = spans.filter { $0.end > lead }.map { DetectedSpan($0.entity, max($0.start, lead) - lead, $0.end - lead) }
        guard !mine.isEmpty else { return MaskResult(value: text, counts: [:]) }
        var counts: [String: Int] = [:]
        for s in mine { counts[s.entity.rawValue, default: 0] += 1 }
        return MaskResult(value: replace(Array(bytes[lead...]), mine), counts: counts)
    }
}

extension Masker {
    static func xmlEscaped(_ text: String) -> String {
        var out = ""
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
