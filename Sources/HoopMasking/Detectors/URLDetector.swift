/// URLs: http(s)://, ftp:// and www. prefixes, up to whitespace or a quote/angle
/// bracket, with trailing sentence punctuation trimmed.
public struct URLDetector: Detector {
    public var entities: [Entity] { [.url] }
    static let prefixes = Scan.words(["https://", "http://", "ftp://", "www."])
    public init() {}

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        var i = 0
        while i < n {
            let c = lower(t[i])
            guard c == ch("h") || c == ch("w") || c == ch("f"), Scan.leftBoundary(t, i) else { i += 1; continue }
            var matched = 0
            for p in Self.prefixes where i + p.count <= n {
                var ok = true
                for k in 0..<p.count where lower(t[i + k]) != p[k] { ok = false; break }
                if ok { matched = p.count; break }
            }
            guard matched > 0 else { i += 1; continue }
            var e = i + matched
            while e < n, t[e] > 0x20, t[e] != ch("\""), t[e] != ch("<"), t[e] != ch(">"), t[e] != ch("'"), t[e] != 0x7F { e += 1 }
            while e > i + matched, [ch("."), ch(","), ch(";"), ch(":"), ch("!"), ch("?"), ch(")"), ch("]"), ch("}")].contains(t[e - 1]) { e -= 1 }
            if e > i + matched + 2, !Self.namespace(t, i) { spans.append(DetectedSpan(.url, i, e)) }
            i = max(e, i + 1)
        }
    }
}

extension URLDetector {
    /// A URL under a `system` or `profile` key names a code system, an identifier's
    /// namespace or a profile (FHIR's `"system": "http://loinc.org"`, `"profile":
    /// ["http://hl7.org/fhir/us/core/..."]`), never a person's page: a patient's own URL
    /// is a telecom's `value`.
    static func namespace(_ t: [UInt8], _ i: Int) -> Bool {
        guard let key = Scan.keyBefore(t, i) else { return false }
        return namespaceKeys.contains(Scan.hashLower(t, key.lowerBound, key.upperBound))
    }
    static let namespaceKeys: Set<UInt64> = [Scan.hashLower("system"), Scan.hashLower("profile")]

    /// http(s):// and ftp:// need a word starting h or f and "://"; www. a word
    /// starting "www.".
    static let schemeInitials = ScanProfile.letters("hf")
    public func mayMatch(_ p: ScanProfile) -> Bool {
        p.initials & Self.schemeInitials != 0 && p.schemeSeparator || p.www
    }
}
