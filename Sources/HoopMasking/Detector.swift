/// A content detector: finds the spans of one or more entities in a UTF-8 value.
/// Detectors are stateless and `Sendable`; they append to `spans` rather than return
/// arrays so that a value costs one allocation for all of them.
public protocol Detector: Sendable {
    var entities: [Entity] { get }
    func detect(_ text: [UInt8], into spans: inout [DetectedSpan])
    /// False only when `detect` cannot find anything in a value with this profile
    /// (a necessary condition, e.g. "a digit run of 3 or 9 starting a word"), so the
    /// value need not be scanned. The default, true, always scans.
    func mayMatch(_ profile: ScanProfile) -> Bool
}

extension Detector {
    public func mayMatch(_ profile: ScanProfile) -> Bool { true }
}

public enum Detectors {
    /// Every built-in detector with its defaults; `mrnPatterns` adds site-specific
    /// MRN shapes (see MRNDetector).
    public static func standard(mrnPatterns: [String] = MRNDetector.defaultPatterns) -> [Detector] {
        [
            SSNDetector(), NationalIDDetector(), PhoneDetector(), EmailDetector(), URLDetector(), IPDetector(), MACAddressDetector(),
            CardDetector(), AccountNumberDetector(), NPIDetector(), HL7Detector(), MRNDetector(patterns: mrnPatterns),
            ContextIDDetector.healthPlan, ContextIDDetector.account, ContextIDDetector.licence,
            ContextIDDetector.device, ContextIDDetector.labelled, ContextIDDetector.taxpayer, ContextIDDetector.tax,
            ContextIDDetector.vehicle, ContextIDDetector.vehicleTag, ContextIDDetector.npi,
            ContextIDDetector.birthDate, RegistryIDDetector(), PayerIDDetector(), VINDetector(),
            ZipDetector(), AddressDetector(), DateDetector(), AgeDetector(), NameDetector(),
        ]
    }

    /// Builds the tables detectors build on first use (every language's month names, the
    /// word list): a stage calls it at start, so that no session's first frame waits for them.
    public static func prepare() {
        _ = DateDetector.foreignMonths
        _ = NameDetector.words
        _ = TopLevelDomains.set
    }

    /// The detectors' raw spans in `text` (overlaps not resolved), each detector run
    /// only if its prefilter allows. Nil when none could match: then not even a copy
    /// of the text's bytes is made.
    static func scan(_ detectors: [Detector], _ text: String) -> (bytes: [UInt8], spans: [DetectedSpan])? {
        var text = text
        let profile = text.withUTF8 { ScanProfile($0) }
        var first = 0
        while first < detectors.count, !detectors[first].mayMatch(profile) { first += 1 }
        guard first < detectors.count else { return nil }
        let bytes = Array(text.utf8)
        var spans: [DetectedSpan] = []
        detectors[first].detect(bytes, into: &spans)
        for k in (first + 1)..<detectors.count where detectors[k].mayMatch(profile) {
            detectors[k].detect(bytes, into: &spans)
        }
        return (bytes, spans)
    }

    /// The same on bytes.
    static func scan(_ detectors: [Detector], _ bytes: [UInt8]) -> [DetectedSpan] {
        let profile = ScanProfile(bytes)
        var spans: [DetectedSpan] = []
        for k in 0..<detectors.count where detectors[k].mayMatch(profile) {
            detectors[k].detect(bytes, into: &spans)
        }
        return spans
    }

    /// Overlapping spans resolved: higher priority first, then the longer span, then
    /// the earlier one. A span that overlaps one already kept keeps the parts of it
    /// that are still free and hold a letter or digit (an HL7 address field with a
    /// phone-shaped number inside is masked whole, as a phone and an address).
    /// An occupancy map keeps this linear in the text length.
    public static func resolve(_ spans: [DetectedSpan], length: Int, text: [UInt8]? = nil) -> [DetectedSpan] {
        guard spans.count > 1 else { return spans }
        let ordered = spans.sorted {
            if $0.entity.priority != $1.entity.priority { return $0.entity.priority > $1.entity.priority }
            if $0.length != $1.length { return $0.length > $1.length }
            return $0.start < $1.start
        }
        var taken = [Bool](repeating: false, count: length)
        var kept: [DetectedSpan] = []
        for s in ordered where s.start >= 0 && s.end <= length && s.start < s.end {
            if !taken[s.start..<s.end].contains(true) {
                for k in s.start..<s.end { taken[k] = true }
                kept.append(s)
                continue
            }
            guard let text else { continue }
            // The free runs of an overlapped span.
            var k = s.start
            while k < s.end {
                guard !taken[k] else { k += 1; continue }
                var e = k
                while e < s.end, !taken[e] { e += 1 }
                if text[k..<e].contains(where: { isAlnum($0) || $0 >= 0x80 }) {
                    for j in k..<e { taken[j] = true }
                    kept.append(DetectedSpan(s.entity, k, e))
                }
                k = e
            }
        }
        return kept.sorted { $0.start < $1.start }
    }
}
