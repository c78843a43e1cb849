import XCTest
@testable import HoopMasking

/// Precision and recall per entity on the generated corpus (scripts/mask-eval prints
/// this table). A detection counts when it overlaps a labelled span of the same
/// entity; a labelled span is missed when nothing of its entity overlaps it.
final class PrecisionRecall: XCTestCase {
    func testPrecisionRecallTable() {
        let corpus = Corpus.generate()
        var tp: [Entity: Int] = [:], fp: [Entity: Int] = [:], fn: [Entity: Int] = [:]
        var bytes = 0
        let start = Date()
        var found: [[DetectedSpan]] = []
        for doc in corpus.docs { found.append(standardMasker.detect(doc.text)); bytes += doc.text.utf8.count }
        let elapsed = Date().timeIntervalSince(start)
        func overlap(_ a: DetectedSpan, _ b: DetectedSpan) -> Bool { a.entity == b.entity && a.start < b.end && b.start < a.end }
        for (doc, spans) in zip(corpus.docs, found) {
            for s in spans { if doc.gold.contains(where: { overlap($0, s) }) { tp[s.entity, default: 0] += 1 } else { fp[s.entity, default: 0] += 1 } }
            for g in doc.gold where !spans.contains(where: { overlap($0, g) }) { fn[g.entity, default: 0] += 1 }
        }
        var lines = ["entity            gold   TP   FP   FN  precision  recall"]
        for e in Entity.allCases {
            let t = tp[e] ?? 0, p = fp[e] ?? 0, n = fn[e] ?? 0
            guard t + p + n > 0 else { continue }
            let prec = t + p == 0 ? 0 : Double(t) / Double(t + p), rec = t + n == 0 ? 0 : Double(t) / Double(t + n)
            lines.append(e.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0)
                + [t + n, t, p, n].map { String($0).leftPad(6) }.joined()
                + String(format: "%11.3f%8.3f", prec, rec))
        }
        #if DEBUG
        let build = "debug build"
        #else
        let build = "release build"
        #endif
        lines.append("\(corpus.docs.count) values, \(bytes) bytes, detection \(String(format: "%.1f", Double(bytes) / elapsed / 1e6)) MB/s (\(build))")
        print(lines.joined(separator: "\n"))
        // MASK_EVAL_SHOW=ENTITY prints that entity's misses and false positives (distinct texts).
        if let show = ProcessInfo.processInfo.environment["MASK_EVAL_SHOW"], let e = Entity(rawValue: show) {
            var seen = Set<String>()
            for (doc, spans) in zip(corpus.docs, found) {
                let b = Array(doc.text.utf8)
                for s in spans where s.entity == e && !doc.gold.contains(where: { overlap($0, s) }) {
                    let line = "FP \(String(decoding: b[s.start..<s.end], as: UTF8.self)) | \(doc.text)"
                    if seen.insert(line).inserted { print(line) }
                }
                for g in doc.gold where g.entity == e && !spans.contains(where: { overlap($0, g) }) {
                    let line = "FN \(String(decoding: b[g.start..<g.end], as: UTF8.self)) | \(doc.text)"
                    if seen.insert(line).inserted { print(line) }
                }
            }
        }
        // Floors, so a regression fails the suite; the table is the real measure.
        for e in [Entity.ssn, .email, .mrn, .npi, .cardNumber, .phone] {
            XCTAssertGreaterThan(Double(tp[e] ?? 0) / Double((tp[e] ?? 0) + (fn[e] ?? 0)), 0.95, e.rawValue)
        }
    }
}

extension String {
    func leftPad(_ n: Int) -> String { String(repeating: " ", count: max(0, n - count)) + self }
}
