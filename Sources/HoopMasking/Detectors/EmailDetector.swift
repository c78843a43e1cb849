/// E-mail addresses: local part, @, a dotted domain whose last label is a top-level
/// domain's shape. Found by locating each '@' and growing outwards, so the cost is linear.
///
/// One rule for every spelling: the local part and the domain's labels are letters and
/// digits of any script (`josé.müller@exämple.de`, `用户@例子.公司`) with the usual
/// punctuation (`jane+tag@`, `o'brien@`, subdomains), or the local part is quoted (`"john doe"@`,
/// `\"…\"` inside a JSON string); the last label is two or more letters, or punycode
/// (`xn--…`). An address written out for people to read back (`jane [at] example [dot]
/// com`, `jane(at)example.org`, `jane at example dot com`) is one when its end is a
/// top-level domain: IANA's after a bracketed "at" or "dot"; after a bare " at " and
/// " dot " words only a generic one (com, org, net, edu, gov, …, optionally a country's
/// code after it), and not after a determiner ("the dot com era").
public struct EmailDetector: Detector {
    public var entities: [Entity] { [.email] }
    public init() {}

    @inline(__always) static func isLocal(_ c: UInt8) -> Bool {
        isAlnum(c) || c == ch(".") || c == ch("_") || c == ch("%") || c == ch("+") || c == ch("-")
    }

    /// A letter, digit or mark of any script starts at the non-ASCII byte `i`: its length.
    /// Punctuation, spaces and symbols (`。`, `，`, a no-break space) are none.
    static func wordChar(_ t: [UInt8], _ i: Int) -> Int? {
        guard t[i] >= 0xC0, let (s, len) = Scan.scalar(t, i) else { return nil }
        let p = s.properties
        switch p.generalCategory {
        case .decimalNumber, .nonspacingMark, .spacingMark: return len
        default: return p.isAlphabetic ? len : nil
        }
    }

    /// Where the non-ASCII letter, digit or mark ending right before `i` starts.
    static func wordCharBefore(_ t: [UInt8], _ i: Int) -> Int? {
        var k = i - 1
        while k > 0, i - k < 4, t[k] & 0xC0 == 0x80 { k -= 1 }
        guard let len = wordChar(t, k), k + len == i else { return nil }
        return k
    }

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        var i = 0
        var floor = 0   // never grow left past the previous match
        let first = spans.count
        while i < n {
            let at = Self.atSign(t, i)
            guard at > 0 else { i += 1; continue }
            var s = i
            if let q = Self.quotedLocal(t, i, floor) {
                s = q
            } else {
                while s > floor {
                    if t[s - 1] < 0x80 {
                        // An apostrophe between letters (`o'brien@`), not a quote around the address.
                        guard Self.isLocal(t[s - 1]) || t[s - 1] == ch("'") && s - 2 >= floor && isAlnum(t[s - 2]) && s < i && isAlnum(t[s]) else { break }
                        s -= 1
                    }
                    else if let k = Self.wordCharBefore(t, s), k >= floor { s = k }
                    else { break }
                }
                while s < i, t[s] == ch(".") { s += 1 }
            }
            let (e, lastDot, dotLength) = Self.domain(t, i + at)
            if s < i, lastDot > i + at, Self.topLevel(t, lastDot + dotLength, e) {
                spans.append(DetectedSpan(.email, s, e))
                floor = e
                i = e
            } else if let (s, e) = Self.spaced(t, i, at, floor) {
                spans.append(DetectedSpan(.email, s, e))
                floor = e
                i = e
            } else {
                i += 1
            }
        }
        obfuscated(t, into: &spans, found: first..<spans.count)
    }

    /// An at sign at `i`: `@`, or a form of it that reads the same (full-width `＠`,
    /// small `﹫`, an HTML entity `&#64;`, `&#x40;`, `&commat;` as a page's source has
    /// it). Its length in bytes, 0 if none.
    @inline(__always) static func atSign(_ t: [UInt8], _ i: Int) -> Int {
        if t[i] == ch("@") { return 1 }
        if t[i] == ch("&") { return entityAt(t, i) }
        guard t[i] == 0xEF, i + 2 < t.count else { return 0 }
        return t[i + 1] == 0xBC && t[i + 2] == 0xA0 || t[i + 1] == 0xB9 && t[i + 2] == 0xAB ? 3 : 0
    }

    /// The length of an HTML entity for `@` at `i` (`&#64;`, `&#064;`, `&#x40;`, `&commat;`, any case), 0 if none.
    static func entityAt(_ t: [UInt8], _ i: Int) -> Int {
        for form in entityForms where i + form.count <= t.count {
            var k = 0
            while k < form.count && t[i + k] | (isAlpha(t[i + k]) ? 0x20 : 0) == form[k] { k += 1 }
            if k == form.count { return k }
        }
        return 0
    }
    static let entityForms: [[UInt8]] = ["&#64;", "&#064;", "&#x40;", "&#x0040;", "&commat;"].map { Array($0.utf8) }

    /// A dot between a domain's labels at `e`: `.`, a full-width `．`, or an ideographic
    /// `。` / `｡` before an ASCII letter or digit (`example。com`; not a sentence's end).
    /// Its length in bytes, 0 if none.
    @inline(__always) static func dotAt(_ t: [UInt8], _ e: Int) -> Int {
        let n = t.count
        if t[e] == ch(".") { return 1 }
        guard e + 3 < n else { return 0 }
        if t[e] == 0xEF, t[e + 1] == 0xBC, t[e + 2] == 0x8E { return 3 }
        if t[e] == 0xE3 && t[e + 1] == 0x80 && t[e + 2] == 0x82 || t[e] == 0xEF && t[e + 1] == 0xBD && t[e + 2] == 0xA1 {
            return isAlnum(t[e + 3]) ? 3 : 0
        }
        return 0
    }

    /// The domain's labels from `p`: where they end, the last dot's offset (-1: none) and its length.
    static func domain(_ t: [UInt8], _ p: Int) -> (Int, Int, Int) {
        let n = t.count
        var e = p, lastDot = -1, dotLength = 1
        while e < n {
            let c = t[e]
            if isAlnum(c) || c == ch("-") { e += 1; continue }
            if c == ch(".") || c >= 0xE3, case let d = dotAt(t, e), d > 0, e + d < n, isAlnum(t[e + d]) || wordChar(t, e + d) != nil {
                lastDot = e; dotLength = d; e += d; continue
            }
            if c >= 0xC0, let len = wordChar(t, e) { e += len; continue }
            break
        }
        return (e, lastDot, dotLength)
    }

    /// The last label `a..<b` of an address's domain: two or more letters (of any one
    /// script), or an internationalised TLD's punycode (`xn--p1ai`).
    static func topLevel(_ t: [UInt8], _ a: Int, _ b: Int) -> Bool {
        guard b - a >= 2 else { return false }
        if t[a..<b].allSatisfy(isAlpha) { return true }
        if b - a >= 5, lower(t[a]) == ch("x"), lower(t[a + 1]) == ch("n"), t[a + 2] == ch("-"), t[a + 3] == ch("-") {
            return t[(a + 4)..<b].allSatisfy { isAlnum($0) || $0 == ch("-") }
        }
        return b - a >= 4 && t[a..<b].allSatisfy { $0 >= 0x80 }
    }

    /// A quoted local part ending right before the `@` at `i` (`"john doe"@`, or `\"john
    /// doe\"@` inside a JSON string): where its opening quote (or backslash) starts. Its
    /// text is 1–64 printable characters with a letter or digit, and none of a JSON
    /// document's own (`"`, `\`, `{`, `}`, `[`, `]`, `:`, `,`), so that a span never takes
    /// a document's quotes.
    static func quotedLocal(_ t: [UInt8], _ i: Int, _ floor: Int) -> Int? {
        guard i >= 3, t[i - 1] == ch("\"") else { return nil }
        let escaped = t[i - 2] == ch("\\")
        let close = escaped ? i - 2 : i - 1
        var k = close - 1, word = false
        while k >= max(floor, close - 64) {
            let c = t[k]
            if c == ch("\"") {
                let open = escaped ? k - 1 : k
                guard word, !escaped || k >= 1 && t[k - 1] == ch("\\"), open >= floor,
                      open == 0 || !Scan.isWordByte(t[open - 1]) else { return nil }
                return open
            }
            guard c >= 0x20, c != 0x7F, c != ch("\\"), c != ch("{"), c != ch("}"), c != ch("["), c != ch("]"),
                  c != ch(":"), c != ch(",") else { return nil }
            if isAlnum(c) || c >= 0x80 { word = true }
            k -= 1
        }
        return nil
    }

    // MARK: addresses written out ("jane at example dot com")

    static let generic: Set<UInt64> = Set(["com", "org", "net", "edu", "gov", "mil", "int", "info", "biz", "io"].map(Scan.hashLower))
    /// Second-level labels under a country's code ("co dot uk", "com dot mx", "ac dot jp").
    static let secondLevel: Set<UInt64> = generic.union(["co", "ac", "gob", "gouv", "nhs", "or", "ne", "go"].map(Scan.hashLower))
    static let determiners: Set<UInt64> = Set(["the", "a", "an", "this", "that", "these", "those", "my", "your", "his", "her",
                                               "our", "their", "its", "no", "one", "each", "every", "some", "any"].map(Scan.hashLower))

    /// A bracketed word (`[at]`, `(dot)`, `{at}`, `<dot>`) at `p`, with single spaces
    /// around it allowed: where it ends, or nil.
    static func bracketed(_ t: [UInt8], _ p: Int, _ word: [UInt8]) -> Int? {
        let n = t.count
        var q = p
        if q < n, t[q] == ch(" ") { q += 1 }
        guard q + word.count + 2 <= n else { return nil }
        let open = t[q], close: UInt8
        switch open {
        case ch("["): close = ch("]")
        case ch("("): close = ch(")")
        case ch("{"): close = ch("}")
        case ch("<"): close = ch(">")
        default: return nil
        }
        for k in 0..<word.count where lower(t[q + 1 + k]) != word[k] { return nil }
        guard t[q + 1 + word.count] == close else { return nil }
        q += word.count + 2
        if q < n, t[q] == ch(" ") { q += 1 }
        return q
    }

    /// ` at ` / ` dot ` (all lower or all upper case) at `p`: where it ends.
    static func spelled(_ t: [UInt8], _ p: Int, _ word: [UInt8]) -> Int? {
        let n = t.count, e = p + 1 + word.count
        guard e < n, t[p] == ch(" "), t[e] == ch(" ") else { return nil }
        let w = t[(p + 1)..<e]
        guard w.elementsEqual(word) || w.elementsEqual(word.map { $0 - 0x20 }) else { return nil }
        return e + 1
    }

    static let at = Array("at".utf8), dot = Array("dot".utf8)

    /// Addresses written out for a person to read back. Triggered by an "at" word (a
    /// bracket or a space before it), each looked at once: linear.
    /// `found`: the spans the '@' pass made, in order and apart.
    func obfuscated(_ t: [UInt8], into spans: inout [DetectedSpan], found: Range<Int>) {
        // Whether one of them overlaps `s..<end` (a binary search: a long value holds many).
        func overlapsFound(_ s: Int, _ end: Int) -> Bool {
            var lo = found.lowerBound, hi = found.upperBound
            while lo < hi { let mid = (lo + hi) / 2; if spans[mid].end <= s { lo = mid + 1 } else { hi = mid } }
            return lo < found.upperBound && spans[lo].start < end
        }
        let n = t.count
        var i = 1, floor = 0
        while i + 2 < n {
            guard lower(t[i]) == ch("a"), lower(t[i + 1]) == ch("t"), !Scan.isWordByte(t[i - 1]), !Scan.isWordByte(t[i + 2]) else {
                i += 1; continue
            }
            // The marker's start: the bracket or space before "at", and one space before a bracket.
            var m = i - 1
            let bracket = t[m] != ch(" ")
            if bracket, m >= 1, t[m - 1] == ch(" ") { m -= 1 }
            guard let after = bracket ? Self.bracketed(t, m, Self.at) : Self.spelled(t, m, Self.at) else { i += 1; continue }
            // The local part: one word of an address's characters right before the marker.
            var s = m
            while s > floor {
                if t[s - 1] < 0x80 { guard Self.isLocal(t[s - 1]) else { break }; s -= 1 }
                else if let k = Self.wordCharBefore(t, s), k >= floor { s = k }
                else { break }
            }
            while s < m, t[s] == ch(".") { s += 1 }
            guard s < m, s == 0 || !Scan.isWordByte(t[s - 1]) || Scan.leftBoundary(t, s),
                  let (end, lastLabel, prevLabel, firstLabel, spelledDots, bracketDots) = Self.writtenDomain(t, after) else {
                i += 1; continue
            }
            let tld = Scan.hashLower(t, lastLabel.lowerBound, lastLabel.upperBound)
            let ok: Bool
            if bracket || bracketDots > 0 {
                ok = TopLevelDomains.contains(t, lastLabel.lowerBound, lastLabel.upperBound)
            } else {
                // A bare " at ": the dots spelled out too, a generic TLD (or a country's code
                // after a second-level one), and no determiner for a host ("the dot com era").
                let cc = lastLabel.count == 2 && prevLabel.map { Self.secondLevel.contains(Scan.hashLower(t, $0.lowerBound, $0.upperBound)) } == true
                let cased = t[lastLabel].allSatisfy(isLower) || t[lastLabel].allSatisfy(isUpper)
                ok = spelledDots > 0 && (Self.generic.contains(tld) || cc)
                    && !Self.determiners.contains(Scan.hashLower(t, firstLabel.lowerBound, firstLabel.upperBound)) && cased
                    // "jane at example.com": the dots written, a common TLD or a country's, and before " at " a
                    // mailbox's name, not a word of the sentence ("Available at example.com").
                    || spelledDots == 0 && cased && TopLevelDomains.isCommon(t, lastLabel.lowerBound, lastLabel.upperBound)
                        && Self.mailbox(t, s, m)
            }
            // Not again what an '@' found ("jane@example.com at example dot com").
            guard ok, !overlapsFound(s, end) else { i += 1; continue }
            spans.append(DetectedSpan(.email, s, end))
            floor = end
            i = end
        }
    }

    /// An address with a space on either side of its `@` at `i` (`jane @ example.com`, as
    /// dictated or typed to dodge a harvester): one when the word before reads as a
    /// mailbox's name (`mailbox`: not "meet @ example.com") and the domain ends in one of
    /// IANA's top-level domains. Where it starts and ends.
    static func spaced(_ t: [UInt8], _ i: Int, _ at: Int, _ floor: Int) -> (Int, Int)? {
        let n = t.count
        let m = i - 1 >= floor && t[i - 1] == ch(" ") ? i - 1 : i
        let p = i + at < n && t[i + at] == ch(" ") ? i + at + 1 : i + at
        guard m < i || p > i + at else { return nil }
        var s = m
        while s > floor {
            if t[s - 1] < 0x80 { guard isLocal(t[s - 1]) else { break }; s -= 1 }
            else if let k = wordCharBefore(t, s), k >= floor { s = k }
            else { break }
        }
        while s < m, t[s] == ch(".") { s += 1 }
        guard s < m, s == 0 || !Scan.isWordByte(t[s - 1]) || Scan.leftBoundary(t, s), mailbox(t, s, m) else { return nil }
        let (e, lastDot, dotLength) = domain(t, p)
        guard lastDot > p, Scan.rightBoundary(t, e), TopLevelDomains.contains(t, lastDot + dotLength, e) else { return nil }
        return (s, e)
    }

    /// `s..<m` reads as a mailbox's name: a letter in it, and a digit, `.`, `_`, `+`, `-`
    /// or a non-ASCII letter, or a word no dictionary has (`jdoe`, `jane`; not "available").
    static func mailbox(_ t: [UInt8], _ s: Int, _ m: Int) -> Bool {
        guard t[s..<m].contains(where: { isAlpha($0) || $0 >= 0x80 }) else { return false }
        if t[s..<m].contains(where: { isDigit($0) || $0 == ch(".") || $0 == ch("_") || $0 == ch("+") || $0 == ch("-") || $0 >= 0x80 }) { return true }
        let h = Scan.hashLower(t, s, m)
        return !NameDetector.words.contains(h) && !determiners.contains(h) && !ClinicalWords.set.contains(h)
    }

    /// The domain of a written-out address from `p`: labels joined by `.`, `[dot]`-like
    /// brackets or ` dot `, two labels at least. Where it ends, its last, second-to-last
    /// and first labels, and how many dots were spelled out and bracketed.
    static func writtenDomain(_ t: [UInt8], _ p: Int) -> (Int, Range<Int>, Range<Int>?, Range<Int>, Int, Int)? {
        let n = t.count
        var labels: [Range<Int>] = []
        var q = p, spelled = 0, bracketed = 0
        while labels.count < 6 {
            var e = q
            while e < n {
                if isAlnum(t[e]) || t[e] == ch("-") { e += 1 }
                else if t[e] >= 0xC0, let len = wordChar(t, e) { e += len }
                else { break }
            }
            guard e > q, t[q] != ch("-") else { break }
            labels.append(q..<e)
            if e + 1 < n, t[e] == ch("."), isAlnum(t[e + 1]) || t[e + 1] >= 0xC0 { q = e + 1; continue }
            if let b = Self.bracketed(t, e, dot) { bracketed += 1; q = b; continue }
            if let s = Self.spelled(t, e, dot) { spelled += 1; q = s; continue }
            break
        }
        guard labels.count >= 2, let last = labels.last, Scan.rightBoundary(t, last.upperBound) else { return nil }
        return (last.upperBound, last, labels[labels.count - 2], labels[0], spelled, bracketed)
    }
}

extension EmailDetector {
    /// An `@`; or a written-out address's "at" word (a word starting `a`) and a dot or a
    /// "dot" word.
    static let atInitials = ScanProfile.letters("a"), dotInitials = ScanProfile.letters("d")
    public func mayMatch(_ p: ScanProfile) -> Bool {
        // A non-ASCII at sign (`＠`, `﹫`) is no `@`: any non-ASCII byte may start one.
        p.atSigns > 0 || p.nonASCII || p.initials & Self.atInitials != 0 && (p.dots > 0 || p.initials & Self.dotInitials != 0)
    }
}
