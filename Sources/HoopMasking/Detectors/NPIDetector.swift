/// National Provider Identifiers: ten digits starting 1 or 2 that pass the NPI check
/// (Luhn over "80840" + the digits). One random ten-digit number in ten passes the
/// check, and epoch seconds look just like NPIs, so a checksum match counts only after
/// a context word or when the number fills a field (`Scan.fillsField`: a structured
/// column, a CSV or JSON field).
public struct NPIDetector: Detector {
    public var entities: [Entity] { [.npi] }
    static let context = Scan.words(["npi", "provider", "prescriber", "physician", "md", "dr"])
    public init() {}

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        Scan.numbers(t) { i, run in
            if run == 10, t[i] == ch("1") || t[i] == ch("2"), Scan.numberEnd(t, i + 10),
               Checksum.npi(t[i..<(i + 10)].map { $0 - 0x30 }) {
                if Scan.fillsField(t, i, i + 10) || Scan.contextBefore(t, i, Self.context, window: 40) {
                    spans.append(DetectedSpan(.npi, i, i + 10))
                }
            }
            return nil
        }
    }
}

extension NPIDetector {
    public func mayMatch(_ p: ScanProfile) -> Bool { p.runsLR & ScanProfile.run(10) != 0 }
}
