/// Values whose characters say nothing however they fall: a UUID, a run of hex digits (a
/// hash, a key id, a bytea's `\x…`), a blob of base64 (a ciphertext, a page token), the
/// digits after a decimal point. A detector's find that lies inside one is chance, not an
/// identifier (the flake hunt of s46: a random UUID's tail read as a phone once in a
/// thousand, 3 % of base64 ciphertexts held a surname like `Yu`, a `random()` value's
/// digits passed a card's checksum): dropped before overlaps are resolved, one rule for
/// every detector. A find of the whole value is kept: a detector that reads the value
/// itself as an identifier (after its label, `Member ID: aB3dE5fG7hJ9kL1m`; a configured
/// MRN pattern) has a reason beyond chance.
enum OpaqueTokens {
    static func isHex(_ c: UInt8) -> Bool { (0x30...0x39).contains(c) || (0x41...0x46).contains(c) || (0x61...0x66).contains(c) }
    static func isDigit(_ c: UInt8) -> Bool { (0x30...0x39).contains(c) }
    static func isUpper(_ c: UInt8) -> Bool { (0x41...0x5A).contains(c) }
    static func isLower(_ c: UInt8) -> Bool { (0x61...0x7A).contains(c) }
    static func isAlnum(_ c: UInt8) -> Bool { isDigit(c) || isUpper(c) || isLower(c) }
    /// Standard base64's characters, and `_` of the URL-safe alphabet (an S3 VersionId's too).
    static func isBase64(_ c: UInt8) -> Bool { isAlnum(c) || c == 0x2B || c == 0x2F || c == 0x3D || c == 0x5F }

    /// The spans that do not lie strictly inside an opaque value of `b` (a part of it,
    /// not the whole). The values sorted once, each span's searched by halves.
    static func drop(_ spans: [DetectedSpan], _ b: [UInt8]) -> [DetectedSpan] {
        guard !spans.isEmpty else { return spans }
        var opaque = ranges(b)
        for s in spans where s.start >= 2 && s.start < s.end && s.end <= b.count
            && b[s.start - 1] == 0x2E && isDigit(b[s.start - 2]) && b[s.start..<s.end].allSatisfy(isDigit) {
            // `0.4247253517525911`: a fraction's digits are part of its number.
            var k = s.start - 2
            while k > 0, isDigit(b[k - 1]) { k -= 1 }
            opaque.append(k..<s.end)
        }
        guard !opaque.isEmpty else { return spans }
        opaque.sort { $0.lowerBound < $1.lowerBound }
        // reach[i]: the furthest end of the values 0...i.
        var reach: [Int] = [], far = 0
        for r in opaque { far = max(far, r.upperBound); reach.append(far) }
        /// The furthest end of the values that begin before `start` (or at it, `atStart`).
        func furthest(_ start: Int, atStart: Bool) -> Int {
            var lo = 0, hi = opaque.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if opaque[mid].lowerBound < start || (atStart && opaque[mid].lowerBound == start) { lo = mid + 1 } else { hi = mid }
            }
            return lo == 0 ? -1 : reach[lo - 1]
        }
        return spans.filter { s in
            // Inside and not the whole: a value from at or before it that ends after it, or
            // one from before it that ends at or after it.
            !(furthest(s.start, atStart: true) > s.end || furthest(s.start, atStart: false) >= s.end)
        }
    }

    /// The opaque values of `b`, as byte ranges.
    static func ranges(_ b: [UInt8]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var i = 0
        while i < b.count {
            guard isBase64(b[i]) || b[i] == 0x2D else { i += 1; continue }
            var j = i
            while j < b.count, isBase64(b[j]) || b[j] == 0x2D { j += 1 }
            // A maximal run of base64 characters and hyphens: a UUID, hex runs, or a blob.
            uuids(b, i, j, &out)
            hexRuns(b, i, j, &out)
            if !b[i..<j].contains(0x2D), isBlob(b[i..<j]) { out.append(i..<j) }
            i = j
        }
        return out
    }

    /// 8-4-4-4-12 hex digits, bounded by no letter or digit.
    static func uuids(_ b: [UInt8], _ from: Int, _ to: Int, _ out: inout [Range<Int>]) {
        var k = from
        while k + 36 <= to {
            guard b[k + 8] == 0x2D, b[k + 13] == 0x2D, b[k + 18] == 0x2D, b[k + 23] == 0x2D,
                  k == from || !isAlnum(b[k - 1]), k + 36 == to || !isAlnum(b[k + 36]),
                  (k..<(k + 36)).allSatisfy({ [8, 13, 18, 23].contains($0 - k) || isHex(b[$0]) }) else { k += 1; continue }
            out.append(k..<(k + 36)); k += 36
        }
    }

    /// 16 or more hex digits, letters and digits mixed (changing at least three times: an
    /// IBAN's or a plan id's letters before its digits are no hash), bounded by no other
    /// letter or digit (an `x` of `\x` or `0x` before them belongs to them).
    static func hexRuns(_ b: [UInt8], _ from: Int, _ to: Int, _ out: inout [Range<Int>]) {
        var k = from
        while k < to {
            guard isAlnum(b[k]) else { k += 1; continue }
            var e = k
            while e < to, isAlnum(b[e]) { e += 1 }
            var s = k, lo = k
            if b[s] == 0x30, e - s > 2, b[s + 1] == 0x78 { s += 2 }                        // 0x…
            else if b[s] == 0x78, e - s > 1 { s += 1; if k > 0, b[k - 1] == 0x5C { lo = k - 1 } }   // \x…
            let run = b[s..<e]
            if run.count >= 16, run.allSatisfy(isHex), zip(run, run.dropFirst()).filter({ isDigit($0) != isDigit($1) }).count >= 3 {
                out.append(lo..<e)
            }
            k = e
        }
    }

    /// Base64 of bytes: padded to a multiple of four, at least 16 characters,
    /// upper and lower case and digits, and the character kind changing about as often
    /// as random bytes' encoding does (half the time or more), which words never do.
    static func isBlob(_ run: ArraySlice<UInt8>) -> Bool {
        guard run.count >= 16, run.count % 4 == 0,
              run.contains(where: isUpper), run.contains(where: isLower), run.contains(where: isDigit) else { return false }
        // Parts joined by `_` that are words or numbers (`Jane_Doe_1961_03_14_A1b2`, a file's
        // name) are no blob: random parts are neither.
        if run.contains(0x5F), run.split(separator: 0x5F).contains(where: { part in
            part.allSatisfy(isDigit) || (part.count >= 2 && part.dropFirst().allSatisfy(isLower) && (isUpper(part.first!) || isLower(part.first!)))
        }) { return false }
        func kind(_ c: UInt8) -> Int { isUpper(c) ? 0 : isLower(c) ? 1 : isDigit(c) ? 2 : 3 }
        var changes = 0, last = kind(run[run.startIndex])
        for c in run.dropFirst() { let k = kind(c); if k != last { changes += 1 }; last = k }
        return changes * 2 >= run.count - 1
    }
}
