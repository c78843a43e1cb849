@testable import HoopMasking

/// A generated, labelled corpus for precision and recall: structured values and
/// free-text notes built from templates, with the byte range of every identifier
/// recorded as it is written. Deterministic (fixed seed); every value synthetic.
struct Corpus {
    struct Doc { var text: String; var gold: [DetectedSpan] }
    var docs: [Doc] = []
    var rng = SafetyTests.Rng(s: 20_261_126)

    mutating func int(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
    mutating func pick<T>(_ xs: [T]) -> T { xs[int(xs.count)] }
    mutating func digits(_ n: Int) -> String { String((0..<n).map { _ in Character(String(int(10))) }) }

    // Names: common ones (some on the detector's lists, some not) and invented ones that
    // no list holds, so that recall is not just the lists grading themselves.
    static let commonFirst = ["Maria", "James", "Linda", "Robert", "Susan", "Kevin", "Angela", "Luis", "Grace", "Dale", "Tracy", "Wendy"]
    static let commonLast = ["Garcia", "Nguyen", "Patel", "Johnson", "Okafor", "Brown", "Young", "Kowalski", "Lindqvist", "Mbeki"]
    static let syllables = ["qua", "ren", "vel", "dor", "mi", "zan", "tho", "lis", "bre", "ok", "wyn", "sel"]
    mutating func inventedName() -> String {
        let s = (0..<(2 + int(2))).map { _ in pick(Self.syllables) }.joined()
        return s.prefix(1).uppercased() + s.dropFirst()
    }
    mutating func first() -> String { int(2) == 0 ? pick(Self.commonFirst) : inventedName() }
    mutating func last() -> String { int(2) == 0 ? pick(Self.commonLast) : inventedName() }

    // English-looking invented names, built from parts so that no list holds them
    // ("Avery Abernathy", "Xen Vantongeren", "Quimby"); some parts are English words
    // ("Gray", "Orchard") so that a name is not always a non-word.
    static let givenHead = ["Av", "Xen", "Cla", "Bre", "Ol", "Ter", "Mav", "Ju", "Qui", "Ro", "Zel", "Ul"]
    static let givenTail = ["ery", "a", "ra", "ton", "ric", "wen", "ina", "dell", "o", "isse"]
    static let surHead = ["Aber", "Van", "Quim", "Har", "Oster", "Bel", "Tam", "Fen", "Cor", "Wex", "Dal", "Ingle"]
    static let surTail = ["nathy", "tongeren", "by", "rowgate", "mond", "lacott", "berly", "wick", "son", "hurst", "thorpe", "sby"]
    static let wordGiven = ["Gray", "Rose", "Dawn", "Hunter", "Grace"]
    static let wordSurname = ["Orchard", "Fields", "Stone", "Marsh", "Gray", "Baker", "Young"]
    mutating func newGiven() -> String { pick(Self.givenHead) + pick(Self.givenTail) }
    mutating func newSurname() -> String { pick(Self.surHead) + pick(Self.surTail) }
    /// A full name no list holds; one in five has an English-word given name.
    mutating func newName() -> String { (int(5) == 0 ? pick(Self.wordGiven) : newGiven()) + " " + newSurname() }

    static let cities: [(String, String)] = [("Springfield", "IL"), ("Salem", "MA"), ("Fairview", "OR"), ("Oak Hollow", "TX"),
                                             ("Lake Carrow", "MN"), ("St. Louis", "MO"), ("Brookmere", "PA"), ("Dunmore Falls", "NY"),
                                             ("Harlow", "MD"), ("Clearwater", "FL")]

    /// Ordinary clinical text and values that must stay unflagged. Written with the
    /// detector, so this checks known traps rather than sampling real notes; a few lines
    /// carry capitalised terms on no list (Brilinta, Entresto, Keytruda, Dupixent) to keep
    /// the known weakness visible in the figures.
    static let negatives = [
        "Blood pressure improved after medication adjustment.", "Continue current regimen and recheck labs in two weeks.",
        "Referred to Internal Medicine for evaluation of anemia.", "Seen in Cardiology; echocardiogram ordered.",
        "Denies chest pain, shortness of breath, or palpitations.", "Tolerating diet well. Ambulating without assistance.",
        "Wound is clean, dry and intact.", "Discussed risks and benefits; consent signed.",
        "Started Metformin 500 mg twice daily.", "Lisinopril was held for low blood pressure.", "Troponin negative times two.",
        "Plan: MRI of the lumbar spine, Physical Therapy referral.", "Follow-up in Dermatology clinic next month.",
        "History of Type 2 diabetes and hypertension.", "No known drug allergies.",
        "Patient education provided regarding insulin use.", "Nursing notes reviewed. Vital signs stable.",
        "Admitted to the Intensive Care Unit overnight.", "Results sent to the Emergency Department.",
        "Scheduled for colonoscopy on Monday.", "Physical Therapy and Occupational Therapy consulted.",
        "Reports mild nausea after meals.", "Foley catheter removed this morning.", "Parkinson's disease, stable on current therapy.",
        "Spanish interpreter used for the visit.", "Medicare coverage verified.", "Chest X-ray shows no acute process.",
        "Pain controlled with Tylenol as needed.", "Social Work consulted for discharge planning.", "Labs drawn; results pending.",
        "Will return to clinic as needed.", "Grace period for the claim ends Friday.", "Afebrile overnight, Hemodynamically stable.",
        "Echocardiogram showed normal ejection fraction.", "Creatinine is 1.2, stable from prior.",
        "Hypertension: continue Amlodipine 5 mg daily.", "Assessment and Plan discussed with the team.",
        "Bell's palsy resolving; Glasgow Coma Scale 15.", "Transferred to Oncology for chemotherapy.",
        "Insulin sliding scale per protocol.", "Switched from Brilinta to Plavix.", "Entresto started at low dose.",
        "Keytruda infusion tolerated well.", "Dupixent injections every two weeks.",
        "Recommend Pulmonology follow-up in January.", "Morning labs: Hemoglobin 11.2, Potassium 4.1.",
        "Transferred from Mercy General Hospital overnight.", "Follow-up at the Lakeshore Clinic in May.",
    ]
    static let negativeValues = ["Internal Medicine", "Cardiology", "Emergency Department", "Pending", "Discharged",
                                 "Outpatient", "Hypertension", "Metformin", "Physical Therapy", "Type 2 Diabetes Mellitus",
                                 "Active", "Inpatient Rehabilitation", "S52.501A", "550E8400-E29B-41D4-A716-446655440000",
                                 "SKU-12345", "Medicare Part B", "Tuesday", "Completed", "Orthopedic Surgery", "None"]

    mutating func ssn() -> String { "\(900 + int(100))-\(String(format2: 1 + int(98)))-\(String(format4: 1 + int(9998)))" }
    mutating func phone() -> String {
        let a = "\(2 + int(8))\(digits(2))", x = "555", l = "01\(digits(2))"
        return pick(["(\(a)) \(x)-\(l)", "\(a)-\(x)-\(l)", "\(a).\(x).\(l)", "+1 \(a) \(x) \(l)"])
    }
    mutating func email() -> String { "\(first().lowercased()).\(last().lowercased())\(int(99))@\(pick(["example.org", "example.com", "example.net"]))" }
    mutating func mrn() -> String { "MRN-\(digits(8))" }
    mutating func plan() -> String { "\(pick(["AET", "BCB", "UHC", "CIG", "KPR"]))\(1 + int(9))\(digits(8))" }
    mutating func npi() -> String {
        while true {
            let base = "\(1 + int(2))\(digits(8))"
            for c in 0..<10 where Checksum.npi(Array((base + String(c)).utf8).map { $0 - 48 }) { return base + String(c) }
        }
    }
    mutating func card() -> String {
        while true {
            let base = "4\(digits(14))"
            for c in 0..<10 where Checksum.luhn(Array((base + String(c)).utf8).map { $0 - 48 }) {
                let s = Array(base + String(c))
                return int(2) == 0 ? String(s) : stride(from: 0, to: 16, by: 4).map { String(s[$0..<($0 + 4)]) }.joined(separator: " ")
            }
        }
    }
    mutating func date() -> String {
        let y = 1930 + int(90), m = 1 + int(12), d = 1 + int(28)
        return pick(["\(y)-\(String(format2: m))-\(String(format2: d))", "\(m)/\(d)/\(y)",
                     "\(["January", "March", "June", "October"][int(4)]) \(d), \(y)"])
    }
    mutating func address() -> String { "\(1 + int(9998)) \(pick(["Maple", "Cedar", "Old Mill", "Ridge", "Lakeview"])) \(pick(["St", "Ave", "Rd", "Ln", "Dr", "Blvd", "Way", "Court"]))" }
    mutating func zip() -> String { digits(5) }
    mutating func ip() -> String { int(3) == 0 ? "2001:db8::\(String(int(65535), radix: 16))" : "10.\(int(256)).\(int(256)).\(int(256))" }
    mutating func url() -> String { "https://portal.example.org/patients/\(digits(6))" }
    mutating func vin() -> String {
        let alphabet = Array("ABCDEFGHJKLMNPRSTUVWXYZ0123456789")
        while true {
            var v = (0..<17).map { _ in alphabet[int(alphabet.count)] }
            for c in Array("0123456789X") { v[8] = c; if Checksum.vin(Array(String(v).utf8)[...]) { return String(v) } }
        }
    }

    /// Appends labelled pieces: a String is plain text, a (Entity, String) is gold.
    mutating func add(_ parts: [Any]) {
        var text = "", gold: [DetectedSpan] = []
        for p in parts {
            if let (e, s) = p as? (Entity, String) {
                gold.append(DetectedSpan(e, text.utf8.count, text.utf8.count + s.utf8.count)); text += s
            } else if let s = p as? String { text += s }
        }
        docs.append(Doc(text: text, gold: gold))
    }

    static func generate(notes: Int = 1500) -> Corpus {
        var c = Corpus()
        for _ in 0..<notes {
            let f = c.first(), l = c.last()
            // Structured values, as a column would hold them (content detection only).
            c.add([(Entity.ssn, c.ssn())]); c.add([(Entity.email, c.email())]); c.add([(Entity.phone, c.phone())])
            c.add([(Entity.mrn, c.mrn())]); c.add([(Entity.npi, c.npi())]); c.add([(Entity.healthPlan, c.plan())])
            c.add([(Entity.personName, "\(f) \(l)")])
            // Ordinary values that must stay unflagged.
            c.add(["20\(10 + c.int(20))-0\(1 + c.int(9))-1\(c.int(9)) 1\(c.int(9)):\(c.int(5))0:00"])
            c.add(["SKU-\(c.digits(4))"]); c.add([String(c.int(100_000))]); c.add(["E11.\(c.int(10))"])
            c.add(["\(c.digits(8))-\(c.digits(4))-4\(c.digits(3))-a\(c.digits(3))-\(c.digits(12))"])
            // Free-text notes.
            c.add([(Entity.personName, "\(f) \(l)"), " (DOB ", (Entity.date, c.date()), ", ", (Entity.mrn, c.mrn()),
                   ") was seen in Cardiology for chest pain."])
            c.add([c.pick(["Patient reached by phone at ", "Best contact number is ", "Daughter called from "]),
                   (Entity.phone, c.phone()), "; voicemail is fine."])
            let (city, st) = c.pick(Self.cities)
            c.add(["Lives at ", (Entity.streetAddress, c.address()), ", ", (Entity.streetAddress, city), ", \(st) ",
                   (Entity.zipCode, c.zip()), "; transport arranged."])
            c.add(["Insurance ", (Entity.healthPlan, c.plan()), " verified; SSN on file ", (Entity.ssn, c.ssn()), "."])
            c.add(["Follow-up with ", (Entity.personName, "\(c.first()) \(c.last())"), ", MD (NPI ", (Entity.npi, c.npi()),
                   ") on ", (Entity.date, c.date()), "."])
            c.add([c.pick(["Mr. ", "Ms. ", "Mrs. "]), (Entity.personName, l), " denies other complaints; a ",
                   (Entity.age, "\(90 + c.int(15))-year-old"), " with good support."])
            c.add(["Discharge summary sent to ", (Entity.email, c.email()), " and posted at ", (Entity.url, c.url()), "."])
            c.add(["Card on file ", (Entity.cardNumber, c.card()), "; login from ", (Entity.ipAddress, c.ip()), " noted."])
            c.add([(Entity.personName, f), " will return for repeat labs; vehicle ", (Entity.vehicle, c.vin()), " in lot B."])
            c.add(["Pacemaker serial ", (Entity.device, "PM-\(c.digits(7))"), ", account ", (Entity.account, c.digits(10)),
                   ", licence no. ", (Entity.licence, "D\(c.digits(7))"), "."])
            c.add(["Event logged at 2026-11-26 10:00:00 with 12 items, order \(c.digits(6)), code E11.9, age 45."])

            // Names no list holds, in every position.
            let n = c.newName(), g = c.newGiven(), s = c.newSurname()
            c.add([(Entity.personName, n)])                                                    // bare value
            c.add([(Entity.personName, s)])                                                    // a last_name column
            c.add([(Entity.personName, "\(s), \(g)")])                                         // "Last, First"
            c.add([(Entity.personName, c.newName()), " was seen in clinic today for follow-up."])
            c.add(["Spoke with ", (Entity.personName, c.newName()), " about the discharge plan."])
            c.add(["Pharmacy called asking about ", (Entity.personName, c.newGiven()), "'s medication."])
            c.add([(Entity.personName, c.newGiven()), "'s daughter will bring the insurance card."])
            c.add([(Entity.personName, c.newGiven()), " will return on ", (Entity.date, c.date()), " for a wound check."])
            c.add(["Mr./Ms. ", (Entity.personName, c.newSurname()), " denies fever or chills."])
            c.add(["Results reviewed with ", (Entity.personName, "\(c.pick(Self.wordGiven)) \(c.pick(Self.wordSurname))"),
                   ", MD, who agrees with the plan."])
            c.add(["Consent witnessed by ", (Entity.personName, c.newName()), ", RN."])
            c.add(["{\"id\":\(c.int(9999)),\"first_name\":\"", (Entity.personName, g), "\",\"last_name\":\"", (Entity.personName, s),
                   "\",\"department\":\"Internal Medicine\",\"status\":\"Discharged\"}"])
            // Cities: with a ZIP, without one, as an address line of its own.
            let (city2, st2) = c.pick(Self.cities.filter { !["MD", "PA", "MA"].contains($0.1) })
            c.add(["Moved to ", (Entity.streetAddress, city2), ", \(st2) last spring; new PCP pending."])
            let (city3, st3) = c.pick(Self.cities)
            c.add([(Entity.streetAddress, city3), ", \(st3) ", (Entity.zipCode, c.zip())])
            // Ordinary text and values: nothing to find.
            for _ in 0..<3 { c.add([c.pick(Self.negatives)]) }
            c.add([c.pick(Self.negativeValues)])
        }
        return c
    }
}

extension String {
    init(format2 v: Int) { self = v < 10 ? "0\(v)" : "\(v)" }
    init(format4 v: Int) { self = String(repeating: "0", count: 4 - String(v).count) + String(v) }
}
