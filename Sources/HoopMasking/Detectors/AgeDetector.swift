/// Ages over 89 (Safe Harbor keeps ages up to 89): "92-year-old", "92 years old",
/// "93 y/o", "93yo", "93-yr-old", "92 YOF", "age 93", "aged 95", "Age/Sex: 93/F", a key
/// naming an age (`"ageInYears": 93`); at a clause's start, an age with its sex, the
/// sentence going on ("92F with CHF"; "128M" alone is a size, "102F" after a temperature's
/// label a temperature). Ages 90-129 only; younger ages are not PHI.
public struct AgeDetector: Detector {
    public var entities: [Entity] { [.age] }
    static let before = Scan.words(["age", "aged", "ages"])
    static let after = Scan.words(["-year-old", " year old", " years old", "-years-old", " year-old", " yo", "yo",
                                   " y/o", "-yo", " y.o.", " yrs old", " years of age", "-year old",
                                   "-yr-old", " yr old", "-yr old", " yrs", " yof", " yom", "yof", "yom",
                                   " yo f", " yo m"])
    /// Words before an age with its sex ("Patient is a 92F with", "Mother is 93F and").
    static let subject = Scan.words(["a", "an", "is", "was", "aged"])
    /// An age's sex right after it ("92F", "93 M"), at a clause's start or after `subject`.
    static let sex = Scan.words(["f", "m", " f", " m"])
    public init() {}

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        Scan.numbers(t) { i, run in
            guard run == 2 || run == 3, case let v = Scan.number(t, i, run), v >= 90, v <= 129 else { return nil }
            let e = i + run
            var end: Int? = nil
            for w in Self.after where e + w.count <= n {
                var ok = true
                for k in 0..<w.count where lower(t[e + k]) != w[k] { ok = false; break }
                if ok, Scan.rightBoundary(t, e + w.count) || w.last == ch(".") { end = e + w.count; break }
            }
            // An age and its sex open a sentence that goes on ("92F with CHF"): a value that
            // is only "128M" or "99F" is a size or a temperature.
            if end == nil, Self.clauseStart(t, i) || Scan.contextBefore(t, i, Self.subject, window: 5) {
                for w in Self.sex where e + w.count + 2 <= n && zip(t[e..<(e + w.count)], w).allSatisfy({ lower($0) == $1 })
                    && t[e + w.count] == ch(" ") && isLower(t[e + w.count + 1]) { end = e + w.count; break }
            }
            if end == nil, Scan.rightBoundary(t, e) || e < n && t[e] == ch("/"),
               Scan.contextBefore(t, i, Self.before, window: 20) { end = e }
            // A sex and its age ("a F/93 with afib", "M/91"); DICOM's age string, zero-
            // padded with its unit ("094Y").
            if end == nil, i >= 2, t[i - 1] == ch("/"), "FfMm".utf8.contains(t[i - 2]), Scan.leftBoundary(t, i - 2),
               Scan.rightBoundary(t, e) { end = e }
            if end == nil, run == 3, t[i] == ch("0"), e < n, t[e] == ch("Y"), Scan.rightBoundary(t, e + 1) { end = e + 1 }
            if let end { spans.append(DetectedSpan(.age, i, end)) }
            return end
        }
    }
}

extension AgeDetector {
    /// Nothing but spaces and quotes since the text's start, a sentence's end, a line or a field.
    static func clauseStart(_ t: [UInt8], _ i: Int) -> Bool {
        var p = i - 1
        while p >= 0, t[p] == ch(" ") || t[p] == ch("\"") { p -= 1 }
        guard p >= 0 else { return true }
        return [ch("."), ch(":"), ch(";"), ch("|"), ch(","), 0x0A, 0x0D, 0x09].contains(t[p]) && !(t[p] == ch(":") && Self.temperatureLabel(t, p))
    }

    /// "Temp:", "T:", "Tmax:" before a colon: what follows is a temperature.
    static func temperatureLabel(_ t: [UInt8], _ colon: Int) -> Bool {
        var a = colon
        while a > 0, isAlpha(t[a - 1]) { a -= 1 }
        let word = String(decoding: t[a..<colon], as: UTF8.self).lowercased()
        return ["t", "temp", "tmax", "temperature", "tc", "tf"].contains(word)
    }

    /// A 2- or 3-digit run starting a word, followed by a separator, the end, or a "y",
    /// "f" or "m" ("93yo", "92F").
    static let y = ScanProfile.letters("yfm")
    public func mayMatch(_ p: ScanProfile) -> Bool {
        let runs = p.letters & Self.y != 0 ? p.runsL : p.runsLR
        return runs & (ScanProfile.run(2) | ScanProfile.run(3)) != 0
    }
}
