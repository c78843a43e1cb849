/// Names in a script without case (Han, Hangul, kana, Hebrew, Arabic, Devanagari,
/// Thai...) under a key or in a column whose name says name. No capital says such a
/// word starts a name, and no word list of ours holds it; what holds it does:
/// `{"patientName": "王小明"}`, `{"nombre": "김민준"}`, FHIR's `{"family": "佐藤",
/// "given": ["花子", "美咲"]}`, DynamoDB's `{"surname": {"S": "佐藤"}}`, `姓名：王小明`, a
/// `patient_name` column's `김민준`.
///
/// One rule: a value made only of caseless letters (one to five words of at most
/// sixteen letters, an apostrophe or a hyphen inside one, apart by a space, `・` or `·`)
/// that fills the value of a key or a column whose name has a name's word in it
/// (`name`, `nm`, `surname`, `given`, `family`, `nombre`, `apellido`, `vorname`, `姓名`,
/// `이름`, ...: its words split at `_`, `.`, `-`, digits and camelCase humps; `fname`,
/// `lname`, `ptname` whole) is a person's name. Values with a Latin letter or a digit
/// in them are left to the other rules (`{"filename": "报告.pdf"}` is none).
enum NameKeys {
    /// The words of a key or column name that say its value is a person's name.
    static let words: Set<UInt64> = NameDetector.hashes("""
        name names nm nme surname surnames forename forenames firstname lastname fullname givenname familyname
        middlename maidenname nickname fname lname mname family given nombre nombres apellido apellidos nom prenom
        prénom vorname nachname nome cognome naam voornaam achternaam imie nazwisko isim soyad
        姓名 氏名 名前 姓 名 名字 フリガナ 이름 성명 성함 שם اسم नाम ชื่อ นามสกุล
        """)
    /// A key part in lower case written as one word: `ptname`, `patientname`,
    /// `contactname` — a person's qualifier and "name".
    static let qualifiers: Set<UInt64> = NameDetector.hashes("""
        pt pat patient first last full given family middle maiden nick display preferred legal user member contact
        mother father spouse guardian kin provider doctor physician nurse f l m sur fore person
        """)
    /// Keys that wrap a value (DynamoDB's `S`, FHIR's `text`, `value`): the key of the
    /// object they open says what it is (`"surname": {"S": "佐藤"}`).
    static let wrappers: Set<UInt64> = NameDetector.hashes("s text value")

    /// The name `a..<b` (a key or a column) has a name's word in it.
    static func says(_ t: [UInt8], _ a: Int, _ b: Int) -> Bool {
        // `name` alone names anything (`drug_name`, `test_name`, `hospital_name`): with
        // other parts, each of them must say whose (`patient_name`, `first_name`).
        var generic = false, other = false
        var p = a
        while p < b {
            // A part: up to `_`, `.`, `-`, a space, a digit, or a camelCase hump.
            guard !(t[p] == ch("_") || t[p] == ch(".") || t[p] == ch("-") || t[p] == ch(" ") || isDigit(t[p])) else { p += 1; continue }
            var e = p + 1
            while e < b {
                let c = t[e]
                if c == ch("_") || c == ch(".") || c == ch("-") || c == ch(" ") || isDigit(c) { break }
                // "patientName": a capital after a lower-case letter; "HTTPName": before a lower-case one.
                if isUpper(c), isLower(t[e - 1]) || e + 1 < b && isLower(t[e + 1]) && isUpper(t[e - 1]) { break }
                e += 1
            }
            let h = Scan.hashLower(t, p, e)
            if genericWords.contains(h) { generic = true; p = e; continue }
            if words.contains(h) { return true }
            if !qualifiers.contains(h) { other = true }
            if e - p > 4, Scan.hashLower(t, e - 4, e) == name, qualifiers.contains(Scan.hashLower(t, p, e - 4)) { return true }
            // "患者氏名", "환자이름": a caseless key ending in a name's word of two characters or more.
            if t[p] >= 0x80, suffixes.contains(where: { e - p > $0.count && t[(e - $0.count)..<e].elementsEqual($0) }) { return true }
            p = e
        }
        return generic && !other
    }
    static let name = Scan.hashLower("name")
    static let genericWords: Set<UInt64> = NameDetector.hashes("name names nm nme")
    static let suffixes: [[UInt8]] = ["姓名", "氏名", "名前", "이름", "성명"].map { Array($0.utf8) }

    /// A column's name says name (`patient_name`, `familyName`, `氏名`).
    static func says(column: String) -> Bool {
        let b = Array(column.utf8)
        return b.count <= 64 && says(b, 0, b.count)
    }

    /// A caseless letter (Unicode `Lo`: Han, Hangul, kana, Hebrew, Arabic, Thai...) starts at `i`.
    @inline(__always) static func caselessAt(_ t: [UInt8], _ i: Int) -> Int? {
        guard t[i] >= 0xC0, let (s, len) = Scan.scalar(t, i), s.properties.generalCategory == .otherLetter else { return nil }
        return len
    }

    /// Letters of a caseless script from `a`, as a name is written: one to five words of
    /// at most sixteen letters (marks and modifiers such as `ー` go with them; an
    /// apostrophe or a hyphen between two letters too), apart by one space (or an
    /// ideographic one), `・` or `·`. Where it ends (after its last letter).
    static func caselessName(_ t: [UInt8], _ a: Int) -> Int? {
        let n = t.count
        guard a < n, caselessAt(t, a) != nil else { return nil }
        var p = a, end = a, words = 1, letters = 0
        while p < n, p - a <= 128 {
            if let (s, len) = Scan.scalar(t, p), t[p] >= 0xC0 {
                switch s.properties.generalCategory {
                case .otherLetter, .modifierLetter:
                    letters += 1
                    guard letters <= 16 else { return nil }
                    p += len; end = p; continue
                case .nonspacingMark, .spacingMark:
                    guard end == p else { return end }
                    p += len; end = p; continue
                default: break
                }
            }
            // An apostrophe or a hyphen inside a word ("डी’सोउज़ा", Hebrew's geresh), then its next letter.
            let joiner = t[p] == ch("'") || t[p] == ch("-") ? 1
                : p + 2 < n && t[p] == 0xE2 && t[p + 1] == 0x80 && t[p + 2] == 0x99 ? 3
                : p + 1 < n && t[p] == 0xD7 && (t[p + 1] == 0xB3 || t[p + 1] == 0xB4) ? 2 : 0
            if joiner > 0, end == p, p + joiner < n, caselessAt(t, p + joiner) != nil { p += joiner; continue }
            // A separator between two words.
            let sep = t[p] == ch(" ") ? 1
                : p + 2 < n && t[p] == 0xE3 && (t[p + 1] == 0x80 && t[p + 2] == 0x80 || t[p + 1] == 0x83 && t[p + 2] == 0xBB) ? 3
                : p + 1 < n && t[p] == 0xC2 && t[p + 1] == 0xB7 ? 2 : 0
            guard sep > 0, end == p, p + sep < n, caselessAt(t, p + sep) != nil, words < 5 else { return end }
            words += 1; letters = 0
            p += sep
        }
        return p - a > 128 ? nil : end
    }

    /// A whole value that is a caseless name (spaces around it allowed).
    static func isCaselessName(_ value: String) -> Bool {
        let b = Array(value.utf8)
        var a = 0, z = b.count
        while a < z, b[a] == ch(" ") { a += 1 }
        while z > a, b[z - 1] == ch(" ") { z -= 1 }
        guard z - a >= 2, z - a <= 128 else { return false }
        return caselessName(Array(b[a..<z]), 0) == z - a
    }

    /// A field ends at `e`: the text's end, a delimiter, a line end or its escape, or a
    /// mark of punctuation of any script (`，`, `。`, `、`).
    static func fieldEnd(_ t: [UInt8], _ e: Int) -> Bool {
        guard e < t.count else { return true }
        let c = t[e]
        if c < 0x80 {
            switch c {
            case ch(","), ch(";"), ch("&"), ch("|"), ch("}"), ch("]"), ch(")"), 0x09, 0x0A, 0x0D, ch("\""), ch("'"), ch("\\"): return true
            default: return false
            }
        }
        guard let (s, _) = Scan.scalar(t, e), s != "：" else { return false }   // a next key's separator
        switch s.properties.generalCategory {
        case .otherPunctuation, .openPunctuation, .closePunctuation, .spaceSeparator, .dashPunctuation: return true
        default: return false
        }
    }

    /// The key before the separator at `sep` (`:`, `=`, `：`): letters, digits, `_`, `.`,
    /// `-` of any script, 1–64 bytes, inside quotes or not. Nil when none is there.
    static func key(_ t: [UInt8], _ sep: Int) -> Range<Int>? {
        var p = sep
        while p > 0, t[p - 1] == ch(" ") { p -= 1 }
        if p > 0, t[p - 1] == ch("\"") || t[p - 1] == ch("'") { p -= 1; if p > 0, t[p - 1] == ch("\\") { p -= 1 } }
        let end = p
        while p > 0, end - p < 64 {
            let c = t[p - 1]
            if isAlnum(c) || c == ch("_") || c == ch(".") || c == ch("-") || c == ch("$") { p -= 1; continue }
            if c >= 0x80, let k = EmailDetector.wordCharBefore(t, p) { p = k; continue }
            break
        }
        // Too long to be a key: the walk stopped inside a word.
        guard p < end, p == 0 || !isAlnum(t[p - 1]) && EmailDetector.wordCharBefore(t, p) == nil else { return nil }
        // An escape's letter (`\n`) is no part of the key.
        if p > 0, t[p - 1] == ch("\\"), p + 1 < end, t[p] == ch("n") || t[p] == ch("t") || t[p] == ch("r") { p += 1 }
        return p..<end
    }

    /// The key says name, or it wraps the value of an object (`{"S": …}`, `{"text": …}`)
    /// whose own key does.
    static func keySays(_ t: [UInt8], _ k: Range<Int>) -> Bool {
        if says(t, k.lowerBound, k.upperBound) { return true }
        guard wrappers.contains(Scan.hashLower(t, k.lowerBound, k.upperBound)) else { return false }
        var p = k.lowerBound
        if p > 0, t[p - 1] == ch("\"") { p -= 1; if p > 0, t[p - 1] == ch("\\") { p -= 1 } }
        while p > 0, t[p - 1] == ch(" ") { p -= 1 }
        guard p > 0, t[p - 1] == ch("{") else { return false }
        p -= 1
        while p > 0, t[p - 1] == ch(" ") { p -= 1 }
        guard p > 0, t[p - 1] == ch(":"), let outer = key(t, p - 1) else { return false }
        return says(t, outer.lowerBound, outer.upperBound)
    }
}

extension NameDetector {
    /// NameKeys' rule over a text: each key separator (`:`, `=`, `：`) whose value (a
    /// string, an array's strings, or a bare value up to its field's end) is a caseless
    /// name and whose key says name. Each separator is looked at once, a key only when a
    /// caseless letter follows: linear.
    static func keyedCaseless(_ t: [UInt8], into spans: inout [DetectedSpan]) {
        let n = t.count
        var i = 0
        while i < n {
            let c = t[i]
            let sepLen = c == ch(":") || c == ch("=") ? 1 : c == 0xEF && i + 2 < n && t[i + 1] == 0xBC && t[i + 2] == 0x9A ? 3 : 0
            guard sepLen > 0 else { i += 1; continue }
            var v = i + sepLen
            while v < n, t[v] == ch(" ") { v += 1 }
            let array = v < n && t[v] == ch("[")
            if array { v += 1; while v < n, t[v] == ch(" ") { v += 1 } }
            // Cheap first: a quote or nothing, then a caseless letter.
            var q = v
            if q < n, t[q] == ch("\\"), q + 1 < n, t[q + 1] == ch("\"") { q += 2 } else if q < n, t[q] == ch("\"") || t[q] == ch("'") { q += 1 }
            guard q < n, t[q] >= 0xC0, NameKeys.caselessAt(t, q) != nil, let key = NameKeys.key(t, i), NameKeys.keySays(t, key) else {
                i += sepLen; continue
            }
            // The value, or each of the array's strings.
            var p = v
            repeat {
                guard let (a, e, next) = value(t, p) else { break }
                spans.append(DetectedSpan(.personName, a, e))
                p = next
                guard array else { break }
                while p < n, t[p] == ch(" ") { p += 1 }
                guard p < n, t[p] == ch(",") else { break }
                p += 1
                while p < n, t[p] == ch(" ") { p += 1 }
            } while p < n
            i = max(p, i + sepLen)
        }
    }

    /// A caseless name filling a value at `p`: quoted (`"…"`, `\"…\"`, `'…'`), closed by
    /// its quote; or bare, up to a field's end (a bare value followed by more words, as
    /// in `姓名：王小明 性别：男`, gives its first word). Its span and where the value ends.
    static func value(_ t: [UInt8], _ p: Int) -> (Int, Int, Int)? {
        let n = t.count
        // The opening quote: its length (`\"` is two) and its character; none for a bare value.
        var a = p, quoteLength = 0, quote: UInt8 = 0
        if a + 1 < n, t[a] == ch("\\"), t[a + 1] == ch("\"") { quoteLength = 2; quote = ch("\""); a += 2 }
        else if a < n, t[a] == ch("\"") || t[a] == ch("'") { quoteLength = 1; quote = t[a]; a += 1 }
        guard let e = NameKeys.caselessName(t, a) else { return nil }
        if quoteLength > 0 {
            guard e + quoteLength <= n, t[e + quoteLength - 1] == quote, quoteLength == 1 || t[e] == ch("\\") else { return nil }
            return (a, e, e + quoteLength)
        }
        if NameKeys.fieldEnd(t, e) { return (a, e, e) }
        // The first word, when a space and more follow it.
        var w = a
        while w < e, t[w] != ch(" ") { w += 1 }
        return w < e ? (a, w, w) : nil
    }
}
