import Crypto
import Foundation
import HoopJSON

/// A call's parameters as the `call` frame carries them (docs/frames.md, "API calls"):
/// the JSON body of the JSON protocols, the form or query of the query protocols, the URI
/// labels and query of the REST ones; and the resources they name.
public enum CallParams {
    /// Fails when the request is not in its protocol's one plain form: a parameter the
    /// door cannot read may still be read by the service, and a rule that never saw it
    /// must not be the one that decides (a body that is not one JSON object, duplicate
    /// members, a form beside a query, a name given twice, a form where the protocol has
    /// none, a body where the operation has none).
    public static func decode(_ r: SigV4.Request, _ op: Operations.Identified, form: [(String, String)]) throws -> [String: JSON] {
        func refuse(_ why: String) -> AWSError { AWSError("SerializationException", 400, "hoop: \(why)") }
        var out: [String: JSON] = [:]
        let query = SigV4.queryPairs(r.query)
        // One type for the body: two would be one to hoop and another, joined, upstream.
        let types = r.headers.filter { $0.0 == "content-type" }.map(\.1)
        guard types.count <= 1 else { throw refuse("the request has \(types.count) Content-Type headers: one at most") }
        // A form is the query protocols' body only. A server reads a form wherever it
        // comes, before the URL's query (moto's: werkzeug parses any form, and moto takes
        // `Action`, a listing's `start-after`, `marker`, `prefix`… from it): in a REST or
        // JSON call it would be parameters no rule saw, or another operation.
        if !["query", "ec2"].contains(op.service.proto), let type = mimetype(types.first), formTypes.contains(type) {
            throw refuse("a call of the \(op.service.proto) protocol carries no form (Content-Type \(type))")
        }
        // A REST operation whose input has no member in the body (the model's payload or
        // members of no location) carries no body: a server may read one as a form or a
        // query string (moto parses a body it has no other use for as its parameters). An
        // empty JSON object, which some SDKs send for every rest-json call, names nothing.
        if op.service.proto.hasPrefix("rest"), op.operation.hasBody == false, !r.body.isEmpty {
            let emptyObject = op.service.proto == "rest-json" && (try? JSON.parse(r.body)) == .object([:])
            guard emptyObject else {
                throw refuse("\(op.operation.name) takes no body (its model has no member there), and this call carries one")
            }
        }
        switch op.service.proto {
        case "json", "rest-json":
            if !r.body.isEmpty {
                guard case .object(let o)? = try? JSON.parse(r.body) else {
                    throw refuse("the request body is not one JSON object hoop can read (each member once, UTF-8)")
                }
                for (k, v) in o { out[k] = v }
            }
            if op.service.proto == "json" && !query.isEmpty {
                throw refuse("a call of the JSON protocol carries its parameters in its body, not in a query")
            }
        case "query", "ec2":
            if !r.body.isEmpty && form.isEmpty {
                throw refuse("the request body is not a form hoop can read (application/x-www-form-urlencoded, UTF-8)")
            }
            // The operation and its parameters come from one place: the form, or (no body)
            // the query. A server that has a form does not read the query (moto's: with a
            // form and no `Action` in it, it falls back to the method and path, `POST /`,
            // which is the model's last operation: `?Action=ListUsers` beside a form ran
            // UploadSigningCertificate).
            if !r.body.isEmpty {
                guard r.query.isEmpty else {
                    throw refuse("a call with a form carries every parameter in it (Action and Version too), none in the URL's query")
                }
                guard form.contains(where: { $0.0 == "Action" }) else {
                    throw refuse("the form does not name its operation (Action)")
                }
            }
            for (k, v) in form + query where k != "Action" && k != "Version" && !k.hasPrefix("X-Amz-") {
                guard out[k] == nil else { throw refuse("the parameter \(k) is given twice") }
                out[k] = .string(v)
            }
        default:
            break
        }
        // The URI's labels are what the service acts on: they win over body members of the same name.
        for (k, v) in op.labels { out[k] = .string(v) }
        if op.service.proto.hasPrefix("rest") {
            // A name given twice is both values (a list): a rule judges each of them,
            // whichever one the service reads (the first, the last, or the list a model's
            // member makes): any one for a rule that holds back or denies, every one for a
            // rule that allows (CallRule.matches).
            var given: [(String, [String])] = []
            for (k, v) in query where !k.hasPrefix("X-Amz-") && out[k] == nil {
                if let i = given.firstIndex(where: { $0.0 == k }) { given[i].1.append(v) } else { given.append((k, [v])) }
            }
            for (k, vs) in given { out[k] = vs.count == 1 ? .string(vs[0]) : .array(vs.map(JSON.string)) }
            let sources = r.headers.filter { $0.0 == "x-amz-copy-source" }.map(\.1)
            guard sources.count <= 1 else { throw AWSError("InvalidArgument", 400, "hoop: a copy names one source (one x-amz-copy-source)") }
            if let source = sources.first { out["CopySource"] = .string(try copySource(source).text) }
        }
        // Members the client sends as headers (an ACL, grants, tags, object lock, metadata),
        // and the `x-amz-*` ones it sends in the query: S3 reads them there as their header
        // (a presigned PutObject's `x-amz-acl=public-read` is its ACL).
        var headerLike = r.headers
        if op.service.proto.hasPrefix("rest") {
            for (k, v) in query where k.lowercased().hasPrefix("x-amz-") {
                // A copy's source is read from its header only (above): in the query it would be another.
                guard k.lowercased() != "x-amz-copy-source" else {
                    throw AWSError("InvalidArgument", 400, "hoop: x-amz-copy-source goes in its header, not the query")
                }
                headerLike.append((k.lowercased(), v))
            }
        }
        var prefixed: [String: [String: JSON]] = [:]
        for (name, value) in headerLike where name != "x-amz-copy-source" {   // read above, as S3 reads it
            if let member = op.operation.headerMembers[name] {
                // A member sent as its header and in the query or body too (`?ACL=private`
                // beside `x-amz-acl: public-read`): the service reads the header, the rules
                // both (each value judged).
                if let given = out[member], given != .string(value) {
                    out[member] = .array((given.array ?? [given]) + [.string(value)])
                } else { out[member] = .string(value) }
            } else if let (prefix, member) = op.operation.headerMembers.first(where: { $0.key.hasSuffix("*") && name.hasPrefix($0.key.dropLast()) }) {
                prefixed[member, default: [:]][String(name.dropFirst(prefix.count - 1))] = .string(value)
            }
        }
        for (member, map) in prefixed where out[member] == nil { out[member] = .object(map) }
        return out
    }

    /// The media type of a Content-Type value as a server compares it: before any `;`,
    /// trimmed, lower case (werkzeug's `mimetype`). nil without one.
    public static func mimetype(_ value: String?) -> String? {
        guard let value else { return nil }
        return value.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    }

    /// The media types a server parses as a form (werkzeug's, and the older spelling it once took).
    public static let formTypes: Set<String> = ["application/x-www-form-urlencoded", "multipart/form-data", "application/x-url-encoded"]

    /// A copy's source (`x-amz-copy-source`) as S3 reads it: an optional `/`, the bucket,
    /// `/`, the key, all percent-encoded, then maybe `?versionId=…`, split at the first raw
    /// `?` before anything is decoded (a key's `?` comes encoded, `%3F`), each part then
    /// decoded once, as UTF-8 (a `+` is not a space: a raw one is refused, as in a path).
    /// `text` is the source as the rules read it (CallResources): `bucket/key`, and its
    /// `?versionId=…`; an access point's ARN (`arn%3Aaws%3As3%3A…:accesspoint/NAME/object/KEY`,
    /// as the SDKs encode it) stays whole (CallResources reads it as any bucket).
    ///
    /// Refused, where a URL parser would read another bucket or key than the door: one
    /// that starts with `//` (a network location to urlparse, which the stand-in reads the
    /// header with: `//x/clinic-exports/…` copied out of clinic-exports while the door
    /// judged bucket `x`), a raw `:` before the first `/` (a scheme), any byte a request
    /// target may not hold raw (`#` ends it, `;` starts parameters, RequestTarget), a
    /// bucket that is not a bucket's name (letters, digits, `.`, `-`, `_`: never a `;`, a
    /// `/` encoded, a space), another query than one `versionId`, and a key holding a `?`
    /// (the rules read a version after the first `?`: S3 does not, for a decoded one).
    public static func copySource(_ value: String) throws -> (bucket: String, key: String, versionId: String?, text: String) {
        func refuse(_ why: String) -> AWSError {
            AWSError("InvalidArgument", 400, "hoop: x-amz-copy-source \(why); send bucket/key, percent-encoded, and ?versionId=ID if any")
        }
        let bytes = Array(value.utf8)
        var i = 0
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "%"):
                guard i + 2 < bytes.count, RequestTarget.isHex(bytes[i + 1]), RequestTarget.isHex(bytes[i + 2]) else {
                    throw refuse("has a % that encodes nothing")
                }
                i += 2
            case UInt8(ascii: "+"): throw refuse("has a raw + (a space to S3)")
            case UInt8(ascii: ";"): throw refuse("has a raw ; (where URL parsers start a segment's parameters)")
            case let c where RequestTarget.targetBytes.contains(c): break
            case let c: throw refuse("has a byte (\(c)) that must be percent-encoded")
            }
            i += 1
        }
        let parts = value.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var path = parts[0]
        guard !path.hasPrefix("//") else { throw refuse("starts with // (a network location to URL parsers)") }
        if path.hasPrefix("/") { path = path.dropFirst() }
        if let colon = path.firstIndex(of: ":"), !path[..<colon].contains("/") {
            throw refuse("has a : before its first / (a URL's scheme)")
        }
        var versionId: String? = nil
        if parts.count > 1 {
            let pairs = parts[1].split(separator: "&", omittingEmptySubsequences: false)
            let kv = pairs.first?.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false) ?? []
            guard pairs.count == 1, kv.count == 2, kv[0] == "versionId", let v = SigV4.percentDecode(kv[1]), !v.isEmpty,
                  !v.contains(where: { $0 == "?" || $0 == "/" }) else {
                throw refuse("has a query other than one versionId")
            }
            versionId = v
        }
        guard let slash = path.firstIndex(of: "/"), let bucket = SigV4.percentDecode(path[..<slash]),
              let key = SigV4.percentDecode(path[path.index(after: slash)...]), !bucket.isEmpty, !key.isEmpty else {
            throw refuse("does not name a bucket and a key (UTF-8, percent-encoded)")
        }
        guard !key.contains("?") else { throw refuse("names a key with a ? (hoop reads a version after the first ?)") }
        if bucket.hasPrefix("arn:") {
            return (bucket, key, versionId, "\(bucket)/\(key)" + (versionId.map { "?versionId=\($0)" } ?? ""))
        }
        guard bucket.unicodeScalars.allSatisfy({ bucketCharacters.contains($0) }) else {
            throw refuse("names a bucket that is no bucket's name (letters, digits, '.', '-', '_')")
        }
        return (bucket, key, versionId, "\(bucket)/\(key)" + (versionId.map { "?versionId=\($0)" } ?? ""))
    }

    /// The characters of a bucket's name (today's rules, and the legacy ones' capitals and `_`).
    static let bucketCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_".unicodeScalars)

    /// The members that name a resource, whatever the service: the bucket and key, the
    /// table, the function, the instances, the log group, the secret, … (top-level
    /// members only; list members of the query protocols by their prefix).
    public static let resourceMembers = ["Bucket", "Key", "CopySource", "TableName", "FunctionName", "InstanceId", "InstanceIds",
                                         "logGroupName", "logGroupIdentifier", "SecretId", "DBInstanceIdentifier",
                                         "DBClusterIdentifier", "QueueUrl", "TopicArn", "RoleName", "UserName", "PolicyArn",
                                         "ResourceArn", "StreamName", "Name", "KeyId"]

    public static func resources(_ params: [String: JSON]) -> [String: JSON] {
        var out: [String: JSON] = [:]
        for name in resourceMembers {
            if let v = params[name] { out[name] = v; continue }
            let listed = params.filter { $0.key.hasPrefix(name + ".") }.sorted { $0.key < $1.key }.map(\.value)
            if !listed.isEmpty { out[name] = .array(listed) }
        }
        // Members that name several: DynamoDB's batches by table (their keys), transactions
        // (a table in each item), PartiQL statements; Logs' lists of log groups.
        var tables: [JSON] = []
        if let t = out["TableName"] { tables.append(t) }
        if let batch = params["RequestItems"]?.object { tables += batch.keys.sorted().map(JSON.string) }
        for item in params["TransactItems"]?.array ?? [] {
            for (_, part) in item.object ?? [:] { if let t = part["TableName"] { tables.append(t) } }
        }
        if tables.count > 1 || (tables.count == 1 && out["TableName"] == nil) { out["TableName"] = .array(tables) }
        var statements: [JSON] = params["Statement"].map { [$0] } ?? []
        for list in ["Statements", "TransactStatements"] {
            statements += (params[list]?.array ?? []).compactMap { $0["Statement"] }
        }
        if !statements.isEmpty { out["Statement"] = .array(statements) }
        if let q = params["queryString"] { out["queryString"] = q }
        for list in ["logGroupNames", "logGroupIdentifiers"] {
            if let v = params[list] { out[list] = v }
            else {
                let listed = params.filter { $0.key.hasPrefix(list + ".") }.sorted { $0.key < $1.key }.map(\.value)
                if !listed.isEmpty { out[list] = .array(listed) }
            }
        }
        return out
    }

    /// A short text naming what the call acts on: `s3://bucket/key`, `dynamodb:table/Patients`, …
    public static func target(_ op: Operations.Identified, _ params: [String: JSON]) -> String {
        let svc = op.service.signingName
        if svc == "s3" {
            guard let b = params["Bucket"]?.string else { return "s3" }
            return "s3://\(b)" + (params["Key"]?.string.map { "/" + $0 } ?? "")
        }
        for name in resourceMembers where name != "Key" {
            if let v = params[name]?.string { return "\(svc):\(name)/\(v)" }
        }
        return svc
    }
}

/// DynamoDB's PartiQL operations (ExecuteStatement, BatchExecuteStatement,
/// ExecuteTransaction) are one IAM action each in the tables (`dynamodb:PartiQLSelect`), but a
/// statement may insert, update or delete: IAM decides by the statement's verb, and so does
/// hoop. The strictest statement of a batch decides; a statement whose verb is not read
/// has no known access level (denied).
public enum PartiQL {
    public static let operations: Set<String> = ["ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"]

    public static func access(_ params: [String: JSON]) -> (iamAction: String, access: String) {
        var statements = params["Statement"].map { [$0] } ?? []
        for list in ["Statements", "TransactStatements"] { statements += (params[list]?.array ?? []).compactMap { $0["Statement"] } }
        guard !statements.isEmpty else { return ("dynamodb:PartiQLSelect", "") }
        var worst = ("dynamodb:PartiQLSelect", "Read")
        for s in statements {
            switch verb(s.string ?? "") {
            case "SELECT", "EXISTS": continue
            case "INSERT": worst = ("dynamodb:PartiQLInsert", "Write")
            case "UPDATE": worst = ("dynamodb:PartiQLUpdate", "Write")
            case "DELETE": worst = ("dynamodb:PartiQLDelete", "Write")
            default: return ("dynamodb:PartiQL", "")
            }
        }
        return worst
    }

    /// The statement's first word, upper-cased, after white space and comments; "" when it
    /// does not start with a word, or when the word depends on where a `--` comment ends
    /// (at a carriage return, or only at a line feed): a reader that disagrees with
    /// DynamoDB's must not see a SELECT where it runs a DELETE.
    static func verb(_ text: String) -> String {
        let atAnyBreak = verb(text, lineEnds: ["\n", "\r"])
        return atAnyBreak == verb(text, lineEnds: ["\n"]) ? atAnyBreak : ""
    }

    private static func verb(_ text: String, lineEnds: Set<Unicode.Scalar>) -> String {
        var s = Substring.UnicodeScalarView(text.unicodeScalars)
        while true {
            s = s.drop(while: { $0.properties.isWhitespace })
            if s.starts(with: "--".unicodeScalars) { s = s.drop(while: { !lineEnds.contains($0) }); continue }
            if s.starts(with: "/*".unicodeScalars) {
                guard let end = String(s).range(of: "*/") else { return "" }
                s = Substring(String(s)[end.upperBound...]).unicodeScalars; continue
            }
            break
        }
        return String(String.UnicodeScalarView(s.prefix(while: { $0.properties.isAlphabetic }))).uppercased()
    }
}

/// `aws-chunked` uploads (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`): the body is decoded to the
/// object's bytes, the trailer's checksum becomes a header, and the headers that
/// described the chunked form go, so that the upstream can sign the plain request.
public enum AWSChunked {
    public static func decode(_ r: inout SigV4.Request) throws {
        let bad = AWSError("IncompleteBody", 400, "The aws-chunked body is malformed")
        var out: [UInt8] = []
        var i = 0
        let b = r.body
        func line() throws -> String {
            var j = i
            while j + 1 < b.count, !(b[j] == 0x0D && b[j + 1] == 0x0A) { j += 1 }
            guard j + 1 < b.count else { throw bad }
            let s = String(decoding: b[i..<j], as: UTF8.self)
            i = j + 2
            return s
        }
        while true {
            let head = try line()
            let sizeText = head.split(separator: ";").first.map(String.init) ?? ""
            guard let size = Int(sizeText, radix: 16), size >= 0, size <= b.count - i else { throw bad }
            if size == 0 { break }
            out.append(contentsOf: b[i..<(i + size)])
            i += size
            guard i + 1 < b.count, b[i] == 0x0D, b[i + 1] == 0x0A else { throw bad }
            i += 2
        }
        var trailers: [(String, String)] = []
        while i < b.count {
            let t = try line()
            if t.isEmpty { break }
            let kv = t.split(separator: ":", maxSplits: 1)
            guard kv.count == 2 else { throw bad }
            trailers.append((kv[0].lowercased().trimmingCharacters(in: .whitespaces), kv[1].trimmingCharacters(in: .whitespaces)))
        }
        if let declared = r.header("x-amz-decoded-content-length"), Int(declared) != out.count { throw bad }
        r.body = out
        r.headers.removeAll { ["x-amz-decoded-content-length", "x-amz-trailer", "content-length"].contains($0.0) }
        if let enc = r.header("content-encoding") {
            let rest = enc.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0 != "aws-chunked" }
            r.headers.removeAll { $0.0 == "content-encoding" }
            if !rest.isEmpty { r.headers.append(("content-encoding", rest.joined(separator: ","))) }
        }
        for (k, v) in trailers where k.hasPrefix("x-amz-checksum-") { r.setHeader(k, v) }
    }
}

/// CRC-32 (IEEE), as DynamoDB's `X-Amz-Crc32` header states it.
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// CRC-32C (Castagnoli), as S3's `x-amz-checksum-crc32c`.
    static let tableC: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0x82F6_3B78 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 { update(0xFFFF_FFFF, bytes, table: table) ^ 0xFFFF_FFFF }

    static func update(_ crc: UInt32, _ bytes: [UInt8], table: [UInt32]) -> UInt32 {
        var c = crc
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c
    }
}

/// `aws-chunked` decoded as it arrives, for a streamed upload: bytes in, the object's
/// bytes out; the trailer's headers at the end. Sizes are bounded by what is left to come.
public struct AWSChunkedDecoder: Sendable {
    enum State { case size, data(Int), dataEnd, trailers, done }
    var state = State.size
    var line: [UInt8] = []
    public private(set) var trailers: [(String, String)] = []
    public init() {}

    static let bad = AWSError("IncompleteBody", 400, "The aws-chunked body is malformed")

    public mutating func push(_ bytes: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            switch state {
            case .size, .trailers, .dataEnd:
                let b = bytes[i]; i += 1
                line.append(b)
                guard line.count <= 4096 else { throw Self.bad }
                guard line.count >= 2, line[line.count - 2] == 0x0D, b == 0x0A else { continue }
                let text = String(decoding: line.dropLast(2), as: UTF8.self)
                line = []
                switch state {
                case .dataEnd:
                    guard text.isEmpty else { throw Self.bad }
                    state = .size
                case .size:
                    guard let size = Int(text.split(separator: ";").first.map(String.init) ?? "", radix: 16), size >= 0,
                          size <= 1 << 30 else { throw Self.bad }
                    state = size == 0 ? .trailers : .data(size)
                default:
                    if text.isEmpty { state = .done; continue }
                    let kv = text.split(separator: ":", maxSplits: 1)
                    guard kv.count == 2 else { throw Self.bad }
                    trailers.append((kv[0].lowercased().trimmingCharacters(in: .whitespaces), kv[1].trimmingCharacters(in: .whitespaces)))
                }
            case .data(let left):
                let n = min(left, bytes.count - i)
                out.append(contentsOf: bytes[i..<(i + n)])
                i += n
                state = left - n == 0 ? .dataEnd : .data(left - n)
            case .done:
                throw Self.bad   // bytes after the end
            }
        }
        return out
    }

    /// The body ended: it must have ended where aws-chunked says it does (a missing final
    /// empty line after the trailers is tolerated, as the SDKs' servers do).
    public func finish() throws {
        switch state {
        case .done: return
        case .trailers where line.isEmpty: return
        default: throw Self.bad
        }
    }
}

/// The checksums an upload's trailer may state (base64 of the digest, as S3 writes them).
public enum UploadChecksum {
    public static let supported: Set<String> = ["x-amz-checksum-crc32", "x-amz-checksum-crc32c", "x-amz-checksum-sha1", "x-amz-checksum-sha256"]

    public struct Running: Sendable {
        public let name: String
        var crc: UInt32 = 0xFFFF_FFFF
        var sha1 = Insecure.SHA1()
        var sha256 = SHA256()
        public init(name: String) { self.name = name }

        public mutating func update(_ bytes: [UInt8]) {
            switch name {
            case "x-amz-checksum-crc32": crc = CRC32.update(crc, bytes, table: CRC32.table)
            case "x-amz-checksum-crc32c": crc = CRC32.update(crc, bytes, table: CRC32.tableC)
            case "x-amz-checksum-sha1": sha1.update(data: bytes)
            default: sha256.update(data: bytes)
            }
        }

        public func base64() -> String {
            switch name {
            case "x-amz-checksum-crc32", "x-amz-checksum-crc32c":
                let v = crc ^ 0xFFFF_FFFF
                return Data([UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]).base64EncodedString()
            case "x-amz-checksum-sha1": return Data(sha1.finalize()).base64EncodedString()
            default: return Data(sha256.finalize()).base64EncodedString()
            }
        }
    }
}
