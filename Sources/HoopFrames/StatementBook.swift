/// A PostgreSQL session's names, by the server's rules, for every stage that follows
/// them (hoop-listen, hoop-approve, hoop-connect, hoop-mask, hoop-audit); each keeps
/// only its own payload: result formats, a judgement, a lineage, an audit row.
///
/// - Statements: Parse and SQL PREPARE share one namespace. A Parse of the unnamed
///   statement replaces it; a named one must be closed (Close 'S', DEALLOCATE) before
///   it is made again, or the server refuses the new one and keeps the old.
/// - Portals: Bind and SQL DECLARE share one namespace. Bind takes its statement as it
///   is then: a later Parse of the same name does not change what the portal runs.
///   The unnamed portal is replaced by the next Bind; a named one must be closed
///   first (the server answers 42P03).
/// - Close names a statement or a portal; closing what does not exist is no error.
///   Close is a protocol message, not a command: it works in a failed transaction, but
///   after an error in its own pipeline the server skips it like the rest up to Sync.
/// - The end of a transaction ends every portal made by Bind and every cursor not
///   declared WITH HOLD.
///
/// A stage reads requests before their answers, so a definition the server may have
/// refused (the name was taken, or its text failed) leaves the name meaning either
/// value: `merge` says what that is to the stage (hoop-approve judges by the stricter,
/// hoop-mask traces nothing). Every definition gets a new generation: an answer that
/// comes after a newer definition of its name (a Describe in a pipeline) describes
/// something else.
public struct StatementBook<Statement, Portal> {
    public struct Named<Value> {
        public var value: Value
        public let generation: Int
    }

    public struct Bound {
        public var value: Portal
        /// The statement it was bound to, as it was then (nil: none the book knew).
        public let statement: String
        public let snapshot: Statement?
        /// The statement's generation when bound: an answer about a later one is not its.
        public let statementGeneration: Int
        public let generation: Int
        /// A SQL cursor (DECLARE) rather than a Bind; `hold`: it outlives its transaction.
        public let cursor: Bool
        public let hold: Bool
    }

    /// What a definition did to its name.
    public enum Definition: Equatable {
        case made
        /// The unnamed statement or portal, replaced.
        case replaced
        /// The name was taken: the server refuses the new definition, unless the book's
        /// old one had failed there; the name is now `merge(old, new)`.
        case taken
    }

    public private(set) var statements: [String: Named<Statement>] = [:] { didSet { version += 1 } }
    public private(set) var portals: [String: Bound] = [:] { didSet { version += 1 } }
    /// Moves with every change of either: what was worked out from the book holds while
    /// it stays (a request's shape, read again for each of its results).
    public private(set) var version = 0
    private var generations = 0
    private let mergeStatements: (Statement, Statement) -> Statement
    private let mergePortals: (Portal, Portal) -> Portal

    public init(mergeStatements: @escaping (Statement, Statement) -> Statement,
                mergePortals: @escaping (Portal, Portal) -> Portal) {
        self.mergeStatements = mergeStatements
        self.mergePortals = mergePortals
    }

    private mutating func nextGeneration() -> Int {
        generations += 1
        return generations
    }

    public func generation(statement name: String) -> Int { statements[name]?.generation ?? 0 }
    public func generation(portal name: String) -> Int { portals[name]?.generation ?? 0 }

    /// Parse, or SQL PREPARE (always named).
    @discardableResult
    public mutating func parse(_ name: String, _ value: Statement) -> Definition {
        let generation = nextGeneration()
        guard let old = statements[name] else {
            statements[name] = Named(value: value, generation: generation)
            return .made
        }
        if name.isEmpty {
            statements[name] = Named(value: value, generation: generation)
            return .replaced
        }
        statements[name] = Named(value: mergeStatements(old.value, value), generation: generation)
        return .taken
    }

    /// Bind of `statement` into `portal`: `make` gets the statement as it is now.
    @discardableResult
    public mutating func bind(_ portal: String, statement: String, _ make: (Statement?) -> Portal) -> Definition {
        let snapshot = statements[statement]
        return define(portal, make(snapshot?.value), statement: statement, snapshot: snapshot?.value,
                      statementGeneration: snapshot?.generation ?? 0, cursor: false, hold: false)
    }

    /// SQL DECLARE of a cursor (always named).
    @discardableResult
    public mutating func declare(_ cursor: String, _ value: Portal, hold: Bool) -> Definition {
        define(cursor, value, statement: "", snapshot: nil, statementGeneration: 0, cursor: true, hold: hold)
    }

    private mutating func define(_ name: String, _ value: Portal, statement: String, snapshot: Statement?, statementGeneration: Int,
                                 cursor: Bool, hold: Bool) -> Definition {
        let generation = nextGeneration()
        guard let old = portals[name] else {
            portals[name] = Bound(value: value, statement: statement, snapshot: snapshot, statementGeneration: statementGeneration,
                                  generation: generation, cursor: cursor, hold: hold)
            return .made
        }
        if name.isEmpty {
            portals[name] = Bound(value: value, statement: statement, snapshot: snapshot, statementGeneration: statementGeneration,
                                  generation: generation, cursor: cursor, hold: hold)
            return .replaced
        }
        portals[name] = Bound(value: mergePortals(old.value, value), statement: old.statement, snapshot: old.snapshot,
                              statementGeneration: old.statementGeneration, generation: generation, cursor: old.cursor, hold: old.hold)
        return .taken
    }

    /// Close 'S' (or DEALLOCATE name): the statement goes; portals bound to it stay.
    public mutating func closeStatement(_ name: String) {
        statements[name] = nil
    }

    /// Puts back what a statement's name held before a Parse or Close the server did
    /// not carry out (a stage that reads the answers undoes them, last first).
    public mutating func restore(statement name: String, _ entry: Named<Statement>?) {
        statements[name] = entry
    }

    /// Close 'P' (or SQL CLOSE name).
    public mutating func closePortal(_ name: String) {
        portals[name] = nil
    }

    /// DEALLOCATE ALL.
    public mutating func closeAllStatements() {
        statements.removeAll()
    }

    /// SQL CLOSE ALL.
    public mutating func closeAllPortals() {
        portals.removeAll()
    }

    /// The transaction ended (ReadyForQuery 'I', or a Sync outside a transaction block).
    public mutating func endTransaction() {
        // Most transactions end with no cursor held: no new dictionary for them.
        if portals.values.contains(where: { $0.cursor && $0.hold }) {
            portals = portals.filter { $0.value.cursor && $0.value.hold }
        } else if !portals.isEmpty {
            portals.removeAll(keepingCapacity: true)
        }
    }

    /// A statement's or portal's payload, changed in place by what the stage learns
    /// of it (a Describe's answer, rows kept): setting one that does not exist, or
    /// setting nil, changes nothing (names are made and ended by the rules above).
    public subscript(statement name: String) -> Statement? {
        get { statements[name]?.value }
        set { if let newValue, statements[name] != nil { statements[name]!.value = newValue } }
    }

    public subscript(portal name: String) -> Portal? {
        get { portals[name]?.value }
        set { if let newValue, portals[name] != nil { portals[name]!.value = newValue } }
    }

    /// Changes every statement's and portal's payload in place (a stage that lost
    /// track of the session makes them all unknown).
    public mutating func update(statements s: (inout Statement) -> Void, portals p: (inout Portal) -> Void) {
        for k in statements.keys { s(&statements[k]!.value) }
        for k in portals.keys { p(&portals[k]!.value) }
    }
}
