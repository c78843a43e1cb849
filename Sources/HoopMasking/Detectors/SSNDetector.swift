/// US Social Security numbers: ddd-dd-dddd anywhere, or nine bare digits / ddd dd dddd
/// after a context word. Area 000 and 666, group 00 and serial 0000 are never issued,
/// so they are rejected; areas 900-999 are accepted because synthetic and test data
/// (including the demo seed) use exactly that never-issued range.
public struct SSNDetector: Detector {
    public var entities: [Entity] { [.ssn] }
    static let context = Scan.words(["ssn", "social security", "social sec", "ss#", "soc sec", "ss"])
    public init() {}

    static func valid(_ t: [UInt8], area a: Int, group g: Int, serial s: Int) -> Bool {
        let area = Scan.number(t, a, 3), group = Scan.number(t, g, 2), serial = Scan.number(t, s, 4)
        return area != 0 && area != 666 && group != 0 && serial != 0
    }

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        Scan.numbers(t) { i, run in
            if run == 3, i + 11 <= n, t[i + 3] == ch("-") || t[i + 3] == ch(" "), t[i + 6] == t[i + 3],
               Scan.digits(t, i + 4, 2), Scan.digits(t, i + 7, 4), Scan.numberEnd(t, i + 11),
               Self.valid(t, area: i, group: i + 4, serial: i + 7),
               t[i + 3] == ch("-") || Scan.contextBefore(t, i, Self.context) {
                spans.append(DetectedSpan(.ssn, i, i + 11))
                return i + 11
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
