/// MAC addresses (a device's identifier under Safe Harbor): six pairs of hex digits
/// joined by `:` or `-` (`00:1a:2b:3c:4d:5e`, `00-1A-2B-3C-4D-5E`), or three groups of
/// four joined by `.` (`001a.2b3c.4d5e`, as Cisco writes them). No clock time or IPv6
/// address has that shape.
public struct MACAddressDetector: Detector {
    public var entities: [Entity] { [.device] }
    public init() {}

    /// Where a MAC address starting at `i` ends.
    static func mac(_ t: [UInt8], _ i: Int) -> Int? {
        let n = t.count
        func hex(_ p: Int, _ k: Int) -> Bool { p + k <= n && (p..<(p + k)).allSatisfy { isHex(t[$0]) } }
        if hex(i, 2), i + 17 <= n, t[i + 2] == ch(":") || t[i + 2] == ch("-") {
            let sep = t[i + 2]
            for g in 1..<6 { guard t[i + 3 * g - 1] == sep, hex(i + 3 * g, 2) else { return nil } }
            return Scan.rightBoundary(t, i + 17) && !(i + 17 < n && (t[i + 17] == sep || isHex(t[i + 17]))) ? i + 17 : nil
        }
        if hex(i, 4), i + 14 <= n, t[i + 4] == ch("."), hex(i + 5, 4), t[i + 9] == ch("."), hex(i + 10, 4),
           Scan.rightBoundary(t, i + 14), !(i + 14 < n && t[i + 14] == ch(".")) {
            // Hex, not a number with dots: a letter among the digits.
            return t[i..<(i + 14)].contains(where: isAlpha) ? i + 14 : nil
        }
        return nil
    }

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        var i = 0
        while i + 14 <= t.count {
            if isHex(t[i]), Scan.leftBoundary(t, i), !(i > 0 && (t[i - 1] == ch(":") || t[i - 1] == ch("-"))), let e = Self.mac(t, i) {
                spans.append(DetectedSpan(.device, i, e))
                i = e
            } else {
                i += 1
            }
        }
    }

    /// Five colons, or digits at all (dashes and dots are not counted).
    public func mayMatch(_ p: ScanProfile) -> Bool { p.colons >= 5 || p.dots >= 2 || p.digitCount >= 4 }
}
