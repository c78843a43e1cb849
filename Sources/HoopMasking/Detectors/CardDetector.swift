/// Payment card numbers of the major networks' current issuer ranges and lengths
/// (`CardDetector.networks`), contiguous or in groups of 3+ split by single spaces or
/// dashes, passing Luhn. Luhn alone lets 1 in 10 random digit strings through; the
/// issuer range and its lengths cut that further.
public struct CardDetector: Detector {
    public var entities: [Entity] { [.cardNumber] }
    public init() {}

    /// The digit groups of a chain from `i`: runs split by a separator (`Scan.separator`).
    static func chain(_ t: [UInt8], _ i: Int) -> [(start: Int, end: Int)] {
        let n = t.count
        var out: [(start: Int, end: Int)] = []
        var p = i
        while p < n, out.count < 12 {
            let run = Scan.digitRun(t, p)
            guard run > 0 else { break }
            out.append((p, p + run))
            p += run
            guard let sep = Scan.separator(t, p, slash: false), p + sep < n, isDigit(t[p + sep]) else { break }
            p += sep
        }
        return out
    }

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        var i = 0
        var digits: [UInt8] = []
        digits.reserveCapacity(24)
        while i < n {
            guard isDigit(t[i]), Scan.numberStart(t, i) else { i += 1; continue }
            let groups = Self.chain(t, i)
            // Any run of whole groups may be the card: a number next to it ("121 4111 1111
            // 1111 1111", "4111-1111-1111-1111-123") must not hide it. Longest first.
            var found: (Int, Int)? = nil
            search: for first in groups.indices {
                for last in stride(from: groups.count - 1, through: first, by: -1) {
                    let part = groups[first...last]
                    let count = part.reduce(0) { $0 + $1.end - $1.start }
                    guard count >= 12, count <= 19 else { continue }
                    let sizes = part.map { $0.end - $0.start }
                    // Card groupings are 4-4-4-4 or 4-6-5: groups of 3-6 digits (an 8-digit group is a UUID or an id).
                    guard sizes.count == 1 || sizes.allSatisfy({ $0 >= 3 && $0 <= 6 }) else { continue }
                    let s = part.first!.start, e = part.last!.end
                    guard first == 0 ? Scan.numberStart(t, s) : true, Scan.numberEnd(t, e) || last < groups.count - 1 else { continue }
                    digits.removeAll(keepingCapacity: true)
                    for k in s..<e where isDigit(t[k]) { digits.append(t[k] - 0x30) }
                    if Self.issued(digits), Checksum.luhn(digits) { found = (s, e); break search }
                }
            }
            if let (s, e) = found {
                spans.append(DetectedSpan(.cardNumber, s, e))
                i = e
            } else {
                i = max(groups.last?.end ?? i + 1, i + 1)
            }
        }
    }
}

extension CardDetector {
    /// (lowest prefix, highest prefix, lengths): the networks' published issuer
    /// identification ranges. Visa; Mastercard 51–55 and the 2-series 2221–2720;
    /// American Express; Discover (6011, 644–649, 65, 622126–622925); JCB 3528–3589 (and
    /// the rest of 35, which generators use) and its older 15-digit 1800 and 2131; Diners
    /// Club (300–305, 3095, 36, 38–39); UnionPay 62 and 81; Maestro's own ranges. Prefixes
    /// are compared on as many leading digits as they have.
    static let networks: [(low: Int, high: Int, lengths: ClosedRange<Int>)] = [
        (4, 4, 13...19),
        (51, 55, 16...16), (2221, 2720, 16...16),
        (34, 34, 15...15), (37, 37, 15...15),
        (6011, 6011, 16...19), (644, 649, 16...19), (65, 65, 16...19), (622126, 622925, 16...19),
        (35, 35, 16...19), (1800, 1800, 15...15), (2131, 2131, 15...15),
        (300, 305, 14...19), (3095, 3095, 14...19), (36, 36, 14...19), (38, 39, 14...19),
        (62, 62, 16...19), (81, 81, 16...19),
        (5018, 5018, 12...19), (5020, 5020, 12...19), (5038, 5038, 12...19), (5893, 5893, 12...19),
        (6304, 6304, 12...19), (6759, 6759, 12...19), (6761, 6763, 12...19),
    ]

    /// The digits fall in a network's range and have one of its lengths.
    static func issued(_ d: [UInt8]) -> Bool {
        networks.contains { net in
            guard net.lengths.contains(d.count) else { return false }
            let width = String(net.low).count
            let prefix = d.prefix(width).reduce(0) { $0 * 10 + Int($1) }
            return prefix >= net.low && prefix <= net.high
        }
    }

    /// 12+ digits, the first group (3+ digits, or all 12-19) starting a word and ending
    /// at a separator or the end.
    public func mayMatch(_ p: ScanProfile) -> Bool { p.digitCount >= 12 && p.runsLR >> 3 != 0 }
}
