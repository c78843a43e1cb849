/// Payment card numbers: 13-19 digits starting 3-6 (the issuer ranges of the major
/// networks), contiguous or in groups of 3+ split by single spaces or dashes, passing
/// Luhn. Luhn alone lets 1 in 10 random digit strings through; the prefix and the
/// length cut that further.
public struct CardDetector: Detector {
    public var entities: [Entity] { [.cardNumber] }
    public init() {}

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        var i = 0
        var digits: [UInt8] = []
        digits.reserveCapacity(20)
        while i < n {
            guard isDigit(t[i]), Scan.numberStart(t, i) else { i += 1; continue }
            digits.removeAll(keepingCapacity: true)
            var p = i, group = 0, ok = true, separated = false, widest = 0
            while p < n {
                if isDigit(t[p]) { digits.append(t[p] - 0x30); group += 1; p += 1; continue }
                if (t[p] == ch(" ") || t[p] == ch("-")), p + 1 < n, isDigit(t[p + 1]), group >= 3, digits.count < 19 {
                    widest = max(widest, group); group = 0; separated = true; p += 1; continue
                }
                break
            }
            // Card groupings are 4-4-4-4 or 4-6-5: an 8-digit group is a UUID or an id.
            if group < 3 || separated && max(widest, group) > 6 { ok = false }
            if ok, digits.count >= 13, digits.count <= 19, digits[0] >= 3, digits[0] <= 6,
               Scan.numberEnd(t, p), Checksum.luhn(digits) {
                spans.append(DetectedSpan(.cardNumber, i, p))
            }
            i = max(p, i + 1)
        }
    }
}

extension CardDetector {
    /// 13+ digits, the first group (3+ digits, or all 13-19) starting a word and ending
    /// at a separator or the end.
    public func mayMatch(_ p: ScanProfile) -> Bool { p.digitCount >= 13 && p.runsLR >> 3 != 0 }
}
