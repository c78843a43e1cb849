/// A bare number under a key (or in a column) whose name says what it is: a time
/// (`"created_at": 1804714115`, `CreationTime`, `"ttl"`, `"iat"`: epoch seconds or
/// millis) or a quantity or a digest (`"Size": 8004714115`, `"bytes": 2147483647`,
/// `ContentLength`, `balance`, `crc32`).
/// Its digits read as an identifier by chance (one epoch second in ten passes the NPI's
/// check; a size of ten digits is a North American phone's shape): such a find is
/// dropped, one rule for every detector. Kept: a date's find (the date policy is
/// DateDetector's), a number with separators (`555-010-0199` is written, not counted), and
/// any key with a word that names a person's date or an identifier (`admitted_at`,
/// `dob_ts`, `phone_count`, `member_id`): what is masked there today stays masked.
enum NumberKeys {
    static func hashes(_ s: String) -> Set<UInt64> {
        Set(s.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { Scan.hashLower(String($0)) })
    }
    /// Words that say time by themselves: `created_at` is a time by `created`, while
    /// `reach_at`, `callbackOn`, `sent_to`, `after_hours` say nothing of their number
    /// (the review: every North American number of area code 201 to 410 is in the epoch range).
    static let times = hashes("""
        time times timestamp ts epoch date datetime created creation updated modified expires expire
        expiry expiration ttl deleted started ended finished completed issued iat exp nbf
        ms millis msec seconds secs sec
        """)
    static let quantities = hashes("""
        size bytes byte length len count total sum avg average min max minimum maximum duration latency elapsed
        offset limit capacity usage memory storage bandwidth throughput iops rows
        amount balance cents price cost checksum crc hash digest etag md5 sha
        """)
    /// Words that name a person's date or an identifier: such a key is left to the detectors.
    static let identifying: Set<UInt64> = Set(DateDetector.context.map { Scan.hashLower($0, 0, $0.count) })
        .union(hashes("""
            phone tel fax mobile cell pager npi ssn mrn id ids account acct member policy license licence zip postal
            patient number no num nr dea tin ein
            """))

    static func drop(_ spans: [DetectedSpan], _ b: [UInt8], column: String?) -> [DetectedSpan] {
        guard spans.contains(where: { $0.entity != .date }) else { return spans }
        return spans.filter { s in
            guard s.entity != .date, s.start < s.end, s.end <= b.count, b[s.start..<s.end].allSatisfy(isDigit),
                  s.start == 0 || !isDigit(b[s.start - 1]) && b[s.start - 1] != ch("."),
                  s.end == b.count || !isDigit(b[s.end]) && !(b[s.end] == ch(".") && s.end + 1 < b.count && isDigit(b[s.end + 1])) else { return true }
            let key: [UInt8]
            var quoted = false
            if let r = Scan.keyBefore(b, s.start) {
                guard structured(b, r) else { return true }
                key = Array(b[r])
                // A size as a program writes one, a number, not a string (the review: phones travel as strings).
                quoted = s.start > 0 && b[s.start - 1] == ch("\"")
            }
            else if let column, b[0..<s.start].allSatisfy({ $0 == ch(" ") || $0 == ch("\"") }),
                    b[s.end...].allSatisfy({ $0 == ch(" ") || $0 == ch("\"") }) { key = Array(column.utf8) }
            else { return true }
            return !says(key, b[s.start..<s.end], quoted: quoted)
        }
    }

    /// Keys no person writes as a label (`ts: 1804714115` in a log line).
    static let machineWords = hashes("ts iat exp nbf ttl epoch timestamp etag crc checksum digest")

    /// A key a program wrote: quoted as JSON writes one (`"at": `), or joined of words and
    /// digits (`elapsed_ms=`, `crc32=`, `lastModified:`). A plain word before a colon is a
    /// person's label in free text ("reach me at: 2125550199", "Available: …"), which
    /// says nothing of the number after it.
    static func structured(_ b: [UInt8], _ r: Range<Int>) -> Bool {
        if r.lowerBound > 0, b[r.lowerBound - 1] == ch("\""), r.upperBound < b.count, b[r.upperBound] == ch("\"") { return true }
        let k = b[r]
        if k.contains(ch("_")) || machineWords.contains(Scan.hashLower(b, r.lowerBound, r.upperBound)) { return true }
        return zip(k, k.dropFirst()).contains { a, c in isLower(a) && isUpper(c) || isAlpha(a) && isDigit(c) }
    }

    /// `key`'s words name a time and `digits` are epoch seconds or millis (2001 to 2100),
    /// or they name a quantity and the digits are a number, not a string; and none names a
    /// person's date or an identifier.
    static func says(_ key: [UInt8], _ digits: ArraySlice<UInt8>, quoted: Bool = false) -> Bool {
        let words = self.words(key)
        guard !words.contains(where: identifying.contains) else { return false }
        if !quoted, words.contains(where: quantities.contains) { return true }
        guard words.contains(where: times.contains), digits.count == 10 || digits.count == 13 else { return false }
        let seconds = Scan.number(Array(digits), 0, 10)
        return seconds >= 1_000_000_000 && seconds <= 4_102_444_800
    }

    /// The words of a key, by `_`, `-`, `.` and camelCase humps (`CreationTime`,
    /// `lastModifiedMs`, `TTLSeconds`), lower-case hashes.
    static func words(_ k: [UInt8]) -> [UInt64] {
        var out: [UInt64] = []
        var i = 0
        while i < k.count {
            guard isAlpha(k[i]) else { i += 1; continue }
            var e = i + 1
            if isUpper(k[i]), e < k.count, isUpper(k[e]) {
                // An acronym: its capitals up to the one that starts the next hump.
                while e < k.count, isUpper(k[e]), !(e + 1 < k.count && isLower(k[e + 1])) { e += 1 }
            } else {
                while e < k.count, isLower(k[e]) { e += 1 }
            }
            out.append(Scan.hashLower(k, i, e))
            i = e
        }
        return out
    }
}
