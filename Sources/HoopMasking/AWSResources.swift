import HoopJSON

/// What an API call names, by kind, read from the `resources` object its door put on the
/// `call` frame (docs/frames.md, "API calls"). hoop-approve asks whether a call touches a
/// resource the masking policy names (the `phi` condition); hoop-mask asks which of the
/// policy's resource rules apply to the call's answer. One reader for both, so that the
/// two can never disagree about what a call touches.
public struct CallResources: Sendable, Equatable {
    /// S3 buckets and keys (a bucket alone for a bucket-level call), the copy source included.
    public var objects: [(bucket: String, key: String?)] = []
    public var tables: [String] = []
    public var functions: [String] = []
    public var logGroups: [String] = []
    public var secrets: [String] = []
    /// PartiQL statements: the tables they name are read from their words.
    public var statements: [String] = []
    /// Logs Insights query texts: the log groups they name are read from their words.
    public var logQueries: [String] = []
    /// The service's signing name (`s3`, `dynamodb`, …).
    public var service: String

    public static func == (a: CallResources, b: CallResources) -> Bool {
        a.service == b.service && a.tables == b.tables && a.functions == b.functions && a.logGroups == b.logGroups
            && a.secrets == b.secrets && a.statements == b.statements && a.logQueries == b.logQueries
            && a.objects.map { "\($0.bucket)/\($0.key ?? "")" } == b.objects.map { "\($0.bucket)/\($0.key ?? "")" }
    }

    public init(service: String, resources: JSON?) {
        self.service = service
        func strings(_ name: String) -> [String] {
            guard let v = resources?[name] else { return [] }
            if let s = v.string { return [s] }
            return (v.array ?? []).compactMap(\.string)
        }
        if service == "s3" {
            let buckets = strings("Bucket"), keys = strings("Key")
            for b in buckets { objects.append((b, keys.first)) }
            for source in strings("CopySource") {
                // "bucket/key?versionId=…", maybe with a leading slash; an access point ARN stays whole.
                var s = Substring(source)
                if s.hasPrefix("/") { s = s.dropFirst() }
                if let q = s.firstIndex(of: "?") { s = s[..<q] }
                if s.hasPrefix("arn:") { objects.append((String(s), nil)); continue }
                let parts = s.split(separator: "/", maxSplits: 1)
                objects.append((String(parts.first ?? ""), parts.count > 1 ? String(parts[1]) : nil))
            }
        }
        tables = strings("TableName") + strings("RequestItems")
        functions = strings("FunctionName")
        logGroups = strings("logGroupName") + strings("logGroupIdentifier") + strings("logGroupNames") + strings("logGroupIdentifiers")
        secrets = strings("SecretId")
        statements = strings("Statement")
        // A Logs Insights query may name its log groups in its text (SOURCE, SQL, PPL).
        logQueries = strings("queryString")
    }

    /// Nothing named: a call on the service as a whole (ListTables, ListBuckets).
    public var isEmpty: Bool {
        objects.isEmpty && tables.isEmpty && functions.isEmpty && logGroups.isEmpty && secrets.isEmpty && statements.isEmpty
            && logQueries.isEmpty
    }
}

/// A resource of the masking policy (`masking.resources[].bucket`, `key`, `table`,
/// `function`, `log_group`, `secret`, `service`): glob patterns (`*`, `?`, any case).
/// A name given as an ARN is read down to the resource's name; an ARN of a shape not
/// known here (an access point, another partition's form) matches every pattern of its
/// kind: fail closed, it may be any of them.
public struct ResourceSelector: Sendable {
    public var bucket: String?
    public var key: String?
    public var table: String?
    public var function: String?
    public var logGroup: String?
    public var secret: String?
    /// Any call of this service (e.g. `athena`), whatever it names.
    public var service: String?

    static let keys: Set<String> = ["bucket", "key", "table", "function", "log_group", "secret", "service"]

    public init(bucket: String? = nil, key: String? = nil, table: String? = nil, function: String? = nil,
                logGroup: String? = nil, secret: String? = nil, service: String? = nil) {
        self.bucket = bucket; self.key = key; self.table = table; self.function = function
        self.logGroup = logGroup; self.secret = secret; self.service = service
    }

    /// From a rule object; `what` names it in errors. Exactly one kind of resource.
    public init(_ j: JSON, what: String) throws {
        bucket = j["bucket"]?.string; key = j["key"]?.string; table = j["table"]?.string
        function = j["function"]?.string; logGroup = j["log_group"]?.string; secret = j["secret"]?.string
        service = j["service"]?.string
        let kinds = [bucket, table, function, logGroup, secret, service].compactMap { $0 }.count
        guard kinds == 1 else {
            throw SelectorError("\(what): name exactly one of bucket, table, function, log_group, secret or service")
        }
        if key != nil && bucket == nil { throw SelectorError("\(what): \"key\" goes with \"bucket\"") }
    }

    public func matches(_ r: CallResources) -> Bool {
        if let service { return Glob.matches(service, r.service) }
        if let bucket {
            return r.objects.contains { o in
                guard Self.name(o.bucket, bucket, arnMarker: nil) || Self.isAlias(o.bucket) else { return false }
                // A bucket-level call (a listing) touches every key of the bucket.
                guard let key, let k = o.key else { return true }
                return Glob.matches(key, k)
            }
        }
        if let table {
            if r.tables.contains(where: { Self.name($0, table, arnMarker: ":table/") }) { return true }
            // A PartiQL statement names its tables as words (quoted or not).
            return r.statements.contains { Self.words(of: $0).contains { Glob.matches(table, $0) } }
        }
        if let function { return r.functions.contains { Self.name($0, function, arnMarker: ":function:") } }
        if let logGroup {
            if r.logGroups.contains(where: { Self.name($0, logGroup, arnMarker: ":log-group:") }) { return true }
            // A query that names no log group in its parameters names them in its text, maybe
            // by a prefix (`SOURCE logGroups(namePrefix: …)`): it may read any of them.
            if r.logGroups.isEmpty && !r.logQueries.isEmpty { return true }
            return r.logQueries.contains { Self.words(of: $0, keeping: "/#-_.").contains { Glob.matches(logGroup, $0) } }
        }
        if let secret { return r.secrets.contains { Self.name($0, secret, arnMarker: ":secret:") } }
        return false
    }

    /// Whether a name as the call gave it (a name, an ARN, a partial ARN, `name:qualifier`)
    /// is one the pattern covers.
    static func name(_ given: String, _ pattern: String, arnMarker: String?) -> Bool {
        if Glob.matches(pattern, given) { return true }
        guard given.contains(":") else { return false }
        guard let arnMarker, let r = given.range(of: arnMarker) else {
            // A function's or log group's name with a qualifier (`NAME:PROD`, `NAME:*`).
            if !given.hasPrefix("arn:"), arnMarker == ":function:" || arnMarker == ":log-group:" {
                return Glob.matches(pattern, String(given.split(separator: ":", maxSplits: 1).first ?? ""))
            }
            // An ARN of an unknown shape, or a name of a shape its kind does not have: fail closed.
            return true
        }
        var rest = Substring(given[r.upperBound...])
        switch arnMarker {
        case ":table/": rest = rest.split(separator: "/", maxSplits: 1).first ?? rest              // table/NAME/index/…
        case ":function:", ":log-group:": rest = rest.split(separator: ":", maxSplits: 1).first ?? rest  // NAME:qualifier, NAME:*
        case ":secret:":
            // NAME-AbCdEf: the random suffix may or may not be given; either reading counts.
            if Glob.matches(pattern, String(rest)) { return true }
            if let dash = rest.lastIndex(of: "-"), rest.distance(from: dash, to: rest.endIndex) == 7 { rest = rest[..<dash] }
        default: break
        }
        return Glob.matches(pattern, String(rest))
    }

    /// An S3 access point alias (`NAME-…-s3alias`) or Object Lambda alias (`…--ol-s3`)
    /// stands for a bucket not named: it may be any of them.
    static func isAlias(_ bucket: String) -> Bool { bucket.hasSuffix("-s3alias") || bucket.hasSuffix("--ol-s3") }

    /// The words of a query text that may be a resource's name: runs of letters, digits and
    /// the characters in `keeping`, unquoted. A PartiQL statement's table is a word
    /// (`Patients.byEmail`, an index, is two: `Patients` and `byEmail`).
    static func words(of statement: String, keeping: String = "_-") -> [String] {
        var out: [String] = [], word = ""
        let kept = Set(keeping.unicodeScalars)
        for c in statement.unicodeScalars {
            if c.properties.isAlphabetic || c.properties.numericType != nil || kept.contains(c) {
                word.unicodeScalars.append(c)
            } else if !word.isEmpty { out.append(word); word = "" }
        }
        if !word.isEmpty { out.append(word) }
        return out
    }
}

public struct SelectorError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}
