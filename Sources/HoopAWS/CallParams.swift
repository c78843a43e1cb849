import Foundation
import HoopJSON

/// A call's parameters as the `call` frame carries them (docs/frames.md, "API calls"):
/// the JSON body of the JSON protocols, the form or query of the query protocols, the URI
/// labels and query of the REST ones; and the resources they name.
public enum CallParams {
    public static func decode(_ r: SigV4.Request, _ op: Operations.Identified, form: [(String, String)]) -> [String: JSON] {
        var out: [String: JSON] = [:]
        switch op.service.proto {
        case "json", "rest-json":
            if !r.body.isEmpty, case .object(let o)? = try? JSON.parse(r.body) {
                for (k, v) in o { out[k] = v }
            }
        case "query", "ec2":
            for (k, v) in form + SigV4.queryPairs(r.query) where k != "Action" && k != "Version" && !k.hasPrefix("X-Amz-") {
                out[k] = .string(v)
            }
        default:
            break
        }
        // The URI's labels are what the service acts on: they win over body members of the same name.
        for (k, v) in op.labels { out[k] = .string(v) }
        if op.service.proto.hasPrefix("rest") {
            for (k, v) in SigV4.queryPairs(r.query) where !k.hasPrefix("X-Amz-") && out[k] == nil { out[k] = .string(v) }
            if let source = r.header("x-amz-copy-source") { out["CopySource"] = .string(SigV4.percentDecode(Substring(source)) ?? source) }
        }
        return out
    }

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

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
