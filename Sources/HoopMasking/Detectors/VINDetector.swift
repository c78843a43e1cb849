/// Vehicle identification numbers: 17 characters from the VIN alphabet (no I, O, Q),
/// with both letters and digits, in one case, whose 9th character is the ISO 3779 check digit.
public struct VINDetector: Detector {
    public var entities: [Entity] { [.vehicle] }
    public init() {}

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        Scan.alnumRuns(t) { i, e in
            // In one case, either (people and forms type them in lower case too).
            guard e - i == 17 else { return nil }
            // Lower-case hexadecimal is an id or a digest (`i-0a1b2c3d4e5f67890`, an EC2
            // instance's), which passes the check digit one time in eleven.
            if t[i..<e].allSatisfy({ isDigit($0) || ($0 >= ch("a") && $0 <= ch("f")) }) { return nil }
            let s = t[i..<e].contains(where: isUpper) ? t[i..<e] : ArraySlice(t[i..<e].map { isLower($0) ? $0 - 0x20 : $0 })
            if Scan.rightBoundary(t, e), s.contains(where: isDigit), s.contains(where: isUpper),
               !s.contains(where: isLower), Checksum.vin(s) {
                spans.append(DetectedSpan(.vehicle, i, e))
            }
            return nil
        }
    }
}

extension VINDetector {
    public func mayMatch(_ p: ScanProfile) -> Bool { p.word17 && p.digitCount > 0 }
}
