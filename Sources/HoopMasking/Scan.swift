/// Byte-level helpers shared by the detectors. Detectors scan `[UInt8]` (UTF-8) with
/// integer offsets: no String indexing, no regex engine, no allocation per byte, so a
/// value is scanned in linear time whatever it contains.
@inline(__always) func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
@inline(__always) func isUpper(_ c: UInt8) -> Bool { c >= 0x41 && c <= 0x5A }
@inline(__always) func isLower(_ c: UInt8) -> Bool { c >= 0x61 && c <= 0x7A }
@inline(__always) func isAlpha(_ c: UInt8) -> Bool { isUpper(c) || isLower(c) }
@inline(__always) func isAlnum(_ c: UInt8) -> Bool { isAlpha(c) || isDigit(c) }
@inline(__always) func lower(_ c: UInt8) -> UInt8 { isUpper(c) ? c | 0x20 : c }
@inline(__always) func isHex(_ c: UInt8) -> Bool { isDigit(c) || (lower(c) >= 0x61 && lower(c) <= 0x66) }
@inline(__always) func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }

/// ASCII byte of a one-character literal, for readable comparisons (`t[i] == ch("-")`).
@inline(__always) func ch(_ s: Unicode.Scalar) -> UInt8 { UInt8(truncatingIfNeeded: s.value) }

enum Scan {
    /// Bytes that continue a word. Non-ASCII bytes count as word bytes so that a span
    /// never starts or ends inside a multi-byte character.
    @inline(__always) static func isWordByte(_ c: UInt8) -> Bool { isAlnum(c) || c >= 0x80 || c == ch("_") }

    @inline(__always) static func leftBoundary(_ t: [UInt8], _ i: Int) -> Bool {
        i == 0 || !isWordByte(t[i - 1])
    }

    @inline(__always) static func rightBoundary(_ t: [UInt8], _ j: Int) -> Bool {
        j >= t.count || !isWordByte(t[j])
    }

    /// A number starts here: not inside a word, and not the tail of a longer number
    /// such as 12-345 or 1.5 (so a card number is not re-read as a phone number).
    static func numberStart(_ t: [UInt8], _ i: Int) -> Bool {
        guard leftBoundary(t, i) else { return false }
        if i >= 2, t[i - 1] == ch("-") || t[i - 1] == ch(".") || t[i - 1] == ch("/"), isDigit(t[i - 2]) { return false }
        return true
    }

    /// A number ends here: the mirror of `numberStart`.
    static func numberEnd(_ t: [UInt8], _ j: Int) -> Bool {
        guard rightBoundary(t, j) else { return false }
        if j + 1 < t.count, t[j] == ch("-") || t[j] == ch(".") || t[j] == ch("/"), isDigit(t[j + 1]) { return false }
        return true
    }

    /// Exactly `n` digits start at `i` (more may follow; callers check the boundary).
    static func digits(_ t: [UInt8], _ i: Int, _ n: Int) -> Bool {
        guard i >= 0, i + n <= t.count else { return false }
        for k in i..<(i + n) where !isDigit(t[k]) { return false }
        return true
    }

    static func digitRun(_ t: [UInt8], _ i: Int) -> Int {
        var j = i
        while j < t.count, isDigit(t[j]) { j += 1 }
        return j - i
    }

    static func number(_ t: [UInt8], _ i: Int, _ n: Int) -> Int {
        var v = 0
        for k in i..<(i + n) { v = v * 10 + Int(t[k] - 0x30) }
        return v
    }

    /// Case-insensitive match of a lowercase ASCII word at `i`, as a whole word.
    static func wordAt(_ t: [UInt8], _ i: Int, _ w: [UInt8]) -> Bool {
        guard i + w.count <= t.count, leftBoundary(t, i) else { return false }
        for k in 0..<w.count where lower(t[i + k]) != w[k] { return false }
        let j = i + w.count
        return j >= t.count || !isAlpha(t[j])
    }

    /// One of `words` occurs in the `window` bytes before `i`. Context words are what
    /// turn an ambiguous shape (nine digits, a date) into an identifier.
    static func contextBefore(_ t: [UInt8], _ i: Int, _ words: [[UInt8]], window: Int = 32) -> Bool {
        let from = max(0, i - window)
        var p = from
        while p < i {
            if isAlpha(t[p]) || t[p] == ch("#") {
                for w in words where p + w.count <= i && lower(t[p]) == w[0] && wordAt(t, p, w) { return true }
            }
            p += 1
        }
        return false
    }

    static func words(_ list: [String]) -> [[UInt8]] { list.map { Array($0.lowercased().utf8) } }

    /// FNV-1a of the lowercased bytes: name-list lookups without allocating a String
    /// or Array per token.
    static func hashLower(_ t: [UInt8], _ i: Int, _ j: Int) -> UInt64 {
        var h: UInt64 = 0xcbf29ce484222325
        for k in i..<j { h = (h ^ UInt64(lower(t[k]))) &* 0x100000001b3 }
        return h
    }

    static func hashLower(_ s: String) -> UInt64 {
        let b = Array(s.utf8)
        return hashLower(b, 0, b.count)
    }
}
