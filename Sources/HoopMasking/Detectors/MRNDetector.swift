/// Medical record numbers. Sites differ, so the shapes are configurable templates:
/// `#` a digit, `@` a letter, `*` a letter or digit, anything else a literal matched
/// case-insensitively (default `MRN-########`, the demo clinic's). Independently, the
/// context "MRN" or "medical record (number)" followed by a 5-12 character id with
/// digits is always an MRN.
public struct MRNDetector: Detector {
    public var entities: [Entity] { [.mrn] }
    public static let defaultPatterns = ["MRN-########"]
    let templates: [[UInt8]]
    static let context = Scan.words(["mrn", "medical record", "record", "chart", "mr#"])

    /// For `mayMatch`: the first letters of templates that start with a literal letter,
    /// and whether one starts with a digit (`#`, `*` or a literal digit) or any letter (`@`, `*`).
    let templateInitials: UInt32
    let templateStartsDigit: Bool
    let templateStartsLetter: Bool
    static let contextInitials = ScanProfile.letters("mrc")

    public init(patterns: [String] = MRNDetector.defaultPatterns) {
        templates = patterns.map { Array($0.utf8) }.filter { !$0.isEmpty }
        var initials: UInt32 = 0, digit = false, letter = false
        for tpl in templates {
            let c = tpl[0]
            if c == ch("#") || isDigit(c) { digit = true }
            else if c == ch("@") { letter = true }
            else if c == ch("*") { digit = true; letter = true }
            else if isAlpha(c) { initials |= ScanProfile.bit(c) }
            // A template starting with any other literal never matches: a match starts
            // at a letter or digit.
        }
        templateInitials = initials
        templateStartsDigit = digit
        templateStartsLetter = letter
    }

    /// A template match starts a word with its first character; a context-led id needs
    /// a context word (mrn, medical record, record, chart, mr#) and three digits.
    public func mayMatch(_ p: ScanProfile) -> Bool {
        p.initials & Self.contextInitials != 0 && p.digitCount >= 3
            // A literal letter starts a word, or follows a lower-case label in capitals.
            || (p.initials | (p.hasUpper ? p.letters : 0)) & templateInitials != 0
            || templateStartsDigit && p.runsL != 0
            || templateStartsLetter && p.initials != 0
    }

    static func match(_ t: [UInt8], _ i: Int, _ tpl: [UInt8]) -> Bool {
        guard i + tpl.count <= t.count else { return false }
        for k in 0..<tpl.count {
            let c = t[i + k]
            switch tpl[k] {
            case ch("#"): if !isDigit(c) { return false }
            case ch("@"): if !isAlpha(c) { return false }
            case ch("*"): if !isAlnum(c) { return false }
            default: if lower(c) != lower(tpl[k]) { return false }
            }
        }
        return Scan.rightBoundary(t, i + tpl.count)
    }

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        var i = 0
        // Inside a token a context-led id did not take: patterns only (`pt-MRN-…`, `ptMRN…`
        // start there), one byte at a time, so every byte is read a bounded number of times.
        var patternsOnlyUntil = 0
        outer: while i < n {
            guard isAlnum(t[i]) else { i += 1; continue }
            // A configured pattern may follow a label in lower case glued to it (`ptMRN0700111`).
            let boundary = Scan.leftBoundary(t, i)
            guard boundary || i > 0 && isLower(t[i - 1]) && isUpper(t[i]) else { i += 1; continue }
            for tpl in templates where Self.match(t, i, tpl) {
                spans.append(DetectedSpan(.mrn, i, i + tpl.count)); i += tpl.count; continue outer
            }
            guard boundary, i >= patternsOnlyUntil else { i += 1; continue }
            // A context-led id: an alphanumeric token with at least three digits.
            var e = i
            var digitCount = 0
            while e < n, isAlnum(t[e]) || t[e] == ch("-") && e + 1 < n && isAlnum(t[e + 1]) {
                if isDigit(t[e]) { digitCount += 1 }
                e += 1
            }
            if digitCount >= 3, e - i >= 5, e - i <= 14, Scan.contextBefore(t, i, Self.context, window: 16) {
                spans.append(DetectedSpan(.mrn, i, e))
                i = e; continue
            }
            patternsOnlyUntil = e
            i += 1
        }
    }
}
