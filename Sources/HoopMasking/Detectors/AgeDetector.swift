/// Ages over 89 (Safe Harbor keeps ages up to 89): "92-year-old", "92 years old",
/// "93 y/o", "93yo", "age 93", "aged 95". Ages 90-129 only; younger ages are not PHI.
public struct AgeDetector: Detector {
    public var entities: [Entity] { [.age] }
    static let before = Scan.words(["age", "aged", "ages"])
    static let after = Scan.words(["-year-old", " year old", " years old", "-years-old", " year-old", " yo", "yo",
                                   " y/o", "-yo", " y.o.", " yrs old", " years of age", "-year old"])
    public init() {}

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        Scan.numbers(t) { i, run in
            guard run == 2 || run == 3, case let v = Scan.number(t, i, run), v >= 90, v <= 129 else { return nil }
            let e = i + run
            var end: Int? = nil
            for w in Self.after where e + w.count <= n {
                var ok = true
                for k in 0..<w.count where lower(t[e + k]) != w[k] { ok = false; break }
                if ok, Scan.rightBoundary(t, e + w.count) || w.last == ch(".") { end = e + w.count; break }
            }
            if end == nil, Scan.rightBoundary(t, e), Scan.contextBefore(t, i, Self.before, window: 8) { end = e }
            if let end { spans.append(DetectedSpan(.age, i, end)) }
            return end
        }
    }
}

extension AgeDetector {
    /// A 2- or 3-digit run starting a word, followed by a separator, the end, or a "y"
    /// ("93yo").
    static let y = ScanProfile.letters("y")
    public func mayMatch(_ p: ScanProfile) -> Bool {
        let runs = p.letters & Self.y != 0 ? p.runsL : p.runsLR
        return runs & (ScanProfile.run(2) | ScanProfile.run(3)) != 0
    }
}
