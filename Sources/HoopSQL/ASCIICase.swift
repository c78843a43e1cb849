extension StringProtocol {
    /// Whether the text holds `word` in any ASCII case: how PostgreSQL folds an unquoted
    /// keyword or name (it never folds a multibyte character to an ASCII one). A byte
    /// scan: Foundation's case-insensitive search was a sixth of hoop-approve's time.
    public func containsIgnoringASCIICase(_ word: String) -> Bool {
        let needle = Array(word.utf8).map(asciiLowered)
        guard let first = needle.first else { return true }
        var found = false
        utf8.withContiguousStorageIfAvailable { hay in found = Self.scan(hay, needle, first) } ?? {
            found = Self.scan(Array(utf8), needle, first)
        }()
        return found
    }

    private static func scan<C: RandomAccessCollection>(_ hay: C, _ needle: [UInt8], _ first: UInt8) -> Bool
        where C.Element == UInt8, C.Index == Int {
        guard hay.count >= needle.count else { return false }
        var i = hay.startIndex
        let last = hay.endIndex - needle.count
        while i <= last {
            if asciiLowered(hay[i]) == first {
                var k = 1
                while k < needle.count && asciiLowered(hay[i + k]) == needle[k] { k += 1 }
                if k == needle.count { return true }
            }
            i += 1
        }
        return false
    }
}

@inline(__always) private func asciiLowered(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }
