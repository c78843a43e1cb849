import HoopBinary
/// What a value became and what was found in it: counts by entity (raw value, e.g.
/// "SSN") or by column-rule label. Never the values themselves.
public struct MaskResult: Sendable, Equatable {
    /// The masked value; nil is SQL NULL.
    public var value: String?
    public var counts: [String: Int]
    public var changed: Bool { !counts.isEmpty }
}

public enum MaskError: Error, Equatable {
    /// A value of a type that has no known valid replacement: the stage fails closed.
    case unsupportedType(UInt32)
}

/// Masks values by policy: a column rule if one matches, otherwise content detection
/// on the value's text. One instance serves every value of a connection; it is
/// immutable and Sendable.
public struct Masker: Sendable {
    public let policy: MaskPolicy
    let detectors: [Detector]

    public init(policy: MaskPolicy, detectors: [Detector]? = nil) {
        self.policy = policy
        let all = detectors ?? Detectors.standard(mrnPatterns: policy.mrnPatterns)
        self.detectors = all.filter { !Set($0.entities).isDisjoint(with: policy.enabledEntities) }
    }

    /// Spans found in `text`, overlaps resolved.
    public func detect(_ text: String) -> [DetectedSpan] { find(text)?.spans ?? [] }

    func detect(_ bytes: [UInt8]) -> [DetectedSpan] { resolved(Detectors.scan(detectors, bytes), bytes) }

    func resolved(_ raw: [DetectedSpan], _ bytes: [UInt8], column: String? = nil) -> [DetectedSpan] {
        guard !raw.isEmpty else { return raw }
        var spans = raw
        spans.removeAll { !policy.enabledEntities.contains($0.entity) }
        spans = OpaqueTokens.drop(spans, bytes)   // a find inside a UUID, a hash, a blob is chance
        spans = NumberKeys.drop(spans, bytes, column: column)   // a time's or a size's digits are chance
        let kept = Detectors.resolve(spans, length: bytes.count, text: bytes)
        let repeats = policy.enabledEntities.contains(.personName) ? NameDetector.repeated(bytes, kept) : []
        return repeats.isEmpty ? kept : (kept + repeats).sorted { $0.start < $1.start }
    }

    /// The text's bytes and the spans found in it, overlaps resolved; nil when nothing
    /// was found (a value no detector can match is not even copied: see ScanProfile).
    /// `column`: the name of the column the text is the value of.
    func find(_ text: String, ignoring: Set<Entity> = [], column: String? = nil) -> (bytes: [UInt8], spans: [DetectedSpan])? {
        var found = Detectors.scan(detectors, text)
        if text.utf8.contains(0x25), let (decoded, origin) = Self.percentDecoded(Array(text.utf8)) {
            // Read decoded too; what is found there is masked where it was encoded.
            let mapped = Detectors.scan(detectors, decoded).map { DetectedSpan($0.entity, origin[$0.start], origin[$0.end]) }
            if !mapped.isEmpty { found = (found?.bytes ?? Array(text.utf8), (found?.spans ?? []) + mapped) }
        }
        guard let (bytes, raw) = found, !raw.isEmpty else { return nil }
        let spans = resolved(ignoring.isEmpty ? raw : raw.filter { !ignoring.contains($0.entity) }, bytes, column: column)
        return spans.isEmpty ? nil : (bytes, spans)
    }

    /// Text with percent escapes (a URL's query in a log line, S3 keys listed with
    /// `encoding-type=url`, which the SDKs ask for) decoded, `+` as a space: a value cut
    /// up by escapes (`Jane%20Doe%40example.org`) is no value to a detector. `origin[i]`
    /// is where decoded byte i came from (`origin[decoded.count]`: the end). Nil when
    /// nothing is escaped.
    static func percentDecoded(_ bytes: [UInt8]) -> (decoded: [UInt8], origin: [Int])? {
        func hex(_ b: UInt8) -> UInt8? {
            switch b {
            case 0x30...0x39: return b - 0x30
            case 0x41...0x46: return b - 0x37
            case 0x61...0x66: return b - 0x57
            default: return nil
            }
        }
        var decoded: [UInt8] = [], origin: [Int] = []
        decoded.reserveCapacity(bytes.count); origin.reserveCapacity(bytes.count + 1)
        var i = 0, escaped = false
        while i < bytes.count {
            origin.append(i)
            if bytes[i] == 0x25, i + 2 < bytes.count, let h = hex(bytes[i + 1]), let l = hex(bytes[i + 2]) {
                decoded.append(h << 4 | l); i += 3; escaped = true
            } else {
                decoded.append(bytes[i] == 0x2B ? 0x20 : bytes[i]); i += 1
            }
        }
        origin.append(bytes.count)
        return escaped ? (decoded, origin) : nil
    }

    /// Masks one value. `typeOID` 0 or nil means text (error messages, COPY fields).
    /// `ignoring`: entities content detection leaves alone in this value (dates of a
    /// column whose lineage proves it reads no person's data).
    public func mask(_ value: String, table: String? = nil, column: String? = nil, typeOID: UInt32? = nil,
                     ignoring: Set<Entity> = []) throws -> MaskResult {
        let oid = typeOID ?? 0
        if let rule = policy.rule(table: table, column: column) {
            if case .keep = rule.strategy { return MaskResult(value: value, counts: [:]) }
            return MaskResult(value: try whole(value, oid: oid, strategy: rule.strategy, marker: "[REDACTED]"),
                              counts: [rule.label: 1])
        }
        if PGType.isNumeric(oid) { return MaskResult(value: value, counts: [:]) }
        // A name in a script without case, alone in a column whose name says name
        // (`patient_name`: `김민준`): no capital marks it and no list holds it (NameKeys).
        if let column, oid != PGType.json, oid != PGType.jsonb, PGType.isTextLike(oid), BinaryTypes.element(of: oid) == nil,
           value.utf8.count <= 160, value.utf8.contains(where: { $0 >= 0xC0 }), policy.enabledEntities.contains(.personName),
           !ignoring.contains(.personName), NameKeys.says(column: column), NameKeys.isCaselessName(value) {
            let text = policy.strategy(for: .personName).text(for: Array(value.utf8)[...], marker: Entity.personName.marker)
            return MaskResult(value: text, counts: [Entity.personName.rawValue: 1])
        }
        guard let (bytes, spans) = find(value, ignoring: ignoring, column: column) else { return MaskResult(value: value, counts: [:]) }
        var counts: [String: Int] = [:]
        for s in spans { counts[s.entity.rawValue, default: 0] += 1 }
        if !PGType.isTextLike(oid) {
            // An array of dates, uuids, inets...: each element something is found in is
            // replaced whole, as a value of its type.
            var found: [String: Int] = [:]
            if let masked = try eachElement(value, oid: oid, {
                let r = try mask($0, typeOID: $1, ignoring: ignoring)
                found.merge(r.counts, uniquingKeysWith: +)
                return r.value
            }) { return MaskResult(value: found.isEmpty ? value : masked, counts: found) }
            // A date, a uuid, an inet... cannot hold a marker: replace the whole value,
            // with the strategy of the strongest entity found in it.
            let top = spans.max { $0.entity.priority < $1.entity.priority }!.entity
            return MaskResult(value: try whole(value, oid: oid, strategy: policy.strategy(for: top), marker: top.marker),
                              counts: counts)
        }
        return MaskResult(value: replace(bytes, spans), counts: counts)
    }

    /// Masks free text (error details, notices, COPY lines): content detection only.
    /// `key`: the name the text is the value of (an XML element's or attribute's), read as
    /// a column's name is.
    public func maskText(_ text: String, key: String? = nil) -> MaskResult {
        guard let (bytes, spans) = find(text, column: key) else { return MaskResult(value: text, counts: [:]) }
        var counts: [String: Int] = [:]
        for s in spans { counts[s.entity.rawValue, default: 0] += 1 }
        return MaskResult(value: replace(bytes, spans), counts: counts)
    }

    func whole(_ value: String, oid: UInt32, strategy: MaskStrategy, marker: String, keepsYear: Bool = true) throws -> String? {
        if case .null = strategy { return nil }
        if let masked = try eachElement(value, oid: oid, { try whole($0, oid: $1, strategy: strategy, marker: marker, keepsYear: keepsYear) }) {
            return masked
        }
        if PGType.isTextLike(oid) && oid != PGType.json && oid != PGType.jsonb {
            return strategy.text(for: Array(value.utf8)[...], marker: marker)
        }
        guard let replaced = TypedReplacement.value(for: value, oid: oid, strategy: strategy, keepsYear: keepsYear) else {
            throw MaskError.unsupportedType(oid)
        }
        return replaced
    }

    /// An array of a built-in type, each element masked by `body` as a value of the
    /// element type (NULL stays NULL); nil when `oid` is no such array or `value` is not
    /// an array's text.
    func eachElement(_ value: String, oid: UInt32, _ body: (String, UInt32) throws -> String?) throws -> String? {
        guard let element = BinaryTypes.element(of: oid), var array = ArrayLiteral(value) else { return nil }
        array.elements = try array.elements.map { try $0.flatMap { try body($0, element) } }
        return array.text
    }

    func replace(_ bytes: [UInt8], _ spans: [DetectedSpan]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count + spans.count * 8)
        var pos = 0
        for s in spans {
            out.append(contentsOf: bytes[pos..<s.start])
            out.append(contentsOf: policy.strategy(for: s.entity).text(for: bytes[s.start..<s.end], marker: s.entity.marker).utf8)
            pos = s.end
        }
        out.append(contentsOf: bytes[pos...])
        return String(decoding: out, as: UTF8.self)
    }
}
