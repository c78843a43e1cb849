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
    struct Portal {
        let name: String
        let statement: String
        let statementGeneration: Int
        let generation: Int
        let formats: [Int16]
        var wantsBinary: Bool { formats.contains(1) }
    }
    /// A refusal made while the answers come back.
    struct Refusal: Error {
        let code: String
        let message: String
    }

    /// Parse and Bind of a name make a new statement or portal under it: column types
    /// are kept by name and generation, so that an old answer never describes a new one.
    private var statementGeneration: [String: Int] = [:]
    private var portalGeneration: [String: Int] = [:]
    private var statementTypes: [String: (generation: Int, types: [UInt32])] = [:]
    private var portalTypes: [String: (generation: Int, types: [UInt32])] = [:]
    private var portals: [String: Portal] = [:]
    /// Describe and Execute requests in flight, by sequence number. A Describe keeps
    /// the portal as it was bound then: in a pipeline the next Bind of the same name
    /// comes before the answer.
    private var describes: [Int64: (name: String, generation: Int, portal: Portal?)] = [:]
    private var executes: [Int64: Portal] = [:]
    /// The types hoop-connect announced for an Execute's result (`columns` `for: execute`).
    private var executeTypes: [Int64: [UInt32]] = [:]

    mutating func parsed(_ name: String) {
        statementGeneration[name, default: 0] += 1
        statementTypes[name] = nil
    }

    mutating func bound(portal: String, statement: String, formats: [Int16]) {
        portalGeneration[portal, default: 0] += 1
        portalTypes[portal] = nil
        portals[portal] = Portal(name: portal, statement: statement, statementGeneration: statementGeneration[statement, default: 0],
                                 generation: portalGeneration[portal]!, formats: formats)
    }

    mutating func closed(kind: UInt8, name: String) {
        if kind == UInt8(ascii: "S") { parsed(name) } else { portals[name] = nil; portalTypes[name] = nil }
    }

    mutating func describing(seq: Int64, kind: UInt8, name: String) {
        if kind == UInt8(ascii: "P") {
            describes[seq] = (name, portalGeneration[name, default: 0], portals[name] ?? Portal(
                name: name, statement: "", statementGeneration: 0, generation: portalGeneration[name, default: 0], formats: []))
        } else {
            describes[seq] = (name, statementGeneration[name, default: 0], nil)
        }
    }

    /// An Execute of a portal that wants binary columns; nothing is kept for the others.
    mutating func executing(seq: Int64, portal: String) {
        if let p = portals[portal], p.wantsBinary { executes[seq] = p }
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
        if let p = executes[seq] { portalTypes[p.name] = (p.generation, types) }
    }

    /// A ReadyForQuery: everything in flight has been answered. The unnamed portal is
    /// gone at the end of a transaction; named ones are kept for their Close.
    mutating func ready() {
        describes.removeAll()
        executes.removeAll()
        executeTypes.removeAll()
    }

    /// The RowDescription answering Describe `seq`: its types are kept, and a portal's
    /// columns say the formats its Bind asked for.
    mutating func describe(_ frame: Frame, seq: Int64) throws -> Frame {
        guard let d = describes[seq], let fields = frame["fields"]?.array else { return frame }
        let types = fields.map { UInt32(truncatingIfNeeded: $0["type_oid"]?.int ?? 0) }
        // Answers come in order: a later generation's answer, when it comes, replaces this.
        guard let p = d.portal else {
            statementTypes[d.name] = (d.generation, types)
            return frame
        }
        portalTypes[d.name] = (d.generation, types)
        guard p.wantsBinary else { return frame }
        let binary = try Self.binaryColumns(p.formats, types: types)
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
        guard let p = executes[seq] else { return nil }
        let types: [UInt32]
        if let t = executeTypes[seq] {
            types = t
        } else if let t = portalTypes[p.name], t.generation == p.generation {
            types = t.types
        } else if let t = statementTypes[p.statement], t.generation == p.statementGeneration {
            types = t.types
        } else {
            throw Refusal(code: "0A000", message: "hoop: binary result columns need the statement or portal described first")
        }
        return BinaryPlan(types: types, binary: try Self.binaryColumns(p.formats, types: types))
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
