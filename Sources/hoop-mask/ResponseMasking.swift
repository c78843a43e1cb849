import Foundation
import HoopFrames
import HoopMasking
import HoopSQL

/// How one result column is masked: by the rule of the table column it is (its
/// catalog origin), by the rule of the table columns it was derived from (lineage),
/// or by content detection alone.
struct ColumnPlan {
    var table: String?
    var column: String?
    var typeOID: UInt32
    /// For a value that is not a plain table column: the rule of what it was built from.
    var derived: ColumnRule?
    /// A view's column: the table columns under it (from the view's definition).
    var underView: Set<SourceColumn>? = nil
    /// The result column's name, for the per-column counts of the `masked` frame.
    var name: String? = nil
    /// Its number in its table (the RowDescription's column attribute number).
    var number: Int = 0
    /// The lineage proves it reads no person's data: built only from constants,
    /// PostgreSQL's own functions (`now()`, `current_date`) and columns the policy keeps.
    /// Its dates stay readable; every other detector still runs.
    var readsNothing = false
}

extension ColumnPlan {
    /// A field of a `columns` frame, or of a `copy_out_response` (which names its
    /// table's columns the same way, without a result name of its own).
    init(field f: JSON) {
        self.init(table: f["table_name"]?.string, column: f["column_name"]?.string,
                  typeOID: UInt32(truncatingIfNeeded: f["type_oid"]?.int ?? 0), derived: nil,
                  name: f["name"]?.string ?? f["column_name"]?.string, number: Int(f["column"]?.int ?? 0))
        if f["unread"]?.bool == true {
            // hoop-connect could not read its table's names, or withheld them: untraced.
            underView = [.untraced]
            table = nil; column = nil
        } else if f["temporary"]?.bool == true, f["view_sql"] == nil {
            // A temporary table holds what the session wrote into it, whatever its names.
            underView = [.temporary(table ?? "*")]
            table = nil; column = nil
        }
    }
}

extension SourceColumn {
    /// What the session wrote into its temporary relation `name` ("*": any of them),
    /// resolved by ResponseMasking.rule: temporary relations are the session's own.
    static func temporary(_ name: String) -> SourceColumn { SourceColumn("?", "temporary:" + name.lowercased()) }
    var temporaryRelation: String? { table == "?" && column.hasPrefix("temporary:") ? String(column.dropFirst(10)) : nil }
    /// What the session wrote into the relation `name`, by that name (a permanent one).
    static func writtenInto(_ name: String) -> SourceColumn { SourceColumn("?", "into:" + name.lowercased()) }
    var writtenRelation: String? { table == "?" && column.hasPrefix("into:") ? String(column.dropFirst(5)) : nil }
}

/// What a frame's masking found: counts by entity (or rule label), overall and by
/// result column. Never values.
struct MaskCounts {
    var total: [String: Int] = [:]
    var byColumn: [String: [String: Int]] = [:]
    mutating func add(_ counts: [String: Int], column: String? = nil) {
        guard !counts.isEmpty else { return }
        total.merge(counts, uniquingKeysWith: +)
        if let column { byColumn[column, default: [:]].merge(counts, uniquingKeysWith: +) }
    }
}

/// The frames that flow back, masked (docs/masking.md): rows by column rules, by
/// lineage and by content, error and notice texts, COPY data field by field. A frame
/// it cannot read is never passed on.
///
/// It reads the requests too (hoop-connect forwards each one ahead of its results):
/// their SQL says which table columns each result column carries, whatever the query
/// did to them (`first_name || ' ' || last_name`, `date_of_birth::text`, `row_to_json(p)`).
final class ResponseMasking {
    let maskers: [String: Masker]
    let fallback: Masker
    private var sessions: [String: SessionState] = [:]
    /// Streamed AWS answers under way, by session and seq: their call, format and CSV header.
    var streams: [String: AnswerStream] = [:]
    /// AWS calls whose answer was refused (by session and seq): the rest of it is dropped.
    var refusedCalls: Set<String> = []
    private var scratch: [UInt8] = []
    private let lineageCache = ShapeCache<[Traced]?>()
    /// What this gateway's sessions wrote into state every session can read (catalog
    /// names, sequences: SourceColumn.catalog) and into notifications, for the stage's
    /// life. Settings are each session's own (SessionState.parkedSettings).
    private(set) var parkedCatalog: Set<SourceColumn> = []
    /// What code of any session read (SourceColumn.definition): code can write it into a
    /// definition every session reads.
    private(set) var parkedByAnyCode: Set<SourceColumn> = []
    /// By channel ("*": one computed at run time): what pg_notify was given.
    private(set) var notified: [String: Set<SourceColumn>] = [:]
    /// What they wrote into tables (SourceColumn.written): the rows of a relation the
    /// catalog cannot name (a temporary table of the session) may carry it.
    private(set) var written: Set<SourceColumn> = []
    /// Function and operator names the database defines outside pg_catalog with a
    /// built-in's name (hoop-connect's `session_opened`), and those defined since;
    /// "*" after code that may define any (DO, CALL, CREATE EXTENSION), until the next
    /// session's catalog facts.
    private(set) var shadowing: Set<String> = []

    init(maskers: [String: Masker], fallback: Masker) {
        self.maskers = maskers
        self.fallback = fallback
    }

    /// What a statement or portal name yields: its lineage (nil: untraced), the
    /// columns a Describe told, and the request that defined it.
    struct Named {
        var traced: Traced?
        var described: [ColumnPlan]? = nil
        var definedAt: Int64 = -1
        /// A name given again while taken: untraced until the answer says. If that
        /// request fails, the server kept what the name had before (`earlier`); if it
        /// succeeds, the earlier one had failed and the name is the new one (`later`).
        var earlier: Earlier? = nil
        var later: Earlier? = nil
        /// What its text does to the session's names when it runs (a Parse of
        /// `PREPARE x AS …`): applied at Execute, not at Parse.
        var effects: [NameEffect] = []
        static let untraced = Named(traced: nil)

        static func givenAgain(_ old: Named, _ new: Named) -> Named {
            var n = Named.untraced
            n.definedAt = new.definedAt
            n.earlier = Earlier(named: old)
            n.later = Earlier(named: new)
            return n
        }
    }

    /// A statement that makes or ends names (SQL PREPARE, DECLARE, DEALLOCATE, CLOSE,
    /// DISCARD ALL), with what a made name yields.
    enum NameEffect {
        case prepare(String, Traced)
        case declare(String, Traced)
        case deallocate(String?)
        case closeCursor(String?)
        case discardAll
    }

    final class Earlier {
        let named: Named
        init(named: Named) { self.named = named }
    }

    /// What a session's requests said about the results to come.
    final class SessionState {
        let masker: Masker
        /// Column names that hold no content for detection (hoop-connect's `session_opened`,
        /// `plain_columns`): a value computed from any other unruled column is masked
        /// whole when detection cannot read it (a number, a timestamp); "table.column" for
        /// the session's own tables (plainColumns(after:)). Nil: not known (none are), and
        /// again after the session changes relations in a way not read here.
        var plainColumns: Set<String>?
        /// Statements and portals by name (StatementBook): Parse and SQL PREPARE,
        /// Bind and SQL DECLARE. A name given twice, or one a failed request may have
        /// left as it was, is untraced (`failed`).
        var names = StatementBook<Named, Named>(mergeStatements: Named.givenAgain, mergePortals: Named.givenAgain)
        /// The Parse and Bind requests that gave a taken name again, until answered.
        var givenAgain: Set<Int64> = []
        /// Close 'S' requests, by seq, with the statement each let go: an error before
        /// one makes the server skip it, and the statement stays (`failed`).
        var closed: [Int64: (name: String, before: StatementBook<Named, Named>.Named<Named>)] = [:]
        /// An error came: requests read until the next ReadyForQuery were skipped.
        var skippingToReady = false
        /// By request seq: what its results carry, and the plan once its columns are known.
        var expected: [Int64: [Traced?]] = [:] { didSet { expectedVersion += 1 } }
        /// A request's shape and reads over all its statements, worked out once while
        /// `expected` and the book stay as they are: read again for each result of a
        /// request of ten thousand statements, they made it quadratic.
        var expectedVersion = 0
        var requestShapes: [Int64: (expected: Int, book: Int, shape: Shape?)] = [:]
        var requestReads: [Int64: (expected: Int, book: Int, reads: Set<SourceColumn>?)] = [:]
        var plans: [Int64: [ColumnPlan]] = [:]
        var describeTarget: [Int64: (portal: Bool, name: String, generation: Int)] = [:]
        var executePortal: [Int64: String] = [:]
        /// Portals of this generation or older end at a COMMIT or ROLLBACK whose Execute
        /// passed (the server drops them there): a later request that names one of them
        /// in the pipeline finds none. They leave the book when it completes.
        var portalsEndedAt = 0
        func livePortal(_ name: String) -> Named? {
            guard let b = names.portals[name], b.generation > portalsEndedAt else { return nil }
            return b.value
        }
        /// COPY table TO STDOUT: its columns, named by hoop-connect from the catalog.
        var copyPlans: [Int64: RowPlan] = [:]
        /// COPY ... WITH (HEADER) whose header line has not come yet: column names, not data.
        var copyHeader: Set<Int64> = []
        var copyBinary: [Int64: CopyBinary] = [:]
        /// By request seq and column: what the content-detected columns' values look like
        /// (NameColumnProfile: a column of names masks its undetected short values).
        var nameProfiles: [Int64: [Int: NameColumnProfile]] = [:]

        /// What its statements parked in its settings (set_config, functions of the
        /// database's own): SHOW, current_setting, pg_settings and application_name's
        /// ParameterStatus carry it (SourceColumn.setting).
        var parkedSettings: Set<SourceColumn> = []
        /// A statement this stage saw may have set a setting (set_config, code): a reported
        /// setting (ParameterStatus) may then carry what it read.
        var setSettings = false
        /// A statement this stage saw parked a ruled value in the settings.
        var settingsRuled = false
        /// What code the parser cannot see into read in this session (DO, CALL, a
        /// function of the database's own): it may have named objects after it.
        var parkedByCode: Set<SourceColumn> = []
        /// The request whose one notice went (ruled reads, code): its later ones do not.
        var noticeSentSeq: Int64?
        /// A statement of its open transaction may have renamed or redefined relations
        /// (Traced.renames): the catalog's names, read by another connection, may be
        /// older than what this session sees, until the transaction ends.
        var namesUnsure = false
        /// A statement of its open transaction may have made relations (Traced.creates),
        /// which the catalog connections cannot see until it ends.
        var madeRelations = false
        /// Views the session's statements may read, by name (lower case) and column
        /// (`*`: any), with the table columns under each (the columns frames' `views`).
        /// Kept for the session: a name once a view still takes its rules, so a result
        /// without a columns frame of its own (an Execute) cannot lose them.
        var viewSources: [String: [String: Set<SourceColumn>]] = [:]
        /// Names results of the open transaction read that no relation has in the catalog
        /// (made in the transaction, or dropped since): what they hold is not known. Kept
        /// until the transaction ends (a plan made with them may serve a later Execute).
        var unseen: Set<String> = []
        /// What its statements wrote into each relation, by name (lower case): a
        /// temporary table of the session holds what it was written.
        var writtenInto: [String: Set<SourceColumn>] = [:]
        /// It ran code the parser cannot see into, which may have written anything into
        /// its temporary tables.
        var ranCode = false

        init(masker: Masker) { self.masker = masker }

        /// Profiles the content-detected text columns with these values, while unsettled.
        func profile(_ seq: Int64, _ cols: RowPlan, _ values: [(Int, String)]) {
            var profiles = nameProfiles[seq] ?? [:]
            for (i, v) in values where contentDetected(cols[i]) && !(profiles[i]?.isSettled ?? false) {
                profiles[i, default: NameColumnProfile()].add(v, masker)
            }
            nameProfiles[seq] = profiles
        }

        func isNameColumn(_ seq: Int64, _ i: Int) -> Bool { nameProfiles[seq]?[i]?.isNameColumn ?? false }
        func profiling(_ seq: Int64, _ cols: RowPlan, _ count: Int) -> Bool {
            (0..<count).contains { contentDetected(cols[$0]) && !(nameProfiles[seq]?[$0]?.isSettled ?? false) }
        }

        /// A text column no rule masks: content detection decides its values.
        func contentDetected(_ c: ColumnPlan) -> Bool {
            c.derived == nil && (PGType.isTextLike(c.typeOID) && c.typeOID != PGType.json && c.typeOID != PGType.jsonb)
                && masker.policy.rule(table: c.table, column: c.column) == nil
        }
    }

    func opened(session: String, database: String) {
        sessions[session] = SessionState(masker: maskers[database] ?? fallback)
    }

    func state(_ session: String) -> SessionState {
        if let s = sessions[session] { return s }
        // A session whose session_open this stage did not see (restarted mid-session):
        // the strictest policy there is, every detector; what it parked in its settings
        // or through code before is not known here: untraced.
        let s = SessionState(masker: fallback)
        s.parkedSettings = [.untraced]
        s.parkedByCode = [.untraced]
        sessions[session] = s
        return s
    }

    /// Error and notice fields that can carry data (a unique-violation detail prints the
    /// duplicate key); codes, severities and source locations cannot.
    static let textFields: Set<String> = ["message", "detail", "hint", "where", "internal_query", "schema",
                                          "table", "column", "datatype", "constraint"]

    /// The request types whose SQL or names `track` reads.
    static let tracked: Set<String> = [FrameType.query, FrameType.parse, FrameType.bind, FrameType.describe, FrameType.execute, FrameType.close,
                                       FrameType.sync]

    /// The fields `track` (and `skipped`) read of a request: it is read without the rest
    /// (`scripts/bench codecs`: a query 1.45 → 1.18 µs, a Bind 2.25 → 1.57; a frame with
    /// little else, such as ready, costs as much read in part as whole).
    static let trackedFields: Set<String> = ["sql", "name", "portal", "statement", "kind"]

    /// Reads a request on its way past: what will its results carry?
    func track(_ frame: Frame) {
        guard let session = frame.session else { return }
        let s = state(session)
        let seq = frame.seq ?? -1
        if s.skippingToReady { return skipped(frame, s, seq: seq) }
        switch frame.type {
        case FrameType.query:
            let all = lineages(frame["sql"]?.string ?? "", s)
            apply(effects(all), s, seq: seq)
            s.expected[seq] = all
        case FrameType.parse:
            let all = lineages(frame["sql"]?.string ?? "", s)
            var named = Named(traced: all.count == 1 ? all[0] : nil, definedAt: seq)
            named.effects = effects(all)
            if s.names.parse(frame["name"]?.string ?? "", named) == .taken { s.givenAgain.insert(seq) }
        case FrameType.bind:
            let portal = frame["portal"]?.string ?? ""
            if s.names.portals[portal] != nil, s.livePortal(portal) == nil { s.names.closePortal(portal) }
            let definition = s.names.bind(portal, statement: frame["statement"]?.string ?? "") { st in
                var named = Named(traced: st?.traced, definedAt: seq)
                named.effects = st?.effects ?? []
                return named
            }
            if definition == .taken { s.givenAgain.insert(seq) }
        case FrameType.close:
            let name = frame["name"]?.string ?? ""
            if frame["kind"]?.string == "S" {
                if let before = s.names.statements[name] { s.closed[seq] = (name, before) }
                s.names.closeStatement(name)
            } else {
                s.names.closePortal(name)
            }
        case FrameType.sync:
            // Sync commits an implicit transaction: a WITH HOLD cursor declared in it runs
            // to its end there, and its error is Sync's.
            s.expected[seq] = [Lineage.commitOfSync]
        case FrameType.describe:
            let name = frame["name"]?.string ?? ""
            let portal = frame["kind"]?.string == "P"
            s.expected[seq] = [portal ? s.livePortal(name)?.traced : s.names[statement: name]?.traced]
            s.describeTarget[seq] = (portal, name, portal ? s.names.generation(portal: name) : s.names.generation(statement: name))
        case FrameType.execute:
            let portal = frame["portal"]?.string ?? ""
            let bound = s.livePortal(portal)
            s.expected[seq] = [bound?.traced]
            s.executePortal[seq] = portal
            if let effects = bound?.effects, !effects.isEmpty {
                apply(effects, s, seq: seq)
                s.names[portal: portal]?.effects = []
            }
            // A COMMIT or ROLLBACK ends the transaction's portals where it runs: a Bind of
            // one of their names later in the pipeline makes a new portal (the server has
            // none of that name any more), and an Execute of one is untraced. The answers
            // before it still find theirs (a Describe's columns) until it completes.
            if bound?.traced?.lineage == .endTransaction {
                s.portalsEndedAt = s.names.portals.values.map(\.generation).max() ?? s.portalsEndedAt
            }
        default:
            break
        }
    }

    /// A request read between an error and the ReadyForQuery that ends it: the server
    /// skipped it (it skips everything up to Sync after an error). Nothing it names is
    /// known to hold what the book says any more: those names are untraced.
    func skipped(_ frame: Frame, _ s: SessionState, seq: Int64) {
        s.expected[seq] = [nil]
        switch frame.type {
        case FrameType.query, FrameType.parse:
            let all = lineages(frame["sql"]?.string ?? "", s)
            untrace(effects(all), s)
            if frame.type == FrameType.parse, let name = frame["name"]?.string, s.names.statements[name] != nil {
                s.names[statement: name] = .untraced
            }
        case FrameType.bind:
            if let name = frame["portal"]?.string, s.names.portals[name] != nil { s.names[portal: name] = .untraced }
        case FrameType.close:
            let name = frame["name"]?.string ?? ""
            if frame["kind"]?.string == "S" { s.names[statement: name] = .untraced } else { s.names[portal: name] = .untraced }
        default:
            break
        }
    }

    /// The names statements make or end, in order.
    func effects(_ all: [Traced?]) -> [NameEffect] {
        all.compactMap { t -> NameEffect? in
            guard let t else { return nil }
            // What PREPARE and DECLARE make yields their body's rows.
            var body = t
            switch t.lineage {
            case .declareCursor(let name, let shape): body.lineage = .rows(shape); return .declare(name, body)
            case .prepare(let name, let shape): body.lineage = .rows(shape); return .prepare(name, body)
            case .deallocate(let name): return .deallocate(name)
            case .closeCursor(let name): return .closeCursor(name)
            case .discardAll: return .discardAll
            default: return nil
            }
        }
    }

    /// Statements that run now (a Query, an Execute) make and end names. A name made
    /// while taken is refused by the server (the old one stays) unless the old one had
    /// failed: untraced. If the request fails, `failed` untraces what it made: in a
    /// Query of several statements, those before the error ran.
    func apply(_ effects: [NameEffect], _ s: SessionState, seq: Int64) {
        for e in effects {
            switch e {
            case .declare(let name, let body):
                // WITH HOLD or not, a cursor is forgotten here when its transaction ends: a
                // FETCH from a name no longer known is untraced, masked whole.
                if s.names.declare(name, Named(traced: body, definedAt: seq), hold: false) == .taken {
                    s.names[portal: name] = Named(traced: nil, definedAt: seq)
                }
            case .prepare(let name, let body):
                if s.names.parse(name, Named(traced: body, definedAt: seq)) == .taken {
                    s.names[statement: name] = Named(traced: nil, definedAt: seq)
                }
            case .deallocate(let name):
                if let name { s.names.closeStatement(name) } else { s.names.closeAllStatements() }
            case .closeCursor(let name):
                if let name { s.names.closePortal(name) } else { s.names.closeAllPortals() }
            case .discardAll:
                s.names.closeAllStatements()
                s.names.closeAllPortals()
            }
        }
    }

    /// Statements that may or may not have run: every name they touch is untraced.
    func untrace(_ effects: [NameEffect], _ s: SessionState) {
        for e in effects {
            switch e {
            case .declare(let name, _), .closeCursor(let name?):
                if s.names.portals[name] == nil { s.names.declare(name, .untraced, hold: false) }
                s.names[portal: name] = .untraced
            case .prepare(let name, _), .deallocate(let name?):
                if s.names.statements[name] == nil { s.names.parse(name, .untraced) }
                s.names[statement: name] = .untraced
            case .deallocate(nil), .closeCursor(nil), .discardAll:
                s.names.update(statements: { $0 = .untraced }, portals: { $0 = .untraced })
            }
        }
    }

    /// A Parse or Bind `seq` succeeded: a name it gave again is the new one.
    func succeeded(session: String, seq: Int64) {
        guard let s = sessions[session], s.givenAgain.remove(seq) != nil else { return }
        let now = { (n: inout Named) in if n.definedAt == seq, let later = n.later { n = later.named } }
        s.names.update(statements: now, portals: now)
    }

    /// An error answered request `seq`: the server skipped what came after it up to
    /// the Sync, and refused it. What the names defined or closed from there on mean
    /// is unknown (a Close skipped keeps the old statement, which a later Parse of the
    /// name cannot replace), and so is what requests already read after it return.
    func failed(session: String, seq: Int64) {
        let s = state(session)
        s.skippingToReady = true
        s.givenAgain = s.givenAgain.filter { $0 < seq }
        let after = { (n: inout Named) in
            guard n.definedAt >= seq else { return }
            if n.definedAt == seq, let earlier = n.earlier { n = earlier.named } else { n = .untraced }
        }
        // A Close skipped leaves the statement as it was, whatever was parsed under its
        // name after it; one the skipped requests had defined is then untraced as above.
        for k in s.closed.keys.sorted(by: >) where k > seq {
            s.names.restore(statement: s.closed[k]!.name, s.closed[k]!.before)
        }
        s.closed = s.closed.filter { $0.key < seq }
        // A name that was free before a definition the server refused or skipped is free
        // again (a later Parse of it makes it anew, not "given again"); the unnamed ones
        // and names given again are what `after` says.
        for (name, n) in s.names.statements where !name.isEmpty && n.value.definedAt >= seq && n.value.earlier == nil {
            s.names.restore(statement: name, nil)
        }
        s.names.update(statements: after, portals: after)
        for k in s.expected.keys where k > seq { s.expected[k] = [nil] }
    }

    /// A statement completed: a COMMIT or ROLLBACK run inside a pipeline (or a Query of
    /// several statements) ends the transaction's portals there, before any ready, as the
    /// server does; a later Execute of one is then untraced.
    func completed(session: String, _ frame: RawFrame) {
        guard let s = sessions[session], !s.names.portals.isEmpty,
              Self.transactionEndTags.contains(where: { lineContains(frame.bytes, $0) }),
              let tag = (try? frame.decode())?["tag"]?.string,
              tag == "COMMIT" || tag == "ROLLBACK" || tag == "PREPARE TRANSACTION" else { return }
        // ROLLBACK TO SAVEPOINT has the tag ROLLBACK too: statements read as none that
        // ends the transaction leave the portals (one not read: ended, fail closed).
        if let seq = frame.header.seq, let all = s.expected[seq], !all.isEmpty,
           all.allSatisfy({ $0 != nil && $0?.lineage != .endTransaction }) { return }
        if let seq = frame.header.seq, s.executePortal[seq] != nil, s.expected[seq]?.contains(where: { $0?.lineage == .endTransaction }) == true {
            // An Execute's: the portals bound before it (marked as its request passed); those
            // bound after it in the pipeline are the new transaction's.
            for (name, b) in s.names.portals where b.generation <= s.portalsEndedAt && !(b.cursor && b.hold) { s.names.closePortal(name) }
        } else {
            s.names.endTransaction()
        }
    }
    static let transactionEndTags = ["\"COMMIT\"", "\"ROLLBACK\"", "\"PREPARE TRANSACTION\""]

    /// A request of the session could not be read: what it defined or replaced is
    /// unknown, so every name the session had is untraced from now on.
    func lost(session: String) {
        let s = state(session)
        s.names.update(statements: { $0 = .untraced }, portals: { $0 = .untraced })
    }

    /// The lineage of each statement of `sql`; one nil when it does not parse (the
    /// server will say why; anything it returns is then untraced).
    func lineages(_ sql: String, _ s: SessionState) -> [Traced?] {
        guard let all = analyzed(sql) else { return [nil] }
        // Once the session's settings hold a ruled value, what it computes may show them
        // (Traced.readingSettings): from the next statement on.
        let readingSettings = s.settingsRuled
        for t in all {
            // A parked value is whatever the statement computed from what it read: pieces.
            let parked = t.reads.pieces
            // An UPDATE of pg_settings sets settings (its rule calls set_config).
            let settingsTable = t.writesInto.contains { ["pg_settings", "pg_catalog.pg_settings"].contains($0.lowercased()) }
            park(settingsTable ? t.parks.union(.settings) : t.parks, parked, channels: t.channels, s)
            if t.writes { written.formUnion(parked) }
            for target in t.writesInto { s.writtenInto[target.lowercased(), default: []].formUnion(parked) }
            if t.parks.contains(.code) || t.defines == nil || t.writesUnseen { s.ranCode = true }
            // What was written from a relation the session did not write itself may have
            // come through a view of that name, now dropped or replaced: unknown since.
            if t.renames, s.writtenInto.values.contains(where: { $0.contains { $0.table != "?" && s.writtenInto[$0.table.lowercased()] == nil } }) {
                s.ranCode = true
            }
            if let names = t.defines { shadowing.formUnion(names) } else { shadowing.insert("*") }
            if t.renames { s.namesUnsure = true }
            if t.creates { s.madeRelations = true }
        }
        if all.contains(where: { $0.renames || $0.creates }) { s.plainColumns = Self.plainColumns(after: sql, s.plainColumns) }
        return readingSettings ? all.map { $0.readingSettings() } : all
    }

    /// What a statement (or a view's definition it reads) wrote into server state: the
    /// session's settings, the catalog and sequences, notifications, code's reach.
    func park(_ parks: Parks, _ parked: Set<SourceColumn>, channels: Set<String>, _ s: SessionState) {
        if !parks.isDisjoint(with: [.settings, .code]) {
            s.parkedSettings.formUnion(parked); s.setSettings = true
            if !s.settingsRuled, parks.contains(.settings), rule(parked, s) != nil { s.settingsRuled = true }
        }
        if parks.contains(.code) { s.parkedByCode.formUnion(parked); parkedByAnyCode.formUnion(parked) }
        if parks.contains(.catalog) { parkedCatalog.formUnion(parked) }
        if parks.contains(.notify) { for c in channels { notified[c, default: []].formUnion(parked) } }
    }

    /// A text's lineage (nil: it does not parse), cached by text and by shape.
    func analyzed(_ sql: String) -> [Traced]? {
        let shadowing = self.shadowing
        // The names as the cache's scope, made again only when they changed (a statement
        // a request: sorting and joining them each time showed in the profile).
        // NUL between them: no name holds one, where a comma can be in a quoted name.
        if shadowingScope?.names != shadowing { shadowingScope = (shadowing, shadowing.sorted().joined(separator: "\u{0}")) }
        return lineageCache.value(sql, scope: shadowingScope!.key) { try? Lineage.trace($0, shadowing: shadowing) }
    }
    private var shadowingScope: (names: Set<String>, key: String)?

    /// The catalog facts of a new session (hoop-connect): names that may shadow built-ins.
    func catalogFacts(_ frame: Frame) {
        guard let names = frame["shadowing"]?.array else { return }
        shadowing = Set(names.compactMap(\.string))
    }

    /// The shape of the rows a statement returns; nil when it cannot be traced.
    func shape(_ l: Traced?, _ s: SessionState) -> Shape? {
        switch l?.lineage {
        case .rows(let shape)?, .copyOut(let shape, _)?: return shape
        case .fetch(let name)?: return s.names[portal: name].map { shape($0.traced, s) } ?? nil
        case .execute(let name, let arguments)?:
            guard var shape = s.names[statement: name].map({ shape($0.traced, s) }) ?? nil else { return nil }
            shape.carryEverywhere(arguments)
            return shape
        case .noRows?, .declareCursor?, .prepare?, .deallocate?, .closeCursor?, .discardAll?, .endTransaction?: return Shape(columns: [], all: [])
        case nil: return nil
        }
    }

    /// The shape for a request's results: its one statement's, or for several
    /// statements in one query, every column may carry what any of them carries.
    func shape(seq: Int64, _ s: SessionState) -> Shape? {
        guard let all = s.expected[seq], !all.isEmpty else { return nil }
        if all.count == 1 { return shape(all[0], s) }
        if let m = s.requestShapes[seq], m.expected == s.expectedVersion, m.book == s.names.version { return m.shape }
        var union: Set<SourceColumn>? = []
        for l in all {
            guard let sh = shape(l, s) else { union = nil; break }
            union?.formUnion(sh.all)
        }
        let shape = union.map { Shape(columns: nil, all: $0) }
        s.requestShapes[seq] = (s.expectedVersion, s.names.version, shape)
        return shape
    }

    /// Everything a request's statements read anywhere, and what their rows carry;
    /// nil when one of them is not traced here.
    func reads(seq: Int64, _ s: SessionState) -> Set<SourceColumn>? {
        if let m = s.requestReads[seq], m.expected == s.expectedVersion, m.book == s.names.version { return m.reads }
        let reads = readsOfRequest(seq, s)
        s.requestReads[seq] = (s.expectedVersion, s.names.version, reads)
        return reads
    }

    private func readsOfRequest(_ seq: Int64, _ s: SessionState) -> Set<SourceColumn>? {
        guard let all = s.expected[seq], !all.isEmpty else { return nil }
        var out: Set<SourceColumn> = []
        for t in all {
            guard let t, let shape = shape(t, s), let stored = storedReads(t, s) else { return nil }
            out.formUnion(t.reads)
            out.formUnion(shape.all)
            out.formUnion(stored)
            // A write's error may print any column of the rows it writes (a CHECK or a
            // generated column computed over them, a trigger's cast of one).
            out.formUnion(t.writesInto.map { SourceColumn($0, "*") })
        }
        return out
    }

    /// What the stored queries a statement runs read anywhere (Traced.runsStored: a
    /// cursor's for FETCH and MOVE, a prepared statement's for EXECUTE, every cursor's
    /// for COMMIT); nil when one of them is not known here.
    func storedReads(_ t: Traced, _ s: SessionState, depth: Int = 0) -> Set<SourceColumn>? {
        var out: Set<SourceColumn> = []
        for query in t.runsStored {
            let named: [Named?]
            switch query {
            case .cursor(let name): named = [s.names.portals[name]?.value]
            case .prepared(let name): named = [s.names[statement: name]]
            case .heldCursors: named = s.names.portals.values.filter(\.cursor).map(\.value)
            }
            for n in named {
                guard depth < 8, let stored = n?.traced, let shape = shape(stored, s),
                      let deeper = storedReads(stored, s, depth: depth + 1) else { return nil }
                out.formUnion(stored.reads)
                out.formUnion(shape.all)
                out.formUnion(deeper)
            }
        }
        return out
    }

    /// Content detection reads a column no rule covers only as the column holds it: its
    /// text. A value of a type detection does not read as text (a number, a timestamp,
    /// bytea, an array of points) computed from such a column or cast from it whole
    /// (`substring(note ...)::int`, the codes of its letters, `note::bytea`, a date's text
    /// plus a time of day), or one that went through such a form or an encoding on its
    /// way back to text (`::int::text`, `reverse`, `translate`, base64: Lineage.encoded), has
    /// nothing left for detection to judge: it is masked whole, as a piece of a ruled
    /// column is. So is a table column a condition relates to such a piece, when the
    /// encoding reaches it (not yet through a join's condition: docs/masking.md, still
    /// open). Columns that hold no content
    /// (`plain_columns`: numbers, booleans, timestamps, intervals) and the session's own
    /// state are not such columns (`count(e.id)`, `e.id * 2`); pieces that stay text
    /// (`upper(note)`, `json_agg(e)`) are read by detection as before.
    func contentDerived(_ c: SourceColumn, _ s: SessionState) -> Bool {
        guard c.table != "?", !Self.systemRelation(c.table), rule([c], s) == nil else { return false }
        // A JSON member's value (table "*") is text, whatever its name. A table's whole row
        // (`t.*`) is not counted: an INSERT's target under RETURNING is one (its `id`).
        guard c.column != "*" else { return c.table == "*" }
        guard c.table != "*", let plain = s.plainColumns else { return true }
        let column = c.column.lowercased()
        return !(plain.contains(column) || plain.contains(c.table.lowercased() + "." + column))
    }

    /// The server's own catalogs (what drivers introspect: pg_type, information_schema):
    /// names and numbers of objects, not a person's text; what sessions parked there is
    /// `SourceColumn.catalog`'s to carry.
    static func systemRelation(_ table: String) -> Bool {
        let t = table.lowercased()
        return t.hasPrefix("pg_catalog.") || t.hasPrefix("information_schema.") || systemCatalogs.contains(t)
    }
    /// pg_catalog's relations drivers read by bare name (pg_catalog comes first in every
    /// search_path unless named later); a user's `pg_notes` is no catalog.
    static let systemCatalogs: Set<String> = [
        "pg_type", "pg_namespace", "pg_class", "pg_attribute", "pg_proc", "pg_range", "pg_enum", "pg_index", "pg_constraint",
        "pg_attrdef", "pg_description", "pg_inherits", "pg_depend", "pg_database", "pg_roles", "pg_settings", "pg_collation",
        "pg_am", "pg_opclass", "pg_operator", "pg_cast", "pg_extension", "pg_tablespace", "pg_sequence", "pg_sequences",
        "pg_views", "pg_tables", "pg_indexes", "pg_matviews", "pg_stat_activity", "pg_locks", "pg_trigger", "pg_rewrite",
        "pg_policy", "pg_user", "pg_language", "pg_event_trigger", "pg_foreign_table", "pg_partitioned_table",
        "pg_statistic_ext", "pg_publication", "pg_subscription", "pg_auth_members", "pg_shdescription", "pg_aggregate",
        "pg_largeobject_metadata", "pg_stat_user_tables", "pg_timezone_names", "pg_timezone_abbrevs", "pg_prepared_statements",
        "pg_cursors", "pg_available_extensions", "pg_conversion", "pg_opfamily", "pg_amop", "pg_amproc", "pg_ts_config",
    ]

    func hiddenFromDetection(_ sources: Set<SourceColumn>, typeOID: UInt32, _ s: SessionState) -> ColumnRule? {
        // A stored column passed whole (`max(d)`) keeps its own type: detection reads it.
        // A view's column stands for what is under it (a view's `id` may be a note's).
        let sources = sources.union(throughViews(sources, s))
        let encoded = sources.contains(.encoded), readable = Self.readsAsText(typeOID)
        return sources.contains { contentDerived($0, s) && (encoded || !readable && !$0.whole) } ? Self.untraced : nil
    }

    /// The plain columns after a text that makes or changes relations: a typed CREATE TABLE
    /// adds its own columns of plain types as "table.column" and takes away the names it
    /// gives another type (`id text`); CREATE TABLE AS, SELECT INTO, ALTER, a rename or code
    /// leave them unknown until the session's next start.
    static func plainColumns(after sql: String, _ plain: Set<String>?) -> Set<String>? {
        guard var plain, let statements = try? SQLParser.statements(sql) else { return nil }
        for st in statements {
            guard let create = st["CreateStmt"] ?? st["CreateForeignTableStmt"]?["base"] else {
                // What may give a table's column a name or a type unseen here; anything else
                // (a cursor, a function, an index, a view: views' columns are never plain) keeps them.
                let unseen = ["CreateTableAsStmt", "AlterTableStmt", "RenameStmt", "DoStmt", "CallStmt", "CreateExtensionStmt",
                              "AlterExtensionStmt", "ImportForeignSchemaStmt", "ExecuteStmt", "CreateSchemaStmt"]
                if unseen.contains(where: { st[$0] != nil }) || st["SelectStmt"]?["intoClause"] != nil { return nil }
                continue
            }
            // A name is plain when it is in every table (hoop-connect's reading): the new
            // table's plain columns count by "table.column" only (a scratch table's `note int`
            // makes no other table's note plain); another type takes the bare name away.
            let table = create["relation"]?["relname"]?.string?.lowercased() ?? ""
            for e in create["tableElts"]?.array ?? [] {
                guard let def = e["ColumnDef"], let name = def["colname"]?.string?.lowercased() else {
                    if e["ColumnDef"] != nil { return nil }
                    continue   // a constraint
                }
                let type = (def["typeName"]?["names"]?.array ?? []).compactMap { $0["String"]?["sval"]?.string?.lowercased() }
                let isPlain = type.count == 2 && type[0] == "pg_catalog" && plainTypeNames.contains(type[1])
                    || type.count == 1 && serialTypeNames.contains(type[0])
                if isPlain { plain.insert(table + "." + name) } else { plain.remove(name); plain.remove(table + "." + name) }
            }
            if create["inhRelations"]?.array?.isEmpty == false || create["ofTypename"] != nil { return nil }
        }
        return plain
    }

    /// Type names (as the parser writes them, in pg_catalog) of the values `plain_columns`
    /// holds, and the serial pseudo-types (the parser leaves them unqualified).
    static let plainTypeNames: Set<String> = ["int2", "int4", "int8", "float4", "float8", "numeric", "money", "oid", "bool",
                                              "timestamp", "timestamptz", "time", "timetz", "interval"]
    static let serialTypeNames: Set<String> = ["serial", "bigserial", "smallserial", "serial4", "serial8", "serial2"]

    /// Types whose values content detection reads as the text they are: text, varchar,
    /// char, name, json, jsonb, xml, an unknown literal, and arrays of them. (Not every
    /// array type: `point[]`, `xid[]` hold numbers.)
    static func readsAsText(_ oid: UInt32) -> Bool {
        switch oid {
        case PGType.text, PGType.varchar, PGType.bpchar, PGType.name, PGType.unknown, PGType.json, PGType.jsonb, PGType.xml, 0,
             1009, 1015, 1014, 1003, 199, 3807, 143:
            return true
        default:
            return false
        }
    }

    /// What a value masking cannot trace is masked as one computed from pieces: it may be
    /// anything's answer (a function of the database's own, a temporary table's column).
    static let untraced: ColumnRule = {
        var rule = ColumnRule(table: "*", column: "*", strategy: .redact, entity: nil)
        rule.pieces = true
        return rule
    }()

    private var views: [String: Shape?] = [:]

    /// The table columns under column `number` (1-based) of a view, from its definition;
    /// nil when the definition cannot be traced.
    func viewColumn(_ sql: String, _ number: Int) -> Set<SourceColumn>? {
        if views[sql] == nil {
            if views.count > 1024 { views.removeAll() }
            let all = try? Lineage.analyze(sql)
            if case .rows(let shape)? = all?.first, all?.count == 1 { views[sql] = .some(shape) } else { views[sql] = .some(nil) }
        }
        guard let shape = views[sql] ?? nil else { return nil }
        if let values = shape.values, number >= 1, number <= values.count { return values[number - 1] }
        return shape.all
    }

    /// A view's columns in the columns frame's `views`, as the table columns under them:
    /// its definition traced (viewColumn), and the columns under the views it reads.
    /// A temporary table's columns hold what the session wrote, and so may a temporary
    /// view's. `unseen` counts until the transaction ends: a relation made in it is a
    /// plain table once it commits.
    func learnViews(_ frame: Frame, _ s: SessionState) {
        s.unseen.formUnion((frame["unseen"]?.array ?? []).compactMap { $0.string?.lowercased() })
        let views = frame["views"]?.array ?? []
        guard !views.isEmpty else { return }
        if s.viewSources.count > 1024 { s.viewSources.removeAll() }
        for v in views {
            guard let name = v["table_name"]?.string else { continue }
            var reads = Set((v["view_reads"]?.array ?? []).map { r -> SourceColumn in
                guard let t = r["table_name"]?.string, let c = r["column_name"]?.string else { return .untraced }
                return SourceColumn(t, c, whole: false)
            })
            // A temporary table holds what the session wrote into it; a temporary view may
            // read any of them.
            if v["temporary"]?.bool == true { reads.insert(.temporary(v["view_sql"] == nil ? name : "*")) }
            var columns = s.viewSources[name.lowercased()] ?? [:]
            for c in v["columns"]?.array ?? [] {
                guard let number = c["column"]?.int, let column = c["column_name"]?.string else { continue }
                // A view's definition, traced (one that cannot be: untraced); a temporary table has none.
                var under = reads
                if let sql = v["view_sql"] { under.formUnion(sql.string.flatMap { viewColumn($0, Int(number)) } ?? [.untraced]) }
                columns[column.lowercased(), default: []].formUnion(under)
                columns["*", default: []].formUnion(under)
            }
            s.viewSources[name.lowercased()] = columns
            resolveParked(view: name.lowercased(), columns)
            // A view whose definition calls set_config, setval or pg_notify parks what it
            // read whenever it is read (`select count(*) from v` names no parking function).
            for t in v["view_sql"]?.string.flatMap(analyzed) ?? [] {
                let parks = t.parks.intersection([.settings, .catalog, .notify])
                if !parks.isEmpty { park(parks, t.reads.pieces, channels: t.channels, s) }
            }
        }
    }

    /// What a session parked from a view's columns is what the columns under it hold:
    /// another session that reads it back has not learnt the view (a sequence set from
    /// a view of patients' SSNs, read by a session that never read the view).
    func resolveParked(view: String, _ columns: [String: Set<SourceColumn>]) {
        func resolved(_ set: Set<SourceColumn>) -> Set<SourceColumn> {
            var out = set
            for c in set where c.table.lowercased() == view {
                let under = c.column == "*" ? columns.values.reduce(into: Set<SourceColumn>()) { $0.formUnion($1) }
                                            : columns[c.column.lowercased()] ?? columns["*"] ?? [.untraced]
                out.formUnion(c.whole ? under : under.pieces)
            }
            return out
        }
        guard (parkedCatalog.union(parkedByAnyCode).union(written).union(notified.values.flatMap { $0 }))
                .contains(where: { $0.table.lowercased() == view }) else { return }
        parkedCatalog = resolved(parkedCatalog)
        parkedByAnyCode = resolved(parkedByAnyCode)
        written = resolved(written)
        notified = notified.mapValues(resolved)
    }

    /// A column of a relation the session wrote into from other columns: its own rules
    /// and what was written there (a table made in the open transaction under a name
    /// another relation has, or one filled from ruled columns).
    func writtenBySession(_ p: ColumnPlan, _ s: SessionState) -> ColumnPlan {
        guard let t = p.table, let w = s.writtenInto[t.lowercased()], !w.isEmpty else { return p }
        var p = p
        p.underView = (p.underView ?? []).union([SourceColumn(t, p.column ?? "*"), .writtenInto(t)])
        p.table = nil; p.column = nil
        return p
    }

    /// Sources that name a view's column, with the table columns under it: the statement
    /// reads the view by name, and the rules are the tables'.
    func throughViews(_ sources: Set<SourceColumn>, _ s: SessionState) -> Set<SourceColumn> {
        guard !s.viewSources.isEmpty || !s.unseen.isEmpty || !s.writtenInto.isEmpty else { return sources }
        var out = sources
        for source in sources where source.table != "?" {
            if s.unseen.contains(source.table.lowercased()) {
                // No relation has the name now: one the session wrote into (made in its open
                // transaction, or dropped since) holds what it wrote; any other, anything.
                out.insert(s.writtenInto[source.table.lowercased()] != nil ? .temporary(source.table) : .untraced)
                continue
            }
            // A relation the session wrote into holds what it wrote there, too.
            if let w = s.writtenInto[source.table.lowercased()], !w.isEmpty { out.insert(.writtenInto(source.table)) }
            guard let view = s.viewSources[source.table.lowercased()] else { continue }
            for under in view[source.column == "*" ? "*" : source.column.lowercased()] ?? [] {
                out.insert(source.whole ? under : under.piece)
            }
        }
        return out
    }

    func rule(_ sources: Set<SourceColumn>, _ s: SessionState) -> ColumnRule? {
        // Server state, views and temporary tables stand for what is under them, which
        // may again be any of these (a temporary table filled from a view, or from another
        // temporary table): resolved until nothing changes. `encoded` is no source
        // (hiddenFromDetection reads it).
        var sources = sources
        sources.remove(.encoded)
        var expanded: Set<SourceColumn> = []   // markers already replaced: once is enough
        func expand(_ marker: SourceColumn, _ under: () -> Set<SourceColumn>) {
            guard sources.remove(marker) != nil, expanded.insert(marker).inserted else { return }
            // What was parked may hold the marker itself (a setting set from a setting).
            sources.formUnion(under().subtracting(expanded))
        }
        for _ in 0..<8 {
            let before = sources
            sources = throughViews(sources, s)
            for marker in sources where marker.table == "?" {
                if marker.temporaryRelation != nil {
                    // A temporary relation holds what the session wrote (into any relation:
                    // rows written through a view, into a child or a partition, or before a
                    // rename land elsewhere than the name written); after code it cannot
                    // see, anything.
                    expand(marker) { s.writtenInto.values.reduce(into: s.ranCode ? [.untraced] : []) { $0.formUnion($1) } }
                } else if let name = marker.writtenRelation {
                    expand(marker) { s.writtenInto[name] ?? [] }
                } else if marker == .setting {
                    // Server state takes the rules of what was parked there: the session's
                    // own settings, the catalog and sequences any session may read, what it wrote.
                    expand(marker) { s.parkedSettings }
                } else if marker == .catalog {
                    expand(marker) { parkedCatalog.union(s.parkedByCode) }
                } else if marker == .definition {
                    expand(marker) { parkedCatalog.union(parkedByAnyCode) }
                } else if marker == .written {
                    expand(marker) { written.union(parkedCatalog) }
                }
            }
            if sources == before { break }
        }
        // Not resolved in as many rounds: unknown.
        if sources.contains(where: { $0.temporaryRelation != nil || $0.writtenRelation != nil || $0 == .setting || $0 == .catalog || $0 == .definition || $0 == .written }) {
            return Self.untraced
        }
        if sources.contains(.untraced) { return Self.untraced }
        // A value the query computed may hold what the query put in it (a UNION's constant
        // rows, a CASE's or COALESCE's constant): hashed with the column's key, a guessed
        // name would get the token of the patient's (a codebook). Only a table's own column
        // is hashed; a value derived from one is redacted.
        return s.masker.policy.rule(derivedFrom: sources.map { (table: $0.table, column: $0.column, whole: $0.whole) }).map(Self.neverHashed)
    }

    /// A derived value's rule: `hash` becomes `redact`. Only a table's own column is hashed.
    static func neverHashed(_ rule: ColumnRule) -> ColumnRule {
        var rule = rule
        if case .hash = rule.strategy { rule.strategy = .redact }
        return rule
    }

    /// Lays the statement's traced columns over the result's columns. A column with a
    /// catalog origin is a plain table column (its own rule applies); the others take
    /// the rule of what they were built from. When the two cannot be laid side by side,
    /// every column without an origin may carry anything the statement reads.
    func plan(fields: [ColumnPlan], shape: Shape?, _ s: SessionState) -> [ColumnPlan] {
        let masker = s.masker
        var fields = fields
        for i in fields.indices {
            // A view's column with no rule of its own: the rules of the columns under it.
            guard let under = fields[i].underView, masker.policy.rule(table: fields[i].table, column: fields[i].column) == nil
            else { continue }
            fields[i].derived = rule(under, s) ?? hiddenFromDetection(under, typeOID: fields[i].typeOID, s)
        }
        guard let shape else {
            // Untraced (SQL that did not parse here, CALL, a FETCH from a cursor this stage
            // does not know): nothing passes in clear. A view's columns neither: such a
            // cursor may have outlived its transaction (WITH HOLD, declared by code), and
            // the view, read now, may no longer have the definition its rows were made by.
            return fields.map { var f = $0; if f.table == nil || f.underView != nil { f.derived = Self.untraced }; return f }
        }
        var out = fields
        if let columns = shape.columns, let laid = lay(columns, over: fields, shape) {
            for (i, sources) in laid.enumerated() {
                if let table = out[i].table {
                    // A table column that a condition relates to other values carries them
                    // (`join generate_series(...) g on g = ascii(ssn)`): the rule of both.
                    let own = SourceColumn(table, out[i].column ?? "*")
                    // Only what a rule covers: a condition, an order or an outer join over
                    // columns no rule masks leaves the column's own rule (a token stays one).
                    // A piece of a column only detection guards counts too (hiddenFromDetection).
                    let extra = sources.filter {
                        ($0.table.lowercased() != own.table.lowercased() || $0.column.lowercased() != own.column.lowercased() || !$0.whole)
                            && (rule([$0], s) != nil || $0 == .encoded || !$0.whole && sources.contains(.encoded) && contentDerived($0, s))
                    }
                    if extra.contains(where: { $0 != .encoded }) {
                        // A stored text column stays detection's to read (a WHERE over a JSON
                        // member's number does not hide the document); a number it picked is masked.
                        out[i].derived = rule(extra.union([own]), s)
                            ?? (Self.readsAsText(out[i].typeOID) ? nil : hiddenFromDetection(extra, typeOID: out[i].typeOID, s))
                    }
                    continue
                }
                let sources = sources.union(out[i].underView ?? [])
                out[i].derived = rule(sources, s) ?? hiddenFromDetection(sources, typeOID: out[i].typeOID, s)
                // What the session parked or wrote counts only when a rule covers it.
                let state = sources.filter { $0.table == "?" && $0 != .untraced }
                out[i].readsNothing = (state.isEmpty || rule(state, s) == nil) && sources.allSatisfy {
                    state.contains($0) || ($0 != .untraced && masker.policy.rule(table: $0.table, column: $0.column)?.keeps == true)
                }
            }
            return out
        }
        let any = rule(shape.all, s)
        for i in out.indices {
            guard let table = out[i].table else {
                out[i].derived = out[i].underView.map { rule(shape.all.union($0), s) } ?? any
                    ?? hiddenFromDetection(shape.all, typeOID: out[i].typeOID, s)
                continue
            }
            let carried = shape.carried(table, out[i].column ?? "*")
            if !carried.isEmpty {
                out[i].derived = rule(carried.union([SourceColumn(table, out[i].column ?? "*")]), s)
                    ?? hiddenFromDetection(carried.filter { !$0.whole }, typeOID: out[i].typeOID, s)
            }
        }
        return out
    }

    /// Each result column's sources, or nil when the counts do not line up. A table's
    /// `*` covers the run of result columns whose origin is that table.
    func lay(_ columns: [OutputColumn], over fields: [ColumnPlan], _ shape: Shape? = nil) -> [Set<SourceColumn>]? {
        var out: [Set<SourceColumn>] = []
        var i = 0
        for c in columns {
            switch c {
            case .value(let s):
                guard i < fields.count else { return nil }
                out.append(s); i += 1
            case .tableStar(let t):
                // The table's columns in order: a run of its fields with rising numbers
                // (`p.*, p.id` ends the run at p.id).
                var last = 0
                while i < fields.count, fields[i].table?.lowercased() == t.lowercased(), fields[i].number > last {
                    last = fields[i].number
                    let c = fields[i].column ?? "*"
                    out.append(Set([SourceColumn(t, c)]).union(shape?.carried(t, c) ?? [])); i += 1
                }
            }
        }
        return i == fields.count ? out : nil
    }

    enum Outcome {
        case pass                       // nothing in it to mask: stamp it as it is
        case replace([Frame])           // masked frames (a summary first when something was masked)
    }

    func handle(_ frame: Frame) throws -> Outcome {
        guard let session = frame.session else { return .pass }
        let s = state(session)
        let masker = s.masker
        let seq = frame.seq ?? -1
        switch frame.type {
        case FrameType.columns:
            learnViews(frame, s)
            let viewsUnknown = frame["views_unknown"]?.bool == true
            let fields = (frame["fields"]?.array ?? []).map { f -> ColumnPlan in
                var p = ColumnPlan(field: f)
                if s.namesUnsure, p.table != nil || f["view_sql"] != nil {
                    // Names the session's own open transaction may have changed: masked whole.
                    p.table = nil; p.column = nil; p.underView = [.untraced]
                } else if f["sequence"]?.bool == true {
                    // A sequence's values are server state: setval may have parked a value there.
                    p.underView = [.catalog]
                } else if p.table == nil, p.underView == nil, (f["table_oid"]?.int ?? 0) != 0 {
                    // A table the catalog could not name. Made in the session's open
                    // transaction, it holds what the session wrote; otherwise (dropped since
                    // the result, a catalog that could not be read) nothing says what it
                    // holds: masked whole.
                    p.underView = s.madeRelations ? [.written] : [.untraced]
                } else if let view = f["view_sql"]?.string {
                    p.underView = viewColumn(view, p.number) ?? [.untraced]
                    // A temporary view may read temporary tables (a view over one is temporary).
                    if f["temporary"]?.bool == true { p.underView?.insert(.temporary("*")) }
                    // A view over views: its definition names views, whose columns carry
                    // what the table columns under them hold (which of them, unknown).
                    for read in f["view_reads"]?.array ?? [] {
                        guard let t = read["table_name"]?.string, let c = read["column_name"]?.string else { p.underView = [.untraced]; break }
                        p.underView?.insert(SourceColumn(t, c, whole: false))
                    }
                } else if p.column == nil {
                    // A whole row (`select p from patients p`) names its table but no column:
                    // it is no table column, and takes the rules of everything in the row.
                    p.table = nil
                }
                // An expression whose statement's views could not be read: it may carry
                // what any view holds.
                if viewsUnknown, p.table == nil { p.underView = (p.underView ?? []).union([.untraced]) }
                return writtenBySession(p, s)
            }
            let p = plan(fields: fields, shape: shape(seq: seq, s), s)
            s.plans[seq] = p
            if let (portal, name, gen) = s.describeTarget[seq] {
                if portal, gen == s.names.generation(portal: name) { s.names[portal: name]?.described = p }
                if !portal, gen == s.names.generation(statement: name) { s.names[statement: name]?.described = p }
            }
            return .pass
        case FrameType.error, FrameType.notice:
            if frame.type == FrameType.error { failed(session: session, seq: seq) }
            var out = frame
            var counts: [String: Int] = [:]
            // RAISE and ASSERT in PL/pgSQL (a DO block, a function) write whatever the code
            // put in them, in every field (the object names, the SQLSTATE too): redacted
            // whole, as an untraced value would be.
            let raised = ["at RAISE", "at ASSERT"].contains { frame["where"]?.string?.contains($0) == true }
            // An error or notice of a statement that reads ruled columns anywhere (its
            // select list, WHERE, JOIN, ORDER BY, a function's argument, what EXPLAIN
            // ANALYZE runs) may print their values in any form, quoted or not ("Token
            // "…" is invalid", "index 4821 out of valid range", "JSON data, line 1: …"):
            // the data-bearing parts of every text go (ErrorValues.redactData), the
            // context lines whole; the SQLSTATE and the message's words stay.
            // For a request not traced here, see below.
            // The server names the source line of every error it raises; the gateway's own
            // errors ("hoop: ...") name none and quote no data.
            let code = frame["code"]?.string ?? ""
            let fromServer = frame["routine"] != nil || frame["file"] != nil
            // The views and child tables the statement names, as hoop-connect read them for
            // this error: what the statement read through them is read (when they could
            // not be read: anything). For this stage only. Not its `unseen` names: a name
            // no relation has is most often why it failed ("relation ... does not exist").
            var views = frame
            views["unseen"] = nil
            learnViews(views, s)
            let viewsUnknown = frame["views_unknown"]?.bool == true
            for key in ["views", "unseen", "views_unknown"] { out[key] = nil }
            // A request that ran what is not traced here (a FETCH from a cursor code
            // declared, a statement that did not parse here) may have computed anything:
            // every server error's data goes, but for the errors that only name what the
            // client wrote (ErrorValues.namesOnly). One that ran nothing (Parse, Bind,
            // Close) can only quote its own text, or a value it was given to convert.
            let ran = s.expected[seq] != nil
            let readsRuled = fromServer && (reads(seq: seq, s).map { viewsUnknown || rule($0, s) != nil }
                                            ?? (ran ? !ErrorValues.namesOnly(code) : code.hasPrefix("22") || code.hasPrefix("23")))
            // An error in a query text made at run time (dynamic SQL: query_to_xml, EXECUTE
            // in code; the server then quotes it as internal_query) names whatever the text
            // was made of, unquoted ("function <value>() does not exist"): with ruled
            // reads, its texts go whole, and so does the place in it (a number the text's
            // length chose).
            let builtText = readsRuled && frame["internal_query"] != nil
            if builtText || raised, frame["internal_position"] != nil {
                out["internal_position"] = nil
                counts["ERROR_VALUE", default: 0] += 1
            }
            if raised, readsRuled, frame["where"]?.string?.contains("at RAISE") == true {
                // RAISE's SQLSTATE is the code's to choose: it may spell a value five
                // characters at a time (ASSERT's is always P0004).
                // RAISE's own defaults (P0001 for an exception, 01000 for a warning, 00000
                // below) carry nothing and stay.
                let severity = frame["severity_nonlocalized"]?.string ?? frame["severity"]?.string ?? ""
                if !["P0001", "01000", "00000"].contains(code) {
                    out["code"] = .string(frame.type == FrameType.error ? "P0001" : severity == "WARNING" ? "01000" : "00000")
                }
                if out["code"] != frame["code"] { counts["RAISE_TEXT", default: 0] += 1 }
            }
            // Code ran if the notice has a call stack (a function's, a trigger's, in any
            // language the server writes its messages in).
            let ranCode = !(frame["where"]?.string ?? "").isEmpty
            if frame.type == FrameType.notice, readsRuled || ranCode {
                // How many notices a request gets, of which severity, from which line, may
                // be a value's choice: code that read ruled values (two hundred SSNs from one
                // DO block's RAISEs, or its `drop table if exists` notices), a trigger, or the
                // server over ruled values (to_tsvector's notice a long word). One notice a
                // request goes (a severity and a line, as an error raised gives); the rest are
                // recorded `withheld`: hoop-listen gives their credit back and sends nothing.
                if let sent = s.noticeSentSeq, sent == frame.seq {
                    out["withheld"] = .bool(true)
                    counts["RAISE_WITHHELD", default: 0] += 1
                }
                s.noticeSentSeq = frame.seq
            }
            for key in Self.textFields {
                guard let text = frame[key]?.string else { continue }
                // A PL/pgSQL call stack names code and line numbers, not data (which line
                // raised may be a value's choice: one a request, as above).
                if raised, key == "where", text.split(separator: "\n").allSatisfy({ $0.hasPrefix("PL/pgSQL function ") }) { continue }
                if readsRuled, key == "where" || key == "internal_query" {
                    out[key] = .string("[REDACTED]")
                    counts["ERROR_VALUE", default: 0] += 1
                    continue
                }
                if raised || builtText && ["message", "detail", "hint"].contains(key) {
                    out[key] = .string("[REDACTED]")
                    counts["RAISE_TEXT", default: 0] += 1
                    continue
                }
                let r = masker.maskText(text)
                counts.merge(r.counts, uniquingKeysWith: +)
                var (redacted, values) = ErrorValues.redact(r.value ?? "")
                if readsRuled {
                    let (data, n) = ErrorValues.redactData(redacted)
                    redacted = data; values += n
                }
                if values > 0 { counts["ERROR_VALUE", default: 0] += values }
                out[key] = .string(redacted)
            }
            return outcome(frame, out, counts)
        case FrameType.copyOutResponse:
            // The format is read from the statement; the server's word must agree.
            if (frame["format"]?.int == 1) != (copyShape(seq, s).1.kind == .binary) {
                throw MaskFailure("COPY format differs from what its statement says")
            }
            if copyShape(seq, s).1.header { s.copyHeader.insert(seq) } else { s.copyHeader.remove(seq) }
            learnViews(frame, s)
            if frame["views_unknown"]?.bool == true {
                // Views that could not be read: every field masked whole.
                s.copyPlans[seq] = RowPlan(columns: [], rest: ColumnPlan(table: nil, column: nil, typeOID: 0, derived: Self.untraced))
            } else if let fields = frame["fields"]?.array, !s.namesUnsure {
                s.copyPlans[seq] = RowPlan(columns: fields.map { f in
                    var p = writtenBySession(ColumnPlan(field: f), s)
                    if let under = p.underView { p.derived = rule(under, s) }   // a temporary table's, or one written
                    return p
                })
            } else {
                s.copyPlans[seq] = nil
            }
            return .pass
        case FrameType.copyOutData:
            var counts = MaskCounts()
            let (shape, format) = copyShape(seq, s)
            if format.kind == .binary {
                // Binary fields are read by their column's type: only `COPY table`
                // (typed by hoop-connect) in a request of one statement.
                guard let typed = s.copyPlans[seq], (s.expected[seq]?.count ?? 0) == 1 else {
                    throw MaskFailure("binary COPY of a query cannot be masked (its fields carry no type): use COPY table, or text or CSV")
                }
                // One chunk out per chunk in: a client reads a CopyData message as one
                // tuple (the header comes with the first), as the server sends them.
                var state = s.copyBinary[seq] ?? CopyBinary()
                var chunks: [JSON] = []
                for chunk in frame["data"]?.array ?? [] {
                    let data: [UInt8]
                    switch chunk {
                    case .string(let t): data = Array(t.utf8)
                    case .object(let o):
                        guard let b = o["base64"]?.string, let d = Data(base64Encoded: b) else { throw MaskFailure("a COPY chunk of the wrong shape") }
                        data = Array(d)
                    default: throw MaskFailure("a COPY chunk of the wrong shape")
                    }
                    let masked = try state.mask(data, columns: typed.columns,
                                                ruled: { s.masker.policy.rule(table: $0.table, column: $0.column) != nil || $0.derived != nil }) { i, field in
                        let m = try self.mask(field, typed.columns[i], s)
                        counts.add(m.counts, column: typed.columns[i].name ?? "field \(i + 1)")
                        return m
                    }
                    if !masked.isEmpty { chunks.append(.object(["base64": .string(Data(masked).base64EncodedString())])) }
                }
                s.copyBinary[seq] = state
                var out = frame
                out["data"] = .array(chunks)
                return outcome(frame, out, counts)
            }
            // COPY table: named by hoop-connect; COPY (query): traced.
            let fields = s.copyPlans[seq] ?? copyPlan(shape, s)
            if (s.expected[seq]?.count ?? 0) == 1, s.profiling(seq, fields, fields.columns.count) {
                // The frame's lines profile the columns first (the header line is no data).
                for (k, chunk) in (frame["data"]?.array ?? []).enumerated() {
                    guard case .string(let line) = chunk, !(k == 0 && s.copyHeader.contains(seq)) else { continue }
                    _ = try CopyLine.mask(line, format: format) { i, field in
                        if let field { s.profile(seq, fields, [(i, field)]) }
                        return MaskResult(field, counts: [:])
                    }
                }
            }
            let chunks: [JSON] = try (frame["data"]?.array ?? []).map { chunk in
                // Binary COPY cannot be read for PHI: it is not passed (fail closed).
                guard case .string(let line) = chunk, format.kind != .binary else {
                    throw MaskFailure("binary COPY data cannot be masked")
                }
                if s.copyHeader.remove(seq) != nil {
                    // The header line: column names (content detection only, as for any text).
                    let r = masker.maskText(line)
                    counts.add(r.counts)
                    return .string(r.value ?? "")
                }
                if (s.expected[seq]?.count ?? 0) != 1 {
                    // Several statements in one request: which COPY this is, and so its
                    // format, is not known here. The line is masked whole.
                    let body = line.hasSuffix("\n") ? String(line.dropLast()) : line
                    let r = try masker.mask(body, rule: Self.untraced, typeOID: 25)
                    counts.add(r.counts)
                    return .string((r.value ?? "") + (line.hasSuffix("\n") ? "\n" : ""))
                }
                let r = try CopyLine.mask(line, format: format) { i, field in
                    var m = try self.mask(field, fields[i], s)
                    if let field, s.isNameColumn(seq, i) { m = s.masker.maskAsName(field, result: m) }
                    counts.add(m.counts, column: fields[i].name ?? "field \(i + 1)")
                    return m
                }
                return .string(r.value ?? "")
            }
            var out = frame
            out["data"] = .array(chunks)
            return outcome(frame, out, counts)
        case FrameType.parameterStatus:
            guard let text = frame["value"]?.string else { return .pass }
            // What the session parked in its settings (set_config) may be in any reported
            // setting once a statement set one: application_name takes anything, TimeZone a
            // bracketed POSIX name of letters and digits (`<QX4417ZZ>5`). Otherwise the
            // others are the server's own vocabulary, and a driver reads them (TimeZone for
            // timestamptz).
            guard s.setSettings || frame["name"]?.string == "application_name" else { return .pass }
            let r = try rule([.setting], s).map { try masker.mask(text, rule: $0, typeOID: 25) } ?? masker.maskText(text)
            var out = frame
            out["value"] = .string(r.value ?? "")
            return outcome(frame, out, r.counts)
        case FrameType.notification:
            // A NOTIFY payload is whatever the application put in it.
            var out = frame
            var counts: [String: Int] = [:]
            let given = (notified[frame["channel"]?.string ?? ""] ?? []).union(notified["*"] ?? [])
            let parkedRule = given.isEmpty ? nil : rule(given, s)
            for key in ["channel", "payload"] {
                guard let text = frame[key]?.string else { continue }
                // pg_notify(channel, payload) may have been given values read from tables.
                let r = try parkedRule.map { try masker.mask(text, rule: $0, typeOID: 25) } ?? masker.maskText(text)
                counts.merge(r.counts, uniquingKeysWith: +)
                out[key] = .string(r.value ?? "")
            }
            return outcome(frame, out, counts)
        case FrameType.ready:
            s.skippingToReady = false
            if frame["status"]?.string == "I" { s.names.endTransaction(); s.namesUnsure = false; s.madeRelations = false; s.unseen = [] }
            // Everything asked before this point has been answered.
            for k in s.expected.keys where k <= seq { s.expected[k] = nil; s.requestShapes[k] = nil; s.requestReads[k] = nil }
            for k in s.plans.keys where k <= seq { s.plans[k] = nil }
            for k in s.describeTarget.keys where k <= seq { s.describeTarget[k] = nil }
            for k in s.executePortal.keys where k <= seq { s.executePortal[k] = nil }
            for k in s.copyPlans.keys where k <= seq { s.copyPlans[k] = nil }
            for k in s.closed.keys where k <= seq { s.closed[k] = nil }
            for k in s.copyBinary.keys where k <= seq { s.copyBinary[k] = nil }
            for k in s.nameProfiles.keys where k <= seq { s.nameProfiles[k] = nil }
            s.copyHeader = s.copyHeader.filter { $0 > seq }
            return .pass
        case FrameType.sessionClosed:
            sessions.removeValue(forKey: session)
            streams = streams.filter { !$0.key.hasPrefix(session + "\n") }
            refusedCalls = refusedCalls.filter { !$0.hasPrefix(session + "\n") }
            return .pass
        case FrameType.resultEnd:
            let key = session + "\n" + String(frame.seq ?? -1)
            streams.removeValue(forKey: key)
            // The end of a refused answer is not the client's: its refusal was.
            if refusedCalls.remove(key) != nil { return .replace([]) }
            return .pass
        case FrameType.sessionOpened:
            catalogFacts(frame)
            state(session).plainColumns = frame["plain_columns"]?.array.map { Set($0.compactMap { $0.string?.lowercased() }) }
            return .pass
        case FrameType.result:
            // Packed members inflate within one budget per answer (a frame), not each alone.
            return try UnpackedText.withBudget { try maskAnswer(frame, masker) }
        case FrameType.resultData:
            return try UnpackedText.withBudget { try maskPiece(frame, masker) }
        default:
            return .pass
        }
    }

    /// A rows frame the clean read could not pass, read and rewritten with the rows
    /// codec: nil when nothing was masked (it then passes as it came), else the audit
    /// summary and the masked frame's line. A frame the codec cannot read (a key it
    /// does not know included) is refused: nothing unread passes this stage.
    func maskRows(_ frame: RawFrame) throws -> (summary: Frame, line: [UInt8])? {
        guard let (header, input) = RowsReader.values(frame.bytes), let session = header.session, let seq = header.seq
        else { throw MaskFailure("a rows frame it cannot read") }
        let s = state(session)
        let cols = plan(forRowsOf: seq, s)
        var counts = MaskCounts()
        if let width = input.first?.count, s.profiling(seq, cols, width) {
            s.profile(seq, cols, input.flatMap { row in row.enumerated().compactMap { i, v in v.map { (i, $0) } } })
        }
        let rows: [[String?]] = try input.map { values in
            try values.enumerated().map { i, v in
                var r = try mask(v, cols[i], s)
                if let text = v, s.isNameColumn(seq, i) { r = s.masker.maskAsName(text, result: r) }
                counts.add(r.counts, column: cols[i].name ?? "column \(i + 1)")
                return r.value
            }
        }
        guard !counts.total.isEmpty else { return nil }
        var w = RowsWriter(session: session, seq: seq)
        for row in rows { w.append(row) }
        let stamps = header.stamps.filter(\.value).keys.filter { $0 != "mask" }.sorted() + ["mask"]
        return (summary(FrameType.rows, session: session, seq: seq, counts), w.finish(stamps: stamps))
    }

    /// True when a rows frame holds nothing to mask, read from its bytes (the rows codec):
    /// no value in a column a rule masks, and content detection finds nothing.
    func rowsAreClean(_ frame: RawFrame) -> Bool {
        guard let session = frame.session, let seq = frame.header.seq else { return false }
        let s = state(session)
        let plan = plan(forRowsOf: seq, s)
        let policy = s.masker.policy
        func ruled(_ c: ColumnPlan) -> Bool {
            if let d = c.derived { return !d.keeps }
            if c.typeOID == PGType.json || c.typeOID == PGType.jsonb { return true }   // members by name
            if let r = policy.rule(table: c.table, column: c.column) { return !r.keeps }
            return false
        }
        // A name column masks values content detection does not find, and a column not
        // yet profiled must be read (its first rows decide whether it is one).
        if s.nameProfiles[seq]?.values.contains(where: \.isNameColumn) == true { return false }
        if !plan.columns.isEmpty, s.profiling(seq, plan, plan.columns.count) { return false }
        let masked = plan.columns.map(ruled), restMasked = ruled(plan.rest)
        // A NULL it cannot mask goes the slow way too, which refuses it (fail closed).
        func masksNull(_ c: ColumnPlan) -> Bool {
            guard let rule = c.derived else { return false }
            do { return try s.masker.maskedNull(rule: rule, typeOID: c.typeOID) != nil } catch { return true }
        }
        let numeric = plan.columns.map { PGType.isNumeric($0.typeOID) }
        var scan = CleanScan(masked: masked, restMasked: restMasked, nullMasked: plan.columns.map(masksNull),
                             restNullMasked: masksNull(plan.rest), numeric: numeric, masker: s.masker, scratch: scratch)
        defer { scratch = scan.scratch }
        return RowsReader.read(frame.bytes, &scan) != nil
    }

    /// Stops at the first value that may need masking: one in a masked column, a NULL
    /// where a NULL is masked too, one with escapes (its bytes are not its text), or one
    /// content detection flags.
    struct CleanScan: RowsVisitor {
        let masked: [Bool], restMasked: Bool, nullMasked: [Bool], restNullMasked: Bool, numeric: [Bool]
        let masker: Masker
        var scratch: [UInt8]

        mutating func beginRow() -> Bool { true }
        mutating func null(_ i: Int) -> Bool { !(i < nullMasked.count ? nullMasked[i] : restNullMasked) }
        mutating func endRow(columns: Int) -> Bool { true }
        mutating func value(_ i: Int, _ bytes: UnsafeRawBufferPointer, escaped: Bool) -> Bool {
            if escaped || (i < masked.count ? masked[i] : restMasked) { return false }
            if i < numeric.count && numeric[i] { return true }
            return !masker.detects(bytes, scratch: &scratch)
        }
    }

    /// The plan for an Execute's rows: its own columns frame, else its portal's or
    /// statement's Describe; without either, every value is masked by what the
    /// statement reads (the result's columns cannot be told apart).
    func plan(forRowsOf seq: Int64, _ s: SessionState) -> RowPlan {
        if let p = s.plans[seq] { return RowPlan(columns: p) }
        if let portal = s.executePortal[seq], let bound = s.names.portals[portal] {
            if let p = bound.value.described { return RowPlan(columns: p) }
            // The statement's Describe, if it describes the statement this portal was
            // bound to (the unnamed one may have been parsed again since).
            if let st = s.names.statements[bound.statement], st.generation == bound.statementGeneration, let p = st.value.described {
                return RowPlan(columns: plan(fields: p.map { var f = $0; f.derived = nil; return f }, shape: shape(seq: seq, s), s))
            }
        }
        let any = shape(seq: seq, s).map { rule($0.all, s) ?? hiddenFromDetection($0.all, typeOID: 0, s) } ?? Self.untraced
        return RowPlan(columns: [], rest: ColumnPlan(table: nil, column: nil, typeOID: 0, derived: any))
    }

    func copyShape(_ seq: Int64, _ s: SessionState) -> (Shape?, CopyFormat) {
        let all = s.expected[seq] ?? []
        for l in all { if case .copyOut(_, let f)? = l?.lineage { return (shape(seq: seq, s), f) } }
        // COPY TO STDOUT that did not parse here: text format, untraced.
        return (nil, CopyFormat())
    }

    /// The columns of a COPY (query): COPY output carries no catalog origin, so every
    /// field is masked by the rule of the table columns it was traced to.
    func copyPlan(_ shape: Shape?, _ s: SessionState) -> RowPlan {
        func plan(_ rule: ColumnRule?) -> ColumnPlan { ColumnPlan(table: nil, column: nil, typeOID: 0, derived: rule) }
        guard let shape else { return RowPlan(columns: [], rest: plan(Self.untraced)) }
        // Text fields, as COPY writes them: what detection cannot read is a piece (hiddenFromDetection).
        if let values = shape.values { return RowPlan(columns: values.map { plan(rule($0, s) ?? hiddenFromDetection($0, typeOID: 0, s)) }) }
        return RowPlan(columns: [], rest: plan(rule(shape.all, s) ?? hiddenFromDetection(shape.all, typeOID: 0, s)))
    }

    /// A value of a result (a row's, a COPY field's; nil: NULL) masked by its column's plan.
    func mask(_ text: String?, _ column: ColumnPlan, _ s: SessionState) throws -> MaskResult {
        guard let text else {
            return try column.derived.flatMap { try s.masker.maskedNull(rule: $0, typeOID: column.typeOID) }
                ?? MaskResult(nil, counts: [:])
        }
        if let rule = column.derived { return try s.masker.mask(text, rule: rule, typeOID: column.typeOID) }
        if column.typeOID == PGType.json || column.typeOID == PGType.jsonb,
           s.masker.policy.rule(table: column.table, column: column.column) == nil {
            // A document: its members by name first, then content detection on the rest.
            // The query may have built it (`json_build_object('last_name', 'a guess')`):
            // its members are never hashed, as no derived value is (Self.neverHashed).
            let members = try JSONMembers.mask(text, s.masker) { key in
                s.masker.policy.rule(derivedFrom: [(table: "*", column: key)]).map(Self.neverHashed)
            }
            var rest = try s.masker.mask(members.value ?? "", table: nil, column: nil, typeOID: column.typeOID)
            rest.counts.merge(members.counts, uniquingKeysWith: +)
            return rest
        }
        // A date the lineage proves is no person's, in a value of a date or time type
        // (`now()`, `current_date`, `generate_series` of dates): text can be built from
        // anything the server holds (another session's query), so its dates stay masked.
        let provenDate = column.readsNothing && PGType.isTemporal(column.typeOID)
        return try s.masker.mask(text, table: column.table, column: column.column, typeOID: column.typeOID,
                                 ignoring: provenDate ? [.date] : [])
    }

    /// Nothing found means nothing changed (the masker reports every change in its
    /// counts): the frame then passes as it came, without a re-encode. Otherwise the
    /// masked frame, after a summary for the audit trail (counts only).
    func outcome(_ frame: Frame, _ masked: Frame, _ counts: [String: Int]) -> Outcome {
        outcome(frame, masked, MaskCounts(total: counts))
    }

    private func outcome(_ frame: Frame, _ masked: Frame, _ counts: MaskCounts) -> Outcome {
        guard !counts.total.isEmpty else { return .pass }
        return .replace([summary(frame.type, session: frame.session, seq: frame.seq, counts), masked])
    }

    /// What was masked in a frame, for the audit trail: counts only.
    private func summary(_ type: String, session: String?, seq: Int64?, _ counts: MaskCounts) -> Frame {
        var summary = Frame(FrameType.masked, session: session, seq: seq, [
            "frame": .string(type),
            "counts": .object(counts.total.mapValues { .int(Int64($0)) }),
        ])
        if !counts.byColumn.isEmpty {
            summary["columns"] = .object(counts.byColumn.mapValues { .object($0.mapValues { .int(Int64($0)) }) })
        }
        return summary
    }

    /// The response types whose content `handle` reads; the others pass without a decode.
    static let inspected: Set<String> = [FrameType.columns, FrameType.rows, FrameType.error, FrameType.notice, FrameType.copyOutResponse, FrameType.copyOutData, FrameType.notification,
                                         FrameType.parameterStatus, FrameType.sessionOpened, FrameType.result, FrameType.resultData, FrameType.resultEnd,
                                         FrameType.ready, FrameType.sessionClosed]
}

/// The plans for a row's values; a value past the known columns is masked whole.
struct RowPlan {
    var columns: [ColumnPlan]
    var rest = ColumnPlan(table: nil, column: nil, typeOID: 0, derived: ResponseMasking.untraced)
    subscript(i: Int) -> ColumnPlan { i < columns.count ? columns[i] : rest }
}

struct MaskFailure: Error {
    let why: String
    init(_ why: String) { self.why = why }
}
