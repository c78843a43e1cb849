/// Person names in text. A token is a run of letters (ASCII or any non-ASCII byte, so
/// "José" is one token; internal ' or - before a capital: O'Brien, Smith-Jones);
/// "Titlecase" means a capital first letter and a lower-case letter after it. Rules:
/// 1. a title (Mr., Mrs., Ms., Mx., Dr., Miss, `Mr./Ms.`) or a context word (patient,
///    name:, pt, son/daughter/wife/... of) before it: the next one or two Titlecase
///    tokens are a name;
/// 2. a token from the embedded given-name or surname list (NameLists);
/// 3. a Titlecase token that is not a common English word (CommonWords: every
///    lower-case entry of the wamerican dictionary) nor a listed clinical proper noun
///    (ClinicalWords: months, drugs, eponyms, states, ...): a name when it sits inside a
///    sentence; at the start of a sentence, a field or a value only when the next thing
///    is evidence of a name — another Titlecase token, "'s", a verb (will, was, is,
///    has, denies, ...), "(", ", MD", or the end of the field ("Abernathy" alone);
/// 4. everyday-word given names (Grace, Dale, Ruby, ...: ClinicalWords.wordNames) only
///    with strong evidence after them ("'s", a verb, "(", ", MD") or before another
///    Titlecase token ("Grace Young");
/// 5. a credential after a comma (", MD", ", RN", ", PhD", ...): the one to three
///    Titlecase tokens before it, words or not ("Gray Orchard, MD").
/// A span found by 2–4 grows over adjacent Titlecase tokens on both sides (single space,
/// or ". " after an initial), up to four tokens, so "Gray Abernathy" is one name even
/// though "gray" is a word; titles, context words, stop words and sentence-start verbs
/// (Started, Spoke, ...) do not join.
/// Case: an ALL-CAPS token (HL7, X12 and CSV feeds store names so) is read as if it
/// were Titlecase when it stands next to another ALL-CAPS token ("MARIA LOPEZ",
/// "QUIMBY^UMBER", "Spoke with MARIA LOPEZ": in mixed text only when no token of the
/// run is a clinical word or acronym), or when it is on the name lists;
/// so `upper()` of a name brings nothing back. In a value with no capital at all, a
/// listed name and the tokens next to it that are no English word are a name ("maria
/// ortiz-vela"); other lower-case names are beyond a rule-based detector.
/// Misses, by design: names that are all English words with no evidence ("Grace Young"
/// as a bare value), lower-case names off the lists. False positives: capitalised terms
/// absent from both word lists (an unlisted drug, brand or place) inside a sentence.
/// Linear: one tokenisation pass, one FNV hash per token, set lookups; the word set is
/// decoded once per process.
public struct NameDetector: Detector {
    public var entities: [Entity] { [.personName] }
    static func hashes(_ s: String) -> Set<UInt64> {
        Set(s.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { Scan.hashLower(String($0)) })
    }
    static let titles = hashes("mr mrs ms mx dr miss prof dra sr sra srta srita lic ing mtro mtra")
    static let contextWords = hashes("""
        patient pt name named son daughter wife husband mother father spouse sister brother guardian
        caregiver nurse physician provider contact attending surname lastname firstname fullname middlename
        givenname familyname
        """)
    /// The words of a name's label ("Patient Name:", "Last Name", "Given"): not the name.
    static let labelWords = hashes("name names first last middle full given family surname")
    /// Keys whose value is a name (FHIR's HumanName: `"family": "Hill"`, `"given":
    /// ["Grace"]): context only as a key, not in prose ("family history", "given Lasix").
    static let keyContextWords = hashes("family given")
    /// Capitalised words that are not names even when they follow a context word.
    static let notNames = hashes("""
        the a an is was has and or of in on at with for to by from he she they his her this that who not no
        yes unknown none md do rn np pa phd jr sr ii iii hospital clinic center medical department emergency
        denies reports states called seen record reached will has i we you it its our their my your
        ssn mrn dob id dl mbi npi phone email address zip med rec
        """).union(labelWords)
    /// Credentials after a name: "Gray Orchard, MD".
    static let credentials = hashes("""
        md do rn np pa phd dds dmd dpm pharmd fnp aprn cnm crna lpn lvn msw lcsw dnp facc facp facs mph
        ot slp cna od
        """)
    /// Lower-case words after a sentence-start token that make it a subject, i.e. a name.
    static let verbs = hashes("""
        will was is has had says said reports reported denies denied states stated called calls returned
        returns agrees agreed presents presented complains complained arrived arrives came comes went goes
        lives lived died feels felt wants wanted would should can could did does who needs needed
        requested requests declined declines refused refuses tolerated tolerates notes noted endorses
        endorsed understands understood verbalized verbalizes ambulated walked remains remained appears
        appeared underwent received receives takes took works worked brought visited spoke asked prefers
        tested missed cancelled canceled completed continues continued tells told knows thinks lost fell
        and
        """)
    /// Capitalised words that never join a name span (they start sentences or label things).
    static let joinStop = notNames.union(titles).union(contextWords).union(credentials).union(hashes("""
        dear hi hello thanks thank regards please note plan per today yesterday tomorrow tonight then
        also but so if when after before since while as spoke met saw told asked paged
        """))

    /// CommonWords decoded (see that file for the encoding): 64-bit hashes of the lower-case words.
    static let words: Set<UInt64> = {
        var set = Set<UInt64>(minimumCapacity: 70_000)
        var buf = [UInt8](repeating: 0, count: 256)
        var len = 0, started = false
        for c in CommonWords.frontCoded.utf8 {
            if isUpper(c) {
                if started { set.insert(Scan.hashLower(buf, 0, len)) }
                len = Int(c - 0x41); started = true
            } else if isLower(c), len < buf.count {
                buf[len] = c; len += 1
            }
        }
        if started { set.insert(Scan.hashLower(buf, 0, len)) }
        return set
    }()

    public init() {}

    struct Token {
        let start: Int, end: Int, hash: UInt64
        /// Titlecase ("Quimby", "José") or a single capital (an initial), or read as one
        /// (an ALL-CAPS or lower-case token by the case rule above).
        var capital: Bool
        /// Letters of a script without case ("山田", "כהן"): a name only where a title, a
        /// context word or a key says one follows.
        let caseless: Bool
        /// Letters all capitals, two or more ("LOPEZ"); letters all lower case.
        let shouted: Bool, lowered: Bool
        /// Letters only up to a word boundary (not the "E" of "E29B").
        let alpha: Bool
        let gapBefore: Int
    }

    @inline(__always) static func letterStart(_ t: [UInt8], _ i: Int) -> Bool { isAlpha(t[i]) || t[i] >= 0xC0 }
    @inline(__always) static func letter(_ c: UInt8) -> Bool { isAlpha(c) || c >= 0x80 }
    /// A capital of any cased script (`Ł`, `Ж`, `Σ`, not only Latin-1's À–Þ).
    @inline(__always) static func upperAt(_ t: [UInt8], _ i: Int) -> Bool {
        t[i] < 0x80 ? isUpper(t[i]) : Scan.capitalAt(t, i)
    }

    /// Non-ASCII punctuation that ends a token: U+0080–U+00BF (C2 xx: no-break space,
    /// «, ©) and U+2000–U+207F (E2 80/81 xx: ’ “ ” – — •).
    @inline(__always) static func punctuationAt(_ t: [UInt8], _ i: Int) -> Bool {
        t[i] == 0xC2 || t[i] == 0xE2 && i + 1 < t.count && (t[i + 1] == 0x80 || t[i + 1] == 0x81)
    }
    /// No letter or digit before `i` (a non-ASCII punctuation character counts as none).
    @inline(__always) static func boundaryBefore(_ t: [UInt8], _ i: Int) -> Bool {
        if i == 0 || Scan.escapedControl(t, i) { return true }
        let c = t[i - 1]
        // "_" joins the words of an identifier ("pid_name", "patient_name"): each is a token.
        if c < 0x80 { return !isAlnum(c) }
        return i >= 2 && t[i - 2] == 0xC2 || i >= 3 && punctuationAt(t, i - 3)
    }

    static func tokens(_ t: [UInt8]) -> [Token] {
        var out: [Token] = []
        let n = t.count
        var i = 0, prevEnd = 0
        while i < n {
            guard letterStart(t, i), !punctuationAt(t, i), boundaryBefore(t, i), !Scan.escapedControl(t, i + 1) else { i += 1; continue }
            var e = i
            var hasLower = false
            var shouting = false   // two capitals in a row: "STRAßE", "ICU", "ΑΒΓ" are not Titlecase; "McDonald" is
            var previousCapital = false
            var h: UInt64 = 0xcbf29ce484222325
            while e < n {
                let c = t[e]
                if c >= 0x80, punctuationAt(t, e) { break }
                if letter(c) {
                    if isLower(c) || c >= 0x80 && e > i + 1 { hasLower = true }
                    // A character's first byte says whether it is a capital, of any cased script.
                    if c < 0x80 || c >= 0xC0 {
                        let capital = c < 0x80 ? isUpper(c) : Scan.capitalAt(t, e)
                        if e > i, capital, previousCapital { shouting = true }
                        previousCapital = capital
                    }
                } else if (c == ch("'") || c == ch("-")) && e + 1 < n && isUpper(t[e + 1]) {
                } else { break }
                h = (h ^ UInt64(Scan.folded(t, e))) &* 0x100000001b3
                e += 1
            }
            let first = upperAt(t, i)
            let width = Scan.scalar(t, i)?.1 ?? 1
            var cap = first && (e - i == width || hasLower) && !shouting
            if !first, let g = t[i..<e].firstIndex(where: { $0 == ch("-") || $0 == ch("'") }), g > i, g + 2 < e,
               Self.gluedParticles.contains(Scan.hashLower(t, i, g)), isUpper(t[g + 1]),
               !t[(g + 2)..<e].contains(where: isUpper) { cap = true }
            var end = e
            // A lower-case part of a snake_case identifier ("drv_chan_8c79", "pid_name") is
            // no name; Titlecase parts are read ("Maria_Garcia_1931-04-12.pdf").
            let snake = !first && (i > 0 && t[i - 1] == ch("_") || e < n && t[e] == ch("_"))
            var alpha = (e >= n || !isDigit(t[e])) && !snake
            // Synthetic records write every name with a digit run after it (Synthea's
            // "Staci563 Lanphear986"): a Titlecase run of letters (no capital inside it:
            // "SpO2", "FiO2" are measures), then one to four digits and a word's end, is
            // the name it carries, digits included in its span.
            if !alpha, cap, hasLower, e < n, isDigit(t[e]), Self.innerCapitalsStartWords(t, i, e) {
                var d = e
                while d < n, isDigit(t[d]), d - e <= 4 { d += 1 }
                if d - e <= 4, d >= n || !(Scan.isWordByte(t[d]) || t[d] >= 0x80), !Self.hexSuffixed(t, i, e, d) { end = d; alpha = true }
            }
            out.append(Token(start: i, end: end, hash: h, capital: cap, caseless: Scan.caselessLetterAt(t, i),
                             shouted: first && shouting && !t[i..<e].contains(where: isLower),
                             lowered: isLower(t[i]) && !shouting && !(t[i..<e].contains(where: isUpper)),
                             alpha: alpha, gapBefore: i - prevEnd))
            prevEnd = end
            i = end
        }
        readCase(t, &out)
        return out
    }

    /// An identifier in CamelCase ("NoSuchKey", "AccessDeniedException", "DBInstanceNotFound",
    /// "AdministratorAccess": the codes, enums and names of every API answer): ASCII
    /// letters whose humps (a capital after a lower-case letter starts one; a run of
    /// capitals is an acronym) are each an English word or an acronym. Not Titlecase, so
    /// no name by rule 3; unless every hump is a listed name ("JohnSmith": john and smith
    /// are words too), or a hump is no word ("McDonald", "DeShawn", "LaToya"). Rules 3
    /// and 4 only: after a title or a context word it is a name ("Dr. VanDyke").
    static func identifier(_ t: [UInt8], _ i: Int, _ e: Int) -> Bool {
        guard e - i >= 4, !t[i..<e].contains(where: { !isAlpha($0) }) else { return false }
        var humps: [(Int, Int)] = []
        var a = i
        for p in (i + 1)..<e where isUpper(t[p]) && (isLower(t[p - 1]) || p + 1 < e && isLower(t[p + 1]) && isUpper(t[p - 1])) {
            humps.append((a, p)); a = p
        }
        humps.append((a, e))
        guard humps.count >= 2 else { return false }
        var allListed = true
        for (a, b) in humps {
            if !t[a..<b].contains(where: isLower) { allListed = false; continue }   // an acronym
            let h = Scan.hashLower(t, a, b)
            guard b - a >= 2, words.contains(h) || apiHumps.contains(h) else { return false }
            if !(NameLists.firstSet.contains(h) || NameLists.lastSet.contains(h)) { allListed = false }
        }
        return !allListed
    }

    /// Abbreviations that API members write as a hump (`PrivateIpAddress`, `DbiResourceId`,
    /// `RecoveryPointArn`, `KmsKeyId`): an acronym in CamelCase, no name's part.
    static let apiHumps = hashes("""
        arn ip ipv id ids db dbi url uri api sql lsn iops kms sns sqs vpc acl ttl tls ssl dns http https json xml
        md aws iam rds ecs eks ebs efs ami eni nat igw cidr az cpu gpu io sdk ssh utc uuid
        """)

    /// The case rule: which ALL-CAPS and lower-case tokens are read as Titlecase.
    static func readCase(_ t: [UInt8], _ toks: inout [Token]) {
        // Capitals of any cased script count (`ИВАН ПЕТРОВ` is an upper-case value).
        let noLower = !t.contains(where: isLower)
        let noUpper = !t.contains(where: isUpper) && !t.indices.contains { t[$0] >= 0xC0 && Scan.capitalAt(t, $0) }
        @inline(__always) func listed(_ k: Int) -> Bool { NameLists.firstSet.contains(toks[k].hash) || NameLists.lastSet.contains(toks[k].hash) }
        @inline(__always) func near(_ k: Int, _ j: Int) -> Bool {
            guard j >= 0, j < toks.count else { return false }
            let a = toks[min(j, k)], gap = toks[max(j, k)].gapBefore
            // One space or `^`, or ", " ("UNDERHILL, FELIX").
            return gap == 1 && (t[a.end] == ch(" ") || t[a.end] == ch("^")) || gap == 2 && t[a.end] == ch(",") && t[a.end + 1] == ch(" ")
        }
        if noUpper {
            // Lower case: a listed name that is no English word, and the non-word tokens next to it.
            var named = toks.indices.map { toks[$0].lowered && listed($0) && !Self.words.contains(toks[$0].hash) }
            for k in toks.indices where named[k] {
                for j in [k - 1, k + 1] where near(k, j) && toks[j].lowered && toks[j].end - toks[j].start >= 2
                    && !Self.words.contains(toks[j].hash) && !ClinicalWords.set.contains(toks[j].hash) { named[j] = true }
            }
            for k in toks.indices where named[k] { toks[k].capital = true }
            return
        }
        // In mixed text, a run of ALL-CAPS tokens is a name's only when none of it is a
        // clinical word or acronym ("STRAßE ICU", "COPD GOLD" are not).
        let shouted = toks.indices.map { toks[$0].shouted && !(noLower ? false : ClinicalWords.set.contains(toks[$0].hash)) }
        var runClean = [Bool](repeating: false, count: toks.count)
        var a = 0
        while a < toks.count {
            guard toks[a].shouted else { a += 1; continue }
            var b = a
            while b + 1 < toks.count, toks[b + 1].shouted, near(b, b + 1) { b += 1 }
            let clean = (a...b).allSatisfy { shouted[$0] }
            for k in a...b { runClean[k] = clean && b > a }
            a = b + 1
        }
        for k in toks.indices where toks[k].shouted {
            // Two capitals are a code or a state ("KR", "IL"), and one ALL-CAPS word on its
            // own a code or a status ("HOSP", "STRAßE"), unless listed.
            let long = toks[k].end - toks[k].start > 2
            if listed(k) || long && runClean[k] { toks[k].capital = true }
        }
    }

    /// A capital, a non-ASCII letter, or (a lower-case value's listed name) a word of letters.
    public func mayMatch(_ profile: ScanProfile) -> Bool { profile.hasUpper || profile.nonASCII || profile.alphaWords > 0 }

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let toks = Self.tokens(t)
        let before = spans.count
        findNames(t, toks, into: &spans)
        surnamesBeforeComma(t, toks, &spans, from: before)
        afterInitials(t, toks, &spans, from: before)
        if toks.contains(where: \.caseless) { Self.keyedCaseless(t, into: &spans) }
        Self.referenceDisplays(t, into: &spans)
    }

    /// FHIR's Reference to a person (`{"reference": "Patient/123", "display": "Jane Doe"}`,
    /// or `"type": "Practitioner"`): its `display` is that person's name, whatever its
    /// words or script. Each `"display"` key reads its own object only, at most 1 KiB
    /// either side: linear.
    static func referenceDisplays(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count, key = Array("display".utf8)
        var i = 1
        while i + key.count < n {
            guard t[i] == ch("d"), t[i - 1] == ch("\""), t[i + key.count] == ch("\""), t[i..<(i + key.count)].elementsEqual(key) else { i += 1; continue }
            let escaped = i >= 2 && t[i - 2] == ch("\\")
            var p = i + key.count + 1
            while p < n, t[p] == ch(" ") { p += 1 }
            guard p < n, t[p] == ch(":") else { i += 1; continue }
            p += 1
            while p < n, t[p] == ch(" ") { p += 1 }
            if escaped { guard p + 1 < n, t[p] == ch("\\") else { i += 1; continue }; p += 1 }
            guard p < n, t[p] == ch("\"") else { i += 1; continue }
            let a = p + 1
            var e = a
            while e < n, e - a <= 160, t[e] != ch("\"") || (escaped ? t[e - 1] != ch("\\") : e > a && t[e - 1] == ch("\\")) { e += 1 }
            guard e < n, e - a <= 160 else { i += 1; continue }
            let end = escaped ? e - 1 : e
            guard end > a, personReference(t, around: i - (escaped ? 2 : 1), end) else { i = e; continue }
            spans.append(DetectedSpan(.personName, a, end))
            i = e
        }
    }

    static let personTypes = ["Patient", "Practitioner", "PractitionerRole", "RelatedPerson", "Person"].map { Array($0.utf8) }

    /// The object around `a..<b` (its `{` and `}`, nested objects skipped, 1 KiB either
    /// side at most) names a person's resource: `Patient/…` (or `…/Patient/…`), or a
    /// `"Patient"` type.
    static func personReference(_ t: [UInt8], around a: Int, _ b: Int) -> Bool {
        var s = a, depth = 0
        while s > 0, a - s < 1024 {
            s -= 1
            if t[s] == ch("}") { depth += 1 } else if t[s] == ch("{") { if depth == 0 { break }; depth -= 1 }
        }
        var e = b
        depth = 0
        while e < t.count, e - b < 1024 {
            if t[e] == ch("{") { depth += 1 } else if t[e] == ch("}") { if depth == 0 { break }; depth -= 1 }
            e += 1
        }
        guard s < a, t[s] == ch("{") else { return false }
        // Its own members only: a nested object's reference is another's.
        var p = s + 1
        depth = 0
        while p < e {
            if t[p] == ch("{") || t[p] == ch("[") { depth += 1 } else if t[p] == ch("}") || t[p] == ch("]") { depth -= 1 }
            if depth == 0, t[p] == ch("P") || t[p] == ch("R"), t[p - 1] == ch("\"") || t[p - 1] == ch("/") {
                for w in personTypes where p + w.count < e && t[p..<(p + w.count)].elementsEqual(w) {
                    let c = t[p + w.count]
                    if c == ch("/") || c == ch("\"") || c == ch("\\") && t[p - 1] == ch("\"") { return true }
                }
            }
            p += 1
        }
        return false
    }

    /// "P. White", "H. Osgood", "Richard Y. Swan": an initial (one capital and ". ") is
    /// evidence that the Titlecase token after it is a surname, even a clinical eponym or
    /// an English word ("option B. Next" is taken for one); not when the initial ends a Titlecase term
    /// ("Vitamin D. Levels", "Group A. Results": the token before it is no listed given
    /// name), nor before a title, context or stop word.
    func afterInitials(_ t: [UInt8], _ toks: [Token], _ spans: inout [DetectedSpan], from: Int) {
        guard toks.count >= 2 else { return }
        for k in 0..<(toks.count - 1) {
            let initial = toks[k], next = toks[k + 1]
            guard initial.end - initial.start == 1, isUpper(t[initial.start]), initial.end + 1 < t.count, t[initial.end] == ch("."),
                  next.gapBefore == 2, t[initial.end + 1] == ch(" "), next.alpha, next.end - next.start >= 2, next.capital,
                  !Self.joinStop.contains(next.hash) else { continue }
            if k >= 1, toks[k - 1].capital, toks[k - 1].end + 1 == initial.start, !NameLists.firstSet.contains(toks[k - 1].hash) { continue }
            guard !spans[from...].contains(where: { $0.entity == .personName && $0.start <= next.start && $0.end >= next.end }) else { continue }
            spans.append(DetectedSpan(.personName, initial.start, next.end))
        }
    }

    /// "Busby, Jane", "KARLE, MATTHEW": a register's `Last, First`. A name found right
    /// after ", " takes the Titlecase (or ALL-CAPS) token before the comma as its
    /// surname, when that token starts its field or clause, is no clinical word unless a
    /// listed surname, and the name ends its field (or a `;`, `(` or an initial follows):
    /// "Yesterday, Jane went home" is a clause. ("Cardiology, Jane" is taken for a name.)
    func surnamesBeforeComma(_ t: [UInt8], _ toks: [Token], _ spans: inout [DetectedSpan], from: Int) {
        guard spans.count > from else { return }
        var index: [Int: Int] = [:]
        for (k, tok) in toks.enumerated() { index[tok.start] = k }
        for s in from..<spans.count where spans[s].entity == .personName {
            guard let k = index[spans[s].start], k >= 1, toks[k].gapBefore == 2 else { continue }
            let j = k - 1, prev = toks[j]
            guard t[prev.end] == ch(","), t[prev.end + 1] == ch(" "), prev.alpha, prev.end - prev.start >= 2,
                  prev.capital || prev.shouted || isUpper(t[prev.start]) && !t[prev.start..<prev.end].contains(where: isLower),
                  !Self.joinStop.contains(prev.hash), !ClinicalWords.set.contains(prev.hash) || NameLists.lastSet.contains(prev.hash),
                  clauseStart(t, prev.start), !spans.contains(where: { $0.entity == .personName && $0.end == prev.end }) else { continue }
            var e = spans[s].end
            while e < t.count, t[e] == ch(" ") { e += 1 }
            let initialAfter = e + 1 < t.count && isUpper(t[e]) && (e + 1 == t.count || !Scan.isWordByte(t[e + 1]))
            guard e >= t.count || Scan.fillsField(t, spans[s].start, spans[s].end) || [ch(";"), ch("(")].contains(t[e]) || initialAfter else { continue }
            spans[s] = DetectedSpan(.personName, prev.start, initialAfter ? e + 1 : spans[s].end)
        }
    }

    /// A word found as (part of) a name, by any detector (an HL7 name field too), is that
    /// name wherever else it appears capitalised (or, in a script without case, at all) in
    /// the same value (`王小明 | {"name": "王小明"}`): "Umber Larkspur (DOB
    /// …) … Umber will return" — the second "Umber" has no clue of its own. Runs on the
    /// resolved spans (Masker), so that every source of names counts.
    static func repeated(_ t: [UInt8], _ spans: [DetectedSpan]) -> [DetectedSpan] {
        guard spans.contains(where: { $0.entity == .personName }) else { return [] }
        let toks = tokens(t)
        var names: Set<UInt64> = []
        var covered = [Bool](repeating: false, count: toks.count)
        var j = 0
        let ordered = spans.sorted { $0.start < $1.start }
        for (k, tok) in toks.enumerated() {
            while j < ordered.count, ordered[j].end <= tok.start { j += 1 }
            guard j < ordered.count, tok.start >= ordered[j].start, tok.start < ordered[j].end else { continue }
            covered[k] = true
            if ordered[j].entity == .personName, tok.alpha, tok.end - tok.start >= 2, upperAt(t, tok.start) || tok.caseless,
               !titles.contains(tok.hash), !contextWords.contains(tok.hash), !suffixes.contains(tok.hash),
               !particles.contains(tok.hash), !NameKeys.particleWords.contains(tok.hash) { names.insert(tok.hash) }
        }
        // Each repeat grows over the free name-like tokens next to it ("SAWYER LARKSPUR").
        let d = NameDetector()
        var out: [DetectedSpan] = []
        var k = 0
        while k < toks.count {
            guard !covered[k], upperAt(t, toks[k].start) || toks[k].caseless, names.contains(toks[k].hash) else { k += 1; continue }
            var a = k, b = k
            while a - 1 >= 0, !covered[a - 1], b - a < 3, d.tight(t, toks, a - 1, a), d.joinable(t, toks, a - 1) { a -= 1 }
            while b + 1 < toks.count, !covered[b + 1], b - a < 3, d.tight(t, toks, b, b + 1), d.joinable(t, toks, b + 1) { b += 1 }
            for j in a...b { covered[j] = true }
            out.append(DetectedSpan(.personName, toks[a].start, toks[b].end))
            k = b + 1
        }
        return out
    }

    func findNames(_ t: [UInt8], _ toks: [Token], into spans: inout [DetectedSpan]) {
        var floor = 0   // tokens before this index already belong to a span
        var k = 0
        while k < toks.count {
            let tok = toks[k]
            let h = tok.hash
            // Rule 1: title or context word, then capitalised tokens.
            // "Dr, Salem" is a street suffix before a city, not a title: a title is
            // followed by ".", " " or "/" (Mr./Ms.), never a comma.
            let after = tok.end < t.count ? t[tok.end] : 0
            let keyed = Self.keyContextWords.contains(h) && k + 1 < toks.count && Self.keySeparator(t, tok.end, toks[k + 1].start)
            // After a number a title's letters are a unit: "376.80 ms Billed Duration".
            let title = Self.titles.contains(h) && (after == ch(".") || after == ch(" ") || after == ch("/")) && !Self.followsNumber(t, tok.start)
            // A context word in a key that names a thing (`"drug_name":`, `facility_name=`) says no person follows.
            if title || (Self.contextWords.contains(h) || keyed) && !NameKeys.inThingKey(t, tok.start, tok.end) {
                if let (nameStart, end, next) = nameAfter(t, toks, k + 1) {
                    // The title is part of what names the person ("Dr Abbie Cook"); a label's
                    // words are not ("Patient Name: Hill", `{"name":{"family":"佐藤"}}`: a
                    // span over them would take a document's quotes).
                    let start = Self.titles.contains(h) ? tok.start
                        : Self.labelWords.contains(toks[k + 1].hash) ? nameStart : toks[k + 1].start
                    let (e, n) = suffixAfter(t, toks, next, end)
                    spans.append(DetectedSpan(.personName, start, e)); k = n; floor = n; continue
                }
            }
            // Rule 5: ", MD" — the Titlecase tokens before it.
            if Self.credentials.contains(h), isUpper(t[tok.start]), tok.start >= 2, t[tok.start - 1] == ch(" "),
               t[tok.start - 2] == ch(","), k >= 1, k - 1 >= floor, toks[k - 1].end == tok.start - 2 {
                var j = k - 1, count = 0
                while j >= floor, count < 3, joinable(t, toks, j), j == k - 1 || tight(t, toks, j, j + 1) { j -= 1; count += 1 }
                if count > 0 {
                    spans.append(DetectedSpan(.personName, toks[j + 1].start, toks[k - 1].end))
                    floor = k
                }
                k += 1; continue
            }
            guard tok.capital, tok.alpha, tok.end - tok.start >= 2, k >= floor else { k += 1; continue }
            if Self.eponym(t, tok.end) { k += 1; continue }
            if NameLists.firstSet.contains(h) || NameLists.lastSet.contains(h) || candidate(t, toks, k) {
                let (a, b) = grow(t, toks, k, floor)
                // A title right before it ("Mr Declan Ahmed"), a suffix or credential after it.
                let start = a >= 1 && a - 1 >= floor && Self.titles.contains(toks[a - 1].hash) && titleGap(t, toks[a - 1].end, toks[a].start)
                    ? toks[a - 1].start : toks[a].start
                let (e, n) = suffixAfter(t, toks, b + 1, toks[b].end)
                spans.append(DetectedSpan(.personName, start, e))
                k = n; floor = k; continue
            }
            k += 1
        }
    }

    /// "Dr " / "Mrs. " / "Srita. ": what separates a title from the name.
    func titleGap(_ t: [UInt8], _ e: Int, _ s: Int) -> Bool {
        s - e == 1 && t[e] == ch(" ") || s - e == 2 && t[e] == ch(".") && t[e + 1] == ch(" ")
    }

    /// A generational suffix or credential after a name ending at token `k - 1` (offset
    /// `end`): " Jr.", " III", " MD", ", PhD". The span's end and the next token.
    func suffixAfter(_ t: [UInt8], _ toks: [Token], _ k: Int, _ end: Int) -> (Int, Int) {
        guard k < toks.count else { return (end, k) }
        let tok = toks[k], gap = tok.start - end
        guard gap == 1 && t[end] == ch(" ") || gap == 2 && t[end] == ch(",") && t[end + 1] == ch(" "),
              Self.suffixes.contains(tok.hash) && (tok.capital || tok.shouted || isUpper(t[tok.start])) else { return (end, k) }
        // "Harlow, MD 96848": a state code before a ZIP, not a credential.
        var z = tok.end
        while z < t.count, t[z] == ch(" ") { z += 1 }
        if z > tok.end, z < t.count, isDigit(t[z]) { return (end, k) }
        var e = tok.end
        // "Jr." and "Sr." are abbreviations; after "MD" a period ends the sentence.
        if e < t.count, t[e] == ch("."), Self.abbreviated.contains(tok.hash) { e += 1 }
        return (e, k + 1)
    }
    static let suffixes = credentials.union(hashes("jr sr ii iii iv v esq dvm dc"))
    static let abbreviated = hashes("jr sr esq")
    /// Lower-case particles inside a name: "María del Carmen Nieves", "de la Rosa", "van der Berg".
    static let particles = hashes("de del la las los y da das do dos di van von der den le du ibn bin bint binti abu al el ben bat")
    /// A particle glued to a surname by `-` or `'` ("al-Hashimi", "el-Sayed", "d'Alembert"):
    /// the token is read as Titlecase.
    static let gluedParticles = hashes("al el ad ar as ash at az ud d l")

    /// Rules 3 and 4 for the Titlecase token `k`.
    func candidate(_ t: [UInt8], _ toks: [Token], _ k: Int) -> Bool {
        let h = toks[k].hash
        if Self.joinStop.contains(h) || ClinicalWords.set.contains(h) || Self.identifier(t, toks[k].start, toks[k].end) { return false }
        if Self.measureLabel(t, toks[k]) || labelsQuantity(t, toks, k) { return false }
        if Self.words.contains(h) {
            // An everyday-word given name: with strong evidence, or before a surname-like
            // Titlecase token ("Grace Young"), as rule 2 does for listed given names.
            // Any Titlecase word before "(DOB …" or "(born …" is a name ("Umber Larkspur
            // (DOB …)"); so is one inside a sentence with a possessive after it
            // ("asking about Umber's medication"): a common noun is not capitalised there.
            // (Eponyms, "Parkinson's", are clinical words and never get here.)
            if personDetailsAfter(t, toks, k) { return true }
            if !clauseStart(t, toks[k].start), possessive(t, toks[k].end) { return true }
            guard ClinicalWords.wordNames.contains(h) else { return false }
            return evidenceAfter(t, toks, k, strong: true)
                || k + 1 < toks.count && tight(t, toks, k, k + 1) && toks[k + 1].end - toks[k + 1].start >= 2 && joinable(t, toks, k + 1)
        }
        return !clauseStart(t, toks[k].start) || evidenceAfter(t, toks, k, strong: false)
    }

    /// A word glued to a random hex run (`Reportsdfab2670`, `Backupcafe0917`: a generated
    /// resource's name), not a name with its digits: letters `i..<e` are an English word of
    /// four letters or more and hex letters, which with the digits `e..<d` make six
    /// characters or more; a listed name is still one (`Candace123`).
    static func hexSuffixed(_ t: [UInt8], _ i: Int, _ e: Int, _ d: Int) -> Bool {
        let h = Scan.hashLower(t, i, e)
        guard !NameLists.firstSet.contains(h), !NameLists.lastSet.contains(h) else { return false }
        var s = e
        while s > i + 4, isHex(t[s - 1]), isLower(t[s - 1]) {
            s -= 1
            if d - s >= 6, words.contains(Scan.hashLower(t, i, s)) { return true }
        }
        return false
    }

    /// Every capital inside letters `i..<e` starts a part of two lower-case letters or more
    /// ("McDermott", "VonRueden", "DuBuque"), as a name's do; a measure's do not ("SpO2",
    /// "FiO2", "HbA1c").
    static func innerCapitalsStartWords(_ t: [UInt8], _ i: Int, _ e: Int) -> Bool {
        var p = i + 1
        while p < e {
            if isUpper(t[p]) { guard p + 2 < e, isLower(t[p + 1]), isLower(t[p + 2]) else { return false } }
            p += 1
        }
        return true
    }

    /// A short Titlecase label before its measure ("Cr 1.2", "Na 130", "Mg 2.0"): two or
    /// three letters, a space, a number.
    static func measureLabel(_ t: [UInt8], _ tok: Token) -> Bool {
        let e = tok.end
        return tok.end - tok.start <= 3 && e + 1 < t.count && t[e] == ch(" ") && isDigit(t[e + 1])
    }

    /// Token `k` and the Titlecase tokens after it label a quantity: ": 150.12 ms",
    /// ": 128 MB" ("Init Duration: 150.12 ms" in a Lambda REPORT line, "Heart Rate: 72
    /// bpm"), a number with its unit (Scan.measureUnits), which no name is followed by.
    func labelsQuantity(_ t: [UInt8], _ toks: [Token], _ k: Int) -> Bool {
        var j = k
        while j + 1 < toks.count, j < k + 3, tight(t, toks, j, j + 1), toks[j + 1].capital { j += 1 }
        let n = t.count
        var p = toks[j].end
        guard p < n, t[p] == ch(":") else { return false }
        p += 1
        while p < n, t[p] == ch(" ") { p += 1 }
        let digits = Scan.digitRun(t, p)
        guard digits > 0 else { return false }
        p += digits
        if p + 1 < n, t[p] == ch("."), isDigit(t[p + 1]) { p += 1 + Scan.digitRun(t, p + 1) }
        guard p + 1 < n, t[p] == ch(" ") else { return false }
        let w = p + 1
        var e = w
        while e < n, isAlpha(t[e]) { e += 1 }
        return e > w && Scan.rightBoundary(t, e) && Scan.measureUnits.contains(Scan.hashLower(t, w, e))
    }

    /// Nouns that a capitalised name before them makes an eponym, not a person: "Hickman
    /// catheter", "Whipple procedure", "Murphy sign", "Barrett esophagus", "Mayo Clinic".
    static let eponymHeads = hashes("""
        catheter procedure sign signs syndrome disease esophagus oesophagus test maneuver manoeuvre reflex score
        scale criteria classification fracture operation tube line cyst node nodes palsy phenomenon triad ulcer
        hernia shunt drain repair stent valve pouch clinic foundation institute formula equation method technique
        position incision approach bag mask lens pump filter forceps retractor needle splint stockings
        """)

    /// Heads that name a place after a person, capitalised as its name is ("Mayo Clinic").
    static let institutionHeads = hashes("clinic foundation institute")

    /// One space, then an eponym's head noun ending a word, at `e`: in lower case as
    /// prose writes it ("Murphy sign"), so that a surname such as Line or Test after a
    /// given name ("Ann Line") is still one; an institution's in any case.
    static func eponym(_ t: [UInt8], _ e: Int) -> Bool {
        guard e + 1 < t.count, t[e] == ch(" "), isAlpha(t[e + 1]) else { return false }
        var w = e + 1
        while w < t.count, isAlpha(t[w]) { w += 1 }
        let head = Scan.hashLower(t, e + 1, w)
        return Scan.rightBoundary(t, w) && (isLower(t[e + 1]) ? eponymHeads.contains(head) : institutionHeads.contains(head))
    }

    /// A number, then spaces, right before `i`.
    static func followsNumber(_ t: [UInt8], _ i: Int) -> Bool {
        var p = i
        while p > 0, t[p - 1] == ch(" ") { p -= 1 }
        return p < i && p > 0 && isDigit(t[p - 1])
    }

    /// "'s" (or "’s") at `e`.
    func possessive(_ t: [UInt8], _ e: Int) -> Bool {
        let n = t.count
        if e + 1 < n, t[e] == ch("'"), t[e + 1] == ch("s"), Scan.rightBoundary(t, e + 2) { return true }
        return e + 3 < n && t[e] == 0xE2 && t[e + 1] == 0x80 && t[e + 2] == 0x99 && t[e + 3] == ch("s") && Scan.rightBoundary(t, e + 4)
    }

    /// Token `k`, and up to two Titlecase tokens after it, then " (" and a word that
    /// introduces a person's details: DOB, born, MRN, age, d.o.b.
    func personDetailsAfter(_ t: [UInt8], _ toks: [Token], _ k: Int) -> Bool {
        var j = k
        while j + 1 < toks.count, j < k + 2, tight(t, toks, j, j + 1), toks[j + 1].capital { j += 1 }
        var p = toks[j].end
        guard p + 2 < t.count, t[p] == ch(" "), t[p + 1] == ch("(") else { return false }
        p += 2
        for word in ["dob", "d.o.b", "born", "mrn", "age "] {
            let w = Array(word.utf8)
            if p + w.count <= t.count, zip(t[p..<(p + w.count)], w).allSatisfy({ ($0 | 0x20) == $1 || $0 == $1 }) { return true }
        }
        return false
    }

    /// Token `k` starts a sentence, a line, a field or the value: only spaces, quotes,
    /// bullets and opening brackets since the last ". ! ? : ; | = {" or line/tab.
    /// "J. Quimby" (an initial before) is not a start.
    func clauseStart(_ t: [UInt8], _ s: Int) -> Bool {
        var p = s - 1
        while p >= 0, t[p] == ch(" ") || t[p] == ch("\"") || t[p] == ch("'") || t[p] == ch("*") || t[p] == ch("-") { p -= 1 }
        guard p >= 0 else { return true }
        switch t[p] {
        case ch("."):
            return !(p >= 1 && isUpper(t[p - 1]) && (p < 2 || !Scan.isWordByte(t[p - 2])))
        case ch("!"), ch("?"), ch(":"), ch(";"), ch("|"), ch("="), ch("{"), ch("["), ch("("), 0x0A, 0x0D, 0x09:
            return true
        default:
            return false
        }
    }

    /// What follows token `k` marks it as a name: "'s", ", MD", a verb, "(", and (not
    /// strong) another Titlecase token or the end of the field.
    func evidenceAfter(_ t: [UInt8], _ toks: [Token], _ k: Int, strong: Bool) -> Bool {
        let n = t.count
        let e = toks[k].end
        if e >= n { return !strong }
        // Possessive: 's or ’s.
        if t[e] == ch("'"), e + 1 < n, t[e + 1] == ch("s"), Scan.rightBoundary(t, e + 2) { return true }
        if t[e] == 0xE2, e + 3 < n, t[e + 1] == 0x80, t[e + 2] == 0x99, t[e + 3] == ch("s"), Scan.rightBoundary(t, e + 4) { return true }
        if t[e] == ch(","), k + 1 < toks.count, toks[k + 1].start == e + 2, t[e + 1] == ch(" "),
           Self.credentials.contains(toks[k + 1].hash), isUpper(t[toks[k + 1].start]) { return true }
        var p = e
        while p < n, t[p] == ch(" ") { p += 1 }
        if p >= n { return !strong }
        if t[p] == ch("(") && p > e { return true }
        if k + 1 < toks.count, toks[k + 1].start == p {
            let next = toks[k + 1]
            if isLower(t[next.start]), Self.verbs.contains(next.hash) { return true }
            if !strong, next.capital, tight(t, toks, k, k + 1) { return true }
        }
        if strong { return false }
        // The end of a field: a value, a JSON string, a COPY column, a list item.
        switch t[p] {
        case ch("\""), 0x09, 0x0A, 0x0D, ch(","), ch("}"), ch("]"), ch(")"), ch("|"), ch("^"), ch(";"):
            return p == e || t[p] != ch(",")
        default: return false
        }
    }

    /// Token `b` follows token `a` with one space (or `^`, HL7's component separator:
    /// `LOPEZ^MARIA`), or ". " after an initial.
    @inline(__always) func tight(_ t: [UInt8], _ toks: [Token], _ a: Int, _ b: Int) -> Bool {
        let gap = toks[b].start - toks[a].end
        if gap == 1 { return t[toks[a].end] == ch(" ") || t[toks[a].end] == ch("^") }
        return gap == 2 && toks[a].end - toks[a].start == 1 && t[toks[a].end] == ch(".") && t[toks[a].end + 1] == ch(" ")
    }

    /// Token `j` may be part of a name next to a found one: Titlecase or an initial, letters
    /// only, not a stop word, not a sentence-start verb or adverb ("Started", "Recently").
    func joinable(_ t: [UInt8], _ toks: [Token], _ j: Int) -> Bool {
        let tok = toks[j]
        guard tok.capital, tok.alpha, !Self.joinStop.contains(tok.hash), !ClinicalWords.set.contains(tok.hash) else { return false }
        let len = tok.end - tok.start
        if len == 1 { return true }
        if Self.words.contains(tok.hash), clauseStart(t, tok.start) {
            let e = tok.end
            if len > 4, t[e - 2] == ch("e") && t[e - 1] == ch("d") || t[e - 2] == ch("l") && t[e - 1] == ch("y") { return false }
            if len > 5, t[e - 3] == ch("i") && t[e - 2] == ch("n") && t[e - 1] == ch("g") { return false }
        }
        return true
    }

    /// A clinical word ("Wells", "Rico") joins a name right after a listed given name, or
    /// when a name token follows it ("Inés Rico Sanabria").
    func joinableWord(_ t: [UInt8], _ toks: [Token], _ b: Int, _ j: Int) -> Bool {
        let tok = toks[j]
        // A particle between two name tokens ("de la Rosa"): the next token decides.
        if Self.particles.contains(tok.hash), tok.lowered || tok.shouted || tok.capital, j + 1 < toks.count, tight(t, toks, j, j + 1) {
            return joinable(t, toks, j + 1) || joinableWord(t, toks, j, j + 1)
        }
        guard tok.capital, tok.alpha, tok.end - tok.start >= 2, !Self.joinStop.contains(tok.hash) else { return false }
        if NameLists.firstSet.contains(toks[b].hash) { return true }
        return j + 1 < toks.count && tight(t, toks, j, j + 1) && joinable(t, toks, j + 1)
    }

    /// A clinical word that starts a clause right before a found name is its given name
    /// ("Georgia Cunningham", "April Moreno").
    func leadingWord(_ t: [UInt8], _ toks: [Token], _ j: Int) -> Bool {
        let tok = toks[j]
        return tok.capital && tok.alpha && tok.end - tok.start >= 3 && !Self.joinStop.contains(tok.hash)
            && ClinicalWords.set.contains(tok.hash) && clauseStart(t, tok.start)
    }

    /// The name span around token `k`: adjacent joinable tokens before and after it, four
    /// tokens at most, never reaching back before `floor`. Returns token indices.
    func grow(_ t: [UInt8], _ toks: [Token], _ k: Int, _ floor: Int) -> (Int, Int) {
        var a = k, b = k
        while b + 1 < toks.count, b - a < 5, tight(t, toks, b, b + 1),
              joinable(t, toks, b + 1) || joinableWord(t, toks, b, b + 1) { b += 1 }
        // A trailing initial is not part of the name ("Quimby A" is rare; "Quimby I" is a pronoun).
        while b > k, toks[b].end - toks[b].start == 1 { b -= 1 }
        while a - 1 >= floor, b - a < 5, tight(t, toks, a - 1, a) {
            if joinable(t, toks, a - 1) || leadingWord(t, toks, a - 1) { a -= 1; continue }
            // A particle with a name token before it ("María del Carmen").
            if Self.particles.contains(toks[a - 1].hash), a - 2 >= floor, tight(t, toks, a - 2, a - 1),
               joinable(t, toks, a - 2) || leadingWord(t, toks, a - 2) { a -= 2; continue }
            break
        }
        return (a, b)
    }

    /// What separates a key from its value, as JSON printers and configuration files write
    /// it (`": "`, `" : "`, `" = "`): quotes, a colon or an equals sign, spaces.
    static func keySeparator(_ t: [UInt8], _ a: Int, _ b: Int) -> Bool {
        b - a <= 6 && a < b && t[a..<b].allSatisfy { $0 == ch(" ") || $0 == ch("\"") || $0 == ch(":") || $0 == ch("=") || $0 == ch("[") }
            && t[a..<b].contains { $0 == ch(":") || $0 == ch("=") }
    }

    /// One or two capitalised, non-stopword tokens starting at `k` after a title or a
    /// context word (which may be followed by ".", ":", "/" or a second title).
    func nameAfter(_ t: [UInt8], _ toks: [Token], _ k: Int) -> (Int, Int, Int)? {
        var k = k
        // "Mr./Ms. Smith": skip a second title.
        if k < toks.count, Self.titles.contains(toks[k].hash), toks[k].gapBefore <= 2 { k += 1 }
        // "Patient Name: Hill", "Contact Given Hill": a label's words after the context word.
        var labels = 0
        while k + 1 < toks.count, labels < 2, Self.labelWords.contains(toks[k].hash), toks[k + 1].gapBefore <= 3 { k += 1; labels += 1 }
        // After a title or context word an ALL-CAPS word is as good as a Titlecase one ("Mr. KETTERING").
        guard k < toks.count, toks[k].gapBefore <= 3 || Self.keySeparator(t, toks[k].start - toks[k].gapBefore, toks[k].start),
              toks[k].capital || toks[k].shouted || toks[k].caseless,
              !Self.notNames.contains(toks[k].hash) else { return nil }
        var end = toks[k].end, next = k + 1, particles = 0
        // Two more tokens; six with a caseless script's lineage particles (`بن`, `בן`), which do not count.
        func fits(_ j: Int) -> Bool {
            toks[j].capital || toks[j].shouted || toks[j].caseless && toks[k].caseless
        }
        while next < toks.count, next - k - particles < (particles > 0 ? 7 : 3), next - k < 11, tight(t, toks, next - 1, next) {
            // A particle between two of its words ("Muhammad ibn Abdullah", "María de la Rosa").
            if !toks[next].caseless, Self.particles.contains(toks[next].hash), !fits(next), next + 1 < toks.count,
               tight(t, toks, next, next + 1), fits(next + 1) || Self.particles.contains(toks[next + 1].hash) {
                particles += 1; next += 1; continue
            }
            guard fits(next), toks[next].alpha, !Self.joinStop.contains(toks[next].hash), !ClinicalWords.set.contains(toks[next].hash) else { break }
            if toks[next].caseless, NameKeys.particleWords.contains(toks[next].hash) { particles += 1 }
            end = toks[next].end; next += 1
        }
        // A particle does not end a name.
        while next - 1 > k, NameKeys.particleWords.contains(toks[next - 1].hash) || Self.particles.contains(toks[next - 1].hash) {
            next -= 1; end = toks[next - 1].end
        }
        return (toks[k].start, end, next)
    }
}
