/// ZIP codes: five digits or ZIP+4, only after a state abbreviation ("Salem, MA 01970",
/// HL7's "SPRINGFIELD^IL^62701", X12's "N4*SPRINGFIELD*IL*627011234")
/// or a context word (ZIP, postal). Bare five-digit numbers are counts and ids far
/// more often than ZIPs. UK and Canadian postcodes by their own shapes.
public struct ZipDetector: Detector {
    public var entities: [Entity] { [.zipCode] }
    static let context = Scan.words(["zip", "zipcode", "zip code", "postal", "postcode", "postalcode", "postal code"])
    static let states: Set<UInt64> = Set("""
        AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY
        NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { Scan.hashLower(String($0)) })
    public init() {}

    /// A state code (two capitals, a word of its own) right before `i`, past spaces.
    static func stateBefore(_ t: [UInt8], _ i: Int) -> Bool {
        var p = i
        // Spaces and commas ("Salem, MA 01970"), HL7's component separator ("^IL^62701"),
        // X12's element separator ("*IL*627011234").
        while p > 0, t[p - 1] == ch(" ") || t[p - 1] == ch(",") || t[p - 1] == ch("^") || t[p - 1] == ch("*") { p -= 1 }
        guard p < i, p >= 2, isUpper(t[p - 1]), isUpper(t[p - 2]), Scan.leftBoundary(t, p - 2) else { return false }
        return states.contains(Scan.hashLower(t, p - 2, p))
    }

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        Scan.numbers(t) { i, run in
            // ZIP+4 without its dash, as X12 writes it, after a state only.
            if run == 9, Scan.numberEnd(t, i + 9), Self.stateBefore(t, i) {
                spans.append(DetectedSpan(.zipCode, i, i + 9))
                return i + 9
            }
            guard run == 5 else { return nil }
            var e = i + 5
            if e + 5 <= n, t[e] == ch("-"), Scan.digits(t, e + 1, 4) { e += 5 }
            guard Scan.numberEnd(t, e), Self.stateBefore(t, i) || Scan.contextBefore(t, i, Self.context, window: 24) else { return nil }
            spans.append(DetectedSpan(.zipCode, i, e))
            return e
        }
        // Postcodes of the UK ("SW1A 1AA") and Canada ("K1A 0B1"): a patient's home may
        // be abroad, and their shapes, capitals and digits around one space, are their own.
        var i = 0
        while i + 6 <= n {
            if isUpper(t[i]), Scan.leftBoundary(t, i), let e = Self.postcode(t, i) {
                spans.append(DetectedSpan(.zipCode, i, e))
                i = e
            } else {
                i += 1
            }
        }
    }

    /// A UK or Canadian postcode starting at `i`: where it ends.
    static func postcode(_ t: [UInt8], _ i: Int) -> Int? {
        let n = t.count
        func up(_ p: Int) -> Bool { p < n && isUpper(t[p]) }
        func dg(_ p: Int) -> Bool { p < n && isDigit(t[p]) }
        // Canada: A9A 9A9 (no D, F, I, O, Q or U).
        let canadian = Array("ABCEGHJKLMNPRSTVXY".utf8), canadianLater = Array("ABCEGHJKLMNPRSTVWXYZ".utf8)
        if canadian.contains(t[i]), dg(i + 1), up(i + 2), canadianLater.contains(t[i + 2]), i + 6 < n, t[i + 3] == ch(" "),
           dg(i + 4), up(i + 5), canadianLater.contains(t[i + 5]), dg(i + 6), Scan.rightBoundary(t, i + 7) {
            return i + 7
        }
        // UK: an outward code (A9, A99, AA9, AA99, A9A, AA9A), a space, an inward one (9AA).
        var p = i + 1
        if up(p) { p += 1 }
        guard dg(p) else { return nil }
        p += 1
        if dg(p) || up(p) { p += 1 }
        let inwardLetters = Array("ABDEFGHJLNPQRSTUWXYZ".utf8)
        guard p + 3 < n, t[p] == ch(" "), dg(p + 1), up(p + 2), up(p + 3), inwardLetters.contains(t[p + 2]),
              inwardLetters.contains(t[p + 3]), Scan.rightBoundary(t, p + 4) else { return nil }
        return p + 4
    }
}

extension ZipDetector {
    /// A 5-digit run starting a word, then "-dddd" or the end of the number.
    public func mayMatch(_ p: ScanProfile) -> Bool {
        p.runsLR & (ScanProfile.run(5) | ScanProfile.run(9)) != 0 || p.hasUpper && p.runsL & ScanProfile.run(1) != 0
    }
}
