@testable import HoopMasking

let standardMasker = Masker(policy: MaskPolicy())

/// The substrings of `text` detected as `entity` (after overlap resolution).
func found(_ text: String, _ entity: Entity) -> [String] {
    let b = Array(text.utf8)
    return standardMasker.detect(text).filter { $0.entity == entity }.map { String(decoding: b[$0.start..<$0.end], as: UTF8.self) }
}

/// Every entity detected anywhere in `text`.
func entities(_ text: String) -> Set<Entity> { Set(standardMasker.detect(text).map(\.entity)) }
