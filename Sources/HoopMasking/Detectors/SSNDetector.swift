/// US Social Security numbers: ddd-dd-dddd anywhere (any dash), or nine bare digits /
/// ddd dd dddd / ddd.dd.dddd after a context word or filling a field. Area 000 and 666, group 00 and serial 0000 are never issued,
/// so they are rejected; areas 900-999 are accepted because synthetic and test data
/// (including the demo seed) use exactly that never-issued range.
public struct SSNDetector: Detector {
    public var entities: [Entity] { [.ssn] }
    static let context = Scan.words(["ssn", "social security", "social sec", "ss#", "soc sec", "ss"])
    public init() {}

    /// `-`, or a Unicode dash (U+2010–2015).
    static func dash(_ t: [UInt8], _ p: Int, _ l: Int) -> Bool {
        l == 1 && t[p] == ch("-") || l == 3 && t[p] == 0xE2 && t[p + 1] == 0x80 && (0x90...0x95).contains(t[p + 2])
    }

    static func valid(_ t: [UInt8], area a: Int, group g: Int, serial s: Int) -> Bool {
        let area = Scan.number(t, a, 3), group = Scan.number(t, g, 2), serial = Scan.number(t, s, 4)
        return area != 0 && area != 666 && group != 0 && serial != 0
    }

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        Scan.numbers(t, glued: true) { i, run in
            // ddd S dd S dddd, S one separator (Scan.separator: the rule every grouped number
            // reads by) written the same both times: a dash (ASCII or Unicode) anywhere; a
            // space, a dot or another after a context word or filling its field
            // (`204.82.7060` alone may be a version).
            if run == 3, let l = Scan.separator(t, i + 3), case let g = i + 3 + l, Scan.digits(t, g, 2), g + 2 + l + 4 <= n,
               t[(i + 3)..<g].elementsEqual(t[(g + 2)..<(g + 2 + l)]), case let s = g + 2 + l,
               Scan.digits(t, s, 4), Scan.numberEnd(t, s + 4), Self.valid(t, area: i, group: g, serial: s),
               Self.dash(t, i + 3, l) || Scan.contextBefore(t, i, Self.context) || Scan.fillsField(t, i, s + 4) {
                spans.append(DetectedSpan(.ssn, i, s + 4))
                return s + 4
            }
            if run == 9, Scan.numberEnd(t, i + 9), Self.valid(t, area: i, group: i + 3, serial: i + 5),
               Scan.contextBefore(t, i, Self.context) {
                spans.append(DetectedSpan(.ssn, i, i + 9))
            }
            return nil
        }
    }
}

extension SSNDetector {
    /// ddd-dd-dddd / ddd dd dddd start with a 3-digit run, the bare form is a 9-digit
    /// run; both start a word and end at a separator or the end.
    public func mayMatch(_ p: ScanProfile) -> Bool { p.runsLR & (ScanProfile.run(3) | ScanProfile.run(9)) != 0 }
}
