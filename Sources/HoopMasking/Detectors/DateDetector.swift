/// Dates tied to a person. Shapes: 2024-03-05 (with an optional time), 03/05/2024,
/// 3/5/24, 03-05-2024, March 5, 2024, Mar 5 2024, 5 March 2024.
///
/// The policy (docs/masking.md): a date is flagged when a context word (DOB, born,
/// admitted, discharged, died, seen, visit, ...) precedes it, or when it sits in free
/// text (a value with two or more words of three letters or more: a note, a message,
/// a JSON row). A value that is only a date or timestamp, such as an event-time column
/// "2026-11-26 10:00:00", is not flagged by content: whether a date column is a
/// person's is a column rule's decision, which knows the column.
public struct DateDetector: Detector {
    public var entities: [Entity] { [.date] }
    static let context = Scan.words(["dob", "d.o.b", "born", "birth", "birthday", "birthdate", "admitted", "admission",
                                     "admit", "discharged", "discharge", "died", "death", "deceased", "expired", "seen",
                                     "visit", "visited", "appointment", "surgery", "procedure", "dod", "doa"])
    static let months: [(name: [UInt8], month: Int)] = [
        ("january", 1), ("february", 2), ("march", 3), ("april", 4), ("may", 5), ("june", 6), ("july", 7),
        ("august", 8), ("september", 9), ("october", 10), ("november", 11), ("december", 12),
        ("jan", 1), ("feb", 2), ("mar", 3), ("apr", 4), ("jun", 6), ("jul", 7), ("aug", 8), ("sep", 9),
        ("sept", 9), ("oct", 10), ("nov", 11), ("dec", 12),
    ].map { (Array($0.0.utf8), $0.1) }
    public init() {}

    /// Free text: at least two alphabetic words of three letters or more.
    static func isFreeText(_ t: [UInt8]) -> Bool {
        var words = 0, run = 0
        for c in t {
            if isAlpha(c) { run += 1 } else { if run >= 3 { words += 1; if words >= 2 { return true } }; run = 0 }
        }
        return words + (run >= 3 ? 1 : 0) >= 2
    }

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        var free: Bool? = nil   // computed only if a date shape is found
        var i = 0
        while i < n {
            let c = t[i]
            guard isAlnum(c), Scan.leftBoundary(t, i) && (!isDigit(c) || Scan.numberStart(t, i)) else { i += 1; continue }
            let end = isDigit(c) ? numeric(t, i) : named(t, i)
            if let end {
                if free == nil { free = Self.isFreeText(t) }
                if free! || Scan.contextBefore(t, i, Self.context, window: 40) {
                    spans.append(DetectedSpan(.date, i, end))
                }
                i = end; continue
            }
            i += 1
            while i < n, Scan.isWordByte(t[i]) { i += 1 }
        }
    }

    static func validDay(_ m: Int, _ d: Int) -> Bool { m >= 1 && m <= 12 && d >= 1 && d <= 31 }

    /// ISO and US numeric dates; the end offset if one starts at `i`.
    func numeric(_ t: [UInt8], _ i: Int) -> Int? {
        let n = t.count
        let run = Scan.digitRun(t, i)
        if run == 4, i + 10 <= n, t[i + 4] == ch("-") || t[i + 4] == ch("/"), t[i + 7] == t[i + 4],
           Scan.digits(t, i + 5, 2), Scan.digits(t, i + 8, 2) {
            let y = Scan.number(t, i, 4)
            guard y >= 1800, y <= 2199, Self.validDay(Scan.number(t, i + 5, 2), Scan.number(t, i + 8, 2)) else { return nil }
            var e = i + 10
            if Scan.digitRun(t, e) > 0 { return nil }
            e = time(t, e) ?? e
            return Scan.rightBoundary(t, e) ? e : nil
        }
        if run == 1 || run == 2, i + run < n, t[i + run] == ch("/") || t[i + run] == ch("-") {
            let sep = t[i + run], p = i + run + 1, r2 = Scan.digitRun(t, p)
            guard r2 == 1 || r2 == 2, p + r2 < n, t[p + r2] == sep else { return nil }
            let q = p + r2 + 1, r3 = Scan.digitRun(t, q)
            guard r3 == 4 || r3 == 2 && sep == ch("/"), Scan.numberEnd(t, q + r3) else { return nil }
            guard Self.validDay(Scan.number(t, i, run), Scan.number(t, p, r2)) else { return nil }
            return q + r3
        }
        // "5 March 2024"
        if run == 1 || run == 2, i + run + 1 < n, t[i + run] == ch(" "), let (m, e) = month(t, i + run + 1),
           Self.validDay(m, Scan.number(t, i, run)), e + 5 <= n, t[e] == ch(" "), Scan.digits(t, e + 1, 4),
           Scan.numberEnd(t, e + 5) {
            return e + 5
        }
        return nil
    }

    /// "March 5, 2024", "Mar. 5 2024".
    func named(_ t: [UInt8], _ i: Int) -> Int? {
        guard isUpper(t[i]), let (m, e0) = month(t, i) else { return nil }
        var p = e0
        if p < t.count, t[p] == ch(".") { p += 1 }
        guard p < t.count, t[p] == ch(" ") else { return nil }
        p += 1
        let r = Scan.digitRun(t, p)
        guard r == 1 || r == 2, Self.validDay(m, Scan.number(t, p, r)) else { return nil }
        p += r
        if p + 2 <= t.count, ["st", "nd", "rd", "th"].contains(where: { Array($0.utf8) == t[p..<(p + 2)].map(lower) }) { p += 2 }
        if p < t.count, t[p] == ch(",") { p += 1 }
        guard p < t.count, t[p] == ch(" "), Scan.digits(t, p + 1, 4), Scan.numberEnd(t, p + 5) else { return nil }
        return p + 5
    }

    /// A month name as a whole word at `i`: the month and the end offset.
    func month(_ t: [UInt8], _ i: Int) -> (Int, Int)? {
        for (name, m) in Self.months where Scan.wordAt(t, i, name) { return (m, i + name.count) }
        return nil
    }

    /// " 10:00", "T10:00:00.123Z", " 10:00:00+00" after a date.
    func time(_ t: [UInt8], _ i: Int) -> Int? {
        let n = t.count
        guard i + 6 <= n, t[i] == ch(" ") || t[i] == ch("T"), Scan.digits(t, i + 1, 2), t[i + 3] == ch(":"),
              Scan.digits(t, i + 4, 2) else { return nil }
        var p = i + 6
        if p + 3 <= n, t[p] == ch(":"), Scan.digits(t, p + 1, 2) { p += 3 }
        if p < n, t[p] == ch(".") { let r = Scan.digitRun(t, p + 1); if r > 0 { p += 1 + r } }
        if p < n, t[p] == ch("Z") { return p + 1 }
        if p + 3 <= n, t[p] == ch("+") || t[p] == ch("-"), Scan.digits(t, p + 1, 2) {
            p += 3
            if p + 3 <= n, t[p] == ch(":"), Scan.digits(t, p + 1, 2) { p += 3 }
        }
        return p
    }
}

extension DateDetector {
    /// Numeric dates start with a run of 1, 2 or 4 digits starting a word and followed
    /// by a separator; named ones with a capitalised month name.
    static let monthInitials = ScanProfile.letters("jfmasond")
    public func mayMatch(_ p: ScanProfile) -> Bool {
        p.runsLR & (ScanProfile.run(1) | ScanProfile.run(2) | ScanProfile.run(4)) != 0
            || p.upperInitials & Self.monthInitials != 0
    }
}
