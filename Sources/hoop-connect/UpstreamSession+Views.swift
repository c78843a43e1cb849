import CLibPQ
import Foundation
import HoopFrames
import HoopSQL

// An expression over a view's column (`select upper(a) from v`, `a || 'x'`, a scalar
// sub-select) has no table in the RowDescription: hoop-mask traces it through the
// statement to `v.a`, a view's column, which carries what the table columns under the
// view hold. So a result with such a column says which views its statement may read
// (`views` in the columns frame): every view or materialized view, in any schema, named
// like a relation the session's statements name (the statement itself, and what a
// FETCH or EXECUTE runs: its cursor's or prepared statement's text), read from the
// catalog after the result, as the tables' names are. The same goes for a temporary
// table's columns (what the session wrote into it, through the views it read) and for
// a table the catalog cannot name. docs/masking.md, "Names from the catalog".

extension UpstreamSession {
    /// A text that defines what a later FETCH or EXECUTE returns (DECLARE, PREPARE), or
    /// writes rows (what a temporary table then holds may come from the views it read):
    /// its relation names count for the session's life. Texts are read for names when a
    /// result needs them, or once `maxPending` wait; one that does not parse defined and
    /// wrote nothing (the server refuses it too).
    func noteDefinitions(_ sql: String) {
        guard Self.mayDefine(sql) else { return }
        // A PREPARE of a write: its EXECUTE's text names no write.
        if !notedWrites, Self.mentions(sql, Self.preparingWord, wholeWords: true), Self.mayWrite(sql) { notedWrites = true }
        if !notedHeldCursors, Self.mentions(sql, Self.holdingWord, wholeWords: true),
           Self.mentions(sql, Self.declaringWord, wholeWords: true) { notedHeldCursors = true }
        pendingSQL.append(sql)
        if pendingSQL.count >= Self.maxPending { absorbPendingSQL() }
    }

    /// Whether the text holds a word of a statement that defines or writes (any case,
    /// anywhere: a false yes only costs a parse). One pass over the bytes, on every
    /// request; SQL's keywords are ASCII, as the server reads them.
    static func mayDefine(_ sql: String) -> Bool { mentions(sql, definingWords, wholeWords: false) }

    /// Whether the text holds the word of a write (INSERT, UPDATE, DELETE, MERGE) as a
    /// word of its own (`updated_at` is none): a false yes only masks a result whole.
    static func mayWrite(_ sql: String) -> Bool { mentions(sql, writingWords, wholeWords: true) }

    /// One pass over the bytes: whether any of `words` (by first byte) is in the text,
    /// in any case, or only where no identifier character touches it.
    static func mentions(_ sql: String, _ table: WordTable, wholeWords: Bool) -> Bool {
        var sql = sql
        return sql.withUTF8 { b in
            func identifier(_ i: Int) -> Bool {
                guard i >= 0, i < b.count else { return false }
                let c = b[i] | 0x20
                return (c >= 0x61 && c <= 0x7A) || (b[i] >= 0x30 && b[i] <= 0x39) || b[i] == 0x5F || b[i] == 0x24 || b[i] >= 0x80
            }
            for i in b.indices {
                let c = b[i] | 0x20   // ASCII letters to lower case; no other byte becomes a letter
                for w in table.byFirstByte[Int(c)] where i + w.count <= b.count {
                    var k = 1
                    while k < w.count && (b[i + k] | 0x20) == w[k] { k += 1 }
                    if k == w.count && (!wholeWords || (!identifier(i - 1) && !identifier(i + w.count))) { return true }
                }
            }
            return false
        }
    }

    /// Words by their first byte, in an array indexed by that byte: the scan looks up
    /// every byte of every request (a dictionary hashed each one).
    struct WordTable {
        let byFirstByte: [[[UInt8]]]
        init(_ words: [String]) {
            var table = [[[UInt8]]](repeating: [], count: 256)
            for w in words { table[Int(w.utf8.first!)].append(Array(w.utf8)) }
            byFirstByte = table
        }
    }
    private static let definingWords = WordTable(["declare", "prepare", "into", "update", "create", "merge"])
    private static let writingWords = WordTable(["insert", "update", "delete", "merge"])
    private static let preparingWord = WordTable(["prepare"])
    private static let endingWords = WordTable(["deallocate", "discard"])
    static let transactionEndingWords = WordTable(["commit", "rollback", "end", "abort", "prepare"])
    private static let holdingWord = WordTable(["hold"])
    private static let declaringWord = WordTable(["declare"])
    private static let fetchingWord = WordTable(["fetch"])

    static let maxPending = 256
    static let maxNotedNames = 4096

    /// The relation names of the pending texts, into `notedNames`; past `maxNotedNames`
    /// names the session's are no longer known (every result then says `views_unknown`).
    func absorbPendingSQL() {
        guard !pendingSQL.isEmpty else { return }
        for text in pendingSQL { if let names = RelationNames.shared.of(text) { notedNames.formUnion(names.relations) } }
        pendingSQL.removeAll()
        if notedNames.count > Self.maxNotedNames { notedNamesOverflowed = true; notedNames.removeAll() }
    }

    /// The relation names the session's texts that may have made this result name;
    /// nil when they cannot be told. `ctes`: the CTE names of the texts the result itself
    /// may come from (not of the session's earlier ones, which must not hide a relation
    /// made since).
    func relationNamesInPlay() -> (relations: Set<String>, ctes: Set<String>)? { textFacts().names }

    /// What a result's checks read from the session's texts, worked out once while they
    /// stay as they are: for each result of a request of ten thousand statements, its
    /// whole text was scanned and hashed again (quadratic: one request held the stage,
    /// and every session behind it, for minutes).
    func textFacts() -> TextFacts {
        absorbPendingSQL()
        if let m = textFactsMemo, m.texts == textsVersion, m.book == names.version { return m.facts }
        let readBy = [currentSQL, resultSQL].compactMap { $0 } + pipelineSQL
        let facts = TextFacts(names: namesOfTexts(), mayWrite: readBy.contains(where: Self.mayWrite),
                              mayFetch: readBy.contains { Self.mentions($0, Self.fetchingWord, wholeWords: true) })
        textFactsMemo = (textsVersion, names.version, facts)
        return facts
    }

    struct TextFacts {
        var names: (relations: Set<String>, ctes: Set<String>)?
        /// The texts a result is read by (the statement, the result's, the pipeline's).
        var mayWrite: Bool
        var mayFetch: Bool
    }

    private func namesOfTexts() -> (relations: Set<String>, ctes: Set<String>)? {
        if notedNamesOverflowed { return nil }
        var relations = notedNames, ctes: Set<String> = []
        for text in textsInPlay() {
            guard let names = RelationNames.shared.of(text) else { return nil }
            relations.formUnion(names.relations)
            ctes.formUnion(names.ctes)
        }
        return (relations, ctes)
    }

    /// The texts a result may come from: the statement, the pipeline's, and the session's
    /// prepared statements' and portals' (an EXECUTE or Bind names no text of its own).
    func textsInPlay() -> [String] {
        var texts = pipelineSQL
        if let currentSQL { texts.append(currentSQL) }
        texts += names.statements.values.map(\.value.sql)
        texts += names.portals.values.compactMap { $0.value.bound?.sql }
        return texts
    }

    /// Whether the result may be a write's RETURNING: the texts it comes from (the
    /// statement, the pipeline's, the portal's or statement's being read) name a write,
    /// or the session prepared one with PREPARE (its EXECUTE names none). Not the
    /// session's other prepared statements: a driver keeps its INSERTs prepared.
    func mayReturnWrites() -> Bool { notedWrites || textFacts().mayWrite }

    /// A text that ran without error: its SQL DEALLOCATE and DISCARD ALL end statements
    /// the book holds (a protocol Close of one would send a DEALLOCATE the server refuses
    /// with 26000, where its own Close of a name it no longer has is no error).
    func followEndedNames(_ sql: String) {
        guard Self.mentions(sql, Self.endingWords, wholeWords: true), let all = try? Lineage.trace(sql) else { return }
        for t in all {
            switch t.lineage {
            case .deallocate(let name?): names.closeStatement(name)
            case .deallocate(nil): names.closeAllStatements()
            case .discardAll: names.closeAllStatements(); names.closeAllPortals()
            default: break
            }
        }
    }

    /// Whether the result may be a FETCH from a cursor declared WITH HOLD (the session
    /// declared one, and the texts the result comes from say FETCH). The views such a
    /// cursor read were locked against replacement only while its transaction lasted:
    /// their columns are not named from today's definitions (masked whole).
    func fetchingHeld() -> Bool { notedHeldCursors && textFacts().mayFetch }

    /// True when a column of the result has no table: an expression hoop-mask traces.
    static func hasExpression(_ res: OpaquePointer) -> Bool {
        (0..<PQnfields(res)).contains { PQftable(res, $0) == 0 }
    }

    /// The `views` and `unseen` (or `views_unknown`) of a result hoop-mask traces through
    /// the session's texts (columnsFrame, copyOut say which).
    func viewsOfStatement() async -> [String: JSON] {
        let writes = mayReturnWrites()
        guard let names = relationNamesInPlay(), let catalog,
              case (let views, var unseen)? = await catalog.views(named: names.relations, writes: writes) else {
            return ["views_unknown": .bool(true)]
        }
        // A CTE's name is no relation's (a recursive CTE's self-reference is traced by
        // its name). Residual: a relation made in the open transaction under a name a CTE
        // of the same texts also has.
        unseen.removeAll { names.ctes.contains($0) }
        var out: [String: JSON] = [:]
        if !unseen.isEmpty { out["unseen"] = .array(unseen.sorted().map(JSON.string)) }
        if !views.isEmpty {
            out["views"] = .array(views.map { v in
                var o: [String: JSON] = [
                    "schema_name": .string(v.schema), "table_name": .string(v.table),
                    "columns": .array(v.columns.sorted { $0.key < $1.key }.map { .object(["column": .int(Int64($0.key)), "column_name": .string($0.value)]) }),
                ]
                if let sql = v.tracedSQL { o["view_sql"] = .string(sql) }
                var reads = v.underViews.isEmpty ? [] : Self.viewReads(v).array ?? []
                // A write's RETURNING through an INSTEAD rule or trigger: anything.
                if writes, v.writesRewritten { reads.append(.object(["untraced": .bool(true)])) }
                if !reads.isEmpty { o["view_reads"] = .array(reads) }
                if v.temporary { o["temporary"] = .bool(true) }
                return .object(o)
            })
        }
        return out
    }

    /// The table columns under a view's inner views, for hoop-mask; a read without a
    /// table (a function of the database's own) is untraced.
    static func viewReads(_ source: Catalog.Source) -> JSON {
        .array(source.underViews.map { r in
            .object(r.table.map { ["table_name": .string($0), "column_name": .string(r.column)] } ?? ["untraced": .bool(true)])
        })
    }
}

/// Relation names by SQL text, shared by the sessions: each text is parsed once.
final class RelationNames: @unchecked Sendable {
    static let shared = RelationNames()
    private let lock = NSLock()
    private var names: [String: (relations: Set<String>, ctes: Set<String>)?] = [:]
    static let maxTexts = 4096

    func of(_ sql: String) -> (relations: Set<String>, ctes: Set<String>)? {
        lock.lock()
        if let known = names[sql] { lock.unlock(); return known }
        lock.unlock()
        let found = SQLParser.relationNames(sql)
        lock.lock()
        if names.count >= Self.maxTexts { names.removeAll() }
        names[sql] = .some(found)
        lock.unlock()
        return found
    }
}
