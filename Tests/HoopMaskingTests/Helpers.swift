import XCTest
@testable import HoopMasking

let standardMasker = Masker(policy: MaskPolicy())

/// The substrings of `text` detected as `entity` (after overlap resolution).
func found(_ text: String, _ entity: Entity) -> [String] {
    let b = Array(text.utf8)
    return standardMasker.detect(text).filter { $0.entity == entity }.map { String(decoding: b[$0.start..<$0.end], as: UTF8.self) }
}

/// Every entity detected anywhere in `text`.
func entities(_ text: String) -> Set<Entity> { Set(standardMasker.detect(text).map(\.entity)) }

extension XCTestCase {
    /// `part` of `text` lies inside one span (of `entity`, if given).
    func assertMasked(_ text: String, _ part: String, _ entity: Entity?, _ label: String,
                      file: StaticString = #filePath, line: UInt = #line) {
        let b = Array(text.utf8), p = Array(part.utf8)
        guard let a = (0...(b.count - p.count)).first(where: { b[$0..<($0 + p.count)].elementsEqual(p) }) else {
            return XCTFail("\(label): the part is not in the text", file: file, line: line)
        }
        let spans = standardMasker.detect(text)
        let ok = spans.contains { $0.start <= a && $0.end >= a + p.count && (entity == nil || $0.entity == entity) }
        if !ok {
            XCTFail("\(label): bytes \(a)..<\(a + p.count) not masked as \(entity?.rawValue ?? "any"); found \(spans)", file: file, line: line)
        }
    }

    /// Nothing of `entity` (any, if nil) is found in `text`.
    func assertClear(_ text: String, _ entity: Entity?, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        let spans = standardMasker.detect(text).filter { entity == nil || $0.entity == entity }
        if !spans.isEmpty { XCTFail("\(label): found \(spans)", file: file, line: line) }
    }
}
