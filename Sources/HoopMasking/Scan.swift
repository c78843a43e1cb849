/// Byte-level helpers shared by the detectors. Detectors scan `[UInt8]` (UTF-8) with
/// integer offsets: no String indexing, no regex engine, no allocation per byte, so a
/// value is scanned in linear time whatever it contains.
@inline(__always) func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
@inline(__always) func isUpper(_ c: UInt8) -> Bool { c >= 0x41 && c <= 0x5A }
@inline(__always) func isLower(_ c: UInt8) -> Bool { c >= 0x61 && c <= 0x7A }
@inline(__always) func isAlpha(_ c: UInt8) -> Bool { isUpper(c) || isLower(c) }
@inline(__always) func isAlnum(_ c: UInt8) -> Bool { isAlpha(c) || isDigit(c) }
@inline(__always) func lower(_ c: UInt8) -> UInt8 { isUpper(c) ? c | 0x20 : c }
@inline(__always) func isHex(_ c: UInt8) -> Bool { isDigit(c) || (lower(c) >= 0x61 && lower(c) <= 0x66) }
@inline(__always) func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }

/// ASCII byte of a one-character literal, for readable comparisons (`t[i] == ch("-")`).
@inline(__always) func ch(_ s: Unicode.Scalar) -> UInt8 { UInt8(truncatingIfNeeded: s.value) }

enum Scan {
    /// The character whose UTF-8 starts at `i` and its length in bytes; nil at a byte that
    /// starts none (a continuation byte, a sequence cut short or malformed).
    static func scalar(_ t: [UInt8], _ i: Int) -> (Unicode.Scalar, Int)? {
        let c = t[i]
        if c < 0x80 { return (Unicode.Scalar(c), 1) }
        let n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0
        guard n > 0, i + n <= t.count else { return nil }
        var v = UInt32(c) & (0xFF >> (n + 1))
        for k in 1..<n {
            guard t[i + k] & 0xC0 == 0x80 else { return nil }
            v = v << 6 | UInt32(t[i + k] & 0x3F)
        }
        return Unicode.Scalar(v).map { ($0, n) }
    }

    /// A capital of any cased script (Latin, Greek, Cyrillic, Armenian...: `Ł`, `Ж`, `Σ`)
    /// or a titlecase letter starts at `i`.
    static func capitalAt(_ t: [UInt8], _ i: Int) -> Bool {
        if t[i] < 0x80 { return isUpper(t[i]) }
        guard let (s, _) = scalar(t, i) else { return false }
        return s.properties.isUppercase || s.properties.generalCategory == .titlecaseLetter
    }

    /// A letter of a script without case (Han, Hangul, kana, Hebrew, Arabic, Devanagari,
    /// Thai...) starts at `i`: no capital says it starts a name.
    static func caselessLetterAt(_ t: [UInt8], _ i: Int) -> Bool {
        guard t[i] >= 0x80, let (s, _) = scalar(t, i) else { return false }
        return s.properties.generalCategory == .otherLetter
    }
    /// Bytes that continue a word. Non-ASCII bytes count as word bytes so that a span
    /// never starts or ends inside a multi-byte character. `_` does not: it joins the
    /// parts of file names, keys and log fields (`ssn_<SSN>.txt`, `Last_First_<date of
    /// birth>.pdf`), each of which is read as a word of its own.
    @inline(__always) static func isWordByte(_ c: UInt8) -> Bool { isAlnum(c) || c >= 0x80 }

    /// Each run of letters and digits in `t` that starts a word: `match(start, end)`
    /// returns where a span it found ends, and the scan goes on from there; nil goes on
    /// after the run.
    @inline(__always) static func alnumRuns(_ t: [UInt8], _ match: (_ start: Int, _ end: Int) -> Int?) {
        let n = t.count
        var i = 0
        while i < n {
            guard isAlnum(t[i]), leftBoundary(t, i) else { i += 1; continue }
            var e = i
            while e < n, isAlnum(t[e]) { e += 1 }
            i = match(i, e) ?? e
        }
    }

    /// Each number in `t` (a digit run at a word start): `match(start, run)` returns
    /// where a span it found ends, and the scan goes on from there; nil goes on after the run.
    @inline(__always) static func numbers(_ t: [UInt8], glued: Bool = false, _ match: (_ start: Int, _ run: Int) -> Int?) {
        let n = t.count
        var i = 0
        while i < n {
            guard isDigit(t[i]), numberStart(t, i, glued: glued) else { i += 1; continue }
            let run = digitRun(t, i)
            i = match(i, run) ?? i + run
        }
    }

    @inline(__always) static func leftBoundary(_ t: [UInt8], _ i: Int) -> Bool {
        i == 0 || !isWordByte(t[i - 1]) || escapedControl(t, i) || unicodeBreak(t, before: i)
    }

    /// A Unicode space or punctuation mark (U+2000–U+206F: dashes, thin spaces, quotes;
    /// U+00A0 no-break space) starts at `j` / ends right before `i`: a boundary, as its
    /// ASCII kin would be, though its bytes are not ASCII.
    @inline(__always) static func unicodeBreak(_ t: [UInt8], at j: Int) -> Bool {
        j + 1 < t.count && (t[j] == 0xE2 && t[j + 1] == 0x80 || t[j] == 0xC2 && t[j + 1] == 0xA0)
    }
    @inline(__always) static func unicodeBreak(_ t: [UInt8], before i: Int) -> Bool {
        i >= 3 && t[i - 3] == 0xE2 && t[i - 2] == 0x80 || i >= 2 && t[i - 2] == 0xC2 && t[i - 1] == 0xA0
    }

    /// The length of a separator between two digit groups at `p`, if one is there: one of
    /// space, `-`, `.`, `/`, `_` (file and field names: `scan_555_201_0134.pdf`), or two spaces, or one of `-./` between single spaces
    /// (`415 - 555 - 0132`), or a Unicode dash or space (U+2010–2015, no-break space,
    /// thin and narrow no-break space). One rule for every detector that reads grouped
    /// digits (phones, cards, IBANs in print).
    static func separator(_ t: [UInt8], _ p: Int, dot: Bool = true, slash: Bool = true) -> Int? {
        let n = t.count
        guard p < n else { return nil }
        @inline(__always) func mark(_ c: UInt8) -> Bool { c == ch("-") || c == ch("_") || dot && c == ch(".") || slash && c == ch("/") }
        let c = t[p]
        if c == ch(" ") {
            if p + 1 < n, t[p + 1] == ch(" ") { return 2 }
            if p + 2 < n, mark(t[p + 1]), t[p + 2] == ch(" ") { return 3 }
            return 1
        }
        if mark(c) { return 1 }
        if c == 0xC2, p + 1 < n, t[p + 1] == 0xA0 { return 2 }
        if c == 0xE2, p + 2 < n, t[p + 1] == 0x80, (0x90...0x95).contains(t[p + 2]) || t[p + 2] == 0x89 || t[p + 2] == 0xAF { return 3 }
        return nil
    }

    /// A JSON or C escape of a line end or tab (`\n`, `\r`, `\t`) ends right before `i`:
    /// a value after an escaped line break (a CSV line inside a JSON string) starts a
    /// word, as it would after the real character.
    @inline(__always) static func escapedControl(_ t: [UInt8], _ i: Int) -> Bool {
        guard i <= t.count else { return false }
        // "\u003c" (Go and .NET write < > & so): an escaped character is a boundary.
        if i >= 6, t[i - 6] == ch("\\"), t[i - 5] == ch("u"), isHex(t[i - 4]), isHex(t[i - 3]), isHex(t[i - 2]), isHex(t[i - 1]) {
            var k = i - 6, slashes = 0
            while k >= 0, t[k] == ch("\\") { slashes += 1; k -= 1 }
            if slashes % 2 == 1 { return true }
        }
        guard i >= 2, t[i - 2] == ch("\\") else { return false }
        let c = t[i - 1]
        guard c == ch("n") || c == ch("r") || c == ch("t") else { return false }
        // "\\n" is an escaped backslash and a letter n.
        var k = i - 2, slashes = 0
        while k >= 0, t[k] == ch("\\") { slashes += 1; k -= 1 }
        return slashes % 2 == 1
    }

    @inline(__always) static func rightBoundary(_ t: [UInt8], _ j: Int) -> Bool {
        j >= t.count || !isWordByte(t[j]) || unicodeBreak(t, at: j)
    }

    /// A number starts here: not inside a word, and not the tail of a longer number
    /// such as 12-345 or 1.5 (so a card number is not re-read as a phone number). With
    /// `glued`, for shapes strong enough on their own (an SSN, a date, a phone number): a
    /// word of letters alone right before it is a label glued to its value
    /// (`ssn123-45-6789`, `dob1984-03-09`, `tel555-010-0199`), as if a space stood there;
    /// not for a house number or a postcode's digit (`EH1 2NG`).
    static func numberStart(_ t: [UInt8], _ i: Int, glued: Bool = false) -> Bool {
        guard leftBoundary(t, i) || glued && gluedLabel(t, i) else { return false }
        if i >= 2, t[i - 1] == ch("-") || t[i - 1] == ch(".") || t[i - 1] == ch("/"), isDigit(t[i - 2]) { return false }
        return true
    }

    /// Two to twenty-four ASCII letters, a word of their own, end right before the digit
    /// at `i` (not a hex digest's or an id's letters and digits mixed: `d41d8cd9` has none;
    /// `SocialSecurityNumber123-45-6789` has twenty). An escape's letter (`\t` in JSON) is
    /// no letter of the word, as `ScanProfile` reads it.
    static let maxLabel = 24
    static func gluedLabel(_ t: [UInt8], _ i: Int) -> Bool {
        guard i < t.count, isDigit(t[i]) else { return false }
        var k = i
        while k > 0, isAlpha(t[k - 1]), i - k <= maxLabel { k -= 1 }
        if k >= 1, t[k - 1] == ch("\\"), escapedControl(t, k + 1) { k += 1 }
        return i - k >= 2 && i - k <= maxLabel && leftBoundary(t, k)
    }

    /// A file name's extension at `p`: `.` and one to five letters ending the word
    /// (`…0199.txt`, `.pdf`), not a version's or a part number's next group.
    static func fileExtension(_ t: [UInt8], _ p: Int) -> Bool {
        guard p < t.count, t[p] == ch(".") else { return false }
        var j = p + 1
        while j < t.count, isAlpha(t[j]), j - p <= 5 { j += 1 }
        return j - p >= 2 && j - p <= 6 && rightBoundary(t, j)
    }

    /// A number ends here: the mirror of `numberStart`.
    static func numberEnd(_ t: [UInt8], _ j: Int) -> Bool {
        guard rightBoundary(t, j) else { return false }
        if j + 1 < t.count, t[j] == ch("-") || t[j] == ch(".") || t[j] == ch("/"), isDigit(t[j + 1]) { return false }
        return true
    }

    /// Exactly `n` digits start at `i` (more may follow; callers check the boundary).
    static func digits(_ t: [UInt8], _ i: Int, _ n: Int) -> Bool {
        guard i >= 0, i + n <= t.count else { return false }
        for k in i..<(i + n) where !isDigit(t[k]) { return false }
        return true
    }

    static func digitRun(_ t: [UInt8], _ i: Int) -> Int {
        var j = i
        while j < t.count, isDigit(t[j]) { j += 1 }
        return j - i
    }

    static func number(_ t: [UInt8], _ i: Int, _ n: Int) -> Int {
        var v = 0
        for k in i..<(i + n) { v = v * 10 + Int(t[k] - 0x30) }
        return v
    }

    /// Case-insensitive match of a lowercase ASCII word at `i`, as a whole word.
    /// With `camel`, a camelCase key's words count as words (`postalCode`, `homePhone`,
    /// `ssnNumber`): a capital after a lower-case letter starts one and ends the one before.
    static func wordAt(_ t: [UInt8], _ i: Int, _ w: [UInt8], camel: Bool = false) -> Bool {
        guard i + w.count <= t.count, leftBoundary(t, i) || camel && i > 0 && isUpper(t[i]) && isLower(t[i - 1]) else { return false }
        for k in 0..<w.count where lower(t[i + k]) != w[k] { return false }
        let j = i + w.count
        return j >= t.count || !isAlpha(t[j]) || camel && isUpper(t[j]) && isLower(t[j - 1])
    }

    /// One of `words` occurs in the `window` bytes before `i`. Context words are what
    /// turn an ambiguous shape (nine digits, a date) into an identifier.
    static func contextBefore(_ t: [UInt8], _ i: Int, _ words: [[UInt8]], window: Int = 32) -> Bool {
        let from = max(0, i - window)
        var p = from
        while p < i {
            if isAlpha(t[p]) || t[p] == ch("#") {
                for w in words where p + w.count <= i && lower(t[p]) == w[0] && wordAt(t, p, w, camel: true) { return true }
            }
            p += 1
        }
        return false
    }

    /// The bytes `start..<end` fill a field: only spaces lie between them and the edges
    /// of the text or a field delimiter — JSON and CSV quotes, `,` `;` `|` tab and line
    /// ends (CSV, HL7, logs) and their JSON escapes, `=` and `:` after a key before a
    /// value (`key=value`, `dob: 03/05/1980`; not a time's `15:30:00`),
    /// `^` (HL7 components), X12's `*` between elements and `~` ending a segment
    /// (`DMG*D8*19610305*F~`), brackets and tags, " / " between list items, a sentence's
    /// closing period on the right. One rule for every detector whose weak
    /// shapes (bare digits, a date) count when they stand alone: a value that fills a
    /// field is what a column holds, not a number inside prose.
    static func fillsField(_ t: [UInt8], _ start: Int, _ end: Int) -> Bool {
        var p = start - 1
        while p >= 0, t[p] == ch(" ") { p -= 1 }
        if p >= 0, !escapedControl(t, p + 1) {
            switch t[p] {
            case ch("\""), ch("'"), ch(","), ch(";"), ch("|"), 0x09, 0x0A, 0x0D, ch("="), ch("^"),
                 ch("["), ch("{"), ch("("), ch(">"), ch("*"):
                break
            case ch(":"):
                // `key: value` or `1: value`, not the minutes of a time (15:30:00).
                guard p > 0, isAlpha(t[p - 1]) || t[p - 1] == ch("\"") || p + 1 < start && t[p + 1] == ch(" ") else { return false }
            case ch("/"):
                // A list written "a / b / c", not a date's or a path's slash.
                guard p > 0, t[p - 1] == ch(" "), p + 1 < start else { return false }
            default: return false
            }
        }
        var q = end
        while q < t.count, t[q] == ch(" ") { q += 1 }
        guard q < t.count else { return true }
        switch t[q] {
        case ch("\""), ch("'"), ch(","), ch(";"), ch("|"), 0x09, 0x0A, 0x0D, ch("&"), ch("^"), ch("]"), ch("}"),
             ch(")"), ch("<"), ch("*"), ch("~"):
            return true
        case ch("/"):
            return q > end && q + 1 < t.count && t[q + 1] == ch(" ")
        case ch("."):
            // The end of a sentence or a list: ". " or the end of the text.
            return q + 1 == t.count || t[q + 1] == ch(" ") || t[q + 1] == 0x0A
        case ch("\\"):
            return q + 2 <= t.count && escapedControl(t, q + 2)
        default:
            return false
        }
    }

    static func words(_ list: [String]) -> [[UInt8]] { list.map { Array($0.lowercased().utf8) } }

    /// The key or label whose value (or an array's first element) starts at `i`: letters,
    /// digits and `_` before `:` or `=` (quotes, escaped quotes, spaces and an opening
    /// bracket skipped: `"system": "`, `"profile": ["`, `version=`); nil when no key is there.
    static func keyBefore(_ t: [UInt8], _ i: Int) -> Range<Int>? {
        @inline(__always) func gap(_ c: UInt8) -> Bool { c == ch("\"") || c == ch(" ") || c == ch("\\") }
        var p = i
        while p > 0, gap(t[p - 1]) { p -= 1 }
        if p > 0, t[p - 1] == ch("[") { p -= 1; while p > 0, gap(t[p - 1]) { p -= 1 } }
        guard p > 0, t[p - 1] == ch(":") || t[p - 1] == ch("=") else { return nil }
        p -= 1
        while p > 0, gap(t[p - 1]) { p -= 1 }
        let end = p
        while p > 0, isAlnum(t[p - 1]) || t[p - 1] == ch("_") { p -= 1 }
        return p < end ? p..<end : nil
    }

    /// Units of measure, of time and currencies, lower case: after a number they make it
    /// a quantity ("128 MB", "30 Minutes", "70 bpm"), not a house number, and the label
    /// before such a quantity is no name ("Init Duration: 150 ms"). Not the single
    /// letters, "US", "Ft" or "in": streets are named so ("456 L Street", "1234 US
    /// Highway 101", "100 Ft Myers Rd").
    static let measureUnits: Set<UInt64> = Set("""
        kb mb gb tb pb kib mib gib tib pib bytes byte kbps mbps gbps hz khz mhz ghz
        ns ms sec secs second seconds min mins minute minutes hr hrs hour hours day days week weeks
        month months year years yr yrs am pm utc gmt
        mg mcg kg lb lbs oz ml dl cc mm cm km mmhg bpm meq mmol units iu percent pct
        usd eur gbp cad aud jpy
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { Scan.hashLower(String($0)) })

    /// FNV-1a of the lowercased bytes: name-list lookups without allocating a String
    /// or Array per token.
    static func hashLower(_ t: [UInt8], _ i: Int, _ j: Int) -> UInt64 {
        var h: UInt64 = 0xcbf29ce484222325
        for k in i..<j { h = (h ^ UInt64(folded(t, k))) &* 0x100000001b3 }
        return h
    }

    /// The byte at `k` in lower case: ASCII, and the Latin-1 capitals À–Þ (UTF-8 C3 80–9E,
    /// whose second byte is 0x20 below the small letter's), so "PROLONGACIÓN" and
    /// "Prolongación" hash alike.
    @inline(__always) static func folded(_ t: [UInt8], _ k: Int) -> UInt8 {
        let c = t[k]
        if c < 0x80 { return lower(c) }
        if c >= 0x80, c <= 0x9E, c != 0x97, k > 0, t[k - 1] == 0xC3 { return c + 0x20 }
        return c
    }

    static func hashLower(_ s: String) -> UInt64 {
        let b = Array(s.utf8)
        return hashLower(b, 0, b.count)
    }
}

/// What one pass over a value found, for the detectors' prefilters (`Detector.mayMatch`):
/// which byte classes occur, and the digit runs that start a word. A detector that
/// cannot match without one of these is skipped without scanning the value, so the
/// common value (a hash, a count, a product code, a department name) costs one pass,
/// not one per detector. Every field is a necessary condition read off the detectors'
/// code, never a heuristic: skipping must not change what is found.
public struct ScanProfile: Sendable {
    public internal(set) var length = 0
    /// Bit k (k capped at 63) set when a maximal digit run of length k starts at a left
    /// word boundary (`Scan.leftBoundary`) or after a label glued to it (`Scan.gluedLabel`):
    /// where every number-shaped detector starts.
    var runsL: UInt64 = 0
    /// The same runs, when followed by a byte that is not a word byte (or the end): a
    /// number that also ends there, or continues with a separator ('-', '.', '/', ' ').
    var runsLR: UInt64 = 0
    var digitCount = 0
    /// The longest digit run anywhere (inside words too: ABC123456789).
    var maxRun = 0
    /// Letters that occur (bit 0 = a/A ... bit 25 = z/Z).
    var letters: UInt32 = 0
    /// First letters of the words (letters at a left word boundary), lower-cased, and
    /// those of them written in upper case.
    var initials: UInt32 = 0
    var upperInitials: UInt32 = 0
    var hasUpper = false
    /// A byte of a non-ASCII character occurs (a capital such as "É" is one).
    var nonASCII = false
    /// A word (maximal run of word bytes) of exactly 17 bytes starting with a letter or digit.
    var word17 = false
    /// Words (maximal runs of word bytes) of two or more letters and no digit or `_`: a
    /// lower-case name or street word is one; a hex digest's words are not.
    var alphaWords = 0
    /// A word starts with two letters and two digits (an IBAN's country and check digits).
    var ibanStart = false
    var atSigns = 0, colons = 0, dots = 0, slashes = 0, bars = 0
    /// "::" occurs (IPv6 shorthand); "://" occurs (a URL scheme); a word starts "www.".
    var doubleColon = false, schemeSeparator = false, www = false

    @inline(__always) static func bit(_ c: UInt8) -> UInt32 { 1 << UInt32((c | 0x20) &- 0x61) }
    /// The letter bits of `s` (lower-cased), e.g. `letters("mrc")`.
    static func letters(_ s: String) -> UInt32 { s.utf8.reduce(0) { $0 | bit($1) } }
    /// The bit of a digit run of length `k` in `runsL` / `runsLR`.
    @inline(__always) static func run(_ k: Int) -> UInt64 { 1 << UInt64(k) }

    public init(_ text: String) {
        var s = text
        self = s.withUTF8 { ScanProfile($0) }
    }

    public init(_ bytes: [UInt8]) {
        self = bytes.withUnsafeBufferPointer { ScanProfile($0) }
    }

    public init(_ t: UnsafeBufferPointer<UInt8>) {
        // Locals, stored once at the end: the loop stays in registers.
        let n = t.count
        var runsL: UInt64 = 0, runsLR: UInt64 = 0, digitCount = 0, maxRun = 0
        var letters: UInt32 = 0, initials: UInt32 = 0, upperInitials: UInt32 = 0, upper: UInt32 = 0
        var word17 = false, atSigns = 0, colons = 0, dots = 0, slashes = 0, bars = 0
        var alphaWords = 0, ibanStart = false
        var doubleColon = false, schemeSeparator = false, www = false
        var high: UInt8 = 0
        var i = 0
        while i < n {
            let c = t[i]
            high |= c
            if c == 0xE2 || c == 0xC2, i &+ 1 < n, c == 0xE2 && t[i &+ 1] == 0x80 || c == 0xC2 && t[i &+ 1] == 0xA0 {
                i &+= c == 0xE2 ? 3 : 2   // Scan.unicodeBreak: not a word byte
                continue
            }
            guard Scan.isWordByte(c) else {
                switch c {
                case 0x40: atSigns &+= 1      // @
                case 0x26:                    // &: `&#…;` or `&c…`, maybe an HTML entity of `@` (EmailDetector.atSign)
                    if i &+ 4 < n, t[i &+ 1] == 0x23 || t[i &+ 1] | 0x20 == 0x63 { atSigns &+= 1 }
                case 0x3A:                    // :
                    colons &+= 1
                    if i &+ 1 < n {
                        let d = t[i &+ 1]
                        if d == 0x3A { doubleColon = true }
                        else if d == 0x2F && i &+ 2 < n && t[i &+ 2] == 0x2F { schemeSeparator = true }
                    }
                case 0x2E: dots &+= 1         // .
                case 0x2F: slashes &+= 1      // /
                case 0x7C: bars &+= 1         // |
                case 0x5C:                    // \n, \r, \t, \uXXXX: an escape ends a word (Scan.escapedControl)
                    if i &+ 1 < n, t[i &+ 1] == 0x6E || t[i &+ 1] == 0x72 || t[i &+ 1] == 0x74 { i &+= 2; continue }
                    if i &+ 5 < n, t[i &+ 1] == 0x75, isHex(t[i &+ 2]), isHex(t[i &+ 3]), isHex(t[i &+ 4]), isHex(t[i &+ 5]) {
                        i &+= 6; continue
                    }
                default: break
                }
                i &+= 1
                continue
            }
            // A word: i is at a left boundary; walk its bytes.
            let ws = i
            if isDigit(c) {
                repeat { i &+= 1 } while i < n && isDigit(t[i])
                let run = i &- ws
                digitCount &+= run
                if run > maxRun { maxRun = run }
                let b: UInt64 = 1 << UInt64(truncatingIfNeeded: min(run, 63))
                runsL |= b
                // A Unicode dash or space ends a number as its ASCII kin does (Scan.unicodeBreak).
                if i == n || !Scan.isWordByte(t[i])
                    || i &+ 1 < n && (t[i] == 0xE2 && t[i &+ 1] == 0x80 || t[i] == 0xC2 && t[i &+ 1] == 0xA0) { runsLR |= b }
            } else if isAlpha(c) {
                if !ibanStart, i &+ 3 < n, isAlpha(t[i &+ 1]), isDigit(t[i &+ 2]), isDigit(t[i &+ 3]) { ibanStart = true }
                let b = Self.bit(c)
                letters |= b
                initials |= b
                if isUpper(c) { upperInitials |= b; upper = 1 }
                if c | 0x20 == 0x77, i &+ 3 < n, t[i &+ 1] | 0x20 == 0x77, t[i &+ 2] | 0x20 == 0x77, t[i &+ 3] == 0x2E {
                    www = true
                }
                i &+= 1
            } else {
                i &+= 1
            }
            // Letters alone so far (a label a number may be glued to: Scan.gluedLabel).
            var label = isAlpha(c)
            while i < n {
                let d = t[i]
                high |= d
                if isDigit(d) {
                    let rs = i
                    repeat { i &+= 1 } while i < n && isDigit(t[i])
                    let run = i &- rs
                    digitCount &+= run
                    if run > maxRun { maxRun = run }
                    if label, rs &- ws >= 2, rs &- ws <= Scan.maxLabel {
                        let b: UInt64 = 1 << UInt64(truncatingIfNeeded: min(run, 63))
                        runsL |= b
                        if i == n || !Scan.isWordByte(t[i])
                            || i &+ 1 < n && (t[i] == 0xE2 && t[i &+ 1] == 0x80 || t[i] == 0xC2 && t[i &+ 1] == 0xA0) { runsLR |= b }
                    }
                    label = false
                    continue
                }
                if d &- 0x41 < 26 { letters |= Self.bit(d); upper = 1 }
                else if d &- 0x61 < 26 { letters |= Self.bit(d) }
                else if d < 0x80 { break }   // not a word byte (Scan.isWordByte: `_` ends a word too)
                else if (d == 0xE2 || d == 0xC2) && i &+ 1 < n && (d == 0xE2 && t[i &+ 1] == 0x80 || d == 0xC2 && t[i &+ 1] == 0xA0) { break }
                else { label = false }
                i &+= 1
            }
            if i &- ws == 17 && isAlnum(c) { word17 = true }
            if i &- ws >= 2, !isDigit(c), !t[ws..<i].contains(where: isDigit) { alphaWords &+= 1 }
        }
        self.length = n
        self.runsL = runsL; self.runsLR = runsLR; self.digitCount = digitCount; self.maxRun = maxRun
        self.letters = letters; self.initials = initials; self.upperInitials = upperInitials
        self.hasUpper = upper != 0; self.word17 = word17; self.nonASCII = high >= 0x80
        self.alphaWords = alphaWords; self.ibanStart = ibanStart
        self.atSigns = atSigns; self.colons = colons; self.dots = dots; self.slashes = slashes; self.bars = bars
        self.doubleColon = doubleColon; self.schemeSeparator = schemeSeparator; self.www = www
    }
}
