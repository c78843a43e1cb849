import Foundation

/// Dates tied to a person. Shapes: 2024-03-05 (with an optional time), 03/05/2024 and
/// 05/03/2024 (either order), 3/5/24, 03-05-2024, 05.03.2024, 19800305 (HL7, in a field
/// only), March 5, 2024, Mar 5 2024, 5 March 2024 — month names in any case.
///
/// One rule for the other spellings: a date is a day, a month and a year in the order
/// Y-M-D, D-M-Y or M-D-Y, its parts joined by one and the same separator (`-`, `/`, `.`,
/// a space) or by none when the month is a name; the month a number or a name, the year
/// four digits, two, or `'` and two. With a named month or a four-digit year the shape
/// is a date on its own (`1984-Mar-09`, `09.MAR.1984`, `09MAR84`, `1984 03 09`, `Mar 9
/// '84`, and the CJK `1984年3月9日`); all in numbers with a two-digit year it is one only
/// where no part can be read two ways — the year above 31 at an end, every part two
/// digits, apart by `-` or `/` (`84-03-09`; `84.03.09` is a version's shape) — and then
/// only filling a field or after a context word, as a date without its day or year is.
/// A compact `19840309` counts after a date's label too (`Date`, `DOS`, `dt`), not only
/// a birth's.
///
/// The policy (docs/masking.md): a date is flagged when a context word (DOB, born,
/// admitted, discharged, died, seen, visit, ...) precedes it; when it sits in free text
/// (its field — the value, a JSON string, a tab- or bar-separated field — has two or
/// more words of three letters or more: a note, a message) — unless it carries a
/// machine's time of day (`T`, seconds: a log line's timestamp); or when a date without a
/// time of day fills a field (`Scan.fillsField`: a date of birth as a value, a CSV or
/// JSON field). A timestamp with a time of day that fills a field ("2026-11-26
/// 10:00:00", an event-time column) is not flagged by content: whether it is a person's
/// is a column rule's decision, or the lineage's.
public struct DateDetector: Detector {
    public var entities: [Entity] { [.date] }
    static let context = Scan.words(["dob", "d.o.b", "born", "birth", "birthday", "birthdate", "admitted", "admission",
                                     "admit", "discharged", "discharge", "died", "death", "deceased", "expired", "seen",
                                     "visit", "visited", "appointment", "surgery", "procedure", "dod", "doa", "lmp", "edd",
                                     "onset", "diagnosed", "s/p", "f/u"])
    static let months: [(name: [UInt8], month: Int)] = [
        ("january", 1), ("february", 2), ("march", 3), ("april", 4), ("may", 5), ("june", 6), ("july", 7),
        ("august", 8), ("september", 9), ("october", 10), ("november", 11), ("december", 12),
        ("jan", 1), ("feb", 2), ("mar", 3), ("apr", 4), ("jun", 6), ("jul", 7), ("aug", 8), ("sep", 9),
        ("sept", 9), ("oct", 10), ("nov", 11), ("dec", 12),
    ].map { (Array($0.0.utf8), $0.1) }
    /// A compact date (`19840309`) is one after a date's own label too: a number of eight
    /// digits is as often an order's, but not after "Date" or "DOS" (date of service).
    /// Not for the other shapes: "date" before a timestamp is an event's.
    static let compactContext = context + Scan.words(["date", "dated", "dt", "dos"])
    public init() {}

    /// The field around a date (up to a quote, tab, line end or `|`) and its words of
    /// three letters or more: computed once per field, so a value of many dates is
    /// read in linear time.
    struct Field { var start = 0, end = -1, words = 0 }

    /// Free text: the date's field holds at least two alphabetic words of three letters
    /// or more besides the date (a named date's month is one of its words).
    static func isFreeText(_ t: [UInt8], _ start: Int, _ end: Int, _ field: inout Field) -> Bool {
        @inline(__always) func edge(_ c: UInt8) -> Bool { c == ch("\"") || c == 0x09 || c == 0x0A || c == 0x0D || c == ch("|") }
        if !(start >= field.start && end <= field.end) {
            var a = start, b = end
            while a > 0, !edge(t[a - 1]) { a -= 1 }
            while b < t.count, !edge(t[b]) { b += 1 }
            field = Field(start: a, end: b, words: words(t, a, b))
        }
        return field.words - words(t, start, end) >= 2
    }

    static func words(_ t: [UInt8], _ a: Int, _ b: Int) -> Int {
        var words = 0, run = 0
        for k in a..<b {
            if isAlpha(t[k]) || t[k] >= 0x80 { run += 1 } else { if run >= 3 { words += 1 }; run = 0 }
        }
        return words + (run >= 3 ? 1 : 0)
    }

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        var i = 0
        var field = Field()
        while i < n {
            let c = t[i]
            // "生年月日：1984年3月9日": a CJK date's year follows a letter without a space.
            if isDigit(c), i > 0, t[i - 1] >= 0x80, !Scan.leftBoundary(t, i), let end = Self.cjkDate(t, i) ?? Self.cjkMonthDay(t, i) {
                spans.append(DetectedSpan(.date, i, end))
                i = end; continue
            }
            guard isAlnum(c), isDigit(c) ? Scan.numberStart(t, i, glued: true) : Scan.leftBoundary(t, i) else { i += 1; continue }
            if let (dateEnd, end) = isDigit(c) ? numeric(t, i) : (named(t, i) ?? Self.wordDate(t, i).flatMap { $0.full ? $0.end : nil }).map({ ($0, $0) }) {
                // A date under a key or label naming a version (an IAM policy's `"Version":
                // "2012-10-17"`, an API's `apiVersion`) is a version's name, not a day.
                // A weekday's name before it is part of it ("Fri 9 Mar 1984", "Friday, March 9, 1984").
                let w = Self.weekdayBefore(t, i)
                let fills = Scan.fillsField(t, w, end) && !Self.versionKey(t, w)
                let compact = [8, 12, 14].contains(dateEnd - i) && Scan.digitRun(t, i) == dateEnd - i
                if compact ? fills && end == dateEnd || Scan.contextBefore(t, i, Self.compactContext, window: 40)
                    : fills && (end == dateEnd || Self.midnight(t, dateEnd, end))
                        // A whole date with its month in words ("on 14 March 1961", "der 14. März
                        // 1961"): written by a person for a person, no machine's stamp or version.
                        || Self.spelledMonth(t, i, dateEnd) && !Self.versionKey(t, w)
                        || !Self.machineTime(t, dateEnd, end) && Self.isFreeText(t, i, end, &field)
                        || Scan.contextBefore(t, i, Self.context, window: 40) {
                    spans.append(DetectedSpan(.date, i, end))
                }
                i = end; continue
            }
            // A date without its day or its year (`November 1957`, `02/1958`, `6/23`,
            // `03-17-13`) is still a person's under Safe Harbor, but as often a version, a
            // ratio or a score: only after a context word or filling a field; or in free
            // text when it has a month and a year (`Sept 2023`, `3/2019`), as a note writes
            // when something happened.
            if let end = partial(t, i), Scan.contextBefore(t, i, Self.context, window: 40) || Scan.fillsField(t, i, end)
                || (Self.monthAndYear(t, i, end) || Self.namedDay(t, i, end) && time(t, end) == nil) && Self.isFreeText(t, i, end, &field)
                    && !Scan.contextBefore(t, i, Self.productDates, window: 12) {
                spans.append(DetectedSpan(.date, i, end))
                i = end; continue
            }
            i += 1
            // The rest of the word, up to a number glued to its label (`dob1984-03-09`).
            while i < n, Scan.isWordByte(t[i]), !Scan.escapedControl(t, i), !Scan.gluedLabel(t, i), !(isDigit(t[i]) && t[i - 1] >= 0x80) { i += 1 }
        }
    }

    static let weekdays: Set<UInt64> = Set("""
        monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { Scan.hashLower(String($0)) })

    /// Where a weekday's name ending right before the date at `i` starts ("Fri ", "Friday, ",
    /// "Fri. "); `i` when none is there.
    static func weekdayBefore(_ t: [UInt8], _ i: Int) -> Int {
        var p = i
        guard p >= 4, t[p - 1] == ch(" ") else { return i }
        p -= 1
        if t[p - 1] == ch(",") || t[p - 1] == ch(".") { p -= 1 }
        var s = p
        while s > 0, p - s < 9, isAlpha(t[s - 1]) { s -= 1 }
        return s < p && Scan.leftBoundary(t, s) && weekdays.contains(Scan.hashLower(t, s, p)) ? s : i
    }

    /// The key or label right before `i` (`"Version": "`, `apiVersion: `, `version=`)
    /// ends in "version".
    static func versionKey(_ t: [UInt8], _ i: Int) -> Bool {
        guard let key = Scan.keyBefore(t, i) else { return false }
        return key.count >= 7 && Scan.hashLower(t, key.upperBound - 7, key.upperBound) == Self.version
    }
    static let version = Scan.hashLower("version")

    /// Words before a month and a year that make it a product's, not a person's: a lot's
    /// or a card's expiry ("Lot MA8656 exp 10/2025").
    static let productDates = Scan.words(["exp", "expires", "expiry", "expiration", "expiring", "thru", "valid"])

    /// A partial date of a month and a four-digit year: "Sept 2023", "3/2019".
    static func monthAndYear(_ t: [UInt8], _ i: Int, _ end: Int) -> Bool {
        end - i >= 6 && Scan.digits(t, end - 4, 4) && !(end - 5 >= i && isDigit(t[end - 5]))
            && (isAlpha(t[i]) || t[end - 5] == ch("/"))
    }

    /// The time after a date is a machine's: with a `T`, seconds or a fraction
    /// (`2024-03-05T10:22:31.5`), as logs and event columns write it. Free text does not
    /// make such a timestamp a person's date; a context word still does.
    static func machineTime(_ t: [UInt8], _ dateEnd: Int, _ end: Int) -> Bool {
        guard end > dateEnd else { return false }
        return t[dateEnd] == ch("T") || end - dateEnd > 6
    }

    /// A time of day that is midnight to the second (`T00:00:00`, ` 00:00:00+00`): a date
    /// cast to a timestamp, filling a field as the date would.
    static func midnight(_ t: [UInt8], _ dateEnd: Int, _ end: Int) -> Bool {
        guard end - dateEnd >= 9 else { return false }
        let time = t[(dateEnd + 1)..<min(end, dateEnd + 9)]
        return time.elementsEqual("00:00:00".utf8) && t[(dateEnd + 9)..<end].allSatisfy { !isDigit($0) || $0 == ch("0") }
    }

    /// Day and month in either order (03/05 is 5 March in the US, 3 May elsewhere).
    static func validDayMonth(_ a: Int, _ b: Int) -> Bool { validDay(a, b) || validDay(b, a) }

    static func validDay(_ m: Int, _ d: Int) -> Bool { m >= 1 && m <= 12 && d >= 1 && d <= 31 }

    /// A year at `y` ending a number: four digits, or an apostrophe and two (`'84`, `’84`;
    /// two bare digits after a space are as often a count: "on 5 March 20 patients").
    /// Where it ends.
    static func year(_ t: [UInt8], _ y: Int) -> Int? {
        if Scan.digits(t, y, 4), Scan.numberEnd(t, y + 4) { return y + 4 }
        var p = y
        if p < t.count, t[p] == ch("'") { p += 1 }
        else if p + 3 <= t.count, t[p] == 0xE2, t[p + 1] == 0x80, t[p + 2] == 0x99 { p += 3 }
        return p > y && Scan.digitRun(t, p) == 2 && Scan.numberEnd(t, p + 2) ? p + 2 : nil
    }

    /// "may" in lower case at `a..<b`: a verb as often as a month ("you may 5 times").
    static func lowerMay(_ t: [UInt8], _ a: Int, _ b: Int) -> Bool {
        b - a == 3 && t[a] == ch("m") && t[a + 1] == ch("a") && t[a + 2] == ch("y")
    }

    /// The year first, a four-digit one: `1984-Mar-09`, `1984/Mar/09`, `1984 March 9` (a
    /// named month, the same separator twice), `1984 03 09` (numbers apart by single
    /// spaces, month and day of two digits, no number right before or after: not a run of
    /// counts or a phone's groups). The ISO `1984-03-09` is read by its own branch. Where
    /// it ends.
    static func yearFirst(_ t: [UInt8], _ i: Int) -> Int? {
        let n = t.count, p = i + 4
        guard p + 2 < n, (1800...2199).contains(Scan.number(t, i, 4)) else { return nil }
        let sep = t[p]
        // "1984. 3. 9." (Korean): a period and a space after each part, the last period optional.
        if sep == ch("."), t[p + 1] == ch(" "), case let m = Scan.digitRun(t, p + 2), m == 1 || m == 2, p + m + 4 < n,
           t[p + 2 + m] == ch("."), t[p + 3 + m] == ch(" "), case let d = Scan.digitRun(t, p + 4 + m), d == 1 || d == 2,
           validDay(Scan.number(t, p + 2, m), Scan.number(t, p + 4 + m, d)) {
            var end = p + 4 + m + d
            guard Scan.rightBoundary(t, end), !(end + 1 < n && t[end] == ch(".") && isDigit(t[end + 1])) else { return nil }
            if end < n, t[end] == ch(".") { end += 1 }
            return end
        }
        if sep == ch("-") || sep == ch("/") || sep == ch(".") || sep == ch(" "), let (m, e) = DateDetector().month(t, p + 1),
           !(sep == ch(" ") && lowerMay(t, p + 1, e)), e + 1 < n, t[e] == sep {
            let r = Scan.digitRun(t, e + 1)
            guard r == 1 || r == 2, validDay(m, Scan.number(t, e + 1, r)) else { return nil }
            var end = e + 1 + r
            if end + 2 <= n, ordinal(t, end), Scan.rightBoundary(t, end + 2) { end += 2 }
            return Scan.numberEnd(t, end) ? end : nil
        }
        guard sep == ch(" "), !(i >= 2 && t[i - 1] == ch(" ") && isDigit(t[i - 2])), Scan.digitRun(t, p + 1) == 2,
              p + 6 <= n, t[p + 3] == ch(" "), Scan.digitRun(t, p + 4) == 2, Scan.numberEnd(t, p + 6),
              !(p + 7 < n && t[p + 6] == ch(" ") && isDigit(t[p + 7])),
              validDay(Scan.number(t, p + 1, 2), Scan.number(t, p + 4, 2)) else { return nil }
        return p + 6
    }

    /// A date as Chinese, Japanese and Korean write it: `1984年3月9日`, `1984년 3월 9일`
    /// (a four-digit year, the month and the day each with its character after it). Where
    /// it ends.
    static func cjkDate(_ t: [UInt8], _ i: Int) -> Int? {
        let n = t.count
        // The year's character first (its lead byte: 年 E5, 년 EB), before anything is read.
        guard i + 8 <= n, t[i + 4] == 0xE5 || t[i + 4] == 0xEB, Scan.digitRun(t, i) == 4,
              (1800...2199).contains(Scan.number(t, i, 4)) else { return nil }
        // 年 년 / 月 월 / 日 일 (UTF-8), each after its number.
        @inline(__always) func unit(_ p: Int, _ a: UInt32, _ b: UInt32) -> Bool {
            guard p + 3 <= n else { return false }
            let v = UInt32(t[p]) << 16 | UInt32(t[p + 1]) << 8 | UInt32(t[p + 2])
            return v == a || v == b
        }
        var p = i + 4, month = 0, day = 0
        guard unit(p, 0xE5B9B4, 0xEB8584) else { return nil }
        p += 3
        for k in 0..<2 {
            if p < n, t[p] == ch(" ") { p += 1 }
            let r = Scan.digitRun(t, p)
            guard r == 1 || r == 2 else { return nil }
            if k == 0 { month = Scan.number(t, p, r) } else { day = Scan.number(t, p, r) }
            p += r
            guard k == 0 ? unit(p, 0xE69C88, 0xEC9B94) : unit(p, 0xE697A5, 0xEC9DBC) else { return nil }
            p += 3
        }
        return validDay(month, day) ? p : nil
    }

    /// A CJK date without its year (`3月9日`, `3월 9일`), or without its day (`1984年3月`,
    /// `1984년 3월`): each more specific than a year. Where it ends.
    static func cjkMonthDay(_ t: [UInt8], _ i: Int) -> Int? {
        let n = t.count
        @inline(__always) func unit(_ p: Int, _ a: UInt32, _ b: UInt32) -> Bool {
            guard p + 3 <= n else { return false }
            let v = UInt32(t[p]) << 16 | UInt32(t[p + 1]) << 8 | UInt32(t[p + 2])
            return v == a || v == b
        }
        let r = Scan.digitRun(t, i)
        if r == 4, unit(i + 4, 0xE5B9B4, 0xEB8584), (1800...2199).contains(Scan.number(t, i, 4)) {
            var p = i + 7
            if p < n, t[p] == ch(" ") { p += 1 }
            let m = Scan.digitRun(t, p)
            guard m == 1 || m == 2, (1...12).contains(Scan.number(t, p, m)), unit(p + m, 0xE69C88, 0xEC9B94) else { return nil }
            return p + m + 3
        }
        guard r == 1 || r == 2, unit(i + r, 0xE69C88, 0xEC9B94) else { return nil }
        var p = i + r + 3
        if p < n, t[p] == ch(" ") { p += 1 }
        let d = Scan.digitRun(t, p)
        guard d == 1 || d == 2, unit(p + d, 0xE697A5, 0xEC9DBC), validDay(Scan.number(t, i, r), Scan.number(t, p, d)) else { return nil }
        return p + d + 3
    }

    /// An ISO week date at `i` (`1984-W10-5`, `1984-W10`, `1984W105`): a week is more
    /// specific than a year. Where it ends.
    static func weekDate(_ t: [UInt8], _ i: Int) -> Int? {
        let n = t.count
        var p = i + 4
        let dash = p < n && t[p] == ch("-")
        if dash { p += 1 }
        guard p + 3 <= n, t[p] == ch("W"), Scan.digitRun(t, p + 1) >= 2, (1800...2199).contains(Scan.number(t, i, 4)),
              (1...53).contains(Scan.number(t, p + 1, 2)) else { return nil }
        p += 3
        if dash, p + 1 < n, t[p] == ch("-"), Scan.digitRun(t, p + 1) == 1, (1...7).contains(Scan.number(t, p + 1, 1)) { p += 2 }
        else if !dash, Scan.digitRun(t, p) == 1, (1...7).contains(Scan.number(t, p, 1)) { p += 1 }
        return Scan.numberEnd(t, p) ? p : nil
    }

    /// Numeric dates: where the date ends and where it ends with its time of day, if one
    /// starts at `i`.
    func numeric(_ t: [UInt8], _ i: Int) -> (Int, Int)? {
        let n = t.count
        let run = Scan.digitRun(t, i)
        if run == 4, let end = Self.yearFirst(t, i) ?? Self.cjkDate(t, i) ?? Self.cjkMonthDay(t, i) ?? Self.weekDate(t, i) { return (end, end) }
        if run == 1 || run == 2, let end = Self.cjkMonthDay(t, i) { return (end, end) }
        if run == 4, i + 8 <= n, t[i + 4] == ch("-") || t[i + 4] == ch("/") || t[i + 4] == ch(".") {
            // 2024-03-05, and 1980-3-5 as some writers leave it.
            let sep = t[i + 4], m = Scan.digitRun(t, i + 5)
            guard m == 1 || m == 2, i + 5 + m < n, t[i + 5 + m] == sep else { return nil }
            let dStart = i + 6 + m, dd = Scan.digitRun(t, dStart)
            guard dd == 1 || dd == 2 else { return nil }
            let y = Scan.number(t, i, 4)
            guard y >= 1800, y <= 2199, Self.validDay(Scan.number(t, i + 5, m), Scan.number(t, dStart, dd)) else { return nil }
            let d = dStart + dd
            let e = time(t, d) ?? d
            return Scan.rightBoundary(t, e) ? (d, e) : nil
        }
        // "19840309T1011", "19840309T101112Z": ISO 8601's basic form, an HL7 timestamp's kin.
        if run == 8, i + 13 <= n, t[i + 8] == ch("T"), case let h = Scan.digitRun(t, i + 9), h == 4 || h == 6,
           (1800...2199).contains(Scan.number(t, i, 4)), Self.validDay(Scan.number(t, i + 4, 2), Scan.number(t, i + 6, 2)),
           Scan.number(t, i + 9, 2) <= 23, Scan.number(t, i + 11, 2) <= 59 {
            var e = i + 9 + h
            if e < n, t[e] == ch("Z") { e += 1 }
            else if e + 3 <= n, t[e] == ch("+") || t[e] == ch("-"), case let o = Scan.digitRun(t, e + 1), o == 2 || o == 4 { e += 1 + o }
            if Scan.rightBoundary(t, e) { return (e, e) }
        }
        if run == 8 || run == 12 || run == 14, Scan.numberEnd(t, i + run) {
            // YYYYMMDD, as HL7 and X12 write a date of birth; with HHMM[SS], an HL7
            // timestamp (an admission's, an order's): a date all the same.
            let y = Scan.number(t, i, 4)
            guard y >= 1800, y <= 2199, Self.validDay(Scan.number(t, i + 4, 2), Scan.number(t, i + 6, 2)) else { return nil }
            guard run == 8 || Scan.number(t, i + 8, 2) <= 23 && Scan.number(t, i + 10, 2) <= 59
                    && (run == 12 || Scan.number(t, i + 12, 2) <= 59) else { return nil }
            return (i + run, i + run)
        }
        // "05-Aug-1930" (Oracle's and to_char's DD-Mon-YYYY), "5-Mar-61", "09.MAR.1984", "9/Mar/84"
        if run == 1 || run == 2, i + run + 1 < n, t[i + run] == ch("-") || t[i + run] == ch(".") || t[i + run] == ch("/"), let (m, e) = month(t, i + run + 1),
           Self.validDay(m, Scan.number(t, i, run)), e + 3 <= n, t[e] == t[i + run],
           case let y = Scan.digitRun(t, e + 1), y == 4 || y == 2, Scan.numberEnd(t, e + 1 + y) {
            return (e + 1 + y, e + 1 + y)
        }
        // "5 mars 1961", "5. März 1961", "1er mars 1961", "5 de marzo de 1961": a month
        // named in any language ICU knows, day first, in a whole date only (a day, the
        // name, a Gregorian year; not year-first forms such as Hungarian's).
        if run == 1 || run == 2, let end = Self.foreignDate(t, i, run) { return (end, end) }
        if run == 1 || run == 2, i + run < n, t[i + run] == ch("/") || t[i + run] == ch("-") || t[i + run] == ch(".") {
            // "9. 3. 1984" (Czech, Slovak, German by hand): a period and one space, both times.
            let sep = t[i + run], spaced = sep == ch(".") && i + run + 1 < n && t[i + run + 1] == ch(" ") ? 1 : 0
            let p = i + run + 1 + spaced, r2 = Scan.digitRun(t, p)
            guard r2 == 1 || r2 == 2, p + r2 + spaced < n, t[p + r2] == sep, spaced == 0 || t[p + r2 + 1] == ch(" ") else { return nil }
            let q = p + r2 + 1 + spaced, r3 = Scan.digitRun(t, q)
            // Two-digit years with `.` or `-` (`9.3.84`): a version's or a part's shape too, so
            // only after a date's label (`DOB 9.3.84`, `"birthDate": "9.3.84"`).
            guard r3 == 4 || r3 == 2 && (sep == ch("/") || spaced == 0 && Scan.contextBefore(t, i, Self.compactContext, window: 40)),
                  Scan.numberEnd(t, q + r3) || sep != ch(".") && Scan.rightBoundary(t, q + r3) else { return nil }
            guard r3 == 2 || (1800...2199).contains(Scan.number(t, q, 4)),
                  Self.validDayMonth(Scan.number(t, i, run), Scan.number(t, p, r2)) else { return nil }
            let e = time(t, q + r3) ?? q + r3
            return (q + r3, e)
        }
        // "5 March 2024", "16th of December 1949", "16th December 1949"
        if run == 1 || run == 2 {
            var p = i + run
            if p + 2 <= n, Self.ordinal(t, p) { p += 2 }
            p = Self.skipOf(t, p)
            if case let g = Self.gap(t, p), g > 0, let (m, e) = month(t, p + g), Self.validDay(m, Scan.number(t, i, run)), e < n,
               Self.gap(t, e) > 0 || t[e] == ch(","), case let y = t[e] == ch(",") ? e + 1 + Self.gap(t, e + 1) : e + Self.gap(t, e),
               let end = Self.year(t, y) {
                return (end, end)
            }
        }
        // "12JUN1929", "09MAR84" (DDMONYYYY and DDMONYY, as VA and Oracle exports write it)
        if run == 1 || run == 2, let (m, e) = month(t, i + run, joined: true), Self.validDay(m, Scan.number(t, i, run)),
           case let y = Scan.digitRun(t, e), y == 4 && (1800...2199).contains(Scan.number(t, e, 4)) || y == 2, Scan.numberEnd(t, e + y) {
            return (e + y, e + y)
        }
        return nil
    }

    /// Month names in every language ICU (Foundation's DateFormatter) has, lower case,
    /// without an abbreviation's period: each with the months it names (a short name may
    /// be two languages' different months). Names of letters only, so that no digit or
    /// space in a calendar's numbered months reads as a date.
    static let foreignMonths: [[UInt8]: Set<Int>] = {
        var languages = Set<String>()
        for id in Locale.availableIdentifiers { languages.insert(String(id.prefix { $0 != "_" && $0 != "-" })) }
        var names: [[UInt8]: Set<Int>] = [:]
        for language in languages {
            let f = DateFormatter()
            f.locale = Locale(identifier: language)
            for list in [f.monthSymbols, f.standaloneMonthSymbols, f.shortMonthSymbols, f.shortStandaloneMonthSymbols] {
                for (k, name) in (list ?? []).enumerated() {
                    var n = name.lowercased()
                    if n.hasSuffix(".") { n.removeLast() }
                    // A short name may be an English word too ("set", "ago", "out": Italian's
                    // September, Spanish's August, Portuguese's October): kept, as a day and a
                    // year around it make a date far more often than not.
                    guard n.count >= 3, n.allSatisfy(\.isLetter) else { continue }
                    names[Array(n.utf8), default: []].insert(k + 1)
                }
            }
        }
        return names
    }()

    /// A day, a month named in any language and a year from 1800 to 2199, as the
    /// languages write them: the day's period or ordinal ("5.", "1er", "1º"), "de" around
    /// the month (Spanish, Portuguese), an abbreviation's period. Where it ends.
    static func foreignDate(_ t: [UInt8], _ i: Int, _ run: Int) -> Int? {
        let n = t.count
        var p = i + run
        if p < n, t[p] == ch(".") { p += 1 }
        else if p + 2 <= n, t[p] == ch("e"), t[p + 1] == ch("r") { p += 2 }                       // 1er
        else if p + 2 <= n, t[p] == 0xC2, t[p + 1] == 0xBA || t[p + 1] == 0xAA { p += 2 }         // 1º, 1ª
        func word(_ w: String) {
            let g = Self.gap(t, p)
            if g > 0, p + g + w.utf8.count < n, Scan.wordAt(t, p + g, Array(w.utf8)) { p += g + w.utf8.count }
        }
        word("de")
        let g = Self.gap(t, p)
        guard g > 0 else { return nil }
        let start = p + g
        var e = start
        while e < n, isAlpha(t[e]) || t[e] >= 0x80, !Scan.unicodeBreak(t, at: e) { e += 1 }
        guard e - start >= 3, e - start <= 40, Scan.leftBoundary(t, start),
              let months = foreignMonths[Array(String(decoding: t[start..<e], as: UTF8.self).lowercased().utf8)],
              months.contains(where: { Self.validDay($0, Scan.number(t, i, run)) }) else { return nil }
        p = e
        if p < n, t[p] == ch(".") { p += 1 }
        if p < n, t[p] == ch(",") { p += 1 }
        word("de"); word("del")
        let y = p + Self.gap(t, p)
        guard y > p, Scan.digits(t, y, 4), Scan.numberEnd(t, y + 4), (1800...2199).contains(Scan.number(t, y, 4)) else { return nil }
        return y + 4
    }

    /// The length of the space between a date's parts at `p` (0: none): a space or a tab,
    /// or a no-break, thin, narrow no-break or figure space (French writes "5\u{202F}mars").
    static func gap(_ t: [UInt8], _ p: Int) -> Int {
        guard p < t.count else { return 0 }
        if t[p] == ch(" ") || t[p] == 0x09 { return 1 }
        if t[p] == 0xC2, p + 1 < t.count, t[p + 1] == 0xA0 { return 2 }
        if t[p] == 0xE2, p + 2 < t.count, t[p + 1] == 0x80, [0x87, 0x89, 0xAF].contains(t[p + 2]) { return 3 }
        return 0
    }

    /// Past " of" after a day ("16th of December"): where the month's space starts.
    static func skipOf(_ t: [UInt8], _ p: Int) -> Int {
        let g = gap(t, p)
        guard g > 0, p + g + 2 < t.count, t[(p + g)..<(p + g + 2)].map(lower) == Array("of".utf8), gap(t, p + g + 2) > 0 else { return p }
        return p + g + 2
    }

    /// English ordinal words for a day of the month, lower case: "first" … "thirty-first".
    static let ordinalDays: [UInt64: Int] = {
        let words = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh",
                     "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth",
                     "twentieth"]
        var d: [UInt64: Int] = [:]
        for (k, w) in words.enumerated() { d[Scan.hashLower(w)] = k + 1 }
        d[Scan.hashLower("thirtieth")] = 30
        return d
    }()
    static let tens: [UInt64: Int] = [Scan.hashLower("twenty"): 20, Scan.hashLower("thirty"): 30]

    /// A day written as an ordinal word at `p` ("fourteenth", "twenty-first", "thirty
    /// first"): the day and where it ends.
    static func ordinalWord(_ t: [UInt8], _ p: Int) -> (Int, Int)? {
        let n = t.count
        guard p < n, isAlpha(t[p]), Scan.leftBoundary(t, p) else { return nil }
        var q = p
        while q < n, isAlpha(t[q]) { q += 1 }
        // Cheap first: five letters at least, ending "th", "st", "nd", "rd" or "ty" (twenty).
        guard q - p >= 5, lower(t[q - 1]) == ch("h") || lower(t[q - 1]) == ch("t") || lower(t[q - 1]) == ch("d")
                || lower(t[q - 1]) == ch("y") else { return nil }
        let h = Scan.hashLower(t, p, q)
        if let d = ordinalDays[h], Scan.rightBoundary(t, q) { return (d, q) }
        guard let ten = tens[h], q + 1 < n, t[q] == ch("-") || t[q] == ch(" ") else { return nil }
        var r = q + 1
        while r < n, isAlpha(t[r]) { r += 1 }
        guard let u = ordinalDays[Scan.hashLower(t, q + 1, r)], u <= 9, ten + u <= 31, Scan.rightBoundary(t, r) else { return nil }
        return (ten + u, r)
    }

    /// A day after its month ("March the 14th", "March fourteenth", "March the
    /// fourteenth"): the day and where it ends. "the" and a bare number is no day ("May
    /// the 4 of us").
    static func spelledDay(_ t: [UInt8], _ p: Int) -> (Int, Int)? {
        var q = p, the = false
        if q + 4 <= t.count, t[q..<(q + 3)].map(lower) == Array("the".utf8), case let g = gap(t, q + 3), g > 0 { q += 3 + g; the = true }
        if let w = ordinalWord(t, q) { return w }
        let r = Scan.digitRun(t, q)
        guard the, r == 1 || r == 2, q + r + 2 <= t.count, ordinal(t, q + r), Scan.rightBoundary(t, q + r + 2) else { return nil }
        return (Scan.number(t, q, r), q + r + 2)
    }

    /// A date whose day is an ordinal word, day first: "fourteenth of March 1961",
    /// "twenty-first March 1958", "fourteenth of March, '61", "fourteenth of March". Where
    /// it ends, and whether it has its year.
    static func wordDate(_ t: [UInt8], _ i: Int) -> (end: Int, full: Bool)? {
        guard let (d, e) = ordinalWord(t, i) else { return nil }
        let p = skipOf(t, e), g = gap(t, p)
        guard g > 0, let (m, me) = DateDetector().month(t, p + g), validDay(m, d), !lowerMay(t, p + g, me) else { return nil }
        var y = me
        if y < t.count, t[y] == ch(",") { y += 1 }
        if case let g2 = gap(t, y), g2 > 0, let end = year(t, y + g2) { return (end, true) }
        // Without its year, only with "of" ("her second March visit" counts visits).
        return p > e && Scan.rightBoundary(t, me) ? (me, false) : nil
    }

    /// `a..<b` holds a month's name: a run of three letters or more (a month in any
    /// language, an ordinal word, "del"; not the `T` or `W` of ISO forms, "1er", "of").
    static func spelledMonth(_ t: [UInt8], _ a: Int, _ b: Int) -> Bool {
        var run = 0
        for k in a..<b {
            if isAlpha(t[k]) || t[k] >= 0x80 { run += 1; if run >= 3 { return true } } else { run = 0 }
        }
        return false
    }

    /// An ordinal word in `a..<b` ("March the fourteenth").
    static func hasOrdinalWord(_ t: [UInt8], _ a: Int, _ b: Int) -> Bool {
        var k = a
        while k < b {
            if isAlpha(t[k]), Scan.leftBoundary(t, k), let (_, e) = ordinalWord(t, k), e <= b { return true }
            k += 1
        }
        return false
    }

    /// "st", "nd", "rd", "th" at `p`.
    static func ordinal(_ t: [UInt8], _ p: Int) -> Bool {
        ["st", "nd", "rd", "th"].contains(where: { Array($0.utf8) == t[p..<(p + 2)].map(lower) })
    }

    /// A date missing its day or its year, or with a two-digit year after a dash: where
    /// it ends, if one starts at `i` ("November 1957", "Nov. 1957", "02/1958", "6/23",
    /// "03-17-13").
    func partial(_ t: [UInt8], _ i: Int) -> Int? {
        let n = t.count
        if let (m, e0) = month(t, i) {
            var p = e0
            if p < n, t[p] == ch(".") { p += 1 }
            if p < n, t[p] == ch(","), p + 1 < n { p += 1 }
            let g = Self.gap(t, p)
            guard g > 0 else { return nil }
            if Scan.digits(t, p + g, 4), Scan.numberEnd(t, p + g + 4), (1800...2199).contains(Scan.number(t, p + g, 4)) { return p + g + 4 }
            if let (d, e) = Self.spelledDay(t, p + g), Self.validDay(m, d), Scan.rightBoundary(t, e) { return e }
            return Self.day(t, p + g, month: m)
        }
        if let (end, _) = Self.wordDate(t, i) { return end }
        guard isDigit(t[i]) else { return nil }
        let run = Scan.digitRun(t, i)
        // "5th of March", "5 March": a day and its month, no year.
        if run == 1 || run == 2 {
            var p = i + run
            if p + 2 <= n, Self.ordinal(t, p) { p += 2 }
            p = Self.skipOf(t, p)
            if case let g = Self.gap(t, p), g > 0, let (m, e) = month(t, p + g), Self.validDay(m, Scan.number(t, i, run)),
               Scan.rightBoundary(t, e) { return e }
        }
        if run == 2, let end = Self.shortYear(t, i) { return end }
        guard run == 1 || run == 2, i + run + 1 < n, t[i + run] == ch("/") || t[i + run] == ch("-") else { return nil }
        let sep = t[i + run], p = i + run + 1, r2 = Scan.digitRun(t, p), a = Scan.number(t, i, run)
        if r2 == 4, Scan.numberEnd(t, p + 4), a >= 1, a <= 12, (1800...2199).contains(Scan.number(t, p, 4)) { return p + 4 }
        if sep == ch("/"), r2 == 1 || r2 == 2, Scan.numberEnd(t, p + r2), Self.validDayMonth(a, Scan.number(t, p, r2)) { return p + r2 }
        if sep == ch("-"), r2 == 1 || r2 == 2, p + r2 + 3 <= n, t[p + r2] == ch("-"), Scan.digitRun(t, p + r2 + 1) == 2,
           Scan.numberEnd(t, p + r2 + 3), Self.validDayMonth(a, Scan.number(t, p, r2)) { return p + r2 + 3 }
        return nil
    }

    /// Three parts of two digits apart by one and the same `-` or `/`, whose year can be
    /// nothing else: above 31 at either end, a valid month and day beside it (`84-03-09`,
    /// `84/03/09`). Not with dots: `11.30.56` is as often a version (Faker's benign set).
    /// Where it ends.
    static func shortYear(_ t: [UInt8], _ i: Int) -> Int? {
        let n = t.count
        guard i + 8 <= n, t[i + 2] == ch("-") || t[i + 2] == ch("/"), t[i + 5] == t[i + 2],
              Scan.digitRun(t, i + 3) == 2, Scan.digitRun(t, i + 6) == 2, Scan.numberEnd(t, i + 8) else { return nil }
        let a = Scan.number(t, i, 2), b = Scan.number(t, i + 3, 2), c = Scan.number(t, i + 6, 2)
        return a > 31 && validDay(b, c) || c > 31 && validDayMonth(a, b) ? i + 8 : nil
    }

    /// A day of `month` at `p` ("5", "5th") standing alone: where it ends.
    static func day(_ t: [UInt8], _ p: Int, month m: Int) -> Int? {
        let r = Scan.digitRun(t, p)
        guard r == 1 || r == 2, Self.validDay(m, Scan.number(t, p, r)) else { return nil }
        var e = p + r
        if e + 2 <= t.count, Self.ordinal(t, e), Scan.rightBoundary(t, e + 2) { e += 2 }
        return Scan.numberEnd(t, e) || Scan.rightBoundary(t, e) ? e : nil
    }

    /// A month's name and a day without a year ("March 5th", "5 March"): a person's date
    /// under Safe Harbor, and a note writes no version or ratio so. Not "may 5" in lower
    /// case, a verb's as often; not with a time of day after it (a syslog line's stamp,
    /// "Jul 21 03:01:47 app01 sshd": the caller checks).
    static func namedDay(_ t: [UInt8], _ i: Int, _ end: Int) -> Bool {
        guard !monthAndYear(t, i, end), t[i..<end].contains(where: isAlpha),
              t[i..<end].contains(where: isDigit) || wordDate(t, i) != nil || spelledMonth(t, i, end) && hasOrdinalWord(t, i, end) else { return false }
        return !String(decoding: t[i..<end], as: UTF8.self).split(whereSeparator: { !$0.isLetter }).contains("may")
    }

    /// "March 5, 2024", "Mar. 5 2024".
    func named(_ t: [UInt8], _ i: Int) -> Int? {
        guard let (m, e0) = month(t, i) else { return nil }
        // "Mar-20-1942", "Mar/20/1942"
        if e0 < t.count, t[e0] == ch("-") || t[e0] == ch("/"), case let sep = t[e0], case let r = Scan.digitRun(t, e0 + 1),
           r == 1 || r == 2, Self.validDay(m, Scan.number(t, e0 + 1, r)), e0 + r + 6 <= t.count, t[e0 + 1 + r] == sep,
           Scan.digits(t, e0 + 2 + r, 4), Scan.numberEnd(t, e0 + 6 + r) {
            return e0 + 6 + r
        }
        var p = e0
        if p < t.count, t[p] == ch(".") { p += 1 }
        guard Self.gap(t, p) > 0 else { return nil }
        p += Self.gap(t, p)
        // to_char pads a month name to nine characters: "August    05, 1930".
        while p < t.count, p - e0 <= 10, t[p] == ch(" ") { p += 1 }
        let r = Scan.digitRun(t, p)
        if r == 0 {
            // "March the 14th, 1961", "March fourteenth, 1961".
            guard let (d, e) = Self.spelledDay(t, p), Self.validDay(m, d) else { return nil }
            p = e
        } else {
            guard r == 1 || r == 2, Self.validDay(m, Scan.number(t, p, r)) else { return nil }
            p += r
            if p + 2 <= t.count, ["st", "nd", "rd", "th"].contains(where: { Array($0.utf8) == t[p..<(p + 2)].map(lower) }) { p += 2 }
        }
        if p < t.count, t[p] == ch(",") { p += 1 }
        let g = Self.gap(t, p)
        guard g > 0 else { return nil }
        // "Mar 9 '84": a year's two digits after an apostrophe.
        return Self.year(t, p + g)
    }

    /// A month name as a whole word at `i`: the month and the end offset. `joined`: right
    /// after a day's digits and before the year's (`12JUN1929`), no boundary before it.
    func month(_ t: [UInt8], _ i: Int, joined: Bool = false) -> (Int, Int)? {
        if joined {
            for (name, m) in Self.months where i + name.count < t.count && isDigit(t[i + name.count])
                && zip(t[i..<(i + name.count)], name).allSatisfy({ lower($0) == $1 }) { return (m, i + name.count) }
            return nil
        }
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
            else if Scan.digitRun(t, p) == 2 { p += 2 }   // "+0200"
        }
        return p
    }
}

extension DateDetector {
    /// Every shape has a number of 1, 2, 4 or 8 digits that starts a word and ends at a
    /// separator (a named date's day or year too), or a day's that runs into its month
    /// (`12JUN1929`), or a compact date's into its time (`19840309T1011`).
    public func mayMatch(_ p: ScanProfile) -> Bool {
        p.runsLR & (ScanProfile.run(1) | ScanProfile.run(2) | ScanProfile.run(4) | ScanProfile.run(8) | ScanProfile.run(12)
                    | ScanProfile.run(14)) != 0
            || p.runsL & (ScanProfile.run(1) | ScanProfile.run(2) | ScanProfile.run(4) | ScanProfile.run(8)) != 0
            // A CJK date right after a letter ("生年月日1984年…", "生日3月9日").
            || p.nonASCII && p.digitCount >= 2
    }
}
