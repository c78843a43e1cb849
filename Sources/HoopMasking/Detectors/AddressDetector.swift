/// Street addresses: a house number, one to four capitalised words (or ordinals such
/// as 5th), and a street suffix (St, Ave, Rd, Blvd, Ln, Dr, Ct, Way, ...), with an
/// optional unit (Apt 4B, Suite 200, #12) after it.
public struct AddressDetector: Detector {
    public var entities: [Entity] { [.streetAddress] }
    static let suffixes: Set<UInt64> = Set("""
        st street ave avenue av rd road blvd boulevard ln lane dr drive ct court way pl place ter terrace
        cir circle pkwy parkway hwy highway sq square trl trail loop row pike aly alley cres crescent
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { Scan.hashLower(String($0)) })
    static let units: Set<UInt64> = Set(["apt", "apartment", "suite", "ste", "unit", "fl", "floor", "rm", "room"].map(Scan.hashLower))
    public init() {}

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        var i = 0
        while i < n {
            guard isDigit(t[i]), Scan.numberStart(t, i) else { i += 1; continue }
            let run = Scan.digitRun(t, i)
            if run <= 6, let e = match(t, i + run) {
                spans.append(DetectedSpan(.streetAddress, i, e)); i = e; continue
            }
            i += run
        }
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
