/// Bank account numbers that carry their own check digits, so they need no context word:
/// - IBAN: a country code, two check digits and the BBAN, contiguous
///   (`GB29NWBK60161331926819`) or printed in groups of four (`GB29 NWBK 6016 …`), in
///   any case; the ISO 13616 mod-97 check must give 1, and the country's length and
///   character classes are the SWIFT registry's (IBANCountries). Without the registry,
///   one hex digest in 2,000 would pass (two letters, two digits, mod-97 by chance);
/// - US ABA routing numbers: nine digits with the 3-7-1 check and a Federal Reserve
///   prefix (00–12, 21–32, 61–72, 80), after a context word (routing, ABA, RTN,
///   transit) or filling a field (`Scan.fillsField`): about 4 % of random nine-digit
///   values pass both, which is why a nine-digit number inside prose needs the word.
public struct AccountNumberDetector: Detector {
    public var entities: [Entity] { [.account] }
    static let routingContext = Scan.words(["routing", "aba", "rtn", "transit", "routing number", "bank"])
    public init() {}

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        ibans(t, into: &spans)
        Scan.numbers(t) { i, run in
            guard run == 9, Scan.numberEnd(t, i + 9), Self.routing(t, i),
                  Scan.fillsField(t, i, i + 9) || Scan.contextBefore(t, i, Self.routingContext) else { return nil }
            spans.append(DetectedSpan(.account, i, i + 9))
            return i + 9
        }
    }

    /// ABA check: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10), and a valid prefix.
    static func routing(_ t: [UInt8], _ i: Int) -> Bool {
        let d = (0..<9).map { Int(t[i + $0] - 0x30) }
        let prefix = d[0] * 10 + d[1]
        guard prefix <= 12 || (21...32).contains(prefix) || (61...72).contains(prefix) || prefix == 80 else { return false }
        return (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + d[2] + d[5] + d[8]) % 10 == 0
    }

    func ibans(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        var i = 0
        while i + 15 <= n {
            guard isAlpha(t[i]), isAlpha(t[i + 1]), isDigit(t[i + 2]), isDigit(t[i + 3]), Scan.leftBoundary(t, i) else {
                i += 1; continue
            }
            // The characters, skipping a single space after each group of four (print form).
            var chars: [UInt8] = [], ends: [Int] = []
            var p = i, group = 0
            while p < n, chars.count < 34 {
                if isAlnum(t[p]) { chars.append(t[p]); group += 1; p += 1; ends.append(p); continue }
                if group == 4, let sep = Scan.separator(t, p, slash: false), p + sep < n, isAlnum(t[p + sep]) { group = 0; p += sep; continue }
                break
            }
            if let end = Self.ibanEnd(t, chars, ends) {
                spans.append(DetectedSpan(.account, i, end)); i = end; continue
            }
            i += 1
            while i < n, Scan.isWordByte(t[i]), !Scan.escapedControl(t, i) { i += 1 }
        }
    }

    /// Where the IBAN in `chars` (with each character's end offset) ends: at its
    /// country's registry length, with the registry's character classes.
    static func ibanEnd(_ t: [UInt8], _ chars: [UInt8], _ ends: [Int]) -> Int? {
        guard chars.count >= 15 else { return nil }
        let country = String(decoding: chars[0..<2].map { isLower($0) ? $0 - 0x20 : $0 }, as: UTF8.self)
        func fits(_ len: Int) -> Bool {
            len <= chars.count && Scan.rightBoundary(t, ends[len - 1]) && mod97(chars[0..<len])
        }
        if let bban = IBANCountries.bban[country], fits(bban.utf8.count + 4),
           zip(chars[4..<(bban.utf8.count + 4)], bban.utf8).allSatisfy({ c, k in
               k == ch("n") ? isDigit(c) : k == ch("a") ? isAlpha(c) : isAlnum(c) }) {
            return ends[bban.utf8.count + 3]
        }
        return nil
    }

    /// ISO 13616: the first four characters moved to the end, letters as 10–35, mod 97 is 1.
    static func mod97(_ s: ArraySlice<UInt8>) -> Bool {
        var r = 0
        for c in s.dropFirst(4) + s.prefix(4) {
            if isDigit(c) { r = (r * 10 + Int(c - 0x30)) % 97 }
            else if isAlpha(c) { r = (r * 100 + Int(lower(c) - 0x61 + 10)) % 97 }
            else { return false }
        }
        return r == 1
    }
}

extension AccountNumberDetector {
    /// An IBAN has 15+ characters and starts a word with two letters and two digits; a
    /// routing number is a run of nine.
    public func mayMatch(_ p: ScanProfile) -> Bool { p.runsLR & ScanProfile.run(9) != 0 || p.ibanStart && p.length >= 15 }
}
