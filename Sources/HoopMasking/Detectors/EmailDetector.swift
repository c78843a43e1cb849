/// E-mail addresses: local part, @, a dotted domain whose last label is 2+ letters.
/// Found by locating each '@' and growing outwards, so the cost is linear.
public struct EmailDetector: Detector {
    public var entities: [Entity] { [.email] }
    public init() {}

    @inline(__always) static func isLocal(_ c: UInt8) -> Bool {
        isAlnum(c) || c == ch(".") || c == ch("_") || c == ch("%") || c == ch("+") || c == ch("-")
    }

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        var i = 0
        var floor = 0   // never grow left past the previous match
        while i < n {
            guard t[i] == ch("@") else { i += 1; continue }
            var s = i
            while s > floor, Self.isLocal(t[s - 1]) { s -= 1 }
            while s < i, t[s] == ch(".") { s += 1 }
            var e = i + 1, lastDot = -1
            while e < n, isAlnum(t[e]) || t[e] == ch("-") || t[e] == ch(".") && e + 1 < n && isAlnum(t[e + 1]) {
                if t[e] == ch(".") { lastDot = e }
                e += 1
            }
            if s < i, lastDot > i + 1, e - lastDot - 1 >= 2, t[(lastDot + 1)..<e].allSatisfy(isAlpha) {
                spans.append(DetectedSpan(.email, s, e))
                floor = e
                i = e
            } else {
                i += 1
            }
        }
    }
}

extension EmailDetector {
    public func mayMatch(_ p: ScanProfile) -> Bool { p.atSigns > 0 }
}
