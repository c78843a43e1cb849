/// National identity numbers of other countries, the SSN's kin (Safe Harbor's "any other
/// unique identifying number"), by their issuers' shapes and check digits:
///
/// - UK National Insurance number: two letters, six digits, a letter (`QQ 12 34 56 C`);
/// - Canadian Social Insurance Number: nine digits in threes, Luhn (`046 454 286`);
/// - French NIR: fifteen digits whose last two are 97 minus the first thirteen modulo 97;
/// - Mexican CURP: eighteen characters with a date of birth and a sex (`HEGG560427MVZRRL04`);
/// - Italian codice fiscale: sixteen characters with a year, a month letter and a day;
/// - Brazilian CPF printed `123.456.789-09`, its two check digits modulo 11;
/// - Indian Aadhaar printed `2345 6789 0123` (Verhoeff);
/// - Korean resident registration number: a date YYMMDD, `-`, seven digits (`470420-1159379`);
/// - Chinese resident identity number: eighteen characters, a date YYYYMMDD inside, the
///   last a check (ISO 7064 MOD 11-2, `X` for ten);
/// - Spanish DNI and NIE: eight digits (or X, Y, Z and seven) and their check letter
///   (modulo 23);
/// - Mexican RFC of a person: four letters, a date YYMMDD, three letters or digits;
///
/// and, after their name (`SIN`, `BSN`, `CPF`, `Aadhaar`...), the bare forms that are
/// otherwise only digits: nine (SIN by Luhn, Dutch BSN by its 11-test), eleven (CPF), twelve
/// (Aadhaar). Found as `SSN`: each is its country's SSN.
public struct NationalIDDetector: Detector {
    public var entities: [Entity] { [.ssn] }
    public init() {}

    static let sinContext = Scan.words(["sin", "social insurance", "nas"])
    static let bsnContext = Scan.words(["bsn", "burgerservicenummer", "sofinummer"])
    static let cpfContext = Scan.words(["cpf"])
    static let aadhaarContext = Scan.words(["aadhaar", "aadhar", "uidai", "uid"])
    static let peselContext = Scan.words(["pesel"])

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        Scan.alnumRuns(t) { i, e in
            if let end = isUpper(t[i]) ? Self.lettered(t, i, e) : Self.numbered(t, i, e) {
                spans.append(DetectedSpan(.ssn, i, end))
                return end
            }
            return nil
        }
    }

    /// The identifiers that start with a letter: where one that starts at `i` (its first
    /// run of letters and digits ends at `e`) ends.
    static func lettered(_ t: [UInt8], _ i: Int, _ e: Int) -> Int? {
        let run = Array(t[i..<e])
        guard Scan.rightBoundary(t, e) || e < t.count && t[e] == ch(" ") else { return nil }
        // NINO, whole or spaced: "QQ123456C", "QQ 12 34 56 C", "QQ 123456 C".
        if run.count == 9, nino(run), Scan.rightBoundary(t, e) { return e }
        if run.count == 2, run.allSatisfy(isUpper), let end = spacedNINO(t, e) { return end }
        guard Scan.rightBoundary(t, e) else { return nil }
        if run.count == 18, curp(run) { return e }
        if run.count == 16, codiceFiscale(run) { return e }
        if run.count == 9, [ch("X"), ch("Y"), ch("Z")].contains(run[0]), run[1..<8].allSatisfy(isDigit), isUpper(run[8]),
           dniLetter(Int(run[0] - ch("X")) * 10_000_000 + Scan.number(run, 1, 7)) == run[8] { return e }
        if run.count == 13, run[0..<4].allSatisfy(isUpper), run[4..<10].allSatisfy(isDigit), run[10..<13].allSatisfy({ isUpper($0) || isDigit($0) }),
           validMonthDay(Scan.number(run, 6, 2), Scan.number(run, 8, 2)) { return e }
        return nil
    }

    /// The DNI's check letter of `n` (`n` mod 23 into a fixed alphabet).
    static func dniLetter(_ n: Int) -> UInt8 { Array("TRWAGMYFPDXBNJZSQVHLCKE".utf8)[n % 23] }

    /// After a NINO's two letters at `p`: " 12 34 56 C" or " 123456 C". Where it ends.
    static func spacedNINO(_ t: [UInt8], _ p: Int) -> Int? {
        let n = t.count
        guard p < n, t[p] == ch(" ") else { return nil }
        var q = p + 1
        if Scan.digitRun(t, q) == 6 { q += 6 }
        else {
            for k in 0..<3 {
                guard Scan.digitRun(t, q) == 2 else { return nil }
                q += 2
                if k < 2 { guard q < n, t[q] == ch(" ") else { return nil }; q += 1 }
            }
        }
        guard q + 2 <= n, t[q] == ch(" "), isUpper(t[q + 1]), Scan.rightBoundary(t, q + 2) else { return nil }
        return q + 2
    }

    /// Two capitals, six digits, a capital.
    static func nino(_ c: [UInt8]) -> Bool {
        c.count == 9 && isUpper(c[0]) && isUpper(c[1]) && c[2..<8].allSatisfy(isDigit) && isUpper(c[8])
    }

    /// Four letters, a date YYMMDD, H or M (or X), five letters, a letter or digit, a digit.
    static func curp(_ c: [UInt8]) -> Bool {
        guard c[0..<4].allSatisfy(isUpper), c[4..<10].allSatisfy(isDigit), [ch("H"), ch("M"), ch("X")].contains(c[10]),
              c[11..<16].allSatisfy(isUpper), isUpper(c[16]) || isDigit(c[16]), isDigit(c[17]) else { return false }
        return validMonthDay(Scan.number(c, 6, 2), Scan.number(c, 8, 2))
    }

    /// Six letters, a two-digit year, a month letter, a day (plus 40 for a woman), a
    /// letter and three digits (the place), a check letter.
    static func codiceFiscale(_ c: [UInt8]) -> Bool {
        guard c[0..<6].allSatisfy(isUpper), isDigit(c[6]), isDigit(c[7]), Array("ABCDEHLMPRST".utf8).contains(c[8]),
              isDigit(c[9]), isDigit(c[10]), isUpper(c[11]), c[12..<15].allSatisfy(isDigit), isUpper(c[15]) else { return false }
        let day = Scan.number(c, 9, 2)
        return (1...31).contains(day) || (41...71).contains(day)
    }

    static func validMonthDay(_ m: Int, _ d: Int) -> Bool { (1...12).contains(m) && (1...31).contains(d) }

    /// The identifiers that are digits: where one that starts at `i` ends.
    static func numbered(_ t: [UInt8], _ i: Int, _ e: Int) -> Int? {
        guard Scan.numberStart(t, i) else { return nil }
        let run = e - i
        let n = t.count
        // SIN in threes: "046 454 286", "046-454-286".
        if run == 3, e + 8 <= n, t[e] == ch(" ") || t[e] == ch("-"), t[e + 4] == t[e], Scan.digitRun(t, e + 1) == 3,
           Scan.digitRun(t, e + 5) == 3, Scan.numberEnd(t, e + 8) {
            let digits = (Array(t[i..<e]) + Array(t[(e + 1)..<(e + 4)]) + Array(t[(e + 5)..<(e + 8)])).map { $0 - ch("0") }
            if Checksum.luhn(digits) { return e + 8 }
        }
        // CPF printed: "123.456.789-09".
        if run == 3, e + 11 <= n, t[e] == ch("."), Scan.digitRun(t, e + 1) == 3, t[e + 4] == ch("."), Scan.digitRun(t, e + 5) == 3,
           t[e + 8] == ch("-"), Scan.digitRun(t, e + 9) == 2, Scan.numberEnd(t, e + 11) {
            let digits = t[i..<(e + 11)].filter(isDigit).map { Int($0 - ch("0")) }
            if cpf(digits) { return e + 11 }
        }
        // Aadhaar printed in fours: "2345 6789 0123".
        if run == 4, t[i] >= ch("2"), e + 10 <= n, t[e] == ch(" "), Scan.digitRun(t, e + 1) == 4, t[e + 5] == ch(" "),
           Scan.digitRun(t, e + 6) == 4, Scan.numberEnd(t, e + 10) {
            let digits = t[i..<(e + 10)].filter(isDigit).map { Int($0 - ch("0")) }
            if verhoeff(digits) { return e + 10 }
        }
        // Korean RRN: "470420-1159379" (a month and day of at most 12 and 31: generators
        // write a zero too).
        if run == 6, e + 8 <= n, t[e] == ch("-"), Scan.digitRun(t, e + 1) == 7, Scan.numberEnd(t, e + 8),
           Scan.number(t, i + 2, 2) <= 12, Scan.number(t, i + 4, 2) <= 31 { return e + 8 }
        if run == 15, nir(t, i) { return e }
        // Chinese resident identity number, its check `X` a letter in the run.
        if run == 18, t[(e - 1)] == ch("X") || t[e - 1] == ch("x") || isDigit(t[e - 1]), t[i..<(e - 1)].allSatisfy(isDigit),
           chineseID(t, i) { return e }
        // DNI: "12345678Z".
        if run == 9, t[i..<(i + 8)].allSatisfy(isDigit), isUpper(t[i + 8]), dniLetter(Scan.number(t, i, 8)) == t[i + 8] { return e }
        guard Scan.numberEnd(t, e), t[i..<e].allSatisfy(isDigit) else { return nil }
        let digits = t[i..<e].map { Int($0 - ch("0")) }
        // The bare forms, after their name.
        if run == 9, Scan.contextBefore(t, i, sinContext), Checksum.luhn(digits.map(UInt8.init)) { return e }
        if run == 9, Scan.contextBefore(t, i, bsnContext), elevenTest(digits) { return e }
        if run == 11, Scan.contextBefore(t, i, cpfContext), cpf(digits) { return e }
        if run == 12, t[i] >= ch("2"), Scan.contextBefore(t, i, aadhaarContext) { return e }
        if run == 11, Scan.contextBefore(t, i, peselContext), pesel(digits) { return e }
        return nil
    }

    /// A Chinese identity number at `i`: a date YYYYMMDD from its seventh character, and
    /// its check (weights 2^(17-k) mod 11; `X` stands for ten).
    static func chineseID(_ t: [UInt8], _ i: Int) -> Bool {
        guard (1800...2199).contains(Scan.number(t, i + 6, 4)), validMonthDay(Scan.number(t, i + 10, 2), Scan.number(t, i + 12, 2)) else { return false }
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let sum = (0..<17).reduce(0) { $0 + Int(t[i + $1] - ch("0")) * weights[$1] }
        return Array("10X98765432".utf8)[sum % 11] == (t[i + 17] == ch("x") ? ch("X") : t[i + 17])
    }

    /// PESEL: a date (the month plus 20 per century after 1900) and a check digit.
    static func pesel(_ d: [Int]) -> Bool {
        guard d.count == 11, (1...12).contains((d[2] * 10 + d[3]) % 20), (1...31).contains(d[4] * 10 + d[5]) else { return false }
        let w = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3]
        return (10 - (0..<10).reduce(0) { $0 + d[$1] * w[$1] } % 10) % 10 == d[10]
    }

    /// A NIR: sex (1, 2; 3, 4, 7, 8 for some registrations), year, month (01-12, or 20-99
    /// where unknown), place and order, then the key: 97 - (the first 13 digits mod 97).
    /// Corsica's departments are `2A` and `2B`, counted as 19 and 18 for the key.
    static func nir(_ t: [UInt8], _ i: Int) -> Bool {
        guard [ch("1"), ch("2"), ch("3"), ch("4"), ch("7"), ch("8")].contains(t[i]) else { return false }
        let month = Scan.number(t, i + 3, 2)
        guard (1...12).contains(month) || (20...99).contains(month) else { return false }
        var d = Array(t[i..<(i + 15)])
        if d[5] == ch("2"), d[6] == ch("A") || d[6] == ch("B") { d[5] = ch("1"); d[6] = d[6] == ch("A") ? ch("9") : ch("8") }
        guard d.allSatisfy(isDigit) else { return false }
        var body = 0
        for k in 0..<13 { body = (body * 10 + Int(d[k] - ch("0"))) % 97 }
        return 97 - body == Scan.number(d, 13, 2)
    }

    /// A CPF's two check digits (modulo 11), not all digits alike.
    static func cpf(_ d: [Int]) -> Bool {
        guard d.count == 11, Set(d).count > 1 else { return false }
        func check(_ count: Int) -> Int {
            let sum = (0..<count).reduce(0) { $0 + d[$1] * (count + 1 - $1) }
            let r = sum * 10 % 11
            return r == 10 ? 0 : r
        }
        return check(9) == d[9] && check(10) == d[10]
    }

    /// The Dutch BSN's 11-test: 9·d1 + 8·d2 + … + 2·d8 − d9 is a multiple of 11.
    static func elevenTest(_ d: [Int]) -> Bool {
        guard d.count == 9 else { return false }
        let sum = (0..<8).reduce(0) { $0 + d[$1] * (9 - $1) } - d[8]
        return sum % 11 == 0 && sum != 0
    }

    static let verhoeffD: [[Int]] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ]
    static let verhoeffP: [[Int]] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ]

    /// Verhoeff's dihedral check, over the digits with the check digit last.
    static func verhoeff(_ d: [Int]) -> Bool {
        var c = 0
        for (k, digit) in d.reversed().enumerated() { c = verhoeffD[c][verhoeffP[k % 8][digit]] }
        return c == 0
    }
}

extension NationalIDDetector {
    /// Every shape has at least six digits.
    public func mayMatch(_ p: ScanProfile) -> Bool { p.digitCount >= 6 }
}
