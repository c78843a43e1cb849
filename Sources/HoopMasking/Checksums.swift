/// Check digits that separate real identifiers from digit strings that merely have
/// the right length: Luhn (cards), NPI (Luhn over "80840" + digits), VIN (ISO 3779).
enum Checksum {
    /// Luhn over digit values, check digit last.
    static func luhn(_ digits: [UInt8]) -> Bool {
        var sum = 0
        for (i, d) in digits.reversed().enumerated() {
            var v = Int(d)
            if i % 2 == 1 { v *= 2; if v > 9 { v -= 9 } }
            sum += v
        }
        return sum % 10 == 0
    }

    /// NPI: the Luhn check over the card-issuer prefix 80840 followed by the 10 digits.
    static func npi(_ digits: [UInt8]) -> Bool {
        guard digits.count == 10 else { return false }
        return luhn([8, 0, 8, 4, 0] + digits)
    }

    /// VIN transliteration values (I, O, Q are never used) and position weights.
    private static func vinValue(_ c: UInt8) -> Int? {
        if isDigit(c) { return Int(c - 0x30) }
        let table: [Character: Int] = ["A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6, "G": 7, "H": 8,
                                       "J": 1, "K": 2, "L": 3, "M": 4, "N": 5, "P": 7, "R": 9,
                                       "S": 2, "T": 3, "U": 4, "V": 5, "W": 6, "X": 7, "Y": 8, "Z": 9]
        return table[Character(Unicode.Scalar(c))]
    }
    private static let vinWeights = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]

    static func vin(_ chars: ArraySlice<UInt8>) -> Bool {
        guard chars.count == 17 else { return false }
        var sum = 0
        for (k, c) in chars.enumerated() {
            guard let v = vinValue(c) else { return false }
            sum += v * vinWeights[k]
        }
        let check = chars[chars.startIndex + 8]
        let r = sum % 11
        return r == 10 ? check == ch("X") : check == UInt8(0x30 + r)
    }
}
