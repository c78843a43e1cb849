/// US phone and fax numbers (NANP): (555) 010-1234, 555-010-1234, 555.010.1234,
/// 555 010 1234, +1 / 1- prefixes; ten bare digits or ddd-dddd only after a context
/// word (phone, fax, call, ...) since bare digit runs are mostly not phone numbers.
public struct PhoneDetector: Detector {
    public var entities: [Entity] { [.phone] }
    static let context = Scan.words(["phone", "tel", "telephone", "fax", "cell", "mobile", "call", "called",
                                     "contact", "pager", "number", "ph", "reached", "text", "voicemail"])
    public init() {}

    @inline(__always) static func isSep(_ c: UInt8) -> Bool { c == ch("-") || c == ch(".") || c == ch(" ") }

    /// End of a separated phone number starting at `i`, if there is one.
    static func match(_ t: [UInt8], _ i: Int) -> Int? {
        let n = t.count
        var p = i
        if t[p] == ch("+") {
            guard p + 1 < n, t[p + 1] == ch("1") else { return nil }
            p += 2
            if p < n, isSep(t[p]) { p += 1 }
        } else if t[p] == ch("1"), p + 2 < n, t[p + 1] == ch("-") || t[p + 1] == ch(" "),
                  t[p + 2] == ch("(") || Scan.digits(t, p + 2, 3) && p + 5 < n && isSep(t[p + 5]) && Scan.digits(t, p + 6, 3) {
            p += 2
        }
        guard p < n else { return nil }
        if t[p] == ch("(") {
            guard Scan.digits(t, p + 1, 3), p + 4 < n, t[p + 4] == ch(")") else { return nil }
            p += 5
            if p < n, t[p] == ch(" ") || t[p] == ch("-") { p += 1 }
        } else {
            guard Scan.digits(t, p, 3), p + 3 < n, isSep(t[p + 3]) else { return nil }
            p += 4
        }
        guard Scan.digits(t, p, 3), p + 3 < n, isSep(t[p + 3]), Scan.digits(t, p + 4, 4) else { return nil }
        p += 8
        return Scan.numberEnd(t, p) ? p : nil
    }

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        var i = 0
        while i < n {
            let c = t[i]
            guard isDigit(c) || c == ch("(") || c == ch("+"), c != ch("(") && c != ch("+") ? Scan.numberStart(t, i) : (i == 0 || !isAlnum(t[i - 1])) else {
                i += 1; continue
            }
            if let end = Self.match(t, i) {
                spans.append(DetectedSpan(.phone, i, end)); i = end; continue
            }
            if isDigit(c) {
                let run = Scan.digitRun(t, i)
                if run == 10 || run == 11 && c == ch("1") || run == 3 && i + 8 <= n && t[i + 3] == ch("-") && Scan.digits(t, i + 4, 4),
                   Scan.contextBefore(t, i, Self.context) {
                    let end = run >= 10 ? i + run : i + 8
                    if Scan.numberEnd(t, end) { spans.append(DetectedSpan(.phone, i, end)); i = end; continue }
                }
                i += run
            } else {
                i += 1
            }
        }
    }
}

extension PhoneDetector {
    /// Every shape ends with a 4-digit group after a separator (a run of 4 starting a
    /// word, ending the number); the bare forms are runs of 10 or 11.
    public func mayMatch(_ p: ScanProfile) -> Bool {
        p.runsLR & (ScanProfile.run(4) | ScanProfile.run(10) | ScanProfile.run(11)) != 0
    }
}
