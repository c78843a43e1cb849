/// Health plan member ids in the common payer shape with no context word around them:
/// a 2-4 letter upper-case payer prefix directly followed by 8-12 digits (e.g.
/// ABC123456789). Short product codes (SKU-1234, PRD00123) are too short to match.
public struct PayerIDDetector: Detector {
    public var entities: [Entity] { [.healthPlan] }
    public init() {}

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        var i = 0
        while i < n {
            guard isUpper(t[i]), Scan.leftBoundary(t, i) else { i += 1; continue }
            var p = i
            while p < n, isUpper(t[p]) { p += 1 }
            let letters = p - i, run = Scan.digitRun(t, p)
            if letters >= 2, letters <= 4, run >= 8, run <= 12, Scan.rightBoundary(t, p + run) {
                spans.append(DetectedSpan(.healthPlan, i, p + run))
            }
            i = p + run
            while i < n, Scan.isWordByte(t[i]), !Scan.escapedControl(t, i) { i += 1 }
        }
    }
}

extension PayerIDDetector {
    /// A word starting with a capital, and a run of 8+ digits (after the prefix).
    public func mayMatch(_ p: ScanProfile) -> Bool { p.upperInitials != 0 && p.maxRun >= 8 }
}
