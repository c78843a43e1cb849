/// Telephone and fax numbers as people write them, in the US and abroad. A number is
/// read as digit groups split by single separators (space, `-`, `.`) and parentheses,
/// with an optional extension (`x123`, `ext. 45`); the longest run of groups that
/// makes one of these shapes is the number:
/// - international: `+` and 8–15 digits in any grouping (E.164: `+12175550134`,
///   `+1-217-555-0134`, `+44 (0)20 7946 0958`, `+61 2 9876 5432`, `(+358) 40 123 4567`),
///   or `00` / `011` and a country code with 10–17 digits; Russia's trunk 8 and an area
///   code in parentheses (`8 (912) 345-67-89`);
/// - North American: `ddd ddd dddd` in any of its separators, `(ddd) ddd-dddd`, with an
///   optional `1` trunk;
/// - national with a trunk `0` (UK, Australia, Mexico, most of Europe): 10–11 digits in
///   two or more groups, the first starting `0` (`020 7946 0958`, `(0113) 496 0123`,
///   `0412 345 678`, `(02) 9876 5432`);
/// - bare digits: ten in NANP form (area code and exchange starting 2–9), or 10–11
///   starting `0` and a non-zero (a trunk prefix; zero-padded ids start `00`);
/// - two groups of four split by a space or a dash, as the whole number (local numbers
///   in Australia, Singapore, Hong Kong: `9876 5432`);
/// - weak shapes, only after a context word (phone, tel, fax, ...) or when the number
///   fills a field (`Scan.fillsField`): eleven bare digits with a leading 1 and NANP,
///   `dddd.dddd`, 11–17 bare digits starting `00` and a country code; plus any ten or
///   eleven bare digits, and
///   `ddd-dddd`, after a context word only. Epoch seconds (ten digits starting 1) are
///   not NANP numbers.
/// Bare runs of eight digits are not phone numbers (order numbers look the same).
public struct PhoneDetector: Detector {
    public var entities: [Entity] { [.phone] }
    static let context = Scan.words(["phone", "tel", "telephone", "fax", "cell", "mobile", "call", "called",
                                     "contact", "pager", "number", "ph", "reached", "text", "voicemail",
                                     "mob", "tlf", "telefono", "teléfono", "celular", "móvil", "whatsapp"])
    public init() {}

    struct Group { var start: Int, end: Int, digits: Int, paren: Bool }


    /// The digit groups of a number starting at `i` (a digit, `+` or `(`): at most 8.
    static func groups(_ t: [UInt8], _ i: Int) -> (plus: Bool, groups: [Group]) {
        let n = t.count
        var p = i, plus = false
        var out: [Group] = []
        if t[p] == ch("+") { plus = true; p += 1; if p < n, t[p] == ch(" ") { p += 1 } }
        while p < n, out.count < 8 {
            var paren = false
            var q = p
            if t[q] == ch("(") { paren = true; q += 1 }
            // "(+358) 40 123 4567": the country code in parentheses.
            if paren, out.isEmpty, !plus, q < n, t[q] == ch("+") { plus = true; q += 1 }
            let run = Scan.digitRun(t, q)
            guard run > 0, run <= 17 else { break }
            var e = q + run
            if paren { guard e < n, t[e] == ch(")") else { break }; e += 1 }
            out.append(Group(start: p, end: e, digits: run, paren: paren))
            // The next group: after one separator, or right after a ")", or "(" right after digits ("+44(0)20").
            var s = e
            if let sep = Scan.separator(t, s) { s += sep } else if !(paren || s < n && t[s] == ch("(")) { break }
            guard s < n, isDigit(t[s]) || t[s] == ch("(") && s + 1 < n && isDigit(t[s + 1]) else { break }
            p = s
        }
        return (plus, out)
    }

    /// An extension after the number ending at `e`: " x123", "x123", " ext. 45", " extension 4".
    static func extensionEnd(_ t: [UInt8], _ e: Int) -> Int? {
        let n = t.count
        var p = e
        if p < n, t[p] == ch(" ") { p += 1 }
        guard p < n, lower(t[p]) == ch("x") || lower(t[p]) == ch("e") else { return nil }
        if lower(t[p]) == ch("x") { p += 1 } else {
            var w = p
            while w < n, isAlpha(t[w]) { w += 1 }
            let word = t[p..<w].map(lower)
            guard word == Array("ext".utf8) || word == Array("extension".utf8) else { return nil }
            p = w
            if p < n, t[p] == ch(".") { p += 1 }
        }
        if p < n, t[p] == ch(" ") || t[p] == ch(":") { p += 1 }
        let run = Scan.digitRun(t, p)
        guard run >= 1, run <= 6, Scan.numberEnd(t, p + run) else { return nil }
        return p + run
    }

    /// `labelled`: only right after a word that names a phone (`labels`), not after
    /// "number" or "contact", which precede an order's or a case's number as often.
    enum Strength { case strong, weak, contextOnly, labelled }
    static let labels = Scan.words(["phone", "tel", "telephone", "fax", "cell", "mobile", "mob", "ph", "pager", "tlf",
                                    "telefono", "teléfono", "telefone", "téléphone", "tél", "telefon", "handy", "mobil",
                                    "celular", "móvil", "portable", "cellulare", "telefoon", "whatsapp"])

    /// The shape of the first `g` groups, if they make a number.
    static func shape(_ t: [UInt8], plus: Bool, _ gs: ArraySlice<Group>) -> Strength? {
        let digits = gs.reduce(0) { $0 + $1.digits }
        let first = gs.first!
        let lead = t[first.paren ? first.start + 1 : first.start]
        if plus { return digits >= 8 && digits <= 15 && (gs.count > 1 || digits >= 10) ? .strong : nil }
        if gs.count == 1 {
            // Bare digits.
            let s = first.start
            if digits == 10, nanp(t, s) { return .strong }
            if digits == 11, lead == ch("1"), nanp(t, s + 1) { return .weak }
            if digits == 10 || digits == 11, lead == ch("0"), t[s + 1] != ch("0") { return .strong }
            // 00 and a country code, unseparated: in a field or after a context word.
            if digits >= 11, digits <= 17, lead == ch("0"), t[s + 1] == ch("0"), t[s + 2] != ch("0") { return .weak }
            if digits == 10 || digits == 11 && lead == ch("1") { return .contextOnly }
            if digits >= 6, digits <= 11 { return .labelled }
            return nil
        }
        let sizes = gs.map(\.digits)
        // North American: [1] ddd ddd dddd, only the area code in parentheses.
        let body = sizes.first == 1 && lead == ch("1") && !first.paren ? gs.dropFirst() : gs
        if body.map(\.digits) == [3, 3, 4], !body.dropFirst().contains(where: \.paren) { return .strong }
        // International prefix: 00 (or 011) and a country code.
        let prefix = t[first.start..<first.end]
        // 00 + a country code + a national number of 7+ digits: 12 or more in all (a date
        // such as 0044-03-15 has fewer).
        if !first.paren, digits >= 12, digits <= 17,
           prefix.starts(with: [ch("0"), ch("0")]) || prefix.elementsEqual("011".utf8) { return .strong }
        // National with a trunk 0.
        // The groups are of 2+ digits, the last of 3+ (a subscriber number, not a date's day).
        let second = t[(first.paren ? first.start + 1 : first.start) + 1]
        if lead == ch("0"), second != ch("0"), digits == 10 || digits == 11, sizes.allSatisfy({ $0 >= 2 }), sizes.last! >= 3 {
            return .strong
        }
        // A one-digit trunk (8 in Russia and the CIS) and the area code in parentheses: `8 (912) 345-67-89`.
        if first.digits == 1, lead == ch("8"), gs.count >= 3, gs[gs.startIndex + 1].paren, digits == 11 { return .strong }
        // France and others: 0 and four pairs (`01 42 68 53 00`).
        if lead == ch("0"), second != ch("0"), sizes == [2, 2, 2, 2, 2] { return .strong }
        // Two groups of four (a local number in Australia, Singapore, Hong Kong): split by
        // a space or a dash and standing as the whole run; with a dot it may be a decimal.
        // A subscriber's number never starts with 0, the trunk prefix (`0002-1433`, an NDC's
        // labeler and product, is none).
        if sizes == [4, 4], !first.paren, lead != ch("0") {
            return t[first.end] == ch(".") ? .weak : .strong
        }
        if sizes == [3, 4], !first.paren { return .contextOnly }
        // An area code of two digits and a subscriber number of eight or nine split
        // 4-4 or 5-4 (Brazil, Japan: `65 8928-3838`, `(11) 91234-5678`, `59-7510-4904`).
        if sizes == [2, 4, 4] || sizes == [2, 5, 4], !gs.dropFirst().contains(where: \.paren),
           t[gs[gs.startIndex + 1].start] != ch("0") { return .strong }
        // Right after a phone's own label, a local number of 6–11 digits in any grouping
        // (`tel 5551234`, `Phone: 555 12 34`, `Tel: 030 901820`).
        if digits >= 6, digits <= 11, sizes.dropLast().allSatisfy({ $0 >= 2 }), sizes.last! >= 2 { return .labelled }
        return nil
    }

    /// The token ending right before `p` is a word of letters, one at least no hex digit.
    static func wordBefore(_ t: [UInt8], _ p: Int) -> Bool {
        var k = p, nonHex = false
        while k > 0, isAlnum(t[k - 1]) {
            if isDigit(t[k - 1]) { return false }
            if !isHex(t[k - 1]) { nonHex = true }
            k -= 1
        }
        return nonHex && p - k >= 2 && Scan.leftBoundary(t, k)
    }

    /// A phone's label right before `i`: only signs, a bracketed word and "no" /
    /// "number" between them ("Phone: ", "tel. ", "Tel (home): ", "Phone no. "), so
    /// that "cell count 1234567" is no phone.
    static func labelledBefore(_ t: [UInt8], _ i: Int) -> Bool {
        var p = i, skipped = 0
        func signs() { while p > 0, i - p < 24, !isAlnum(t[p - 1]), t[p - 1] < 0x80, t[p - 1] != ch("\n") { p -= 1 } }
        signs()
        while skipped < 2 {
            var a = p
            while a > 0, isAlpha(t[a - 1]) || t[a - 1] >= 0x80 { a -= 1 }
            guard a < p else { return false }
            if labels.contains(where: { $0.elementsEqual(t[a..<p].map(lower)) }) { return true }
            let h = Scan.hashLower(t, a, p)
            guard a > 0, t[a - 1] == ch("(") || labelFillers.contains(h) else { return false }
            p = a; skipped += 1
            signs()
        }
        return false
    }
    static let labelFillers: Set<UInt64> = Set(["no", "nr", "num", "number", "nbr", "home", "work", "cell", "mobile"].map(Scan.hashLower))

    /// Ten digits at `i` in North American form: area code and exchange start 2–9.
    static func nanp(_ t: [UInt8], _ i: Int) -> Bool { t[i] >= ch("2") && t[i + 3] >= ch("2") }

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        var i = 0
        while i < n {
            let c = t[i]
            guard isDigit(c) ? Scan.numberStart(t, i, glued: true)
                    : (c == ch("(") || c == ch("+")) && (i == 0 || !isAlnum(t[i - 1]) && t[i - 1] != ch("+") || Scan.escapedControl(t, i)) else {
                i += 1; continue
            }
            let (plus, gs) = Self.groups(t, i)
            guard !gs.isEmpty else { i += 1; continue }
            var matched: Int? = nil
            for g in stride(from: gs.count, through: 1, by: -1) {
                let last = gs[g - 1]
                guard var strength = Self.shape(t, plus: plus, gs[0..<g]) else { continue }
                // A shorter run cut from a longer one (the first groups of a card number)
                // counts only as a weak shape.
                if g < gs.count, strength == .strong, !plus, gs[0..<g].map(\.digits) == [4, 4] { strength = .weak }
                let ext = Self.extensionEnd(t, last.end)
                guard ext != nil || Scan.numberEnd(t, last.end) || last.paren else { continue }
                let end = ext ?? last.end
                let ok: Bool
                switch strength {
                case .strong: ok = true
                case .weak: ok = Scan.fillsField(t, i, end) || Scan.contextBefore(t, i, Self.context)
                case .contextOnly: ok = Scan.contextBefore(t, i, Self.context) || Self.labelledBefore(t, i)
                case .labelled: ok = Self.labelledBefore(t, i)
                }
                if ok { matched = end; break }
            }
            // A number chained to letters or digits by `-` or `.` is a piece of a longer
            // token (a UUID's groups, a version, a part number), not a phone number; after
            // a word of letters that are no hex digits it is a name's (`smith-555-010-0199.pdf`).
            // A time's `:` after it (2562047788:00:00, an interval) likewise.
            if let end = matched, !(i >= 2 && (t[i - 1] == ch("-") || t[i - 1] == ch(".")) && isAlnum(t[i - 2]) && !Self.wordBefore(t, i - 1)),
               !(end + 1 < n && (t[end] == ch("-") || t[end] == ch(".")) && isAlnum(t[end + 1]) && !Scan.fileExtension(t, end)),
               !(end + 1 < n && t[end] == ch(":") && isDigit(t[end + 1])) {
                spans.append(DetectedSpan(.phone, i, end)); i = end; continue
            }
            // A chain of four-digit groups (a card number that failed its check) is passed
            // whole: its last groups are no local number.
            i = gs.count >= 3 && gs.allSatisfy({ $0.digits == 4 && !$0.paren }) ? gs.last!.end : max(gs[0].end, i + 1)
        }
    }
}

extension PhoneDetector {
    /// Every shape has six digits or more (seven but after a phone's label), and its
    /// first group ends at a separator, a `)` or the end: a number that starts and ends a word.
    public func mayMatch(_ p: ScanProfile) -> Bool { p.digitCount >= 6 && p.runsLR != 0 }
}
