import Foundation
import HoopJSON

// AWS answers masked by the call they answer (docs/masking.md, "AWS resources"): the
// policy's resource rules that match what the call named give field rules (by member,
// attribute, column or element name, or by JSON path); content detection reads
// everything else. One walker for every service's JSON: DynamoDB's attribute values,
// Logs Insights' field/value pairs, Athena's columns and Secrets Manager's secrets are
// the few shapes where a value's name is not its member's name.

/// A field rule of a resource rule: `{"field": PATTERN, "strategy": …, "entity": …}`.
/// PATTERN is a glob on a member name at any depth, or a path from the root (`$.a.b`,
/// `$.items[*].ssn`, `*` for any member).
public struct FieldRule: Sendable {
    public enum Step: Sendable, Equatable {
        case member(String)   // a glob on the member's name
        case anyIndex         // [*]
        case index(Int)       // [n]
    }
    public enum Pattern: Sendable {
        case name(String)
        case path([Step])
    }
    public var pattern: Pattern
    public var strategy: MaskStrategy
    public var entity: Entity?
    /// The `masked` frame counts a field under its entity, else "FIELD".
    public var label: String { entity?.rawValue ?? "FIELD" }
    public var keeps: Bool { if case .keep = strategy { return true }; return false }

    public init(field: String, strategy: MaskStrategy, entity: Entity? = nil) throws {
        self.strategy = strategy
        self.entity = entity
        guard field.hasPrefix("$") else {
            guard !field.isEmpty else { throw SelectorError("a field rule needs a field") }
            pattern = .name(field)
            return
        }
        pattern = .path(try Self.steps(field))
    }

    /// `$.a.b[*].c`, `$["odd name"]`: members after dots or in brackets, indexes in brackets.
    static func steps(_ path: String) throws -> [Step] {
        let s = Array(path.unicodeScalars)
        var i = 1, out: [Step] = []
        func bad() -> SelectorError { SelectorError("a field path must read $.name, $.name[*], $.name[0] or $[\"name\"]: \(path)") }
        while i < s.count {
            if s[i] == "." {
                i += 1
                var name = ""
                while i < s.count, s[i] != ".", s[i] != "[" { name.unicodeScalars.append(s[i]); i += 1 }
                guard !name.isEmpty else { throw bad() }
                out.append(.member(name))
            } else if s[i] == "[" {
                guard let close = s[i...].firstIndex(of: "]") else { throw bad() }
                let inner = String(String.UnicodeScalarView(s[(i + 1)..<close]))
                if inner == "*" { out.append(.anyIndex) }
                else if let n = Int(inner), n >= 0 { out.append(.index(n)) }
                else if inner.count >= 2, inner.first == "\"" || inner.first == "'", inner.last == inner.first {
                    out.append(.member(String(inner.dropFirst().dropLast())))
                } else { throw bad() }
                i = close + 1
            } else { throw bad() }
        }
        guard !out.isEmpty else { throw bad() }
        return out
    }

    func matches(name: String, path: [PathKey]) -> Bool {
        switch pattern {
        case .name(let glob): return Glob.matches(glob, name)
        case .path(let steps):
            guard steps.count == path.count else { return false }
            for (step, key) in zip(steps, path) {
                switch (step, key) {
                case (.member(let glob), .member(let m)): if !Glob.matches(glob, m) { return false }
                case (.anyIndex, .index): continue
                case (.index(let n), .index(let k)): if n != k { return false }
                default: return false
                }
            }
            return true
        }
    }
}

/// Where a value sits in its document, from the root.
public enum PathKey: Sendable, Equatable {
    case member(String)
    case index(Int)
}

/// `masking.resources[]`: a resource (ResourceSelector) and the field rules of its answers.
public struct ResourceRule: Sendable {
    public var selector: ResourceSelector
    public var fields: [FieldRule]
    public init(selector: ResourceSelector, fields: [FieldRule]) { self.selector = selector; self.fields = fields }
}

/// The call an answer is for, as hoop-connect-aws puts it on its `result` frame (`call`).
public struct AWSCallContext: Sendable {
    public var service: String
    public var action: String
    public var resources: CallResources
    /// The call asked for a part of an object (a `range` header, a `partNumber`).
    public var range: Bool
    /// Members of the answer that hold environment variables (the operation's model says
    /// which: the door's `environment`): every value under them is redacted.
    public var environment: Set<String>
    /// Members of the answer that are maps (the model's: Tags, Attributes, Variables):
    /// their keys are someone's text.
    public var maps: Set<String>
    /// The answer's name/value pairs by the model (the door's `pairs`: CloudFormation's
    /// ParameterKey and DefaultValue): lower-case value member → its key members.
    public var pairs: [String: Set<String>]

    public init(service: String, action: String, resources: JSON?, range: Bool = false, environment: Set<String> = [],
                maps: Set<String> = [], pairs: [[String]] = []) {
        self.service = service
        self.action = action
        self.resources = CallResources(service: service, resources: resources)
        self.range = range
        self.environment = environment
        self.maps = maps
        self.pairs = CredentialValues.pairs(pairs)
    }

    public init(_ call: JSON) {
        self.init(service: call["service"]?.string ?? "", action: call["action"]?.string ?? "",
                  resources: call["resources"], range: call["range"]?.bool == true,
                  environment: Set((call["environment"]?.array ?? []).compactMap(\.string)),
                  maps: Set((call["maps"]?.array ?? []).compactMap(\.string)),
                  pairs: (call["pairs"]?.array ?? []).compactMap { $0.array?.compactMap(\.string) })
    }

    /// The S3 key the call read, for telling a CSV by its name.
    public var objectKey: String? { resources.objects.first?.key }
}

/// Why an answer is not delivered (fail closed): it cannot be read for what it holds.
public struct AnswerRefusal: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

extension MaskPolicy {
    /// The field rules of every resource rule that matches the call, in the policy's order.
    public func fieldRules(for call: AWSCallContext?) -> [FieldRule] {
        guard let call else { return [] }
        return resourceRules.filter { covers($0.selector, call) }.flatMap(\.fields)
    }

    /// A rule covers a call that names its resource; and a call that names nothing but
    /// reads what an earlier call chose (Logs Insights' GetQueryResults, DynamoDB Streams'
    /// GetRecords): every rule of that service's kind, since it may be any of them.
    func covers(_ selector: ResourceSelector, _ call: AWSCallContext) -> Bool {
        if selector.matches(call.resources) { return true }
        guard call.resources.isEmpty else { return false }
        switch call.service {
        case "logs": return selector.logGroup != nil
        case "dynamodb": return selector.table != nil
        default: return false
        }
    }

    /// Whether the call touches a resource the policy names (PHI): its binary answers
    /// and ranged reads cannot be masked, so they are refused.
    public func namesPHI(_ call: AWSCallContext?) -> Bool {
        guard let call else { return false }
        return resourceRules.contains { covers($0.selector, call) }
    }
}

/// The readings of a text answer.
public enum AnswerFormat: Sendable, Equatable {
    case json, ndjson, csv, xml, text

    /// By the bytes first (a type is only a label, and a key's name is anyone's choice),
    /// then by the type and the key's name.
    public static func of(_ body: String, contentType: String?, key: String?) -> AnswerFormat {
        let type = (contentType ?? "").lowercased()
        let head = body.drop(while: { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" || $0 == "\u{FEFF}" }).first
        if head == "{" || head == "[" {
            if (try? JSON.parse(body)) != nil { return .json }
            if isNDJSON(body) { return .ndjson }
        }
        if type.contains("ndjson") || type.contains("jsonl") || type.contains("json-seq") { return .ndjson }
        if type.contains("json") { return .json }
        if type.contains("xml") || head == "<" { return .xml }
        let name = (key ?? "").lowercased()
        if type.contains("csv") || name.hasSuffix(".csv") || looksLikeCSV(body) { return .csv }
        if name.hasSuffix(".ndjson") || name.hasSuffix(".jsonl") { return .ndjson }
        return .text
    }

    /// For a streamed answer: its type and key, and its first piece.
    public static func ofStream(firstPiece: String, contentType: String?, key: String?) -> AnswerFormat {
        let type = (contentType ?? "").lowercased(), name = (key ?? "").lowercased()
        if isNDJSON(firstPiece) || type.contains("ndjson") || type.contains("jsonl")
            || name.hasSuffix(".ndjson") || name.hasSuffix(".jsonl") { return .ndjson }
        if type.contains("csv") || name.hasSuffix(".csv") || looksLikeCSV(firstPiece) { return .csv }
        return .text
    }

    /// At least two of the first lines hold the same number (one or more) of tabs,
    /// semicolons or bars, and no comma: a table, delimited otherwise than CSV.
    public static func isOtherwiseDelimited(_ body: String) -> Bool {
        let lines = body.prefix(64 << 10).split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).prefix(5)
        guard lines.count >= 2 else { return false }
        for d: Character in ["\t", ";", "|"] {
            let counts = lines.map { $0.filter { $0 == d }.count }
            if counts[0] > 0, counts.allSatisfy({ $0 == counts[0] }), !lines[lines.startIndex].contains(",") { return true }
        }
        return false
    }

    static func isNDJSON(_ body: String) -> Bool {
        let lines = body.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).filter { !$0.allSatisfy(\.isWhitespace) }
        guard !lines.isEmpty else { return false }
        return lines.allSatisfy { l in l.first == "{" && (try? JSON.parse(String(l))) != nil }
    }

    /// At least two lines whose first few records have the same number of fields (two or more).
    static func looksLikeCSV(_ body: String) -> Bool {
        var parser = CSVParser()
        var counts: [Int] = []
        for record in parser.records(Substring(body).prefix(64 << 10), final: false) {
            counts.append(record.fields.count)
            if counts.count == 5 { break }
        }
        return counts.count >= 2 && counts[0] >= 2 && counts.allSatisfy { $0 == counts[0] }
    }
}

extension Masker {
    /// A `result` body of an AWS call: its field rules where the call names a resource of
    /// the policy, content detection on the rest. Secrets Manager's secret values are
    /// never shown. `csv` keeps a streamed CSV's header between pieces.
    public func maskAWSAnswer(_ body: String, contentType: String?, call: AWSCallContext?) throws -> MaskResult {
        // A byte-order mark is no part of the document: read what follows, and keep it.
        if body.unicodeScalars.first == "\u{FEFF}" {
            var r = try maskAWSAnswer(String(body.unicodeScalars.dropFirst()), contentType: contentType, call: call)
            r.value = r.value.map { "\u{FEFF}" + $0 }
            return r
        }
        let rules = FieldRules(policy.fieldRules(for: call))
        var walk = FieldWalk(masker: self, rules: rules, call: call)
        walk.digests = policy.namesPHI(call)
        let format = AnswerFormat.of(body, contentType: contentType, key: call?.objectKey)
        let head = body.first(where: { !$0.isWhitespace })
        if !rules.isEmpty, head == "{" || head == "[", format != .json, format != .ndjson {
            // It reads like JSON and is not (a duplicate member, a cut document): its
            // members could not be told apart, and content detection alone would read it.
            throw AnswerRefusal("an answer that looks like JSON cannot be read as JSON")
        }
        if !rules.isEmpty, format == .csv || format == .text, AnswerFormat.isOtherwiseDelimited(body) {
            // A table of tabs, semicolons or bars: read as CSV it is one column, whose names
            // no rule would find; content detection alone would read it.
            throw AnswerRefusal("a table delimited otherwise than by commas cannot be read by its columns")
        }
        switch format {
        case .json:
            guard let doc = try? JSON.parse(body) else {
                // Says it is JSON and is not: its members cannot be told apart.
                if !rules.isEmpty || call?.service == "secretsmanager" {
                    throw AnswerRefusal("an answer that says it is JSON cannot be read as JSON")
                }
                return maskText(body)
            }
            let masked = try walk.document(doc)
            return walk.counts.isEmpty ? MaskResult(value: body, counts: [:]) : MaskResult(value: masked.encodedString, counts: walk.counts)
        case .ndjson:
            return try maskNDJSON(body, walk: &walk)
        case .csv:
            var header: CSVHeader? = nil
            return try maskCSV(body, rules: rules, header: &header, final: true)
        case .xml:
            guard let r = readXML(body, rules: rules, digests: policy.namesPHI(call) && !walk.payload, pairs: call?.pairs ?? [:]) else {
                // Not XML as this reader knows it (a processing instruction, a DOCTYPE, an
                // unquoted attribute): its element names cannot be told apart.
                if !rules.isEmpty { throw AnswerRefusal("an answer that looks like XML cannot be read as XML") }
                return maskText(body)
            }
            return r
        case .text:
            return maskRuledText(body, rules: rules)
        }
    }

    /// One piece of a streamed text answer (cut at a line's end), in the format its head
    /// and first piece decided; `header` is the CSV's, kept for the session's call.
    public func maskAWSPiece(_ piece: String, format: AnswerFormat, call: AWSCallContext?, header: inout CSVHeader?,
                             context: String) throws -> MaskResult {
        let rules = FieldRules(policy.fieldRules(for: call))
        switch format {
        case .csv: return try maskCSV(piece, rules: rules, header: &header, final: false)
        case .ndjson:
            var walk = FieldWalk(masker: self, rules: rules, call: call)
            return try maskNDJSON(piece, walk: &walk)
        default: return maskRuledText(piece, rules: rules, context: context)
        }
    }

    func maskNDJSON(_ body: String, walk: inout FieldWalk) throws -> MaskResult {
        var out = "", changed = false
        out.reserveCapacity(body.utf8.count)
        var rest = Substring(body)
        while !rest.isEmpty {
            let end = rest.firstIndex(of: "\n").map { rest.index(after: $0) } ?? rest.endIndex
            var line = rest[..<end]
            rest = rest[end...]
            var ending = ""
            if line.hasSuffix("\n") { line = line.dropLast(); ending = "\n" }
            if line.hasSuffix("\r") { line = line.dropLast(); ending = "\r" + ending }
            if line.allSatisfy(\.isWhitespace) { out += line + ending; continue }
            guard let doc = try? JSON.parse(String(line)) else {
                // A line that is not JSON: its names cannot be read, so it goes whole when rules apply.
                if !walk.rules.isEmpty {
                    walk.counts["FIELD", default: 0] += 1
                    out += "[REDACTED]" + ending; changed = true
                } else {
                    let r = maskText(String(line))
                    walk.counts.merge(r.counts, uniquingKeysWith: +)
                    if r.changed { changed = true }
                    out += (r.value ?? "") + ending
                }
                continue
            }
            let before = walk.counts
            let masked = try walk.document(doc)
            if walk.counts != before { changed = true; out += masked.encodedString + ending } else { out += line + ending }
        }
        return changed ? MaskResult(value: out, counts: walk.counts) : MaskResult(value: body, counts: [:])
    }
}

/// The field rules that apply to one answer: the first that matches a name or path wins.
public struct FieldRules: @unchecked Sendable {   // the regex is only read
    let all: [FieldRule]
    /// `NAME: value` pairs of free text, for the rules by name (maskPairs); made once per answer.
    let pairs: NSRegularExpression?
    public init(_ all: [FieldRule]) { self.all = all; pairs = Self.pairPattern(all) }
    public var isEmpty: Bool { all.isEmpty }
    func rule(_ name: String, _ path: [PathKey]) -> FieldRule? { all.first { $0.matches(name: name, path: path) } }
}

/// A JSON answer, walked once: ruled members masked whole, string values by content
/// detection, numbers and booleans only by rules (they carry no context).
struct FieldWalk {
    let masker: Masker
    let rules: FieldRules
    let call: AWSCallContext?
    var counts: [String: Int] = [:]

    static let attributeTypes: Set<String> = ["S", "N", "B", "SS", "NS", "BS", "L", "M", "BOOL", "NULL"]
    var dynamo: Bool { call?.service == "dynamodb" }
    var logs: Bool { call?.service == "logs" }

    /// Whether the document is data someone wrote (an S3 object, a Lambda payload, a
    /// document inside a string) rather than the service's own structure.
    var payload: Bool

    /// Of a resource the policy names: the service's digests of its data (an object's
    /// ETag in a listing, GetObjectAttributes' checksums) are an oracle, as the headers
    /// are (ResponseMasking.maskHeaders): a small object's MD5 gives its one SSN back
    /// by trying them all. Redacted wherever the service's structure has them.
    var digests = false

    /// The call touches a resource the policy names: bytes of it that cannot be read as
    /// text are not passed (a DynamoDB Binary, as an S3 object's bytes are refused).
    var phi = false

    /// A member or element that holds a digest of the data: ETag, Content-MD5, Checksum*.
    static func isDigest(_ name: String) -> Bool {
        let n = name.lowercased().replacingOccurrences(of: "-", with: "")
        if n == "etag" || n == "contentmd5" || n == "md5" || n == "checksum" { return true }
        return n.hasPrefix("checksum") && ["crc", "sha", "md5", "xxhash"].contains { n.dropFirst(8).hasPrefix($0) }
    }

    init(masker: Masker, rules: FieldRules, call: AWSCallContext?) {
        self.masker = masker; self.rules = rules; self.call = call
        phi = masker.policy.namesPHI(call)
        payload = (call?.service == "s3" && call?.action == "GetObject") || (call?.service == "lambda" && (call?.action ?? "").hasPrefix("Invoke"))
            || call == nil
    }

    mutating func document(_ doc: JSON) throws -> JSON {
        var doc = doc
        if call?.service == "secretsmanager" { doc = secretsHidden(doc) }
        if call?.service == "athena", call?.action == "GetQueryResults", case .object(var o) = doc,
           let set = o["ResultSet"] {
            o["ResultSet"] = athenaResults(set)
            return .object(o)
        }
        return try value(doc, path: [])
    }

    /// Environment variables (where deployments keep passwords and API keys): every value
    /// redacted; the variables' names (a map's keys, a name/value pair's name) read as
    /// text someone wrote, a pair's type kept.
    mutating func environmentHidden(_ v: JSON) -> JSON {
        switch v {
        case .object(let o):
            let pair = o.keys.contains { $0.lowercased() == "value" }
            var out: [String: JSON] = [:]
            for (k, m) in o {
                // A variable's name is read as a value is (someone chose it); its value goes.
                if pair, ["name", "key"].contains(k.lowercased()), let name = m.string {
                    let r = masker.maskText(name)
                    if r.changed { counts.merge(r.counts, uniquingKeysWith: +) }
                    out[k] = .string(r.value ?? name); continue
                }
                if pair, k.lowercased() == "type", m.string != nil { out[k] = m; continue }
                // A pair's other members and Lambda's `Variables` are the model's names.
                out[pair || k == "Variables" ? k : key(k, in: out)] = environmentHidden(m)
            }
            return .object(out)
        case .array(let a):
            return .array(a.map { environmentHidden($0) })
        case .string, .int, .double:
            counts["SECRET", default: 0] += 1
            return .string("[REDACTED]")
        default:
            return v
        }
    }

    /// The value of a key that names a credential: every string and number in it redacted,
    /// its shape kept (a DynamoDB attribute stays `{"S": …}`).
    mutating func credentialHidden(_ v: JSON) -> JSON {
        switch v {
        case .object(let o): return .object(o.mapValues { credentialHidden($0) })
        case .array(let a): return .array(a.map { credentialHidden($0) })
        case .string, .int, .double:
            counts["SECRET", default: 0] += 1
            return .string("[REDACTED]")
        default: return v
        }
    }

    /// SecretString and SecretBinary, wherever they are: never shown, whatever a rule says.
    mutating func secretsHidden(_ v: JSON) -> JSON {
        switch v {
        case .object(let o):
            var out: [String: JSON] = [:]
            for (k, m) in o {
                if k == "SecretString", m.string != nil {
                    out[k] = .string("[REDACTED]"); counts["SECRET", default: 0] += 1
                } else if k == "SecretBinary", m.string != nil {
                    // Still base64, so that the SDK decodes it.
                    out[k] = .string(Data("[REDACTED]".utf8).base64EncodedString()); counts["SECRET", default: 0] += 1
                } else { out[k] = secretsHidden(m) }
            }
            return .object(out)
        case .array(let a): return .array(a.map { secretsHidden($0) })
        default: return v
        }
    }

    /// `context`: the member name a string is the value of, in what someone wrote (a
    /// document, a DynamoDB item): a label there (`"postalCode": `, `"family": `) names
    /// the value as it would in the document's text. The service's own members name none
    /// (a `FunctionName` holds no person's name).
    /// `keysWritten`: `v` is a map of the model (its keys someone's text).
    mutating func value(_ v: JSON, path: [PathKey], context: String = "", keysWritten: Bool = false) throws -> JSON {
        switch v {
        case .object(let o):
            if logs, let field = o["field"]?.string, let val = o["value"], o.count == 2 {
                // Logs Insights: {"field": name, "value": …}: the value is the field's.
                if let r = rules.rule(field, path + [.member(field)]) {
                    return .object(["field": .string(field), "value": whole(val, r)])
                }
            }
            var out: [String: JSON] = [:]
            // A name and its value as one structure's members (a parameter's `Name` and `Value`).
            let credentialValues = CredentialValues.valuesNamedCredential(o, pairs: call?.pairs ?? [:])
            for (k, m) in o {
                let here = path + [.member(k)]
                let name = payload || keysWritten || dynamo && Self.isAttributeValue(m) || !Self.isIdentifier(k) ? key(k, in: out) : k
                if !payload, call?.environment.contains(k) == true {
                    out[name] = environmentHidden(m)
                } else if credentialValues.contains(k) {
                    out[name] = credentialHidden(m)
                } else if payload || keysWritten || !Self.isIdentifier(k), CredentialValues.isCredentialName(k) {
                    // A key someone wrote that names a credential (an EMR configuration's
                    // `javax.jdo.option.ConnectionPassword`, Glue's `--db-password` argument):
                    // its value goes, the key stays.
                    out[name] = credentialHidden(m)
                } else if digests, !payload, m.string != nil, Self.isDigest(k) {
                    out[name] = .string("[REDACTED]"); counts["DIGEST", default: 0] += 1
                } else if let r = rules.rule(k, here) {
                    out[name] = dynamo && Self.isAttributeValue(m) ? wholeAttribute(m, r) : whole(m, r)
                } else if dynamo && Self.isAttributeValue(m) {
                    out[name] = try attribute(m, path: here)
                } else {
                    out[name] = try value(m, path: here, context: payload ? Self.label(k) : "", keysWritten: call?.maps.contains(k) == true)
                }
            }
            return .object(out)
        case .array(var a):
            // A command line (an EMR step's `Args`, a container's `command`): the argument
            // after a flag that names a credential (`--db-password VALUE`, `--token=VALUE`).
            let strings = a.compactMap(\.string)
            if strings.count == a.count, let r = CredentialValues.argumentsHidden(strings) {
                a = r.args.map(JSON.string)
                counts["SECRET", default: 0] += r.hidden
            }
            return .array(try a.enumerated().map { try value($1, path: path + [.index($0)], context: context) })
        case .string(let s):
            if let inner = embeddedJSON(s) {
                // A document in a string (a log event, an API Gateway body in a Lambda
                // payload): its members by name too, from its own root, numbers included.
                let before = counts, wasPayload = payload
                payload = true
                defer { payload = wasPayload }
                let masked = try value(inner, path: [])
                return counts == before ? v : .string(masked.encodedString)
            }
            if Self.base64Unreadable(s) {
                // Compressed bytes that cannot be read to their end: not passed as if empty.
                counts["UNREADABLE", default: 0] += 1
                return .string(Data("[REDACTED]".utf8).base64EncodedString())
            }
            if let text = Self.base64Text(s) {
                // Bytes a service sends as base64 (a Kinesis record's Data, an SQS body an
                // application encoded, a blob member): read as the text they are, and
                // written back as base64 where something was masked.
                let r = masker.maskText(text)
                if r.changed {
                    counts.merge(r.counts, uniquingKeysWith: +)
                    return .string(Data((r.value ?? "").utf8).base64EncodedString())
                }
            }
            let r = masker.maskRuledText(s, rules: rules, context: context)
            counts.merge(r.counts, uniquingKeysWith: +)
            return r.changed ? .string(r.value ?? "") : v
        case .int, .double:
            // A number in a document someone wrote (an object, a function's payload) may be
            // a phone number or a date: read as the text it is. Not in the service's own
            // structures, whose numbers are counts and times the SDK parses.
            guard payload else { return v }
            let r = masker.maskText(v.encodedString)
            counts.merge(r.counts, uniquingKeysWith: +)
            return r.changed ? .string(r.value ?? "") : v
        default:
            return v
        }
    }

    /// `"name": "`: a member's name as the text before its value.
    static func label(_ name: String?) -> String { name.map { "\"\($0)\": \"" } ?? "" }
    static func numberLabel(_ name: String?) -> String { name.map { "\"\($0)\": " } ?? "" }

    /// The name of the DynamoDB attribute (or map member) at `path`.
    func attributeName(_ path: [PathKey]) -> String? {
        if case .member(let k)? = path.last { return k }
        return nil
    }

    /// A name in the service's own structure: letters and digits from a letter on
    /// ("FunctionArn", "QueueUrls", "KeyMetadata"). The model's members are all such; a
    /// map's key someone wrote that is one names a field, not a person. Its content is not
    /// read (renamed, an SDK would not find the member): what someone wrote as a key with
    /// a space, a comma or a digit run after punctuation is.
    static func isIdentifier(_ k: String) -> Bool {
        guard let first = k.utf8.first, isAlpha(first) else { return false }
        return k.utf8.allSatisfy { isAlnum($0) }
    }

    /// A member's name is text someone may have written too (a map keyed by patient name,
    /// a tag, a DynamoDB attribute or map key): read by content detection like a value,
    /// and, where masked, kept apart from the names already written (`[PERSON_NAME] 2`).
    mutating func key(_ k: String, in out: [String: JSON]) -> String {
        let r = masker.maskText(k)
        guard r.changed, var name = r.value else { return k }
        counts.merge(r.counts, uniquingKeysWith: +)
        var n = 2
        let base = name
        while out[name] != nil { name = "\(base) \(n)"; n += 1 }
        return name
    }

    /// The text a base64 string holds: standard base64 of at least 12 characters (padded
    /// to a multiple of 4) whose bytes are text of printable characters (tabs and line
    /// breaks too), however packed (gzip'd, UTF-16, Windows-1252: UnpackedText; written
    /// back, where masked, as UTF-8 text). Nil otherwise: a word or an id that merely uses the alphabet decodes
    /// to bytes that are not such text.
    /// A base64 string of compressed bytes that cannot be read to their end (UnpackedText).
    static func base64Unreadable(_ s: String) -> Bool {
        guard s.utf8.count >= 4, let data = Data(base64Encoded: s), UnpackedText.isPacked(data) else { return false }
        return UnpackedText.read(data) == .unreadable
    }

    static func base64Text(_ s: String) -> String? {
        let u = s.utf8
        guard u.count >= 12, u.count % 4 == 0, u.allSatisfy({ isAlnum($0) || $0 == 0x2B || $0 == 0x2F || $0 == 0x3D }),
              let data = Data(base64Encoded: s), let text = UnpackedText.text(data) else { return nil }
        guard text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F || $0 == "\n" || $0 == "\r" || $0 == "\t" }) else { return nil }
        return text
    }

    func embeddedJSON(_ text: String) -> JSON? {
        guard let first = text.first(where: { !$0.isWhitespace }), first == "{" || first == "[" else { return nil }
        return try? JSON.parse(text)
    }

    /// A DynamoDB AttributeValue: an object of one member named by its type.
    static func isAttributeValue(_ v: JSON) -> Bool {
        guard case .object(let o) = v, o.count == 1, let t = o.keys.first else { return false }
        return attributeTypes.contains(t)
    }

    /// A ruled attribute, whatever its type, becomes a string (`{"S": …}`) or NULL: a type
    /// every SDK deserializes.
    mutating func wholeAttribute(_ v: JSON, _ r: FieldRule) -> JSON {
        guard !r.keeps, let (type, inner) = v.object?.first else { return v }
        if type == "NULL" { return v }
        let text: String
        switch inner {
        case .string(let s): text = s
        default: text = inner.encodedString
        }
        counts[r.label, default: 0] += 1
        if case .null = r.strategy { return .object(["NULL": .bool(true)]) }
        return .object(["S": .string(r.strategy.text(for: Array(text.utf8)[...], marker: "[REDACTED]"))])
    }

    /// An attribute no rule names: strings by content detection, maps and lists walked
    /// (their members are attributes too). A number or a binary that content detection
    /// flags is no longer a number or a binary: it is written back as a string (set).
    mutating func attribute(_ v: JSON, path: [PathKey]) throws -> JSON {
        guard let (type, inner) = v.object?.first else { return try value(v, path: path) }
        func text(_ s: String) -> String? { type.hasPrefix("B") ? Data(base64Encoded: s).flatMap(UnpackedText.text) : s }
        switch type {
        case "S", "SS": return .object([type: try value(inner, path: path + [.member(type)], context: Self.label(attributeName(path)))])
        case "N", "B":
            // Not of its type's shape (an item whose one attribute is named "N"): read as any JSON.
            guard let s = inner.string else { return try value(v, path: path) }
            if type == "B", Self.base64Unreadable(s) {
                counts["UNREADABLE", default: 0] += 1
                return .object(["S": .string("[REDACTED]")])
            }
            guard let t = text(s) else {
                // Bytes that are not text: no detector reads them (a msgpack record, a short
                // Latin-1 note, bzip2). Of a PHI resource they are not passed, as its objects' are not.
                guard type == "B", phi else { return v }
                counts["UNREADABLE", default: 0] += 1
                return .object(["S": .string("[REDACTED]")])
            }
            // A number is read as a JSON number under its name (NumberKeys: `"ttl": 1804714115`).
            let r = masker.maskText(t, context: type == "N" ? Self.numberLabel(attributeName(path)) : Self.label(attributeName(path)))
            guard r.changed else { return v }
            counts.merge(r.counts, uniquingKeysWith: +)
            return .object(["S": .string(r.value ?? "")])
        case "NS", "BS":
            guard let strings = inner.array?.compactMap(\.string), strings.count == inner.array?.count else {
                return try value(v, path: path)
            }
            let items = strings.map { text($0) }
            var changed = false, out: [JSON] = []
            for t in items {
                guard let t else { out.append(.string("[REDACTED]")); changed = true; continue }
                let r = masker.maskText(t)
                if r.changed { changed = true; counts.merge(r.counts, uniquingKeysWith: +) }
                out.append(.string(r.value ?? ""))
            }
            return changed ? .object(["SS": .array(out)]) : v
        case "M":
            guard case .object(let members) = inner else { return try value(v, path: path) }
            var out: [String: JSON] = [:]
            for (k, m) in members {
                let here = path + [.member(k)]
                let name = key(k, in: out)
                if let r = rules.rule(k, here) { out[name] = Self.isAttributeValue(m) ? wholeAttribute(m, r) : whole(m, r) }
                else { out[name] = Self.isAttributeValue(m) ? try attribute(m, path: here) : try value(m, path: here) }
            }
            return .object(["M": .object(out)])
        case "L":
            guard case .array(let items) = inner else { return try value(v, path: path) }
            return .object(["L": .array(try items.enumerated().map { i, m in
                Self.isAttributeValue(m) ? try attribute(m, path: path + [.index(i)]) : try value(m, path: path + [.index(i)])
            })])
        default:
            return try value(v, path: path)   // BOOL, NULL: nothing to detect; anything else read as JSON
        }
    }

    /// A ruled member, whatever it holds, as text masked by the rule (null stays null).
    mutating func whole(_ v: JSON, _ r: FieldRule) -> JSON {
        if r.keeps { return v }
        if case .null = v { return v }
        let text: String
        if case .string(let s) = v { text = s } else { text = v.encodedString }
        counts[r.label, default: 0] += 1
        if case .null = r.strategy { return .null }
        return .string(r.strategy.text(for: Array(text.utf8)[...], marker: "[REDACTED]"))
    }

    /// Athena's rows: each row's Data[i] is the column ColumnInfo[i] names. The first row
    /// of a SELECT repeats the column names: it is left as it is.
    mutating func athenaResults(_ set: JSON) -> JSON {
        guard case .object(var o) = set else { return set }
        let names = (o["ResultSetMetadata"]?["ColumnInfo"]?.array ?? []).map { $0["Name"]?.string ?? $0["Label"]?.string ?? "" }
        let rows = o["Rows"]?.array ?? []
        var out: [JSON] = []
        for (n, row) in rows.enumerated() {
            let data = row["Data"]?.array ?? []
            let values = data.map { $0["VarCharValue"]?.string }
            if n == 0, values.count == names.count, zip(values, names).allSatisfy({ $0 == $1 }) { out.append(row); continue }
            var masked: [JSON] = []
            for (i, cell) in data.enumerated() {
                guard case .object(var c) = cell, let text = c["VarCharValue"]?.string else { masked.append(cell); continue }
                let name = i < names.count ? names[i] : ""
                if let r = rules.rule(name, [.member(name)]) {
                    c["VarCharValue"] = whole(.string(text), r)
                    if c["VarCharValue"] == .null { c.removeValue(forKey: "VarCharValue") }
                } else {
                    let r = masker.maskText(text)
                    counts.merge(r.counts, uniquingKeysWith: +)
                    c["VarCharValue"] = .string(r.value ?? "")
                }
                masked.append(.object(c))
            }
            var r = row
            if case .object(var ro) = row { ro["Data"] = .array(masked); r = .object(ro) }
            out.append(r)
        }
        o["Rows"] = .array(out)
        return .object(o)
    }
}

extension Masker {
    /// An object metadata header's value (`x-amz-meta-NAME`): by the field rule for NAME
    /// where the call names a resource of the policy, else by content detection. A value
    /// in RFC 2047's encoded words (how S3 returns metadata that is not ASCII) cannot be
    /// read here: of a resource the policy names, it is masked whole.
    public func maskMetadata(_ name: String, _ value: String, call: AWSCallContext?) -> MaskResult {
        let rules = FieldRules(policy.fieldRules(for: call))
        var walk = FieldWalk(masker: self, rules: rules, call: call)
        if let r = rules.rule(name, [.member(name)]) {
            let masked = walk.whole(.string(value), r)
            return masked == .string(value) ? MaskResult(value: value, counts: [:]) : MaskResult(value: masked.string ?? "", counts: walk.counts)
        }
        if value.contains("=?"), policy.namesPHI(call) {
            return MaskResult(value: "[REDACTED]", counts: ["UNREADABLE": 1])
        }
        return maskText(value)
    }
}

extension FieldRules {
    /// `NAME: value`, `NAME=value`, `"NAME": value` in free text (a log line, a text
    /// object, YAML, a Lambda log's JSON after its prefix): the value of a field a rule
    /// names, masked by that rule, before the detectors read the rest. Rules by name
    /// only (paths need a document).
    static func pairPattern(_ all: [FieldRule]) -> NSRegularExpression? {
        let names: [String] = all.compactMap { r in
            guard !r.keeps, case .name(let glob) = r.pattern else { return nil }
            var out = ""
            for c in glob {
                switch c {
                case "*": out += "[A-Za-z0-9_.-]*"
                case "?": out += "[A-Za-z0-9_.-]"
                default: out += NSRegularExpression.escapedPattern(for: String(c))
                }
            }
            return out
        }
        guard !names.isEmpty else { return nil }
        let pattern = #"(?<![A-Za-z0-9_])("# + names.joined(separator: "|")
            + #")["']?[ \t]*[:=][ \t]*("(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s,;&|}\]<>"']+)"#
        return try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive])
    }

    /// The text with every ruled pair's value masked; the counts by rule.
    func maskPairs(_ text: String, _ counts: inout [String: Int]) -> String {
        guard let re = pairs else { return text }
        let ns = text as NSString
        var out = "", last = 0
        for m in re.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            let name = ns.substring(with: m.range(at: 1))
            guard let rule = rule(name, [.member(name)]), !rule.keeps else { continue }
            var value = m.range(at: 2)
            let raw = ns.substring(with: value)
            if raw.count >= 2, raw.first == "\"" || raw.first == "'", raw.last == raw.first {
                value = NSRange(location: value.location + 1, length: value.length - 2)   // the quotes stay
            }
            guard value.length > 0 else { continue }
            out += ns.substring(with: NSRange(location: last, length: value.location - last))
            let v = ns.substring(with: value)
            if case .null = rule.strategy { out += "[REDACTED]" } else { out += rule.strategy.text(for: Array(v.utf8)[...], marker: "[REDACTED]") }
            counts[rule.label, default: 0] += 1
            last = value.location + value.length
        }
        guard last > 0 else { return text }
        return out + ns.substring(from: last)
    }
}

extension Masker {
    /// Free text of an answer field rules apply to: ruled pairs first, then the detectors.
    func maskRuledText(_ text: String, rules: FieldRules, context: String = "") -> MaskResult {
        var counts: [String: Int] = [:]
        let paired = rules.isEmpty ? text : rules.maskPairs(text, &counts)
        let r = context.isEmpty ? maskText(paired) : maskText(paired, context: context)
        counts.merge(r.counts, uniquingKeysWith: +)
        return counts.isEmpty ? MaskResult(value: text, counts: [:]) : MaskResult(value: r.value ?? paired, counts: counts)
    }
}
