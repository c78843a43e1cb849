import HoopBinary
import HoopFrames
import NIOCore

// Binary result columns. Upstream results always come round the ring as text (that
// is what hoop-mask reads and masks); a client that asked for binary columns in its
// Bind gets them converted here, by the column types its Describe answers told. The
// server itself checks nothing of this, since hoop-connect asks it for text: the
// checks a server makes on result formats are made here.

/// A client's result formats, tracked through its Parse, Bind, Describe and Execute.
struct ResultFormats {
    /// A portal's result formats, and the types of its columns once described.
    struct Portal {
        let formats: [Int16]
        var types: [UInt32]? = nil
        var wantsBinary: Bool { formats.contains(1) }
    }
    /// A refusal made while the answers come back.
    struct Refusal: Error {
        let code: String
        let message: String
    }
    typealias Bound = StatementBook<[UInt32]?, Portal>.Bound

    /// Statements with the column types a Describe told; portals with their formats.
    /// A name given twice keeps the first formats (the server refuses the second Bind)
    /// and forgets its types.
    private var names = StatementBook<[UInt32]?, Portal>(mergeStatements: { _, _ in nil },
                                                          mergePortals: { old, _ in Portal(formats: old.formats) })
    /// Describe and Execute requests in flight, by sequence number. A Describe keeps
    /// the portal as it was bound then: in a pipeline the next Bind of the same name
    /// comes before the answer.
    private var describes: [Int64: (name: String, generation: Int, portal: (name: String, Bound)?)] = [:]
    private var executes: [Int64: (name: String, Bound)] = [:]
    /// The types hoop-connect announced for an Execute's result (`columns` `for: execute`).
    private var executeTypes: [Int64: [UInt32]] = [:]

    mutating func parsed(_ name: String) {
        names.parse(name, nil)
    }

    mutating func bound(portal: String, statement: String, formats: [Int16]) {
        names.bind(portal, statement: statement) { _ in Portal(formats: formats) }
    }

    mutating func closed(kind: UInt8, name: String) {
        if kind == UInt8(ascii: "S") { names.closeStatement(name) } else { names.closePortal(name) }
    }

    mutating func describing(seq: Int64, kind: UInt8, name: String) {
        if kind == UInt8(ascii: "P") {
            describes[seq] = (name, names.generation(portal: name), names.portals[name].map { (name, $0) })
        } else {
            describes[seq] = (name, names.generation(statement: name), nil)
        }
    }

    /// An Execute of a portal that wants binary columns; nothing is kept for the others.
    mutating func executing(seq: Int64, portal: String) {
        if let p = names.portals[portal], p.value.wantsBinary { executes[seq] = (portal, p) }
    }

    /// A request's last answer came: forget it.
    mutating func answered(seq: Int64) {
        describes[seq] = nil
        executes[seq] = nil
        executeTypes[seq] = nil
    }

    /// hoop-connect's `columns` frame `for: execute`: the result's own types, kept for
    /// this Execute and for later Executes of its portal (a suspended one resumes).
    mutating func announced(_ frame: Frame, seq: Int64) {
        let types = (frame["fields"]?.array ?? []).map { UInt32(truncatingIfNeeded: $0["type_oid"]?.int ?? 0) }
        executeTypes[seq] = types
        if let (name, p) = executes[seq], names.generation(portal: name) == p.generation { names[portal: name]?.types = types }
    }

    /// A ReadyForQuery: everything in flight has been answered, and at the end of a
    /// transaction its portals are gone.
    mutating func ready(status: String?) {
        describes.removeAll()
        executes.removeAll()
        executeTypes.removeAll()
        if status == "I" { names.endTransaction() }
    }

    /// The RowDescription answering Describe `seq`: its types are kept, and a portal's
    /// columns say the formats its Bind asked for.
    mutating func describe(_ frame: Frame, seq: Int64) throws -> Frame {
        guard let d = describes[seq], let fields = frame["fields"]?.array else { return frame }
        let types = fields.map { UInt32(truncatingIfNeeded: $0["type_oid"]?.int ?? 0) }
        // Answers come in order: a later generation's answer, when it comes, replaces this.
        guard let (name, p) = d.portal else {
            if names.generation(statement: d.name) == d.generation { names[statement: d.name] = .some(types) }
            return frame
        }
        if names.generation(portal: name) == p.generation { names[portal: name]?.types = types }
        guard p.value.wantsBinary else { return frame }
        let binary = try Self.binaryColumns(p.value.formats, types: types)
        var described = frame
        described["fields"] = .array(zip(fields, binary).map { field, isBinary in
            guard case .object(var o) = field else { return field }
            o["format"] = .int(isBinary ? 1 : 0)
            return .object(o)
        })
        return described
    }

    /// How to send the rows of Execute `seq`: nil when they go as text.
    func plan(forExecute seq: Int64) throws -> BinaryPlan? {
        guard let (name, p) = executes[seq] else { return nil }
        let types: [UInt32]
        if let t = executeTypes[seq] {
            types = t
        } else if let now = names.portals[name], now.generation == p.generation, let t = now.value.types {
            types = t
        } else if let t = names.statements[p.statement], t.generation == p.statementGeneration, let described = t.value {
            types = described
        } else {
            throw Refusal(code: "0A000", message: "hoop: binary result columns need the statement or portal described first")
        }
        return BinaryPlan(types: types, binary: try Self.binaryColumns(p.value.formats, types: types))
    }

    /// Which columns go in binary: one format for all, or one per column, as the
    /// server reads a Bind's result formats.
    static func binaryColumns(_ formats: [Int16], types: [UInt32]) throws -> [Bool] {
        if formats.count > 1 && formats.count != types.count {
            throw Refusal(code: "08P01", message: "bind message has \(formats.count) result formats but query has \(types.count) columns")
        }
        let binary = types.indices.map { formats.count == 1 ? formats[0] == 1 : formats[$0] == 1 }
        for (oid, b) in zip(types, binary) where b && !BinaryTypes.supports(oid) {
            throw Refusal(code: "0A000", message: "hoop: no binary format for type \(oid) here; ask for this column in text")
        }
        return binary
    }
}

/// The columns of one result to send in binary, and their types.
struct BinaryPlan {
    let types: [UInt32]
    let binary: [Bool]

    /// DataRow messages with text values rewritten in binary where the plan says so.
    func convert(_ rows: ByteBuffer, allocator: ByteBufferAllocator) throws -> ByteBuffer {
        var input = rows
        var out = allocator.buffer(capacity: rows.readableBytes + rows.readableBytes / 8)
        var value: [UInt8] = []
        while input.readableBytes > 0 {
            guard input.readInteger(as: UInt8.self) == UInt8(ascii: "D"), let length = input.readInteger(as: Int32.self),
                  var row = input.readSlice(length: Int(length) - 4), let count = row.readInteger(as: Int16.self),
                  Int(count) == types.count else {
                throw ResultFormats.Refusal(code: "XX000", message: "hoop: a result row does not match its description")
            }
            out.writeInteger(UInt8(ascii: "D"))
            let lengthAt = out.writerIndex
            out.writeInteger(Int32(0))
            out.writeInteger(count)
            for column in 0..<Int(count) {
                guard let n = row.readInteger(as: Int32.self) else { throw ResultFormats.Refusal(code: "XX000", message: "hoop: a short result row") }
                if n < 0 { out.writeInteger(Int32(-1)); continue }
                guard let bytes = row.readBytes(length: Int(n)) else { throw ResultFormats.Refusal(code: "XX000", message: "hoop: a short result row") }
                guard binary[column] else { out.writeInteger(n); out.writeBytes(bytes); continue }
                value.removeAll(keepingCapacity: true)
                do {
                    try BinaryEncoder.encode(bytes[...], oid: types[column], into: &value)
                } catch {
                    throw ResultFormats.Refusal(code: "22P03", message: "hoop: a value of type \(types[column]) could not be sent in binary")
                }
                out.writeInteger(Int32(value.count))
                out.writeBytes(value)
            }
            out.setInteger(Int32(out.writerIndex - lengthAt), at: lengthAt)
        }
        return out
    }
}
