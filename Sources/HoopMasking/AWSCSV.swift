import Foundation
/// CSV object bodies (RFC 4180): the header line names the columns, each column's field
/// rule masks its values, content detection the others. Quoting stays valid: a field
/// that was quoted, or whose masked text needs it, is written quoted.

/// A CSV's column names, from its header line (kept between the pieces of a streamed answer).
public struct CSVHeader: Sendable, Equatable {
    public var names: [String]
}

struct CSVRecord {
    var fields: [String]
    var quoted: [Bool]
    /// The record's text as it came, its line ending apart.
    var raw: Substring.UnicodeScalarView
    var ending: String
    /// It ended inside a quoted field (the text ended first).
    var open: Bool
}

struct CSVParser {
    /// The records of `text`; a last record without a line ending is one too.
    mutating func records(_ text: Substring, final: Bool) -> [CSVRecord] {
        let s = text.unicodeScalars
        var out: [CSVRecord] = []
        var i = s.startIndex
        while i < s.endIndex {
            let start = i
            var fields: [String] = [], quoted: [Bool] = []
            var field = String.UnicodeScalarView(), isQuoted = false, inQuotes = false, atFieldStart = true
            var ending = "", open = false
            var end = s.endIndex
            while i < s.endIndex {
                let c = s[i]
                if inQuotes {
                    if c == "\"" {
                        let next = s.index(after: i)
                        if next < s.endIndex, s[next] == "\"" { field.append("\""); i = s.index(after: next); continue }
                        inQuotes = false
                    } else { field.append(c) }
                    i = s.index(after: i)
                    continue
                }
                if c == "\"" && atFieldStart { inQuotes = true; isQuoted = true; atFieldStart = false; i = s.index(after: i); continue }
                if c == "," {
                    fields.append(String(field)); quoted.append(isQuoted)
                    field = String.UnicodeScalarView(); isQuoted = false; atFieldStart = true
                    i = s.index(after: i)
                    continue
                }
                if c == "\n" || c == "\r" {
                    end = i
                    let next = s.index(after: i)
                    if c == "\r", next < s.endIndex, s[next] == "\n" { ending = "\r\n"; i = s.index(after: next) }
                    else { ending = String(c); i = next }
                    break
                }
                field.append(c); atFieldStart = false
                i = s.index(after: i)
            }
            if i == s.endIndex && ending.isEmpty { end = s.endIndex; open = inQuotes }
            fields.append(String(field)); quoted.append(isQuoted)
            out.append(CSVRecord(fields: fields, quoted: quoted, raw: s[start..<end], ending: ending, open: open))
        }
        return out
    }
}

extension Masker {
    /// A CSV text (a whole body, or a piece cut at a line's end: `final` false). The first
    /// record is the header when none is known yet. A record whose field count is not the
    /// header's, or one left open by a quote at the end of the body, is masked whole; a
    /// piece that ends inside a quoted field is refused (its record's rest is in the next).
    public func maskCSV(_ text: String, rules: FieldRules, header: inout CSVHeader?, final: Bool) throws -> MaskResult {
        var parser = CSVParser()
        let records = parser.records(Substring(text), final: final)
        var counts: [String: Int] = [:]
        var out = String.UnicodeScalarView()
        var changed = false
        for record in records {
            if record.open {
                guard final else { throw AnswerRefusal("a CSV record runs across two pieces of a streamed answer") }
                counts["FIELD", default: 0] += 1
                out.append(contentsOf: "[REDACTED]".unicodeScalars)
                changed = true
                continue
            }
            if record.raw.isEmpty && record.fields == [""] { out.append(contentsOf: record.ending.unicodeScalars); continue }
            guard let names = header?.names else {
                // The header: column names, not data; content detection still reads it (a
                // CSV without a header line would have its first record here).
                header = CSVHeader(names: record.fields.map(Self.columnName))
                var fields: [String] = [], any = false
                for f in record.fields {
                    let r = maskText(f)
                    if r.changed { any = true; counts.merge(r.counts, uniquingKeysWith: +) }
                    fields.append(r.value ?? "")
                }
                if any { header = CSVHeader(names: fields.map(Self.columnName)); changed = true; out.append(contentsOf: Self.csvLine(fields, record.quoted).unicodeScalars) }
                else { out.append(contentsOf: record.raw) }
                out.append(contentsOf: record.ending.unicodeScalars)
                continue
            }
            guard record.fields.count == names.count else {
                // Which value is which column cannot be told: the record goes whole.
                counts["FIELD", default: 0] += 1
                out.append(contentsOf: "[REDACTED]".unicodeScalars)
                out.append(contentsOf: record.ending.unicodeScalars)
                changed = true
                continue
            }
            var fields: [String] = [], any = false
            for (i, f) in record.fields.enumerated() {
                if let r = rules.rule(names[i], [.member(names[i])]) {
                    if r.keeps || f.isEmpty { fields.append(f); continue }
                    counts[r.label, default: 0] += 1
                    fields.append(r.strategy.text(for: Array(f.utf8)[...], marker: "[REDACTED]"))
                    any = true
                } else {
                    let r = maskText(f)
                    if r.changed { any = true; counts.merge(r.counts, uniquingKeysWith: +) }
                    fields.append(r.value ?? "")
                }
            }
            if any { changed = true; out.append(contentsOf: Self.csvLine(fields, record.quoted).unicodeScalars) }
            else { out.append(contentsOf: record.raw) }
            out.append(contentsOf: record.ending.unicodeScalars)
        }
        return changed ? MaskResult(value: String(out), counts: counts) : MaskResult(value: text, counts: [:])
    }

    /// A header field as a column name: without a byte-order mark or the spaces around it
    /// (`\u{FEFF}ssn`, ` ssn` are the column `ssn`).
    static func columnName(_ field: String) -> String {
        field.unicodeScalars.filter { $0 != "\u{FEFF}" }.map(String.init).joined().trimmingCharacters(in: .whitespaces)
    }

    static func csvLine(_ fields: [String], _ quoted: [Bool]) -> String {
        fields.enumerated().map { i, f in
            let needs = f.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" })
            guard needs || (i < quoted.count && quoted[i]) else { return f }
            return "\"" + f.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }.joined(separator: ",")
    }
}
