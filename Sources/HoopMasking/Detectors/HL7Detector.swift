/// HL7 v2 segments that carry a person's identifiers, by the standard's field positions:
/// a value stored from an HL7 feed (`PID|1||MRN^^^HOSP||QUIMBY^UMBER^||19800305|F|||…`)
/// has its identifiers where the standard puts them, whatever they look like — a name
/// made of English words, an address without a street type, a date without separators.
/// Fields are split by `|`, a segment ends at a line end (or its JSON escape) or a quote.
/// Masked fields (HL7 v2.5 numbering, the field after the segment name is 1):
/// - PID: 2–4 (patient ids), 5 name, 6 mother's maiden name, 7 date of birth, 9 alias,
///   11 address, 13–14 phones, 18 account, 19 SSN, 20 driver's licence, 21 mother's id;
/// - NK1 (next of kin): 2 name, 4 address, 5–6 phones, 16 date of birth, 33 ids;
/// - GT1 (guarantor): 2 number, 3 name, 5 address, 6–7 phones, 8 date of birth, 12 SSN;
/// - IN1 (insurance): 16 insured's name, 18 insured's date of birth, 19 address,
///   36 policy number, 49 insured's id.
public struct HL7Detector: Detector {
    public var entities: [Entity] { [.personName, .date, .streetAddress, .phone, .ssn, .mrn, .account, .licence, .healthPlan] }
    public init() {}

    static let segments: [String: [Int: Entity]] = [
        "PID": [2: .mrn, 3: .mrn, 4: .mrn, 5: .personName, 6: .personName, 7: .date, 9: .personName,
                11: .streetAddress, 13: .phone, 14: .phone, 18: .account, 19: .ssn, 20: .licence, 21: .mrn],
        "NK1": [2: .personName, 4: .streetAddress, 5: .phone, 6: .phone, 16: .date, 33: .mrn],
        "GT1": [2: .account, 3: .personName, 5: .streetAddress, 6: .phone, 7: .phone, 8: .date, 12: .ssn],
        "IN1": [16: .personName, 18: .date, 19: .streetAddress, 36: .healthPlan, 49: .healthPlan],
    ]

    /// Segments are split by `|`, or by the separator an `MSH` segment defines.
    public func mayMatch(_ p: ScanProfile) -> Bool { p.letters != 0 && p.length >= 8 && (p.bars >= 2 || p.initials & Self.msh != 0) }
    static let msh = ScanProfile.letters("m")

    /// The field separator: the character after `MSH` (MSH-1 defines it), `|` without one.
    static func separator(_ t: [UInt8]) -> UInt8 {
        var i = 0
        while i + 4 <= t.count {
            if lower(t[i]) == ch("m"), lower(t[i + 1]) == ch("s"), lower(t[i + 2]) == ch("h"), Scan.leftBoundary(t, i),
               !isAlnum(t[i + 3]), t[i + 3] != ch(" ") { return t[i + 3] }
            i += 1
        }
        return ch("|")
    }

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        let bar = Self.separator(t)
        var i = 0
        while i + 4 <= n {
            // Segment names in either case: `lower(raw_segment)` keeps the structure.
            guard t[i + 3] == bar, isAlpha(t[i]), Scan.leftBoundary(t, i),
                  let fields = Self.segments[String(decoding: t[i..<(i + 3)].map { isLower($0) ? $0 - 0x20 : $0 }, as: UTF8.self)]
            else { i += 1; continue }
            // Walk the fields of this segment.
            var p = i + 4, field = 1, start = p
            while true {
                // HL7's null, `""`, is a field's content, not the end of a JSON string.
                if p + 1 < n, t[p] == ch("\""), t[p + 1] == ch("\""), p == start { p += 2; continue }
                let end = p >= n || t[p] == bar || Self.segmentEnd(t, p)
                if end {
                    if let entity = fields[field], p > start { spans.append(DetectedSpan(entity, start, p)) }
                    if p >= n || t[p] != bar { break }
                    field += 1; p += 1; start = p
                    continue
                }
                p += 1
            }
            i = max(p, i + 1)
        }
    }

    /// A segment ends at a line end, its JSON escape (`\r`, `\n`) or a quote (the end of a
    /// JSON string or a CSV field).
    @inline(__always) static func segmentEnd(_ t: [UInt8], _ p: Int) -> Bool {
        let c = t[p]
        if c == 0x0D || c == 0x0A || c == ch("\"") { return true }
        return c == ch("\\") && p + 1 < t.count && (t[p + 1] == ch("r") || t[p + 1] == ch("n"))
    }
}
