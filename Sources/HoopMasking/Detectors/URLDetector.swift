/// URLs: http(s)://, ftp:// and www. prefixes, up to whitespace or a quote/angle
/// bracket, with trailing sentence punctuation trimmed. Without a scheme, a host name
/// before a path is a URL all the same (`portal.example.com/p?id=…`,
/// `example-clinic.org/patients/123`): two or more labels whose last is a top-level
/// domain IANA delegates (of two labels, a common one or a country's code:
/// TopLevelDomains), a port allowed, then `/` and a path; not
/// inside a path or after `.`, `@`, `:` (an ARN's `:::bucket/key`), `-` or `_`. A bare
/// host without a path (`mydb.abc.rds.amazonaws.com`, a service's endpoint) is none.
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
        schemeless(t, into: &spans)
    }

    /// Where a URL's rest ends from `p`: whitespace, a quote or an angle bracket, trailing
    /// sentence punctuation trimmed.
    static func urlEnd(_ t: [UInt8], _ p: Int) -> Int {
        var e = p
        while e < t.count, t[e] > 0x20, t[e] != ch("\""), t[e] != ch("<"), t[e] != ch(">"), t[e] != ch("'"), t[e] != 0x7F { e += 1 }
        while e > p, [ch("."), ch(","), ch(";"), ch(":"), ch("!"), ch("?"), ch(")"), ch("]"), ch("}")].contains(t[e - 1]) { e -= 1 }
        return e
    }

    /// Host names before a path, found from each `/`: the host is walked back from it
    /// once (never past the previous `/`), so the scan is linear.
    func schemeless(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        var floor = 0, p = 0
        while p < n {
            // A path, a query or a fragment after the host (`…org/p`, `…org:8443?mrn=…`, `…org#/p/1`).
            guard t[p] == ch("/") || t[p] == ch("?") || t[p] == ch("#"), p > floor, p + 1 < n else { p += 1; continue }
            var e = p
            // A port: ":8443/".
            var d = p
            while d > floor, isDigit(t[d - 1]), p - d < 5 { d -= 1 }
            if d < p, d > floor, t[d - 1] == ch(":") { e = d - 1 }
            var s = e
            while s > floor {
                let c = t[s - 1]
                if isAlnum(c) || c == ch("-") || c == ch(".") { s -= 1 }
                else if c >= 0x80, let k = EmailDetector.wordCharBefore(t, s), k >= floor { s = k }
                else { break }
            }
            floor = p + 1
            // Scheme-relative (`//host.example.org/p`): `//` at a word's start, not a path's or a scheme's.
            let relative = s >= 2 && t[s - 1] == ch("/") && t[s - 2] == ch("/") && (s == 2 || !Scan.isWordByte(t[s - 3]) && !Self.hostGlue.contains(t[s - 3]))
            guard s < e, s == 0 || relative || !Self.hostGlue.contains(t[s - 1]), Self.hostName(t, s, e), !Self.namespace(t, s) else { p += 1; continue }
            let end = Self.urlEnd(t, p)
            guard end > p + 1, !Self.shorthand(t, s, e, p, end) else { p += 1; continue }
            spans.append(DetectedSpan(.url, relative ? s - 2 : s, end))
            floor = end
            p = end
        }
    }

    /// Clinical shorthand shaped like a host and a path (`HTN.DM/CKD`, `Pt.ID/MRN`): two
    /// labels of at most five ASCII letters, the first in capitals or of two letters
    /// capitalised (`Pt`, `Dx`: a surname, `Doe.ME/CV`, is a site), the last (a country's
    /// code in shape) in capitals, then one segment of at most six capitals and nothing
    /// more. A host is written so rarely; abbreviations joined by `.` and `/` often.
    static func shorthand(_ t: [UInt8], _ s: Int, _ e: Int, _ p: Int, _ end: Int) -> Bool {
        guard p == e, t[p] == ch("/"), let dot = t[s..<e].firstIndex(of: ch(".")), dot - s <= 5, e - dot - 1 <= 5,
              isUpper(t[s]), t[s..<dot].allSatisfy(isAlpha), dot - s <= 2 || t[s..<dot].allSatisfy(isUpper),
              t[(dot + 1)..<e].allSatisfy(isUpper) else { return false }
        return end - p - 1 <= 6 && t[(p + 1)..<end].allSatisfy(isUpper)
    }

    /// What before a host makes it part of something else: a path's `/`, a longer name's
    /// `.`, `-` or `_`, an address's `@`, an ARN's or a scheme's `:`, an escape.
    static let hostGlue: Set<UInt8> = [ch("/"), ch("."), ch("@"), ch(":"), ch("-"), ch("_"), ch("\\"), ch("%"), ch("~"), ch("#")]

    /// `a..<b` is a host name: two or more labels of letters, digits and `-` (any script),
    /// none empty or starting or ending with `-`, at most 63 bytes each, the last a
    /// top-level domain (of two labels, a common one or a country's: TopLevelDomains).
    static func hostName(_ t: [UInt8], _ a: Int, _ b: Int) -> Bool {
        var labels = 0, start = a, k = a
        while k <= b {
            if k == b || t[k] == ch(".") {
                guard k > start, k - start <= 63, t[start] != ch("-"), t[k - 1] != ch("-") else { return false }
                labels += 1
                if k == b {
                    return labels >= 3 && TopLevelDomains.contains(t, start, b)
                        || labels == 2 && (TopLevelDomains.isCommon(t, start, b) || t[start] >= 0x80 && TopLevelDomains.contains(t, start, b))
                }
                start = k + 1
            }
            k += 1
        }
        return false
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
    /// starting "www."; a host before a path a dot and a slash.
    static let schemeInitials = ScanProfile.letters("hf")
    public func mayMatch(_ p: ScanProfile) -> Bool {
        // `?` and `#` after a host are not counted: a dot is, and the scan finds them.
        p.initials & Self.schemeInitials != 0 && p.schemeSeparator || p.www || p.dots > 0
    }
}
