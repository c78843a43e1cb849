/// Identifiers with no shape of their own (health plan member ids, account numbers,
/// licence and certificate numbers, device serials): an alphanumeric token with digits
/// that follows a context word, possibly after filler such as "number", "ID", "#", ":".
public struct ContextIDDetector: Detector {
    public let entity: Entity
    public var entities: [Entity] { [entity] }
    let contextWords: [[UInt8]]
    /// The context word is a common noun ("patient", "visit"): only a label that says an
    /// id follows (`ID`, `#`, `No.`, `Number`, a colon) makes the next token one.
    let needsMarker: Bool
    /// The fewest digits and characters an id has (a plate's `ABC 12`, `4821`: fewer).
    let minDigits: Int, minChars: Int
    static let filler: Set<UInt64> = Set(["id", "no", "num", "number", "nr", "is", "plan", "member", "policy",
                                          "subscriber", "identifier", "on", "file", "card", "of", "the", "s", "n",
                                          "group", "code", "serial", "sn", "udi", "ids", "nos"].map(Scan.hashLower))

    /// Filler words that say an id follows.
    static let markers: Set<UInt64> = Set(["id", "no", "num", "number", "nr", "identifier", "ids", "nos"].map(Scan.hashLower))

    /// First letters and lengths (bit k: a word of k letters) of the context words:
    /// for `mayMatch`, and so that most words need no comparison.
    let contextInitials: UInt32
    let contextLengths: UInt64

    public init(entity: Entity, contextWords: [String], needsMarker: Bool = false, minDigits: Int = 3, minChars: Int = 5) {
        self.entity = entity
        self.needsMarker = needsMarker
        self.minDigits = minDigits
        self.minChars = minChars
        self.contextWords = Scan.words(contextWords)
        contextInitials = self.contextWords.reduce(0) { $0 | ($1.first.map { isAlpha($0) ? ScanProfile.bit($0) : 0 } ?? 0) }
        contextLengths = self.contextWords.reduce(0) { $0 | ($1.count < 64 ? 1 << UInt64($1.count) : 0) }
    }

    /// A context word starting a word, and an id's digits.
    public func mayMatch(_ p: ScanProfile) -> Bool { p.digitCount >= minDigits && p.initials & contextInitials != 0 }

    public static let healthPlan = ContextIDDetector(entity: .healthPlan, contextWords: [
        "insurance", "insurer", "member", "subscriber", "policy", "medicaid", "medicare", "payer",
        "beneficiary", "mbi", "hicn", "coverage", "plan"])
    public static let account = ContextIDDetector(entity: .account, contextWords: ["account", "acct", "acc", "billing"])
    public static let licence = ContextIDDetector(entity: .licence, contextWords: [
        "license", "licence", "lic", "dea", "certificate", "cert", "permit", "licensed", "passport"])
    /// A vehicle's plate or VIN after its label, in any case and whatever its check digit
    /// (`Plate ABC 123`, `VIN: 1hgcm8…`); a tag only with a marker (`Tag #: …`).
    public static let vehicle = ContextIDDetector(entity: .vehicle, contextWords: ["plate", "plates", "vin", "vehicle"],
                                                  minDigits: 1, minChars: 4)
    public static let vehicleTag = ContextIDDetector(entity: .vehicle, contextWords: ["tag"], needsMarker: true, minDigits: 1, minChars: 4)
    /// Any other record's number a label names ("Patient ID: ", "FIN: ", "Encounter #",
    /// "Accession No.", "DL: ", "Passport #"): a unique identifying number (Safe Harbor's
    /// eighteenth kind), read as a record number.
    public static let labelled = ContextIDDetector(entity: .mrn, contextWords: [
        "patient", "pt", "encounter", "visit", "chart", "record", "accession", "fin", "csn", "har", "specimen",
        "admission", "case", "claim", "episode", "enrollee", "person", "client", "resident", "employee", "dl",
        "driver", "drivers", "rx", "prescription", "lab", "requisition", "mpi", "empi", "pid", "rec", "mrn", "mr",
        "hospital", "unit", "medical"],
        needsMarker: true)
    /// A taxpayer's number after its label, however grouped (`TIN: 123456789`, `ITIN 9dd dd
    /// dddd`, `SSN: ddddd-dddd`, `soc. sec. #`): an SSN or what stands for one.
    public static let taxpayer = ContextIDDetector(entity: .ssn, contextWords: ["ssn", "tin", "itin", "taxpayer", "sec", "ssan"])
    public static let tax = ContextIDDetector(entity: .ssn, contextWords: ["tax"], needsMarker: true)
    /// A date of birth after its label however spelt (`DOB: 09.03.84`, `09MAR84`,
    /// `1984-Mar-09`, `84-03-09`, `1984 03 09`): the label says what the digits are, where
    /// DateDetector's forms would need the shape alone to.
    public static let birthDate = ContextIDDetector(entity: .date, contextWords: ["dob", "birth", "born", "birthdate", "birthday", "bday"],
                                                    minDigits: 2, minChars: 5)
    /// An NPI after its label however grouped (`NPI: 1234 567 893`); unbroken, NPIDetector
    /// finds it by its check digit anywhere.
    public static let npi = ContextIDDetector(entity: .npi, contextWords: ["npi"])
    public static let device = ContextIDDetector(entity: .device, contextWords: [
        "device", "serial", "implant", "pacemaker", "udi", "imei", "defibrillator", "pump", "sn"])

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        var i = 0
        while i < n {
            guard isAlpha(t[i]), Scan.leftBoundary(t, i) else { i += 1; continue }
            var e = i
            while e < n, isAlpha(t[e]) { e += 1 }
            let len = e - i
            // A whole word: "acc" inside an id ("…-acc6-4a8a…", a UUID's group) is none.
            let isContext = len < 64 && contextLengths & (1 << UInt64(len)) != 0 && contextInitials & ScanProfile.bit(t[i]) != 0
                && (e >= n || !isDigit(t[e])) && contextWords.contains { w in w.count == len && Scan.wordAt(t, i, w) }
            if isContext, let span = idAfter(t, e) {
                spans.append(span); i = span.end; continue
            }
            i = e
        }
    }

    /// The id after a context word: skip separators and up to three filler words.
    func idAfter(_ t: [UInt8], _ from: Int) -> DetectedSpan? {
        let n = t.count
        var p = from, fillers = 0
        var marked = !needsMarker
        while p < n {
            let c = t[p]
            if c == ch(" ") || c == ch(":") || c == ch("#") || c == ch("=") || c == ch("'") || c == ch("/") || c == ch(".") || c == ch("-") && !(p + 1 < n && isAlnum(t[p + 1]) && p > from) {
                if c == ch(":") || c == ch("#") || c == ch("=") { marked = true }
                p += 1; continue
            }
            guard isAlnum(c) else { return nil }
            var e = p, digitCount = 0
            while e < n, isAlnum(t[e]) || t[e] == ch("-") && e + 1 < n && isAlnum(t[e + 1]) {
                if isDigit(t[e]) { digitCount += 1 }
                e += 1
            }
            if digitCount == 0, fillers < 3, Self.filler.contains(Scan.hashLower(t, p, e)) {
                if Self.markers.contains(Scan.hashLower(t, p, e)) { marked = true }
                fillers += 1; p = e; continue
            }
            // The id as printed in groups (`ABC 123 456 789`, `12 345 678`, `1EG4 TE5 MK73`,
            // `123_45_6789`, a plate's `123 ABC`): groups of letters and digits joined by one
            // separator each, the groups after the first each with a digit, counted together,
            // 32 characters at most (what comes after is read on its own: a label's next
            // value, `… GRP 00456`, `… DOB 01/02/1980`, is not this id). A few capitals end
            // a plate's (a detector that counts one digit enough) when nothing follows them.
            let start = p
            guard e - p <= 24, digitCount > 0 || e - p <= 4 && !t[p..<e].contains(where: isLower) else { return nil }
            var chars = e - p
            @inline(__always) func joins(_ at: Int) -> Bool {
                at + 1 < n && [ch(" "), ch("-"), ch("."), ch("_"), ch("/")].contains(t[at]) && isAlnum(t[at + 1])
            }
            while joins(e) {
                var g = e + 1, d = 0
                while g < n, g - start <= 32, isAlnum(t[g]) { if isDigit(t[g]) { d += 1 }; g += 1 }
                guard g - start <= 32, g >= n || !isAlnum(t[g]) else { break }
                if d == 0 {
                    guard minDigits == 1, g - e - 1 <= 4, !t[(e + 1)..<g].contains(where: isLower), !joins(g) else { break }
                }
                digitCount += d; chars += g - e - 1; e = g
            }
            if digitCount >= minDigits, chars >= minChars { return marked ? DetectedSpan(entity, start, e) : nil }
            return nil
        }
        return nil
    }
}
