import ArgumentParser
import AsyncHTTPClient
import Foundation
import HoopAWS
import HoopCommand
import HoopFrames
import NIOCore
import NIOHTTP1

/// hoop-connect-aws: the upstream for connections of kind `aws` (docs/aws.md). Each
/// approved call is signed again with credentials only the gateway holds and sent to
/// the service (or the configured endpoint); its answer comes back as a `result` frame.
/// Frames of other kinds' sessions pass untouched.
@main
struct HoopConnectAWS: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hoop-connect-aws",
        abstract: "Ring stage: executes approved AWS calls with the gateway's own credentials.")

    @OptionGroup var config: ConfigOption

    @Option(help: "Stamps a request must carry to be executed, comma-separated.")
    var require: String = "auth,approve"

    func run() throws {
        let cfg = try config.load()
        let stamps = require.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        // A connection that cannot be used (a key file missing, …) refuses its sessions;
        // the others, and the rest of the ring, go on.
        let (upstreams, broken) = AWSUpstream.all(cfg)
        for (name, why) in broken { logLine(AWSUpstreamStage.stage, "\(why): its sessions are refused") }
        let stage = AWSUpstreamStage(upstreams: upstreams, broken: broken, require: stamps)
        try stage.run()
    }
}

/// A configured connection of kind `aws`: where calls go and the credentials they are signed with.
struct AWSUpstream: Sendable {
    let name: String
    let region: String
    let endpoint: String?
    /// The gateway's own keys (HoopAWS's loader, shared with hoop-connect's RDS tokens).
    let credentials: AWSCredentials
    /// A role to assume for each identity (RoleSessionName and SourceIdentity: the hoop
    /// user), so that CloudTrail names the person or agent; nil: the keys themselves sign.
    let roleArn: String?

    /// The usable connections of kind `aws`, and why each other one is not.
    static func all(_ cfg: GatewayConfig) -> ([String: AWSUpstream], [String: String]) {
        var out: [String: AWSUpstream] = [:], broken: [String: String] = [:]
        for (name, c) in cfg.json["connections"]?.object ?? [:] where c["kind"]?.string == "aws" {
          do {
            let credentials = try AWSCredentials.load(connection: c, name: name, path: cfg.file)
            out[name] = AWSUpstream(name: name, region: c["region"]?.string ?? "us-east-1", endpoint: c["endpoint"]?.string,
                                    credentials: credentials, roleArn: c["role_arn"]?.string)
          } catch {
            broken[name] = "\(error)"
          }
        }
        return (out, broken)
    }

    /// The service's regional endpoint, or the configured override (the local stand-in).
    func url(endpointPrefix: String, region: String) -> String {
        endpoint ?? "https://\(endpointPrefix).\(region).amazonaws.com"
    }
}

final class AWSUpstreamStage: @unchecked Sendable {
    static let stage = "hoop-connect-aws"
    let upstreams: [String: AWSUpstream]
    let broken: [String: String]
    let require: [String]
    let loop: StageLoop
    let http = HTTPClient(eventLoopGroupProvider: .singleton)
    private let lock = NSLock()
    /// Our sessions: id → (connection, identity).
    private var sessions: [String: (AWSUpstream, JSON)] = [:]
    private var running = 0
    /// Streamed answers under way, by session and seq: the door's credits open them.
    private var gates: [String: CreditGate] = [:]
    /// Streamed request bodies under way, by session and seq.
    private var uploads: [String: Upload] = [:]
    /// An answer is sent whole up to this size when it must be read whole to be masked
    /// (JSON, XML) or says it is small; otherwise in pieces of `chunkBytes`, at most
    /// `window` pieces ahead of the door's credits.
    static let wholeUpTo = 1 << 20
    static let chunkBytes = 256 << 10
    static let window = 8
    static let maxResponse = 12 << 20

    init(upstreams: [String: AWSUpstream], broken: [String: String], require: [String]) {
        self.upstreams = upstreams
        self.broken = broken
        self.require = require
        loop = StageLoop(stage: Self.stage)
    }

    func run() throws {
        try loop.run { raw in try handle(raw) }
        // End of input: the calls under way finish and are written before the stage exits.
        let deadline = Date(timeIntervalSinceNow: 30)
        while Date() < deadline { lock.lock(); let n = running; lock.unlock(); if n == 0 { break }; Thread.sleep(forTimeInterval: 0.05) }
        try? loop.out.flush()
        try? http.syncShutdown()
    }

    private func ours(_ id: String) -> (AWSUpstream, JSON)? { lock.lock(); defer { lock.unlock() }; return sessions[id] }

    func handle(_ raw: RawFrame) throws {
        guard let id = raw.session else { return loop.pass(raw) }
        if raw.type == FrameType.sessionOpen {
            let f = try raw.decode()
            let name = f["connection"]?.string ?? f["database"]?.string ?? ""
            if broken[name] != nil {
                loop.pass(raw)
                return loop.emit(.error(session: id, seq: 0, code: "08006",
                                        message: "hoop: the connection \"\(name)\" is not usable (see hoop-connect-aws's log)", fatal: true))
            }
            guard let upstream = upstreams[name] else { return loop.pass(raw) }   // another kind's
            loop.pass(raw)
            guard require.allSatisfy({ f.stamped(by: $0) }) else { return refuse(id, seq: 0) }
            lock.lock(); sessions[id] = (upstream, f["identity"] ?? .null); lock.unlock()
            loop.emit(Frame(FrameType.sessionOpened, session: id, seq: 0, ["parameters": .object([:]), "status": .string("I")]))
            return
        }
        guard let (upstream, identity) = ours(id) else { return loop.pass(raw) }
        switch raw.type {
        case FrameType.credit:
            // The door wrote pieces of a streamed answer to its client: send more.
            if let f = try? raw.decode(), let seq = f.seq {
                let n = Int(f["chunks"]?.int ?? 1)
                let gate = lock.withLock { gates[id + "\n" + String(seq)] }
                // The door no longer wants the answer (hoop-mask refused it): the stream ends here.
                if f["cancel"]?.bool == true { gate?.cancel() } else { gate?.grant(n) }
            }
            return
        case FrameType.call:
            let f = try raw.decode()
            loop.pass(raw)
            guard require.allSatisfy({ f.stamped(by: $0) }) else { return refuse(id, seq: f.seq ?? 0) }
            if f["body_streamed"]?.bool == true {
                let upload = Upload(session: id, seq: f.seq ?? 0) { [self] in
                    finish(Frame(FrameType.callCredit, session: id, seq: f.seq, ["chunks": .int(1)]))
                }
                lock.withLock { uploads[id + "\n" + String(f.seq ?? 0)] = upload }
                return execute(f, upstream, identity, upload: upload)
            }
            execute(f, upstream, identity)
        case FrameType.callData:
            let f = try raw.decode()
            loop.pass(raw)
            let key = id + "\n" + String(f.seq ?? -1)
            guard let upload = lock.withLock({ uploads[key] }) else { return }
            // Unstamped data never reaches the target: the upload ends, failed.
            guard require.allSatisfy({ f.stamped(by: $0) }) else {
                lock.withLock { _ = uploads.removeValue(forKey: key) }
                return upload.abort()
            }
            if let b64 = f["body_base64"]?.string, let d = Data(base64Encoded: b64) { upload.yield(Array(d)) }
            if f["abort"]?.bool == true {
                lock.withLock { _ = uploads.removeValue(forKey: key) }
                upload.abort()
            } else if f["end"]?.bool == true {
                lock.withLock { _ = uploads.removeValue(forKey: key) }
                upload.finish()
            }
        case FrameType.deny:
            let f = try raw.decode()
            loop.pass(raw)
            var fields: [String: JSON] = ["code": f["code"] ?? .string("42501"), "severity": .string("ERROR"),
                                          "message": f["message"] ?? .string("hoop: denied"), "decision": .string("denied"),
                                          "stage": .string("hoop-approve")]
            for k in ["reason", "request_id", "rule"] { if let v = f[k] { fields[k] = v } }
            loop.emit(Frame.error(session: id, seq: f.seq, fields: fields))
        case FrameType.sessionClose:
            loop.pass(raw)
            // Uploads of the session that never ended are abandoned: nothing half is stored.
            let open = lock.withLock { () -> [Upload] in
                let mine = uploads.filter { $0.key.hasPrefix(id + "\n") }
                for k in mine.keys { uploads.removeValue(forKey: k) }
                return Array(mine.values)
            }
            open.forEach { $0.abort() }
            lock.withLock { _ = sessions.removeValue(forKey: id) }
            loop.emit(Frame(FrameType.sessionClosed, session: id, seq: raw.header.seq))
        default:
            loop.pass(raw)
        }
    }

    /// A request without the stamps never runs: the session ends (fail closed).
    private func refuse(_ id: String, seq: Int64) {
        lock.lock(); sessions.removeValue(forKey: id); lock.unlock()
        loop.emit(.error(session: id, seq: seq, code: "XX000", message: "hoop: request did not pass the required stages", fatal: true))
    }

    private func execute(_ call: Frame, _ upstream: AWSUpstream, _ identity: JSON, upload: Upload? = nil) {
        let id = call.session ?? "", seq = call.seq ?? 0
        if call["signing_name"]?.string == "sts" {
            // STS is the gateway's own: the caller is the hoop identity, never the gateway's role.
            return finish(Self.callerIdentity(upstream.name, identity, seq: seq, session: id))
        }
        if upstream.endpoint != nil, Self.standInsOwn(call["path"]?.string ?? "/") {
            logLine(Self.stage, "session \(id): call \(seq): a path of the stand-in's own API; refused")
            return finish(.error(session: id, seq: seq, code: "42501",
                                 message: "hoop: /moto-api is the AWS stand-in's own API (reset, recordings of every client's calls), not AWS's"))
        }
        lock.lock(); running += 1; lock.unlock()
        Task {
            let frame: Frame?
            do { frame = try await send(call, upstream, identity: identity, upload: upload) } catch is CreditGate.Cancelled {
                logLine(Self.stage, "session \(id): call \(seq): its answer was refused on the way; the stream stops")
                frame = nil   // nothing more goes for it
            } catch {
                logLine(Self.stage, "session \(id): call \(seq) failed upstream: \(type(of: error))")
                frame = .error(session: id, seq: seq, code: "08006",
                               message: "hoop: the AWS endpoint could not be reached (\(upstream.name))")
            }
            if let frame { finish(frame) }
            if let upload {
                // Whatever became of it, the upload is over: no piece is kept for it.
                upload.abort()
                lock.withLock { _ = uploads.removeValue(forKey: id + "\n" + String(seq)) }
            }
            lock.withLock { running -= 1 }
        }
    }

    /// A path the stand-in (moto's server, behind an `endpoint`) answers itself, whatever
    /// the service: `/moto-api/...` resets it, or records and hands out other clients'
    /// calls. To the door it is an S3 bucket of that name. Read as the stand-in routes it:
    /// escapes decoded, empty segments skipped, any case.
    static func standInsOwn(_ path: String) -> Bool {
        let decoded = path.removingPercentEncoding ?? path
        return decoded.split(separator: "/", omittingEmptySubsequences: true).first?.lowercased() == "moto-api"
    }

    private func finish(_ f: Frame) {
        loop.out.enqueue(f)
        try? loop.out.flush()
    }

    /// Role credentials per (connection, user), renewed five minutes before they expire.
    struct RoleKeys { let accessKeyId: String, secret: String, token: String, expires: Double }
    private var roleKeys: [String: RoleKeys] = [:]

    /// The keys a call is signed with: the connection's own, or its role assumed for the user.
    func signingKeys(_ upstream: AWSUpstream, user: String) async throws -> (String, String, String?) {
        let keys = upstream.credentials
        guard let role = upstream.roleArn else { return (keys.accessKeyId, keys.secretAccessKey, keys.sessionToken) }
        let cacheKey = upstream.name + "\n" + user
        let now = Date().timeIntervalSince1970
        if let k = lock.withLock({ roleKeys[cacheKey] }), k.expires - 300 > now { return (k.accessKeyId, k.secret, k.token) }
        // STS's own rules for both names: [\w+=,.@-], 2 to 64 characters.
        let name = String(String(user.unicodeScalars.map { c -> Character in
            CharacterSet(charactersIn: "+=,.@-_").contains(c) || CharacterSet.alphanumerics.contains(c) && c.isASCII ? Character(c) : "_"
        }).prefix(64)).padding(toLength: max(2, min(64, user.count)), withPad: "_", startingAt: 0)
        let form = "Action=AssumeRole&Version=2011-06-15&RoleArn=\(SigV4.uriEncode(role, keepSlash: false))"
            + "&RoleSessionName=\(SigV4.uriEncode(name, keepSlash: false))&SourceIdentity=\(SigV4.uriEncode(name, keepSlash: false))"
            + "&DurationSeconds=3600"
        let base = upstream.url(endpointPrefix: "sts", region: upstream.region)
        guard let url = URL(string: base), let host = url.host else { throw ConfigError("bad endpoint \(base)") }
        let hostHeader = url.port.map { "\(host):\($0)" } ?? host
        var r = SigV4.Request(method: "POST", path: "/", query: "", headers: [("host", hostHeader),
                              ("content-type", "application/x-www-form-urlencoded; charset=utf-8")], body: Array(form.utf8))
        SigV4.sign(&r, accessKey: keys.accessKeyId, secret: keys.secretAccessKey, sessionToken: keys.sessionToken,
                   region: upstream.region, service: "sts")
        var req = HTTPClientRequest(url: "\(url.scheme ?? "https")://\(hostHeader)/")
        req.method = .POST
        req.headers = HTTPHeaders(r.headers)
        req.body = .bytes(ByteBuffer(bytes: r.body))
        let response = try await http.execute(req, timeout: .seconds(30))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        func element(_ name: String) -> String? {
            guard let a = text.range(of: "<\(name)>"), let b = text.range(of: "</\(name)>", range: a.upperBound..<text.endIndex) else { return nil }
            return String(text[a.upperBound..<b.lowerBound])
        }
        guard response.status == .ok, let akid = element("AccessKeyId"), let secret = element("SecretAccessKey"),
              let token = element("SessionToken") else {
            throw ConfigError("connections.\(upstream.name): AssumeRole of \(role) failed (HTTP \(response.status.code))")
        }
        let expires = element("Expiration").flatMap { ISO8601DateFormatter().date(from: $0)?.timeIntervalSince1970 } ?? now + 900
        lock.withLock { roleKeys[cacheKey] = RoleKeys(accessKeyId: akid, secret: secret, token: token, expires: expires) }
        logLine(Self.stage, "connection \(upstream.name): assumed its role for one identity until \(Int(expires))")
        return (akid, secret, token)
    }

    func send(_ call: Frame, _ upstream: AWSUpstream, identity: JSON, upload: Upload? = nil) async throws -> Frame {
        let region = call["region"]?.string ?? upstream.region
        let service = call["signing_name"]?.string ?? ""
        let base = upstream.url(endpointPrefix: service, region: region)
        // The region and service come from the client's signature (checked for their shapes by
        // the door): the host they make must still be the service's own, or the override.
        guard let baseURL = URL(string: base), let host = baseURL.host,
              upstream.endpoint != nil || host == "\(service).\(region).amazonaws.com" else { throw ConfigError("bad endpoint \(base)") }
        let hostHeader = baseURL.port.map { "\(host):\($0)" } ?? host
        var body: [UInt8] = []
        if let text = call["body"]?.string { body = Array(text.utf8) }
        else if let b64 = call["body_base64"]?.string, let d = Data(base64Encoded: b64) { body = Array(d) }
        var headers: [(String, String)] = [("host", hostHeader)]
        for (k, v) in call["headers"]?.object ?? [:] { if let s = v.string { headers.append((k, s)) } }
        let path = call["path"]?.string ?? "/"
        let query = call["query"]?.string ?? ""
        var r = SigV4.Request(method: call["method"]?.string ?? "POST", path: path, query: query, headers: headers, body: body)
        let (akid, secret, token) = try await signingKeys(upstream, user: identity["user"]?.string ?? "hoop")
        // A streamed body is not in hand to hash: S3 takes it unsigned, with its length.
        let length = call["decoded_length"]?.int.map(Int.init)
        if upload != nil, let length { r.setHeader("content-length", String(length)) }
        SigV4.sign(&r, accessKey: akid, secret: secret, sessionToken: token, region: region, service: service,
                   payloadHash: upload != nil ? SigV4.unsignedPayload : nil)
        let basePath = baseURL.path == "/" ? "" : baseURL.path
        let target = "\(baseURL.scheme ?? "https")://\(hostHeader)\(basePath)\(path)" + (query.isEmpty ? "" : "?" + query)
        // What goes upstream is the path and query that were judged, byte for byte: a URL
        // parser that reads them otherwise (a fragment dropped, a path's `;params` cut off)
        // would run another call.
        guard !path.contains(";"), let parsed = URLComponents(string: target), parsed.fragment == nil,
              parsed.percentEncodedPath == basePath + path, (parsed.percentEncodedQuery ?? "") == query else {
            throw ConfigError("the call's path and query would not reach the service as judged")
        }
        var req = HTTPClientRequest(url: target)
        req.method = HTTPMethod(rawValue: r.method)
        req.headers = HTTPHeaders(r.headers)
        if let upload, let length {
            req.body = .stream(upload.sequence, length: .known(Int64(length)))
        } else if !body.isEmpty || ["PUT", "POST"].contains(r.method) {
            req.body = .bytes(ByteBuffer(bytes: body))
        }
        // A streamed upload's answer comes only after its whole body: its wait is the upload's.
        let response = try await http.execute(req, timeout: upload != nil ? .hours(2) : .seconds(120))
        // The call's context travels on its answer: hoop-mask never sees the call frame.
        var out: [String: JSON] = ["status": .int(Int64(response.status.code)), "call": Self.context(of: call)]
        var hs: [String: JSON] = [:]
        for h in response.headers where Self.forwarded(h.name.lowercased()) {
            let name = h.name.lowercased()
            hs[name] = .string(hs[name]?.string.map { $0 + "," + h.value } ?? h.value)
        }
        out["headers"] = .object(hs)
        if let rid = hs["x-amzn-requestid"] ?? hs["x-amz-request-id"] { out["request_id"] = rid }
        let type = hs["content-type"]?.string?.lowercased() ?? ""
        let declared = hs["content-length"]?.string.flatMap { Int($0) }
        let structured = type.contains("json") || type.contains("xml")
        if structured || (declared.map { $0 <= Self.wholeUpTo } ?? false) || call["method"]?.string == "HEAD" {
            let bytes: ByteBuffer
            do { bytes = try await response.body.collect(upTo: Self.maxResponse) } catch {
                // JSON and XML are masked as documents: one that cannot be held whole is refused.
                return .error(session: call.session, seq: call.seq, code: "54000",
                              message: "hoop: the answer is too large to be masked as a document (\(Self.maxResponse >> 20) MiB at most)")
            }
            let data = Array(bytes.readableBytesView)
            if !data.isEmpty {
                // NUL is no text's character (and a frame's reader refuses `\u0000`): UTF-8
                // with NULs (a file of zeros, a tar header, a range of a binary object)
                // travels as bytes, which hoop-mask reads for the text they hold; a body
                // whose type says text must be text.
                let nul = data.contains(0)
                if !nul, let text = String(validating: data, as: UTF8.self) { out["body"] = .string(text) }
                else if AnswerBody.isTextType(type) || Self.looksLikeText(data[...]) { return Self.unreadable(call) }
                else { out["body_base64"] = .string(Data(data).base64EncodedString()) }
            }
            return Frame(FrameType.result, session: call.session, seq: call.seq, out)
        }
        // Streamed: the head, then pieces as the door's credits allow. Text is cut at a line's
        // end so that hoop-mask reads whole lines; other bytes travel as base64. What is text
        // is decided by the type and by the first 64 KiB themselves: a type is only a label.
        var pending: [UInt8] = []
        var incoming = response.body.makeAsyncIterator()
        while pending.count < 64 << 10, let buffer = try await incoming.next() { pending.append(contentsOf: buffer.readableBytesView) }
        let text = type.isEmpty || AnswerBody.isTextType(type) || Self.looksLikeText(pending.prefix(64 << 10))
        out["chunked"] = .bool(true)
        out["text"] = .bool(text)
        let id = call.session ?? "", seq = call.seq ?? 0
        let gate = CreditGate(window: Self.window)
        lock.withLock { gates[id + "\n" + String(seq)] = gate }
        defer { lock.withLock { _ = gates.removeValue(forKey: id + "\n" + String(seq)) } }
        finish(Frame(FrameType.result, session: call.session, seq: call.seq, out))
        func piece(_ bytes: ArraySlice<UInt8>) async throws {
            try await gate.take()
            var f: [String: JSON] = [:]
            if text {
                // Text that is not UTF-8 cannot be read for PHI: never passed as bytes.
                guard !bytes.contains(0), let s = String(validating: bytes, as: UTF8.self) else { throw ConfigError("not UTF-8 text") }
                f["body"] = .string(s)
            } else {
                f["body_base64"] = .string(Data(bytes).base64EncodedString())
            }
            finish(Frame(FrameType.resultData, session: call.session, seq: call.seq, f))
        }
        var more = true
        while more {
            if let buffer = try await incoming.next() { pending.append(contentsOf: buffer.readableBytesView) } else { more = false }
            while pending.count >= Self.chunkBytes {
                var cut = Self.chunkBytes
                if text {
                    // Text is cut at a line's end only: a value is never split between two pieces.
                    // A line longer than a piece cannot be masked piece by piece: refused.
                    guard let nl = pending[..<cut].lastIndex(where: { $0 == 0x0A || $0 == 0x0D }) else {
                        throw ConfigError("a line of text longer than \(Self.chunkBytes >> 10) KiB cannot be masked as it streams")
                    }
                    cut = nl + 1
                }
                try await piece(pending[..<cut])
                pending.removeFirst(cut)
            }
        }
        if !pending.isEmpty { try await piece(pending[...]) }
        return Frame(FrameType.resultEnd, session: call.session, seq: call.seq)
    }

    /// What hoop-mask needs to know of the call an answer is for (docs/frames.md, "API
    /// calls"): its service (the signing name), operation, the resources it named, and
    /// whether it asked for a part of an object (a `range` header, a `partNumber`).
    static func context(of call: Frame) -> JSON {
        var c: [String: JSON] = [
            "service": call["signing_name"] ?? .string(""), "action": call["action"] ?? .string(""),
            "iam_action": call["iam_action"] ?? .string(""), "resources": call["resources"] ?? .object([:]),
        ]
        let query = SigV4.queryPairs(call["query"]?.string ?? "")
        if call["headers"]?["range"] != nil || query.contains(where: { $0.0.lowercased() == "partnumber" }) {
            c["range"] = .bool(true)
        }
        // The answer's members that hold environment variables (the door's, from the model).
        if let environment = call["environment"] { c["environment"] = environment }
        if let maps = call["maps"] { c["maps"] = maps }
        if let pairs = call["pairs"] { c["pairs"] = pairs }
        return .object(c)
    }

    /// Bytes that read as text (UTF-8) once a piece
    /// of a character at either end is set aside: a range that starts inside a character
    /// must not make a text look like bytes.
    static func looksLikeText(_ b: ArraySlice<UInt8>) -> Bool {
        var s = b.startIndex, e = b.endIndex
        var k = 0
        while s < e, k < 3, b[s] & 0xC0 == 0x80 { s += 1; k += 1 }
        guard s < e, !b.contains(0) else { return false }
        // The same rule as a whole answer's: UTF-8 without NUL is text, whatever other control characters it holds.
        for cut in 0...3 where e - cut > s {
            if String(validating: b[s..<(e - cut)], as: UTF8.self) != nil { return true }
        }
        return false
    }

    /// Response headers a client may get: the protocol's own, never an upstream's others.
    /// Headers that can carry data (object metadata, a file name, Lambda's log tail) go on
    /// to hoop-mask, which masks their values.
    static func forwarded(_ name: String) -> Bool {
        if name.hasPrefix("x-amz-meta-") || name.hasPrefix("x-amz-checksum-") || name.hasPrefix("x-amz-server-side-encryption")
            || name.hasPrefix("x-amz-object-lock-") { return true }
        return forwardedHeaders.contains(name)
    }

    static let forwardedHeaders: Set<String> = [
        "content-type", "content-length", "content-range", "content-encoding", "content-language", "content-disposition",
        "content-md5", "cache-control", "expires", "etag", "last-modified", "accept-ranges", "location",
        "x-amzn-requestid", "x-amz-request-id", "x-amz-id-2", "x-amzn-errortype", "x-amzn-error-message", "x-amz-crc32",
        "x-amz-version-id", "x-amz-delete-marker", "x-amz-storage-class", "x-amz-expiration", "x-amz-restore",
        "x-amz-mp-parts-count", "x-amz-tagging-count", "x-amz-replication-status", "x-amz-bucket-region",
        "x-amz-website-redirect-location", "x-amz-request-charged", "x-amz-missing-meta", "x-amz-copy-source-version-id",
        "x-amz-executed-version", "x-amz-function-error", "x-amz-log-result", "x-amz-abort-date", "x-amz-abort-rule-id",
    ]

    /// A streamed request body: the pieces the door sends, handed to the HTTP client as it
    /// asks for them; each one taken is a credit back to the door.
    final class Upload: @unchecked Sendable {
        let session: String, seq: Int64
        private let continuation: AsyncThrowingStream<ByteBuffer, Error>.Continuation
        let sequence: Pieces

        init(session: String, seq: Int64, credit: @escaping @Sendable () -> Void) {
            self.session = session; self.seq = seq
            var c: AsyncThrowingStream<ByteBuffer, Error>.Continuation!
            let stream = AsyncThrowingStream<ByteBuffer, Error> { c = $0 }
            continuation = c
            sequence = Pieces(stream: stream, credit: credit)
        }

        func yield(_ bytes: [UInt8]) { continuation.yield(ByteBuffer(bytes: bytes)) }
        func finish() { continuation.finish() }
        func abort() { continuation.finish(throwing: ConfigError("the upload was abandoned")) }

        struct Pieces: AsyncSequence, Sendable {
            typealias Element = ByteBuffer
            let stream: AsyncThrowingStream<ByteBuffer, Error>
            let credit: @Sendable () -> Void
            struct AsyncIterator: AsyncIteratorProtocol {
                var inner: AsyncThrowingStream<ByteBuffer, Error>.AsyncIterator
                let credit: @Sendable () -> Void
                mutating func next() async throws -> ByteBuffer? {
                    let piece = try await inner.next()
                    if piece != nil { credit() }
                    return piece
                }
            }
            func makeAsyncIterator() -> AsyncIterator { AsyncIterator(inner: stream.makeAsyncIterator(), credit: credit) }
        }
    }


    static func unreadable(_ call: Frame) -> Frame {
        .error(session: call.session, seq: call.seq, code: "22021",
               message: "hoop: the answer says it is text but is not UTF-8: it cannot be masked, so it is not delivered",
               stage: stage, reason: "unmaskable")
    }

    /// How many pieces of a streamed answer may travel ahead of the door's credits. A
    /// door that grants nothing for two minutes (its client went away) ends the stream.
    final class CreditGate: @unchecked Sendable {
        private let lock = NSLock()
        private var available: Int
        init(window: Int) { available = window }

        private var cancelled = false
        struct Cancelled: Error {}

        func grant(_ n: Int) { lock.withLock { available += max(0, n) } }
        func cancel() { lock.withLock { cancelled = true } }

        func take() async throws {
            let deadline = Date(timeIntervalSinceNow: 120)
            while true {
                if lock.withLock({ cancelled }) { throw Cancelled() }
                if lock.withLock({ () -> Bool in
                    guard available > 0 else { return false }
                    available -= 1
                    return true
                }) { return }
                guard Date() < deadline else { throw ConfigError("no credit from the door for 120 s") }
                try await Task.sleep(nanoseconds: 2_000_000)
            }
        }
    }

    static func callerIdentity(_ connection: String, _ identity: JSON, seq: Int64, session: String) -> Frame {
        let user = identity["user"]?.string ?? ""
        let rid = UUID().uuidString.lowercased()
        let body = "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>"
            + "<Arn>arn:aws:sts::000000000000:assumed-role/\(xml(connection))/\(xml(user))</Arn>"
            + "<UserId>AROAHOOP:\(xml(user))</UserId><Account>000000000000</Account></GetCallerIdentityResult>"
            + "<ResponseMetadata><RequestId>\(rid)</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
        return Frame(FrameType.result, session: session, seq: seq, [
            "status": .int(200), "headers": .object(["content-type": .string("text/xml"), "x-amzn-requestid": .string(rid)]),
            "body": .string(body), "request_id": .string(rid),
        ])
    }
}
