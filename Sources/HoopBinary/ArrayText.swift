/// An array's text (`{1,2}`, `{{"a b",NULL},{c,d}}`, `[0:1]={x,y}`) in array_send's
/// binary form: dimensions, a null flag, the element type, each dimension's size and
/// lower bound, then each element length-prefixed (-1 for NULL).
enum ArrayText {
    static func encode(_ s: ArraySlice<UInt8>, element: UInt32, into out: inout [UInt8]) throws -> Bool {
        var t = TextReader(s)
        var lowerBounds: [Int32] = []
        if t.peek == UInt8(ascii: "[") {
            // Explicit bounds: [lo:hi] per dimension, then '='.
            while t.eat(UInt8(ascii: "[")) {
                guard let lo = signed(&t), t.eat(UInt8(ascii: ":")), signed(&t) != nil, t.eat(UInt8(ascii: "]")),
                      let l = Int32(exactly: lo) else { return false }
                lowerBounds.append(l)
            }
            guard t.eat(UInt8(ascii: "=")) else { return false }
        }
        var shape = Shape()
        var elements: [ArraySlice<UInt8>?] = []
        guard level(&t, depth: 0, shape: &shape, elements: &elements), t.atEnd else { return false }
        let sizes = shape.leafDepth.map { shape.sizes[0...$0].map { $0 ?? 0 } } ?? []
        guard lowerBounds.isEmpty || lowerBounds.count == sizes.count else { return false }

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
