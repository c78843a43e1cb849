/// ZIP codes: five digits or ZIP+4, only after a state abbreviation ("Salem, MA 01970",
/// HL7's "SPRINGFIELD^IL^62701")
/// or a context word (ZIP, postal). Bare five-digit numbers are counts and ids far
/// more often than ZIPs.
public struct ZipDetector: Detector {
    public var entities: [Entity] { [.zipCode] }
    static let context = Scan.words(["zip", "zipcode", "zip code", "postal", "postcode"])
    static let states: Set<UInt64> = Set("""
        AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY
        NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { Scan.hashLower(String($0)) })
    public init() {}

    /// A state code (two capitals, a word of its own) right before `i`, past spaces.
    static func stateBefore(_ t: [UInt8], _ i: Int) -> Bool {
        var p = i
        // Spaces and commas ("Salem, MA 01970"), or HL7's component separator ("^IL^62701").
        while p > 0, t[p - 1] == ch(" ") || t[p - 1] == ch(",") || t[p - 1] == ch("^") { p -= 1 }
        guard p < i, p >= 2, isUpper(t[p - 1]), isUpper(t[p - 2]), Scan.leftBoundary(t, p - 2) else { return false }
        return states.contains(Scan.hashLower(t, p - 2, p))
    }

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        Scan.numbers(t) { i, run in
            guard run == 5 else { return nil }
            var e = i + 5
            if e + 5 <= n, t[e] == ch("-"), Scan.digits(t, e + 1, 4) { e += 5 }
            guard Scan.numberEnd(t, e), Self.stateBefore(t, i) || Scan.contextBefore(t, i, Self.context, window: 16) else { return nil }
            spans.append(DetectedSpan(.zipCode, i, e))
            return e
        }
    }
}

extension ZipDetector {
    /// A 5-digit run starting a word, then "-dddd" or the end of the number.
    public func mayMatch(_ p: ScanProfile) -> Bool { p.runsLR & ScanProfile.run(5) != 0 }
}
