/// A column of a result whose short values are mostly person names is a name column:
/// its other short values are names too, found or not. Content detection alone misses a
/// name made of English words with nothing around it (`OLIVE ORCHARD`, `Gray Marsh`);
/// a column of a legacy feed that holds a thousand names and no rule says what each of
/// its values is. The profile is read off the values as they pass (the first rows of a
/// result decide it), never off the column's name. (A caseless script's name in a
/// column whose name says name is masked by `Masker.mask` itself: NameKeys.) A value of
/// a caseless script's words, a name's length (`王小明`, `김민준`), counts as a name here
/// as a lone ALL-CAPS word does: no capital or list tells such a name from a word.
public struct NameColumnProfile: Sendable {
    public private(set) var values = 0
    public private(set) var shortValues = 0
    public private(set) var names = 0

    public init() {}

    /// Enough short values seen to call it a name column.
    public static let quorum = 20
    /// After this many values (short or not) the profile stops changing: the cost of
    /// reading it is bounded, and a column of hashes or numbers is settled at once.
    public static let settled = 60

    public var isNameColumn: Bool { shortValues >= Self.quorum && names * 5 >= shortValues * 3 }
    public var isSettled: Bool { values >= Self.settled }

    /// Counts a value: a short one (a name's shape) and whether content detection finds
    /// it to be a name throughout.
    public mutating func add(_ value: String, _ masker: Masker) {
        guard !isSettled else { return }
        values += 1
        guard Self.isShort(value) else { return }
        shortValues += 1
        let bytes = Array(value.utf8)
        let spans = masker.detect(bytes)
        if spans.isEmpty, Self.loneCapitalWord(bytes) || NameKeys.isCaselessName(value) { names += 1; return }
        guard !spans.isEmpty, spans.allSatisfy({ $0.entity == .personName }) else { return }
        var covered = [Bool](repeating: false, count: bytes.count)
        for s in spans { for k in s.start..<s.end { covered[k] = true } }
        if bytes.indices.allSatisfy({ covered[$0] || !(isAlpha(bytes[$0]) || bytes[$0] >= 0x80) }) { names += 1 }
    }

    /// One ALL-CAPS word of three letters or more that is no English or clinical word
    /// (`KETTERING`): alone, content detection takes it for a code; in a column of
    /// names it counts as one.
    static func loneCapitalWord(_ b: [UInt8]) -> Bool {
        guard b.count >= 3, b.allSatisfy({ isUpper($0) || $0 >= 0x80 }) else { return false }
        let h = Scan.hashLower(b, 0, b.count)
        return !NameDetector.words.contains(h) && !ClinicalWords.set.contains(h)
    }

    /// A name's shape: 2–64 bytes, letters with spaces, `'`, `-`, `.`, `,`, `^` between
    /// them, one to five words, no digit.
    public static func isShort(_ value: String) -> Bool {
        let b = Array(value.utf8)
        guard b.count >= 2, b.count <= 64, b.contains(where: { isAlpha($0) || $0 >= 0x80 }) else { return false }
        var words = 0, inWord = false
        for c in b {
            if isAlpha(c) || c >= 0x80 { if !inWord { words += 1; inWord = true }; continue }
            inWord = false
            guard c == ch(" ") || c == ch("'") || c == ch("-") || c == ch(".") || c == ch(",") || c == ch("^") else { return false }
        }
        return words <= 5
    }
}

extension Masker {
    /// A short value of a name column: masked whole as a person's name, whatever content
    /// detection found in it ("KETTERING, OLIVE" with only KETTERING found).
    public func maskAsName(_ value: String, result: MaskResult) -> MaskResult {
        guard NameColumnProfile.isShort(value) else { return result }
        let text = policy.strategy(for: .personName).text(for: Array(value.utf8)[...], marker: Entity.personName.marker)
        return MaskResult(value: text, counts: [Entity.personName.rawValue: 1])
    }
}
