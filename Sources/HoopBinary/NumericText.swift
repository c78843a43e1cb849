/// numeric's text (`-12.3400`, `NaN`, `Infinity`) as numeric_send writes it: digit
/// count, weight, sign and display scale, then base-10000 digits without the leading
/// and trailing zero groups.
enum NumericText {
    static let positive: UInt16 = 0x0000, negative: UInt16 = 0x4000
    static let nan: UInt16 = 0xC000, plusInfinity: UInt16 = 0xD000, minusInfinity: UInt16 = 0xF000

    static func encode(_ s: ArraySlice<UInt8>, into out: inout [UInt8]) -> Bool {
        func special(_ sign: UInt16) -> Bool {
            out.appendBigEndian(Int16(0)); out.appendBigEndian(Int16(0))
            out.appendBigEndian(sign)
            // The display scale the server reads out of a special value's short header.
            out.appendBigEndian(UInt16((sign & 0x1F80) >> 7))
            return true
        }
        switch String(decoding: s, as: UTF8.self) {
        case "NaN": return special(nan)
        case "Infinity": return special(plusInfinity)
        case "-Infinity": return special(minusInfinity)
        default: break
        }
        var rest = s
        let isNegative = rest.first == UInt8(ascii: "-")
        if isNegative { rest = rest.dropFirst() }
        let point = rest.firstIndex(of: UInt8(ascii: ".")) ?? rest.endIndex
        let whole = rest[rest.startIndex..<point]
        let fraction = point < rest.endIndex ? rest[(point + 1)...] : []
        guard !whole.isEmpty, whole.allSatisfy(isDigit), fraction.allSatisfy(isDigit),
              point == rest.endIndex || !fraction.isEmpty else { return false }
        guard let scale = Int16(exactly: fraction.count) else { return false }

        // Groups of four decimal digits, aligned on the decimal point.
        let wholePad = (4 - whole.count % 4) % 4
        let fracPad = (4 - fraction.count % 4) % 4
        let aligned = Array(repeating: UInt8(ascii: "0"), count: wholePad) + whole + fraction
            + Array(repeating: UInt8(ascii: "0"), count: fracPad)
        var groups: [Int16] = []
        groups.reserveCapacity(aligned.count / 4)
        for g in stride(from: 0, to: aligned.count, by: 4) {
            var v: Int16 = 0
            for c in aligned[g..<g + 4] { v = v * 10 + Int16(c - UInt8(ascii: "0")) }
            groups.append(v)
        }
        var weight = (whole.count + wholePad) / 4 - 1
        var first = 0
        while first < groups.count, groups[first] == 0 { first += 1; weight -= 1 }
        var last = groups.count
        while last > first, groups[last - 1] == 0 { last -= 1 }
        let digits = groups[first..<last]
        if digits.isEmpty { weight = 0 }
        guard let count = Int16(exactly: digits.count), let w = Int16(exactly: weight) else { return false }
        out.appendBigEndian(count)
        out.appendBigEndian(w)
        out.appendBigEndian(digits.isEmpty ? positive : (isNegative ? negative : positive))
        out.appendBigEndian(scale)
        for d in digits { out.appendBigEndian(d) }
        return true
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
}

/// bytea's text: hex (`\x0a1b`, the default) or escape (`a\000\\`) output.
enum ByteaText {
    static func decode(_ s: ArraySlice<UInt8>, into out: inout [UInt8]) -> Bool {
        if s.starts(with: [UInt8(ascii: "\\"), UInt8(ascii: "x")]) {
            let hex = s.dropFirst(2)
            guard hex.count % 2 == 0 else { return false }
            var i = hex.startIndex
            while i < hex.endIndex {
                guard let h = hexValue(hex[i]), let l = hexValue(hex[i + 1]) else { return false }
                out.append(h << 4 | l)
                i += 2
            }
            return true
        }
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            guard c == UInt8(ascii: "\\") else { out.append(c); i += 1; continue }
            if i + 1 < s.endIndex, s[i + 1] == UInt8(ascii: "\\") { out.append(c); i += 2; continue }
            guard s.endIndex - i >= 4, let v = BinaryEncoder.octal(s[(i + 1)..<(i + 4)]) else { return false }
            out.append(v)
            i += 4
        }
        return true
    }
}
