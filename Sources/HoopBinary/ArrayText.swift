/// An array's text (`{1,2}`, `{{"a b",NULL},{c,d}}`, `[0:1]={x,y}`) in array_send's
/// binary form: dimensions, a null flag, the element type, each dimension's size and
/// lower bound, then each element length-prefixed (-1 for NULL).
enum ArrayText {
    /// An array's text read: its explicit lower bounds (empty: all 1), each dimension's
    /// size and its elements in order (nil: NULL); nil when it is not an array's text.
    static func parse(_ s: ArraySlice<UInt8>) -> (lowerBounds: [Int32], sizes: [Int], elements: [ArraySlice<UInt8>?])? {
        var t = TextReader(s)
        var lowerBounds: [Int32] = []
        if t.peek == UInt8(ascii: "[") {
            // Explicit bounds: [lo:hi] per dimension, then '='.
            while t.eat(UInt8(ascii: "[")) {
                guard let lo = signed(&t), t.eat(UInt8(ascii: ":")), signed(&t) != nil, t.eat(UInt8(ascii: "]")),
                      let l = Int32(exactly: lo) else { return nil }
                lowerBounds.append(l)
            }
            guard t.eat(UInt8(ascii: "=")) else { return nil }
        }
        var shape = Shape()
        var elements: [ArraySlice<UInt8>?] = []
        guard level(&t, depth: 0, shape: &shape, elements: &elements), t.atEnd else { return nil }
        let sizes = shape.leafDepth.map { shape.sizes[0...$0].map { $0 ?? 0 } } ?? []
        guard lowerBounds.isEmpty || lowerBounds.count == sizes.count else { return nil }
        return (lowerBounds, sizes, elements)
    }

    static func encode(_ s: ArraySlice<UInt8>, element: UInt32, into out: inout [UInt8]) throws -> Bool {
        guard let (lowerBounds, sizes, elements) = parse(s) else { return false }
        out.appendBigEndian(Int32(sizes.count))
        out.appendBigEndian(Int32(elements.contains { $0 == nil } ? 1 : 0))
        out.appendBigEndian(element)
        for (i, size) in sizes.enumerated() {
            out.appendBigEndian(Int32(size))
            out.appendBigEndian(lowerBounds.isEmpty ? Int32(1) : lowerBounds[i])
        }
        for e in elements {
            guard let e else { out.appendBigEndian(Int32(-1)); continue }
            let lengthAt = out.count
            out.appendBigEndian(Int32(0))
            try BinaryEncoder.encode(e, oid: element, into: &out)
            let length = Int32(out.count - lengthAt - 4).bigEndian
            withUnsafeBytes(of: length) { b in for k in 0..<4 { out[lengthAt + k] = b[k] } }
        }
        return true
    }

    static func signed(_ t: inout TextReader) -> Int64? {
        let negative = t.eat(UInt8(ascii: "-"))
        guard let (v, _) = t.digits() else { return nil }
        return negative ? -v : v
    }

    /// The shape found so far: each level's size, and the depth of the elements.
    struct Shape {
        var sizes: [Int?] = Array(repeating: nil, count: 6)
        var leafDepth: Int?
    }

    /// One `{…}` at `depth`: every sub-array of a level has the same size, and every
    /// element sits at the same depth.
    static func level(_ t: inout TextReader, depth: Int, shape: inout Shape,
                      elements: inout [ArraySlice<UInt8>?]) -> Bool {
        guard depth < 6, t.eat(UInt8(ascii: "{")) else { return false }
        var count = 0
        if !t.eat(UInt8(ascii: "}")) {
            repeat {
                if t.peek == UInt8(ascii: "{") {
                    guard shape.leafDepth.map({ $0 > depth }) ?? true,
                          level(&t, depth: depth + 1, shape: &shape, elements: &elements) else { return false }
                } else {
                    guard shape.leafDepth.map({ $0 == depth }) ?? true, let e = element(&t) else { return false }
                    shape.leafDepth = depth
                    elements.append(e.isNull ? nil : e.bytes)
                }
                count += 1
            } while t.eat(UInt8(ascii: ","))
            guard t.eat(UInt8(ascii: "}")) else { return false }
        }
        if let known = shape.sizes[depth] { return known == count }
        shape.sizes[depth] = count
        return true
    }

    /// A quoted or bare element; bare `NULL` is the null value.
    static func element(_ t: inout TextReader) -> (bytes: ArraySlice<UInt8>, isNull: Bool)? {
        if t.eat(UInt8(ascii: "\"")) {
            var value: [UInt8] = []
            while let c = t.peek {
                t.i += 1
                if c == UInt8(ascii: "\"") { return (value[...], false) }
                if c == UInt8(ascii: "\\") {
                    guard let next = t.peek else { return nil }
                    t.i += 1
                    value.append(next)
                } else {
                    value.append(c)
                }
            }
            return nil
        }
        let start = t.i
        while let c = t.peek, c != UInt8(ascii: ","), c != UInt8(ascii: "}"), c != UInt8(ascii: "\""),
              c != UInt8(ascii: "{"), c != UInt8(ascii: "\\") { t.i += 1 }
        let bare = t.bytes[start..<t.i]
        guard !bare.isEmpty else { return nil }
        return (bare, bare.count == 4 && String(decoding: bare, as: UTF8.self).uppercased() == "NULL")
    }
}

/// An array value in PostgreSQL's text form, taken apart into its elements and put
/// together again with the same dimensions and bounds: what masks an array element by
/// element, as values of its element type (a hashed `text[]` stays an array a driver
/// reads, `{tok_…,tok_…}`, not one bare token).
public struct ArrayLiteral {
    let lowerBounds: [Int32]
    let sizes: [Int]
    /// The elements in order, as text; nil is NULL.
    public var elements: [String?]

    /// Nil when `text` is not an array's text.
    public init?(_ text: String) {
        guard let (lowerBounds, sizes, elements) = ArrayText.parse(Array(text.utf8)[...]) else { return nil }
        self.lowerBounds = lowerBounds
        self.sizes = sizes
        self.elements = elements.map { $0.map { String(decoding: $0, as: UTF8.self) } }
    }

    /// The array's text: every element quoted (array_in reads any text so), NULL bare.
    public var text: String {
        var out = ""
        if !lowerBounds.isEmpty {
            for (lo, size) in zip(lowerBounds, sizes) { out += "[\(lo):\(Int(lo) + size - 1)]" }
            out += "="
        }
        var next = 0
        func level(_ depth: Int) {
            out += "{"
            let count = depth < sizes.count ? sizes[depth] : 0
            for i in 0..<count {
                if i > 0 { out += "," }
                if depth + 1 < sizes.count { level(depth + 1); continue }
                guard next < elements.count, let e = elements[next] else { out += "NULL"; next += 1; continue }
                next += 1
                out += "\""
                for c in e.unicodeScalars {
                    if c == "\"" || c == "\\" { out += "\\" }
                    out.unicodeScalars.append(c)
                }
                out += "\""
            }
            out += "}"
        }
        level(0)
        return out
    }
}
