extension StringProtocol {
    /// Whether the text holds `word` in any ASCII case: how PostgreSQL folds an unquoted
    /// keyword or name (it never folds a multibyte character to an ASCII one). A byte
    /// scan: Foundation's case-insensitive search was a sixth of hoop-approve's time.
    public func containsIgnoringASCIICase(_ word: String) -> Bool {
        // The scan is a concrete function over bytes: written generically over the
        // collection, it ran unspecialized from other modules (a fifth of hoop-approve's
        // time in protocol witnesses, measured with perf).
        if let found = utf8.withContiguousStorageIfAvailable({ hay in
            var word = word
            return word.withUTF8 { asciiCaseContains(UnsafeRawBufferPointer(hay), UnsafeRawBufferPointer($0)) }
        }) { return found }
        var copy = String(self)
        copy.makeContiguousUTF8()
        return copy.containsIgnoringASCIICase(word)
    }
}

/// Whether `hay` holds `needle`, ASCII letters compared without case.
func asciiCaseContains(_ hay: UnsafeRawBufferPointer, _ needle: UnsafeRawBufferPointer) -> Bool {
    guard let first = needle.first.map(asciiLowered) else { return true }
    guard hay.count >= needle.count else { return false }
    let last = hay.count - needle.count
    var i = 0
    while i <= last {
        if asciiLowered(hay[i]) == first {
            var k = 1
            while k < needle.count && asciiLowered(hay[i + k]) == asciiLowered(needle[k]) { k += 1 }
            if k == needle.count { return true }
        }
        i += 1
    }
    return false
}

@inline(__always) private func asciiLowered(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }
