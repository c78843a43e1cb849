/// Street addresses: a house number, one to four capitalised words (or ordinals such
/// as 5th), and a street suffix (St, Ave, Rd, Blvd, Ln, Dr, Ct, Way, ...), with an
/// optional unit (Apt 4B, Suite 200, #12) after it.
/// Cities, labelled STREET_ADDRESS too (a city is a geographic subdivision smaller than
/// a state, so Safe Harbor identifier 2 like the street; a separate entity would only
/// split one identifier's counts): one to three Titlecase words right before ", ST"
/// where ST is a US state or territory code ("Springfield, IL 62701", "Salem, MA",
/// "St. Louis, MO"). MD, PA, MS, MA and DC are also credentials ("Gray Orchard, MD"), so
/// after them a ZIP must follow or a street address must come right before the city.
public struct AddressDetector: Detector {
    public var entities: [Entity] { [.streetAddress] }
    static let suffixes: Set<UInt64> = Set("""
        st street ave avenue av rd road blvd boulevard ln lane dr drive ct court way pl place ter terrace
        cir circle pkwy parkway hwy highway sq square trl trail loop row pike aly alley cres crescent
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { Scan.hashLower(String($0)) })
    static let units: Set<UInt64> = Set(["apt", "apartment", "suite", "ste", "unit", "fl", "floor", "rm", "room"].map(Scan.hashLower))
    public init() {}

    /// Nothing to find without a capital: streets and cities are capitalised words.
    public func mayMatch(_ profile: ScanProfile) -> Bool { profile.hasUpper || profile.nonASCII }

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        Scan.numbers(t) { i, run in
            guard run <= 6, let e = match(t, i + run) else { return nil }
            spans.append(DetectedSpan(.streetAddress, i, e))
            return e
        }
        cities(t, into: &spans)
    }

    /// State codes that are also credentials after a name: MD, PA, MS, MA (medical
    /// assistant, master's), DC (chiropractor).
    static let ambiguousStates: Set<UInt64> = Set(["md", "pa", "ms", "ma", "dc"].map(Scan.hashLower))

    /// ", ST" after Titlecase words: the words are the city.
    func cities(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        var i = 1
        while i + 3 < n {
            // t[i] == "," then " " then two capitals as a whole word.
            guard t[i] == ch(","), t[i + 1] == ch(" "), isUpper(t[i + 2]), isUpper(t[i + 3]),
                  Scan.rightBoundary(t, i + 4), isLower(t[i - 1]) || t[i - 1] >= 0x80 else { i += 1; continue }
            let state = Scan.hashLower(t, i + 2, i + 4)
            guard ZipDetector.states.contains(state) else { i += 1; continue }
            // After the code: the end, punctuation, or a space (a ZIP, a word); not "-" or "'".
            if i + 4 < n, !(t[i + 4] == ch(" ") || t[i + 4] == ch(",") || t[i + 4] == ch(".") || t[i + 4] == ch(";")
                            || t[i + 4] == ch(")") || t[i + 4] == ch("\"") || t[i + 4] == 0x0A || t[i + 4] == 0x09) {
                i += 1; continue
            }
            // The city: up to three Titlecase words ending at i, single spaces between.
            var start = -1, p = i, words = 0
            while words < 3 {
                var w = p
                while w > 0, isAlpha(t[w - 1]) || t[w - 1] >= 0x80 || t[w - 1] == ch("'") { w -= 1 }
                guard w < p, Self.titlecase(t, w, p), Scan.leftBoundary(t, w) else { break }
                start = w; words += 1
                guard w >= 2, t[w - 1] == ch(" ") else { break }
                // "St. Louis", "Ft. Myers": a two- or three-letter abbreviation and its period.
                if t[w - 2] == ch(".") {
                    var a = w - 2
                    while a > 0, isAlpha(t[a - 1]) { a -= 1 }
                    if w - 2 - a >= 2, w - 2 - a <= 3, Self.titlecase(t, a, w - 2), Scan.leftBoundary(t, a) { start = a }
                    break
                }
                p = w - 1
            }
            guard start >= 0 else { i += 1; continue }
            if Self.ambiguousStates.contains(state) {
                var z = i + 4
                while z < n, t[z] == ch(" ") { z += 1 }
                let zip = z > i + 4 && Scan.digitRun(t, z) == 5
                let street = start >= 2 && t[start - 1] == ch(" ") && t[start - 2] == ch(",")
                    && spans.contains { $0.entity == .streetAddress && $0.end == start - 2 }
                guard zip || street else { i += 1; continue }
            }
            spans.append(DetectedSpan(.streetAddress, start, i))
            i += 4
        }
    }

    /// A capital, then a lower-case letter (McAllen, Zürich).
    static func titlecase(_ t: [UInt8], _ a: Int, _ b: Int) -> Bool {
        b - a >= 2 && isUpper(t[a]) && (isLower(t[a + 1]) || t[a + 1] >= 0x80)
    }

    /// After the house number: the street words and the suffix; the end of the address.
    func match(_ t: [UInt8], _ from: Int) -> Int? {
        let n = t.count
        var p = from, words = 0
        while words < 5 {
            guard p < n, t[p] == ch(" ") else { return nil }
            p += 1
            let w = p
            while p < n, isAlnum(t[p]) { p += 1 }
            guard p > w, Scan.rightBoundary(t, p) else { return nil }
            let capital = isUpper(t[w]) || isDigit(t[w]) && isAlpha(t[p - 1])
            guard capital else { return nil }
            if words >= 1, Self.suffixes.contains(Scan.hashLower(t, w, p)) {
                var e = p
                if e < n, t[e] == ch(".") { e += 1 }
                return unit(t, e) ?? e
            }
            words += 1
        }
        return nil
    }

    /// ", Apt 4B" / " Suite 200" / " #12" after the suffix, if present.
    func unit(_ t: [UInt8], _ from: Int) -> Int? {
        let n = t.count
        var p = from
        if p < n, t[p] == ch(",") { p += 1 }
        guard p < n, t[p] == ch(" ") else { return nil }
        p += 1
        if p < n, t[p] == ch("#") {
            p += 1
        } else {
            let w = p
            while p < n, isAlpha(t[p]) { p += 1 }
            guard p > w, Self.units.contains(Scan.hashLower(t, w, p)) else { return nil }
            if p < n, t[p] == ch(".") { p += 1 }
            guard p < n, t[p] == ch(" ") else { return nil }
            p += 1
        }
        let s = p
        while p < n, isAlnum(t[p]) { p += 1 }
        return p > s && p - s <= 6 ? p : nil
    }
}
