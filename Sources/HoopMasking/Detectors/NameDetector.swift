/// Person names in text, by three rules on capitalised tokens:
/// 1. a title (Mr., Mrs., Ms., Mx., Dr., Miss) or a context word (patient, name:, pt,
///    son/daughter/wife/husband of ...) before it: the next one or two capitalised
///    tokens are a name;
/// 2. a token from the embedded given-name list, plus the capitalised token after it
///    (the surname) if there is one;
/// 3. a token from the embedded surname list.
/// Lists only reach common names; rule 1 is what catches unusual ones. Recall on names
/// outside the lists and without context is low, and docs/masking.md says so.
public struct NameDetector: Detector {
    public var entities: [Entity] { [.personName] }
    static let titles: Set<UInt64> = Set(["mr", "mrs", "ms", "mx", "dr", "miss", "prof"].map(Scan.hashLower))
    static let contextWords: Set<UInt64> = Set(["patient", "pt", "name", "named", "son", "daughter", "wife", "husband",
                                                "mother", "father", "spouse", "sister", "brother", "guardian", "caregiver",
                                                "nurse", "physician", "provider", "contact", "attending"].map(Scan.hashLower))
    /// Capitalised words that are not names even when they follow a context word.
    static let notNames: Set<UInt64> = Set(["the", "a", "an", "is", "was", "has", "and", "or", "of", "in", "on", "at",
                                            "with", "for", "to", "by", "from", "he", "she", "they", "his", "her", "this",
                                            "that", "who", "not", "no", "yes", "unknown", "none", "md", "do", "rn", "np",
                                            "pa", "phd", "jr", "sr", "ii", "iii", "hospital", "clinic", "center",
                                            "medical", "department", "emergency", "denies", "reports", "states",
                                            "called", "seen", "record", "reached", "will", "has"].map(Scan.hashLower))
    public init() {}

    struct Token { let start: Int; let end: Int; let capital: Bool; let gapBefore: Int }

    static func tokens(_ t: [UInt8]) -> [Token] {
        var out: [Token] = []
        let n = t.count
        var i = 0, prevEnd = 0
        while i < n {
            guard isAlpha(t[i]), Scan.leftBoundary(t, i) else { i += 1; continue }
            var e = i
            // Letters, with internal apostrophes/hyphens before a capital (O'Brien, Smith-Jones).
            while e < n, isAlpha(t[e]) || (t[e] == ch("'") || t[e] == ch("-")) && e + 1 < n && isUpper(t[e + 1]) { e += 1 }
            let cap = isUpper(t[i]) && (e - i == 1 || t[(i + 1)..<e].contains(where: isLower))
            out.append(Token(start: i, end: e, capital: cap, gapBefore: i - prevEnd))
            prevEnd = e
            i = e
        }
        return out
    }

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let toks = Self.tokens(t)
        var k = 0
        while k < toks.count {
            let tok = toks[k]
            let h = Scan.hashLower(t, tok.start, tok.end)
            // Rule 1: title or context word, then capitalised tokens.
            // "Dr, Salem" is a street suffix before a city, not a title: a title is
            // followed by ".", " " or "/" (Mr./Ms.), never a comma.
            let after = tok.end < t.count ? t[tok.end] : 0
            if Self.titles.contains(h) && (after == ch(".") || after == ch(" ") || after == ch("/")) || Self.contextWords.contains(h) {
                if let (start, end, next) = nameAfter(t, toks, k + 1) {
                    spans.append(DetectedSpan(.personName, start, end)); k = next; continue
                }
            }
            guard tok.capital, tok.end - tok.start >= 2 else { k += 1; continue }
            if NameLists.firstSet.contains(h) {
                var end = tok.end, next = k + 1
                if next < toks.count, adjacent(t, toks, next), toks[next].capital,
                   !Self.notNames.contains(Scan.hashLower(t, toks[next].start, toks[next].end)) {
                    end = toks[next].end; next += 1
                }
                spans.append(DetectedSpan(.personName, tok.start, end)); k = next; continue
            }
            if NameLists.lastSet.contains(h) {
                spans.append(DetectedSpan(.personName, tok.start, tok.end))
            }
            k += 1
        }
    }

    /// Token `k` follows token `k-1` with only a space (or ". " after an initial) between.
    func adjacent(_ t: [UInt8], _ toks: [Token], _ k: Int) -> Bool {
        let gap = toks[k].gapBefore
        guard gap >= 1, gap <= 2 else { return false }
        let s = toks[k].start
        return t[s - 1] == ch(" ") && (gap == 1 || t[s - 2] == ch(".") || t[s - 2] == ch(","))
    }

    /// One or two capitalised, non-stopword tokens starting at `k` after a title or a
    /// context word (which may be followed by ".", ":", "/" or a second title).
    func nameAfter(_ t: [UInt8], _ toks: [Token], _ k: Int) -> (Int, Int, Int)? {
        var k = k
        // "Mr./Ms. Smith": skip a second title.
        if k < toks.count, Self.titles.contains(Scan.hashLower(t, toks[k].start, toks[k].end)), toks[k].gapBefore <= 2 { k += 1 }
        guard k < toks.count, toks[k].gapBefore <= 3, toks[k].capital,
              !Self.notNames.contains(Scan.hashLower(t, toks[k].start, toks[k].end)) else { return nil }
        var end = toks[k].end, next = k + 1
        if next < toks.count, adjacent(t, toks, next), toks[next].capital,
           !Self.notNames.contains(Scan.hashLower(t, toks[next].start, toks[next].end)) {
            end = toks[next].end; next += 1
        }
        return (toks[k].start, end, next)
    }
}
