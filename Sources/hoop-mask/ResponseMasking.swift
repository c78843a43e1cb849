import Foundation
import HoopFrames

/// Where a result column comes from (the `columns` frame), for column rules and for
/// keeping a masked value valid for its type.
struct ColumnInfo {
    let table: String?
    let column: String?
    let typeOID: UInt32
}

/// Masks one text value: what it becomes (nil: SQL NULL) and what was found in it,
/// as counts by entity or column rule. Never the values themselves.
protocol ValueMasker {
    /// Throws when it cannot decide (a type it cannot keep valid): the frame is not passed.
    func mask(_ text: String, column: ColumnInfo?) throws -> (masked: String?, counts: [String: Int])
}

/// The frames that flow back, masked (docs/masking.md): rows by column and content,
/// error and notice texts, COPY data. A frame it cannot read is never passed on.
final class ResponseMasking {
    /// The masker of each session's connection (from the session_open that
    /// hoop-connect forwards ahead of the session's responses).
    let maskers: [String: ValueMasker]
    let fallback: ValueMasker
    private var sessionMasker: [String: ValueMasker] = [:]
    private var columns: [String: [ColumnInfo]] = [:]

    init(maskers: [String: ValueMasker], fallback: ValueMasker) {
        self.maskers = maskers
        self.fallback = fallback
    }

    func opened(session: String, database: String) {
        sessionMasker[session] = maskers[database] ?? fallback
    }

    /// Error and notice fields that can carry data (a unique-violation detail prints the
    /// duplicate key); codes, severities and source locations cannot.
    static let textFields: Set<String> = ["message", "detail", "hint", "where", "internal_query", "schema",
                                          "table", "column", "datatype", "constraint"]

    enum Outcome {
        case pass                       // nothing in it to mask: stamp it as it is
        case replace([Frame])           // masked frames (a summary first when something was masked)
    }

    func handle(_ frame: Frame) throws -> Outcome {
        guard let session = frame.session else { return .pass }
        let masker = sessionMasker[session] ?? fallback
        switch frame.type {
        case "columns":
            columns[session] = (frame["fields"]?.array ?? []).map {
                ColumnInfo(table: $0["table_name"]?.string, column: $0["column_name"]?.string,
                           typeOID: UInt32(truncatingIfNeeded: $0["type_oid"]?.int ?? 0))
            }
            return .pass
        case "rows":
            let cols = columns[session] ?? []
            var counts: [String: Int] = [:]
            guard let input = frame["rows"]?.array else { throw MaskFailure("a rows frame without rows") }
            let rows: [JSON] = try input.map { row in
                guard let values = row.array else { throw MaskFailure("a row that is not an array") }
                return .array(try values.enumerated().map { i, v in
                    switch v {
                    case .null: return v
                    case .string(let text):
                        let (m, c) = try masker.mask(text, column: i < cols.count ? cols[i] : nil)
                        counts.merge(c, uniquingKeysWith: +)
                        return m.map(JSON.string) ?? .null
                    default: throw MaskFailure("a value it cannot read")
                    }
                })
            }
            var out = frame
            out["rows"] = .array(rows)
            return outcome(frame, out, counts)
        case "error", "notice":
            var out = frame
            var counts: [String: Int] = [:]
            for key in Self.textFields {
                guard let text = frame[key]?.string else { continue }
                let (m, c) = try masker.mask(text, column: nil)
                counts.merge(c, uniquingKeysWith: +)
                out[key] = .string(m ?? "")
            }
            return outcome(frame, out, counts)
        case "copy_out_data":
            var counts: [String: Int] = [:]
            let chunks: [JSON] = try (frame["data"]?.array ?? []).map { chunk in
                // Binary COPY cannot be read for PHI: it is not passed (fail closed).
                guard case .string(let text) = chunk else { throw MaskFailure("binary COPY data cannot be masked") }
                let (m, c) = try masker.mask(text, column: nil)
                counts.merge(c, uniquingKeysWith: +)
                return .string(m ?? "")
            }
            var out = frame
            out["data"] = .array(chunks)
            return outcome(frame, out, counts)
        case "notification":
            // A NOTIFY payload is whatever the application put in it.
            var out = frame
            var counts: [String: Int] = [:]
            for key in ["channel", "payload"] {
                guard let text = frame[key]?.string else { continue }
                let (m, c) = try masker.mask(text, column: nil)
                counts.merge(c, uniquingKeysWith: +)
                out[key] = .string(m ?? "")
            }
            return outcome(frame, out, counts)
        case "session_closed":
            columns.removeValue(forKey: session)
            sessionMasker.removeValue(forKey: session)
            return .pass
        default:
            return .pass
        }
    }

    /// Nothing found means nothing changed (the masker reports every change in its
    /// counts): the frame then passes as it came, without a re-encode. Otherwise the
    /// masked frame, after a summary for the audit trail (counts only).
    private func outcome(_ frame: Frame, _ masked: Frame, _ counts: [String: Int]) -> Outcome {
        guard !counts.isEmpty else { return .pass }
        let summary = Frame("masked", session: frame.session, seq: frame.seq, [
            "frame": .string(frame.type),
            "counts": .object(counts.mapValues { .int(Int64($0)) }),
        ])
        return .replace([summary, masked])
    }

    /// The response types whose content `handle` reads; the others pass without a decode.
    static let inspected: Set<String> = ["columns", "rows", "error", "notice", "copy_out_data", "notification", "session_closed"]
}

struct MaskFailure: Error {
    let why: String
    init(_ why: String) { self.why = why }
}
