/// Street addresses, in the shapes of the US, the UK, Australia and Spanish-speaking
/// countries, in Titlecase or capitals:
/// - a house number (`12`, `12B`, `90/36`), one to four capitalised words (or ordinals
///   such as 5th) and a street type (`StreetTypes`: the USPS suffixes and the British
///   ones — St, Ave, Point, Shoals, Parade, Close, ...), with an optional unit after it
///   (Apt 4B, Suite 200, #12) and before it (`Flat 24 586 Kevin Road`, `Studio 8, Leigh
///   Fort`, `Unit 5/12 ...`);
/// - a street type first (`Calle`, `Avenida`, `Privada`, `Eje vial`, ... : the road types
///   of Mexico's and Spain's address standards), one to four capitalised words and a
///   number, with the unit parts that follow (`Interior 683`, `Edif. 736 , Depto. 625`);
/// - a house number and one to three capitalised words with no street type, when they
///   fill a field (`Scan.fillsField`: `33 Farley Approach` as a value) or follow an
///   address word (lives at, address, resides, domicilio, ...).
/// - a post office box or a rural route's box (`PO Box 1234`, `RR 2 Box 15`).
/// Cities, labelled STREET_ADDRESS too (a city is a geographic subdivision smaller than
/// a state, so Safe Harbor identifier 2 like the street; a separate entity would only
/// split one identifier's counts): one to three Titlecase words right before ", ST"
/// where ST is a US state or territory code ("Springfield, IL 62701", "Salem, MA",
/// "St. Louis, MO"). MD, PA, MS, MA and DC are also credentials ("Gray Orchard, MD"), so
/// after them a ZIP must follow or a street address must come right before the city.
public struct AddressDetector: Detector {
    public var entities: [Entity] { [.streetAddress] }
    static let suffixes: Set<UInt64> = Set(StreetTypes.list.split(whereSeparator: { $0 == " " || $0 == "\n" })
        .map { Scan.hashLower(String($0)) })
    static let units: Set<UInt64> = Set("""
        apt apartment suite ste unit fl floor rm room flat studio level lvl shop lot bldg building
        interior int edif edificio depto departamento dpto piso local casa lote mz manzana no num número numero
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { Scan.hashLower(String($0)) })
    /// Road types written before the name (Mexico's INEGI and Spain's INE road-type
    /// catalogues), lower case; "eje" is followed by "vial".
    static let leadingTypes: Set<UInt64> = Set("""
        calle avenida av avda ampliación ampliacion calzada camino carretera privada prolongación prolongacion andador callejón callejon
        cerrada circuito circunvalación circunvalacion continuación continuacion corredor diagonal eje pasaje
        peatonal periférico periferico retorno viaducto boulevard bulevar blvr paseo plaza ronda travesía travesia
        glorieta rúa
        rue avenue boulevard bd chemin allée allee impasse quai cours place route square
        via viale piazza piazzale corso largo vicolo strada contrada borgo lungomare incrocio rotonda vico piazzetta
        rua travessa praça praca alameda estrada rodovia ladeira viela
        ulica ul aleja al plac pl osiedle os stretto vereda acceso cañada
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { Scan.hashLower(String($0)) })
    static let context = Scan.words(["address", "addr", "lives at", "living at", "resides at", "residing at",
                                     "resides", "located at", "moved to", "home", "residence", "domicilio",
                                     "dirección", "direccion", "street", "mailing"])
    public init() {}

    /// Streets and cities are capitalised words, or a house number and words in a
    /// value with no capital.
    public func mayMatch(_ profile: ScanProfile) -> Bool {
        profile.hasUpper || profile.nonASCII || profile.alphaWords >= 2 && profile.runsLR != 0
    }

    public func detect(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        // Lower case (a value with no capital), once per value: asked at every number, a
        // scan of the whole value each time made long texts quadratic.
        let lowered = !t.contains(where: isUpper)
        Scan.numbers(t) { i, run in
            guard run <= 6 else { return nil }
            var e = i + run
            // 90/36: a unit and the house number (Australia).
            if e + 1 < t.count, t[e] == ch("/"), (1...6).contains(Scan.digitRun(t, e + 1)) { e += 1 + Scan.digitRun(t, e + 1) }
            // 12B, 69o, 123-B
            if e < t.count, isAlpha(t[e]), Scan.rightBoundary(t, e + 1) { e += 1 }
            else if e + 1 < t.count, t[e] == ch("-"), isUpper(t[e + 1]), Scan.rightBoundary(t, e + 2) { e += 2 }
            // 123 1/2 Main St: a half lot's number.
            if e + 4 <= t.count, t[e] == ch(" "), isDigit(t[e + 1]), t[e + 2] == ch("/"), isDigit(t[e + 3]),
               Scan.rightBoundary(t, e + 4) { e += 4 }
            // A quantity is no house number: "128 MB", "30 Minutes", "12 PM"; but a street
            // may be named like a unit ("45 Day Street").
            if e + 1 < t.count, t[e] == ch(" ") {
                var w = e + 1
                while w < t.count, isAlpha(t[w]) { w += 1 }
                var x = w + 1
                while x < t.count, isAlpha(t[x]) { x += 1 }
                let streetAfter = w + 1 < t.count && t[w] == ch(" ") && x > w + 1 && Self.suffixes.contains(Scan.hashLower(t, w + 1, x))
                if w > e + 1, Scan.measureUnits.contains(Scan.hashLower(t, e + 1, w)), !streetAfter { return nil }
            }
            let start = unitBefore(t, i) ?? i
            guard let end = match(t, e, start: start, lowered: lowered) else { return nil }
            spans.append(DetectedSpan(.streetAddress, start, end))
            return end
        }
        leading(t, into: &spans)
        cities(t, into: &spans)
        boxes(t, into: &spans)
        counties(t, into: &spans)
        loneUnits(t, into: &spans)
    }

    /// A county, parish or borough by name ("Cook County", "St. Tammany Parish"): a
    /// geographic subdivision smaller than a state, PHI under Safe Harbor.
    func counties(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        for word in ["County", "Parish", "Borough"] {
            let w = Array(word.utf8)
            var from = 0
            while let r = Self.find(w, in: t, from: from) {
                from = r + w.count
                guard r >= 2, t[r - 1] == ch(" "), Scan.rightBoundary(t, r + w.count) else { continue }
                var start = -1, p = r - 1, words = 0
                while words < 3 {
                    var a = p
                    while a > 0, isAlpha(t[a - 1]) || t[a - 1] >= 0x80 || t[a - 1] == ch(".") || t[a - 1] == ch("'") { a -= 1 }
                    guard a < p, Self.titlecase(t, a, p), Scan.leftBoundary(t, a), !Self.notPlaces.contains(Scan.hashLower(t, a, p)) else { break }
                    start = a; words += 1
                    guard a >= 2, t[a - 1] == ch(" ") else { break }
                    p = a - 1
                }
                if start >= 0 { spans.append(DetectedSpan(.streetAddress, start, min(n, r + w.count))) }
            }
        }
    }

    /// Words before "County" that name no place: "the County", "Each County".
    static let notPlaces: Set<UInt64> = Set(["the", "a", "each", "every", "this", "that", "our", "your", "per", "any", "no", "of", "in"]
        .map(Scan.hashLower))

    static func find(_ w: [UInt8], in t: [UInt8], from: Int) -> Int? {
        guard w.count <= t.count else { return nil }
        var i = from
        while i + w.count <= t.count {
            if t[i] == w[0], t[i..<(i + w.count)].elementsEqual(w) { return i }
            i += 1
        }
        return nil
    }

    /// A unit alone filling its field (an address's second line: `"Apt 4B"`, `Suite 152`).
    static let lineUnits: Set<UInt64> = Set("apt apartment suite ste unit bldg building lot flat trlr".split(separator: " ").map { Scan.hashLower(String($0)) })
    func loneUnits(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        var i = 0
        while i < n {
            guard isUpper(t[i]) || isLower(t[i]), Scan.leftBoundary(t, i) else { i += 1; continue }
            var e = i
            while e < n, isAlpha(t[e]) { e += 1 }
            var p = e
            if p < n, t[p] == ch(".") { p += 1 }
            if Self.lineUnits.contains(Scan.hashLower(t, i, e)), p < n, t[p] == ch(" ") {
                let s = p + 1
                var q = s
                while q < n, isAlnum(t[q]) || t[q] == ch("-") { q += 1 }
                if q > s, q - s <= 6, t[s..<q].contains(where: isDigit), Scan.fillsField(t, i, q) {
                    spans.append(DetectedSpan(.streetAddress, i, q)); i = q; continue
                }
            }
            i = max(e, i + 1)
        }
    }

    /// A post office box or a rural route's box, an address with no street: `PO Box 1234`,
    /// `P.O. Box 12`, `Post Office Box 7`, `RR 2 Box 15`, `Rural Route 3, Box 40`, any case.
    func boxes(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        @inline(__always) func word(_ p: Int, _ w: String) -> Int? {
            let b = Array(w.utf8)
            guard p + b.count <= n, zip(t[p..<(p + b.count)], b).allSatisfy({ lower($0) == $1 }),
                  p + b.count == n || !isAlpha(t[p + b.count]) else { return nil }
            return p + b.count
        }
        @inline(__always) func gap(_ p: Int) -> Int { var q = p; while q < n, t[q] == ch(" ") || t[q] == ch(".") || t[q] == ch(",") { q += 1 }; return q }
        @inline(__always) func number(_ p: Int) -> Int? {
            let r = Scan.digitRun(t, p)
            return (1...6).contains(r) && Scan.rightBoundary(t, p + r) ? p + r : nil
        }
        var i = 0
        while i < n {
            guard isAlpha(t[i]), Scan.leftBoundary(t, i) else { i += 1; continue }
            var box: Int? = nil
            if let e = word(i, "p"), let o = word(gap(e), "o") { box = word(gap(o), "box") }
            else if let e = word(i, "po") ?? word(i, "post office") { box = word(gap(e), "box") }
            else if let e = word(i, "rr") ?? word(i, "rural route"), let r = number(gap(e)), let b = word(gap(r), "box") { box = b }
            if let b = box, let end = number(gap(b)) {
                spans.append(DetectedSpan(.streetAddress, i, end))
                i = end; continue
            }
            i += 1
        }
    }

    /// A unit before the house number at `i` ("Flat 24 586 ...", "Unit 5, 12 ...") or
    /// naming the number itself ("Studio 8\nLeigh Fort"): where it starts.
    func unitBefore(_ t: [UInt8], _ i: Int) -> Int? {
        if let w = unitWord(t, endingAt: i) { return w }
        var p = i - 1
        guard p > 0, t[p] == ch(" ") || t[p] == 0x0A || t[p] == ch(",") else { return nil }
        while p > 0, t[p - 1] == ch(" ") || t[p - 1] == ch(",") { p -= 1 }
        let ne = p
        while p > 0, isAlnum(t[p - 1]) { p -= 1 }
        guard ne > p, Scan.digitRun(t, p) > 0 else { return nil }
        return unitWord(t, endingAt: p)
    }

    /// "Flat " / "Apt. " right before `i`: where the unit word starts.
    func unitWord(_ t: [UInt8], endingAt i: Int) -> Int? {
        var q = i - 1
        guard q > 0, t[q] == ch(" ") else { return nil }
        if t[q - 1] == ch(".") { q -= 1 }
        let we = q
        while q > 0, isAlpha(t[q - 1]) { q -= 1 }
        guard we > q, isUpper(t[q]), Self.units.contains(Scan.hashLower(t, q, we)), Scan.leftBoundary(t, q) else { return nil }
        return q
    }

    /// A capitalised word (or an ordinal: 5th) from `w`: its end. In a value with no
    /// capital at all (`lower(address)`), any word.
    func capitalWord(_ t: [UInt8], _ w: Int, lowered: Bool = false) -> Int? {
        var p = w
        while p < t.count, isAlnum(t[p]) || t[p] >= 0x80 || t[p] == ch("'") && p + 1 < t.count && isAlpha(t[p + 1]) { p += 1 }
        guard p > w, Scan.rightBoundary(t, p) || t[p] == ch(",") else { return nil }
        return isUpper(t[w]) || t[w] == 0xC3 || lowered && isAlpha(t[w]) || isDigit(t[w]) && isAlpha(t[p - 1]) ? p : nil
    }

    /// After the house number: the street words and the street type, or words alone
    /// where they fill a field or follow an address word; the end of the address.
    func match(_ t: [UInt8], _ from: Int, start: Int, lowered: Bool) -> Int? {
        let n = t.count
        // Lower case (a value with no capital): only with a street type, never by its field.
        var p = from, words = 0, lastEnd = from
        while words < 5 {
            // Words follow a space; the first also a line end or ", " (UK: "Studio 8, Leigh Fort").
            // A line end may be JSON's escaped one ("Flat 5\\nFisher Port" in a JSON string).
            guard p < n else { break }
            let escapedLine = t[p] == ch("\\") && p + 1 < n && t[p + 1] == ch("n")
            guard p < n, t[p] == ch(" ") || words == 0 && (t[p] == 0x0A || escapedLine || t[p] == ch(",") && p + 1 < n && t[p + 1] == ch(" ")) else { break }
            let w = t[p] == ch(",") || escapedLine ? p + 2 : p + 1
            guard let e = capitalWord(t, w, lowered: lowered) else { break }
            if words >= 1, Self.suffixes.contains(Scan.hashLower(t, w, e)) {
                // "Old Mill Road", "Forest Park Drive": a street type followed by another ends there.
                var e = e
                while e + 1 < n, t[e] == ch(" "), let e2 = capitalWord(t, e + 1, lowered: lowered), Self.suffixes.contains(Scan.hashLower(t, e + 1, e2)) { e = e2 }
                var end = e
                if end < n, t[end] == ch(".") { end += 1 }
                return units(t, end) ?? end
            }
            if Self.units.contains(Scan.hashLower(t, w, e)) { break }
            words += 1; p = e; lastEnd = e
        }
        guard words >= 1, words <= 3, !lowered else { return nil }
        let end = units(t, lastEnd) ?? lastEnd
        return Scan.fillsField(t, start, end) || Scan.contextBefore(t, start, Self.context) ? end : nil
    }

    /// "Calle Sur Montaño 374 068", "Eje vial Bahrein 598 Interior 386": a road type,
    /// capitalised words, a number and its unit parts.
    func leading(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        var i = 0
        while i < n {
            guard isAlpha(t[i]) || t[i] == 0xC3, Scan.leftBoundary(t, i) else { i += 1; continue }
            var e = i
            while e < n, isAlpha(t[e]) || t[e] >= 0x80 { e += 1 }
            if isUpper(t[i]) || t[i] == 0xC3, let (s, street) = Self.compoundStreet(t, i, e) {
                let end = Self.postcodeCity(t, street) ?? street
                spans.append(DetectedSpan(.streetAddress, s, end))
                i = end; continue
            }
            let type = Scan.hashLower(t, i, e)
            guard Self.leadingTypes.contains(type) else { i = max(e, i + 1); continue }
            // A house number before the type ("12 rue de la Paix", "76, avenue De Oliveira").
            var start = i, before = false
            if i >= 2, t[i - 1] == ch(" ") {
                var q = i - 1
                if q >= 1, t[q - 1] == ch(",") { q -= 1 }
                var k = q
                while k > 0, isDigit(t[k - 1]) { k -= 1 }
                if (1...5).contains(q - k), Scan.numberStart(t, k) { start = k; before = true }
            }
            // A type in lower case ("ulica Majowa 283"): one that is no English word; or one
            // that is ("rue", "avenue", "via", "pl.") before a word that is none, and after a
            // house number, before its period or before a postcode ("12 rue de la Paix",
            // "pl. Traugutta 49"; "sent 2 via Fax", "via MyChart 3" are no streets).
            let lowerWord = isLower(t[i]) && NameDetector.words.contains(type)
            if lowerWord, Self.englishWordAfter(t, e) { i = e; continue }
            var p = e
            if p < n, t[p] == ch(".") { p += 1 }
            // "Eje vial", "Av. de los": lower-case joining words are part of the name.
            var words = 0, capitals = 0, clinical = 0, number: Int? = nil
            // The number after a comma ("Viale Nedda, 92"), unless one came before (then it is a postcode's).
            while p < n, t[p] == ch(" ") || !before && t[p] == ch(",") && words > 0 && p + 2 < n && t[p + 1] == ch(" ") && isDigit(t[p + 2]), words < 8 {
                let w = p + (t[p] == ch(",") ? 2 : 1)
                if (1...6).contains(Scan.digitRun(t, w)), Scan.numberEnd(t, w + Scan.digitRun(t, w)) || w + Scan.digitRun(t, w) < n && isUpper(t[w + Scan.digitRun(t, w)])
                    || Self.flatAfter(t, w + Scan.digitRun(t, w)) != nil {
                    number = w + Scan.digitRun(t, w)
                    if let u = number, u < n, isUpper(t[u]) { number = u + 1 }
                    if let u = number, let f = Self.flatAfter(t, u) { number = f }
                    break
                }
                var q = w
                while q < n, isAlpha(t[q]) || t[q] >= 0x80 { q += 1 }
                guard q > w, Scan.rightBoundary(t, q) else { break }
                let cap = isUpper(t[w]) || t[w] >= 0xC3 && Scan.scalar(t, w).map({ $0.0.properties.isUppercase }) == true
                guard cap || q - w <= 5 else { break }   // vial, de, la, los, del
                guard t[p] == ch(" ") else { break }
                words += 1; p = q
                if cap { capitals += 1; if ClinicalWords.set.contains(Scan.hashLower(t, w, q)) { clinical += 1 } }
            }
            // A sentence's verb or a sig's abbreviation and a device's, a drug's or a sig's name
            // ("Place Foley 16", "1 drop OS QHS 30"): a type that is an English word or two
            // letters names a street only with a name that is no clinical word.
            if capitals > 0, capitals == clinical, e - i <= 2 || NameDetector.words.contains(type) { i = e; continue }
            // No house number at all, but a postcode and a town after it ("rue Carlier, 77757 Rousset").
            guard words >= 1, isUpper(t[i]) || t[i] == 0xC3 || capitals > 0,
                  let num = number ?? (capitals > 0 && (before || Self.postcodeCity(t, p) != nil) ? p : nil),
                  !lowerWord || before || e < n && t[e] == ch(".") || Self.postcodeCity(t, p) != nil else { i = e; continue }
            var end = num
            // Unit parts: " 068", " Interior 683", " Edif. 736 , Depto. 625".
            for _ in 0..<3 {
                if let u = unit(t, end) { end = u; continue }
                if end + 1 < n, t[end] == ch(" "), (1...6).contains(Scan.digitRun(t, end + 1)), Scan.numberEnd(t, end + 1 + Scan.digitRun(t, end + 1)) {
                    end = end + 1 + Scan.digitRun(t, end + 1); continue
                }
                break
            }
            // The postcode and town after it (the "number" after a comma may be the postcode).
            if let c = Self.postcodeCity(t, end) ?? Self.postcodeCity(t, p), c > end { end = c }
            spans.append(DetectedSpan(.streetAddress, start, end))
            i = end
        }
    }

    /// The word after the type ending at `e` (past a period and a space) is an English one.
    static func englishWordAfter(_ t: [UInt8], _ e: Int) -> Bool {
        var a = e
        if a < t.count, t[a] == ch(".") { a += 1 }
        guard a < t.count, t[a] == ch(" ") else { return true }
        a += 1
        var b = a
        while b < t.count, isAlpha(t[b]) || t[b] >= 0x80 { b += 1 }
        return b == a || NameDetector.words.contains(Scan.hashLower(t, a, b))
    }

    /// "/19" after a house number at `e` (a flat's number, Poland's `79/19`): where it ends.
    static func flatAfter(_ t: [UInt8], _ e: Int) -> Int? {
        guard e + 1 < t.count, t[e] == ch("/"), case let r = Scan.digitRun(t, e + 1), (1...4).contains(r), Scan.numberEnd(t, e + 1 + r) else { return nil }
        return e + 1 + r
    }

    /// The rest of an address line after a street ending at `e`: ", " then a postcode as
    /// Europe writes them (`94032`, `58-522`, `2269CJ`, `7832 PY`, `16630-494`), an optional
    /// comma, and the town's capitalised words (`Roussel-sur-Dupont`, `San Giorgio`).
    /// Where it ends.
    static func postcodeCity(_ t: [UInt8], _ e: Int) -> Int? {
        let n = t.count
        guard e + 2 < n, t[e] == ch(","), t[e + 1] == ch(" ") else { return nil }
        var p = e + 2
        let r = Scan.digitRun(t, p)
        guard (4...5).contains(r) || r == 2 && p + 6 <= n && t[p + 2] == ch("-") && Scan.digitRun(t, p + 3) == 3 else { return nil }
        p += r
        if r == 2 { p += 4 }
        else if r == 5, p + 4 <= n, t[p] == ch("-"), case let k = Scan.digitRun(t, p + 1), k == 3 || k == 4 { p += 1 + k }
        else if r == 4, p + 2 <= n, isUpper(t[p]), isUpper(t[p + 1]), Scan.rightBoundary(t, p + 2) { p += 2 }
        else if r == 4, p + 3 <= n, t[p] == ch(" "), isUpper(t[p + 1]), isUpper(t[p + 2]), Scan.rightBoundary(t, p + 3) { p += 3 }
        guard Scan.rightBoundary(t, p) else { return nil }
        let code = p
        if p < n, t[p] == ch(",") { p += 1 }
        var end = code, words = 0
        while words < 4, p + 1 < n, t[p] == ch(" ") || t[p] == ch("-") {
            let w = p + 1
            var q = w
            while q < n, isAlpha(t[q]) || t[q] >= 0x80 { q += 1 }
            guard q > w else { break }
            let cap = isUpper(t[w]) || t[w] >= 0xC3 && Scan.scalar(t, w).map({ $0.0.properties.isUppercase }) == true
            // "sur", "am": short joining words inside a town's name, never its last.
            guard cap || t[p] == ch("-") && q - w <= 4 else { break }
            p = q; words += 1
            if cap { end = q }
        }
        return end
    }

    /// Street types written as the end of one word in German, Dutch and the Nordic
    /// languages (`Hauptstraße`, `Lucysingel`, `Østergade`), or after a hyphen
    /// (`Ilse-Ditschlerin-Gasse`), lower case.
    static let compoundTypes: [[UInt8]] = ["straße", "strasse", "str.", "gasse", "weg", "allee", "platz", "damm", "ufer",
        "chaussee", "steig", "laan", "straat", "singel", "gracht", "plein", "kade", "dreef", "steeg", "vej", "gade", "gatan",
        "vägen", "veien", "gata", "katu", "utca", "boulevard", "stigen", "torget", "gränd", "plads", "stræde", "baan", "dijk", "ring", "hof", "pad"].map { Array($0.utf8) }

    static let hyphenTypes: [[UInt8]] = ["markt", "park", "pfad", "steg", "berg", "feld", "garten", "kamp"].map { Array($0.utf8) }

    /// A street named by a compound word at `i..<e` (capitalised, its type at its end, no
    /// English word: "Brigade 2" is none) and a house number after it (`Drubstraße 4-1`,
    /// `Aaronlaan 40`, `Hauptstr. 5a`): where it starts (the hyphenated words before it
    /// too) and ends.
    static func compoundStreet(_ t: [UInt8], _ i: Int, _ e: Int) -> (Int, Int)? {
        let n = t.count
        var end = e
        if end < n, t[end] == ch(".") { end += 1 }
        // Lower case, Latin-1's capitals too (`HVEENSSTRÆDE`, as upper() writes it).
        var word = t[i..<end].map(lower)
        for k in word.indices.dropFirst() where word[k - 1] == 0xC3 && (0x80...0x9E).contains(word[k]) && word[k] != 0x97 { word[k] += 0x20 }
        // The type alone ("Weg 5", "Platz 3") only after a hyphen's name, and there a
        // common word is one too (`Heino-Margraf-Ring 9`).
        let hyphenated = i >= 2 && t[i - 1] == ch("-") && (isAlpha(t[i - 2]) || t[i - 2] >= 0x80)
        guard let type = compoundTypes.first(where: { word.count >= $0.count && word.suffix($0.count).elementsEqual($0) })
                ?? (hyphenated ? hyphenTypes.first(where: { word.elementsEqual($0) }) : nil) else { return nil }
        // A stem of three letters at least, four before a three-letter type ("Keypad 3" is none).
        guard word.count >= type.count + (type.count <= 3 ? 4 : 3) || hyphenated, !NameDetector.words.contains(Scan.hashLower(t, i, e)) || hyphenated else { return nil }
        guard end + 1 < n, t[end] == ch(" ") else { return nil }
        let r = Scan.digitRun(t, end + 1)
        guard (1...4).contains(r) else { return nil }
        var stop = end + 1 + r
        if stop < n, isAlpha(t[stop]), Scan.rightBoundary(t, stop + 1) { stop += 1 }
        if stop + 1 < n, t[stop] == ch("-") || t[stop] == ch("/"), case let r2 = Scan.digitRun(t, stop + 1), (1...4).contains(r2) { stop += 1 + r2 }
        guard Scan.rightBoundary(t, stop), !(stop + 1 < n && t[stop] == ch(".") && isDigit(t[stop + 1])) else { return nil }
        var start = i
        while start >= 2, t[start - 1] == ch("-"), isAlpha(t[start - 2]) || t[start - 2] >= 0x80 {
            var a = start - 1
            while a > 0, isAlpha(t[a - 1]) || t[a - 1] >= 0x80 { a -= 1 }
            start = a
        }
        return (start, stop)
    }

    /// State codes that are also credentials after a name: MD, PA, MS, MA (medical
    /// assistant, master's), DC (chiropractor).
    static let ambiguousStates: Set<UInt64> = Set(["md", "pa", "ms", "ma", "dc"].map(Scan.hashLower))

    /// ", ST" after Titlecase words: the words are the city.
    func cities(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        var i = 1
        while i + 3 < n {
            // ", " then two capitals as a whole word; or HL7's "^" (CITY^ST^ZIP).
            let hl7 = t[i] == ch("^")
            // "Springfield IL 62704": no comma, but a ZIP after the state.
            let bare = t[i] == ch(" ") && i + 9 <= n && t[i + 3] == ch(" ") && Scan.digitRun(t, i + 4) == 5 && Scan.numberEnd(t, i + 9)
                || t[i] == ch(" ") && i + 9 <= n && t[i + 3] == ch(" ") && Scan.digitRun(t, i + 4) == 5 && i + 9 < n && t[i + 9] == ch("-")
            guard hl7 || bare || t[i] == ch(",") && t[i + 1] == ch(" ") else { i += 1; continue }
            let s = hl7 || bare ? i + 1 : i + 2
            guard s + 2 <= n, isUpper(t[s]), isUpper(t[s + 1]), Scan.rightBoundary(t, s + 2) || s + 2 < n && t[s + 2] == ch("^"),
                  isAlpha(t[i - 1]) || t[i - 1] >= 0x80 else { i += 1; continue }
            let state = Scan.hashLower(t, s, s + 2)
            guard ZipDetector.states.contains(state) else { i += 1; continue }
            // After the code: the end, punctuation, or a space (a ZIP, a word); not "-" or "'".
            let a = s + 2
            if a < n, !(t[a] == ch(" ") || t[a] == ch(",") || t[a] == ch(".") || t[a] == ch(";") || t[a] == ch("^")
                        || t[a] == ch(")") || t[a] == ch("\"") || t[a] == 0x0A || t[a] == 0x09) {
                i += 1; continue
            }
            // The city: up to three Titlecase words ending at i, single spaces between.
            var start = -1, p = i, words = 0
            while words < 3 {
                var w = p
                while w > 0, isAlpha(t[w - 1]) || t[w - 1] >= 0x80 || t[w - 1] == ch("'") { w -= 1 }
                guard w < p, Self.titlecase(t, w, p), Scan.leftBoundary(t, w) else { break }
                start = w; words += 1
                guard w >= 2, t[w - 1] == ch(" ") else { break }
                // "St. Louis", "Ft. Myers": a two- or three-letter abbreviation and its period.
                if t[w - 2] == ch(".") {
                    var a = w - 2
                    while a > 0, isAlpha(t[a - 1]) { a -= 1 }
                    if w - 2 - a >= 2, w - 2 - a <= 3, Self.titlecase(t, a, w - 2), Scan.leftBoundary(t, a) { start = a }
                    break
                }
                p = w - 1
            }
            guard start >= 0 else { i += 1; continue }
            if Self.ambiguousStates.contains(state) {
                var z = a
                while z < n, t[z] == ch(" ") || t[z] == ch("^") { z += 1 }
                let zip = z > a && Scan.digitRun(t, z) == 5
                let street = start >= 2 && t[start - 1] == ch(" ") && t[start - 2] == ch(",")
                    && spans.contains { $0.entity == .streetAddress && $0.end == start - 2 }
                guard zip || street else { i += 1; continue }
            }
            spans.append(DetectedSpan(.streetAddress, start, i))
            i = a
        }
    }

    /// A capital, then a lower-case letter (McAllen, Zürich), or capitals only (SPRINGFIELD).
    static func titlecase(_ t: [UInt8], _ a: Int, _ b: Int) -> Bool {
        b - a >= 2 && isUpper(t[a]) && (isLower(t[a + 1]) || t[a + 1] >= 0x80 || t[a..<b].allSatisfy { isUpper($0) || $0 >= 0x80 })
    }

    /// Units after the suffix, one after another: ", Bldg 2, Apt 3C".
    func units(_ t: [UInt8], _ from: Int) -> Int? {
        var end: Int? = nil
        for _ in 0..<3 { guard let e = unit(t, end ?? from) else { break }; end = e }
        return end
    }

    /// ", Apt 4B" / " Suite 200" / " #12" after the suffix, if present.
    func unit(_ t: [UInt8], _ from: Int) -> Int? {
        let n = t.count
        var p = from
        while p < n, t[p] == ch(" ") { p += 1 }
        if p < n, t[p] == ch(",") { p += 1 }
        guard p > from, p < n, t[p] == ch(" ") || t[p - 1] == ch(" ") else { return nil }
        if t[p] == ch(" ") { p += 1 }
        if p < n, t[p] == ch("#") {
            p += 1
        } else {
            let w = p
            while p < n, isAlpha(t[p]) { p += 1 }
            guard p > w, Self.units.contains(Scan.hashLower(t, w, p)) else { return nil }
            if p < n, t[p] == ch(".") { p += 1 }
            guard p < n, t[p] == ch(" ") else { return nil }
            p += 1
        }
        let s = p
        while p < n, isAlnum(t[p]) { p += 1 }
        return p > s && p - s <= 6 ? p : nil
    }
}
