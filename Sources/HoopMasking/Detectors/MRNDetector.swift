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

    public init(patterns: [String] = MRNDetector.defaultPatterns) {
        templates = patterns.map { Array($0.utf8) }.filter { !$0.isEmpty }
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
        outer: while i < n {
            guard isAlnum(t[i]), Scan.leftBoundary(t, i) else { i += 1; continue }
            for tpl in templates where Self.match(t, i, tpl) {
                spans.append(DetectedSpan(.mrn, i, i + tpl.count)); i += tpl.count; continue outer
            }
            // A context-led id: an alphanumeric token with at least three digits.
            var e = i
            var digitCount = 0
            while e < n, isAlnum(t[e]) || t[e] == ch("-") && e + 1 < n && isAlnum(t[e + 1]) {
                if isDigit(t[e]) { digitCount += 1 }
                e += 1
            }
            if digitCount >= 3, e - i >= 5, e - i <= 14, Scan.contextBefore(t, i, Self.context, window: 16) {
                spans.append(DetectedSpan(.mrn, i, e))
            }
            i = max(e, i + 1)
        }
    }
}
