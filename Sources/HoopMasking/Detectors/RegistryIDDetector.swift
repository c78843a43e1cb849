/// Identifiers whose shape alone says what they are, by their registry's own rules, with
/// no label needed: a Medicare Beneficiary Identifier (CMS: eleven characters, each of
/// its position's class, printed with or without a dash after the 4th and 7th) and a DEA
/// registration number (a registrant letter, a name letter or 9, seven digits the last of
/// which checks the others). An MBI in either case; a DEA number upper case, as issued.
public struct RegistryIDDetector: Detector {
    public var entities: [Entity] { [.healthPlan, .licence] }
    public init() {}

    /// The MBI's letters: A to Z but S, L, O, I, B and Z (read as digits), in either case
    /// (people type them in lower case).
    @inline(__always) static func mbiLetter(_ c: UInt8) -> Bool {
        let c = isLower(c) ? c - 0x20 : c
        return isUpper(c) && c != ch("S") && c != ch("L") && c != ch("O") && c != ch("I") && c != ch("B") && c != ch("Z")
    }

    /// An MBI's eleven characters, dashes taken out: C A AN N A AN N A A N N.
    static func mbi(_ c: [UInt8]) -> Bool {
        guard c.count == 11, (ch("1")...ch("9")).contains(c[0]) else { return false }
        let classes: [(UInt8) -> Bool] = [
            isDigit, mbiLetter, { mbiLetter($0) || isDigit($0) }, isDigit, mbiLetter, { mbiLetter($0) || isDigit($0) },
            isDigit, mbiLetter, mbiLetter, isDigit, isDigit]
        return zip(c, classes).dropFirst().allSatisfy { $1($0) }
    }

    /// A DEA number: its first letter a registrant type's, then a letter or 9, then seven
    /// digits: d1 + d3 + d5 + 2 × (d2 + d4 + d6) ends in d7.
    static func dea(_ c: ArraySlice<UInt8>) -> Bool {
        let c = Array(c)
        guard c.count == 9, Array("ABCDEFGHJKLMPRSTUX".utf8).contains(c[0]), isUpper(c[1]) || c[1] == ch("9"),
              c[2...].allSatisfy(isDigit) else { return false }
        let d = c[2...].map { Int($0 - ch("0")) }
        return (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10 == d[6]
    }

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        Scan.alnumRuns(t) { i, e in
            // 1EG4-TE5-MK73: three groups of 4, 3 and 4, split by one separator ("-", a
            // space, ".", "_") used twice.
            if e - i == 4, e + 9 <= n, [ch("-"), ch(" "), ch("."), ch("_")].contains(t[e]), t[e + 4] == t[e], Scan.rightBoundary(t, e + 9),
               Self.mbi(Array(t[i..<e]) + Array(t[(e + 1)..<(e + 4)]) + Array(t[(e + 5)..<(e + 9)])) {
                spans.append(DetectedSpan(.healthPlan, i, e + 9)); return e + 9
            }
            guard Scan.rightBoundary(t, e) else { return nil }
            if e - i == 11, Self.mbi(Array(t[i..<e])) { spans.append(DetectedSpan(.healthPlan, i, e)) }
            else if e - i == 9, Self.dea(t[i..<e]) { spans.append(DetectedSpan(.licence, i, e)) }
            return nil
        }
    }
}

extension RegistryIDDetector {
    /// At least four digits (an MBI has five, a DEA number seven).
    public func mayMatch(_ p: ScanProfile) -> Bool { p.digitCount >= 4 }
}
