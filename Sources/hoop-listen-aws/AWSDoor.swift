import Crypto
import Foundation
import HoopAWS
import HoopFrames
import NIOCore

/// An HTTP request as the door received it.
struct DoorRequest {
    var method: String
    var uri: String
    var headers: [(String, String)]
    var body: [UInt8]
    var client: (addr: String, port: Int, tls: String?)
}

/// An HTTP answer.
struct DoorResponse {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]
    /// The upstream's Content-Length, for a HEAD answer or a streamed answer of bytes.
    var declaredLength: String? = nil
    /// A streamed answer's pieces, after these headers.
    var stream: AnswerStream? = nil
    /// Whether the stream's pieces keep the upstream's length (bytes hoop-mask does not change).
    var streamKeepsLength = false
}

/// The AWS door's one job (docs/aws.md): STS in the door, every call's signature
/// checked before anything else, each call one `call` frame on its key's ring session,
/// each `result` back as the service's HTTP answer.
final class AWSDoor: @unchecked Sendable {
    let verifier: SigV4Verifier
    let key: GatewayKey
    let operations: Operations
    let ring: RingSessions
    static let maxBody = 12 << 20
    /// Calls under way at once, and their request bodies' bytes together: the door's memory.
    static let maxInFlight = 64
    static let maxInFlightBytes = 64 << 20
    private let inFlightLock = NSLock()
    private var inFlight = 0
    private var inFlightBytes = 0

    /// The configured connections of kind `aws`: keys for another kind's (a PostgreSQL
    /// connection) would make calls no upstream answers, each holding a slot until it times out.
    let awsConnections: Set<String>

    init(key: GatewayKey, operations: Operations, ring: RingSessions, awsConnections: Set<String>) {
        self.key = key
        verifier = SigV4Verifier(key: key)
        self.operations = operations
        self.ring = ring
        self.awsConnections = awsConnections
    }

    func handle(_ req: DoorRequest, on loop: EventLoop) -> EventLoopFuture<DoorResponse> {
        let admitted = inFlightLock.withLock { () -> Bool in
            guard inFlight < Self.maxInFlight else { return false }
            inFlight += 1
            return true
        }
        guard admitted else {
            // The SDKs retry this one with backoff.
            return loop.makeSucceededFuture(errorResponse(Self.slowDown(),
                                                          proto: "rest-xml", UUID().uuidString.lowercased()))
        }
        return answer(req, on: loop).always { _ in self.inFlightLock.withLock { self.inFlight -= 1 } }
    }

    enum UploadPlan { case none, refuse(DoorResponse), stream(Upload) }

    /// At a request's head: a body too large to travel whole, that the client did not sign,
    /// of an S3 PutObject or UploadPart, streams (Upload). Anything else is read whole.
    func uploadPlan(_ req: DoorRequest) -> UploadPlan {
        func h(_ n: String) -> String? { req.headers.first { $0.0 == n }?.1 }
        let hash = h("x-amz-content-sha256") ?? ""
        let chunked = hash == SigV4Verifier.Streaming.unsignedTrailer
        guard req.method == "PUT", hash == SigV4.unsignedPayload || chunked,
              let length = Int((chunked ? h("x-amz-decoded-content-length") : nil) ?? h("content-length") ?? ""),
              length > Self.maxBody else { return .none }
        let requestId = UUID().uuidString.lowercased()
        do {
            let target = try Self.requestTarget(req.uri)
            var request = SigV4.Request(method: req.method, path: target.path, query: target.query, headers: req.headers, body: [])
            let verified = try verifier.verify(request)
            request.headers = req.headers.filter { verified.signedHeaders.contains($0.0) }
            try Self.noDigestConditions(request)
            // The upstream gets the object's bytes and their length, not aws-chunked.
            request.headers.removeAll { ["content-length", "x-amz-decoded-content-length", "x-amz-trailer"].contains($0.0) }
            if let enc = request.header("content-encoding") {
                let rest = enc.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0 != "aws-chunked" }
                request.headers.removeAll { $0.0 == "content-encoding" }
                if !rest.isEmpty { request.headers.append(("content-encoding", rest.joined(separator: ","))) }
            }
            if verified.presigned {
                throw AWSError("EntityTooLarge", 413, "hoop streams large uploads signed in the header form only")
            }
            let identified = try operations.identify(request, signingName: verified.scope.service, form: [])
            guard identified.service.signingName == "s3", ["PutObject", "UploadPart"].contains(identified.operation.name) else {
                throw AWSError("EntityTooLarge", 413, "hoop streams large bodies of S3 PutObject and UploadPart only")
            }
            let trailer = chunked ? h("x-amz-trailer")?.lowercased() : nil
            if let trailer, !UploadChecksum.supported.contains(trailer) {
                throw AWSError("NotImplemented", 501, "hoop checks upload trailers of CRC32, CRC32C, SHA-1 or SHA-256, not \(trailer)")
            }
            let params = try CallParams.decode(request, identified, form: [])
            return .stream(Upload(door: self, request: request, verified: verified, identified: identified, params: params, length: length,
                                  chunked: chunked, trailer: trailer))
        } catch let e as AWSError {
            return .refuse(errorResponse(e, proto: "rest-xml", requestId))
        } catch {
            return .refuse(errorResponse(AWSError("InternalFailure", 500, "hoop: \(error)"), proto: "rest-xml", requestId))
        }
    }

    /// Request bodies are counted as they are read, on every connection together; a
    /// connection whose body would pass the bound gets SlowDown instead of more memory.
    func reserve(_ bytes: Int) -> Bool {
        inFlightLock.withLock {
            guard inFlightBytes + bytes <= Self.maxInFlightBytes else { return false }
            inFlightBytes += bytes
            return true
        }
    }

    func release(_ bytes: Int) { inFlightLock.withLock { inFlightBytes -= bytes } }

    static func slowDown() -> AWSError { AWSError("SlowDown", 503, "hoop: too many calls under way; retry") }

    private func answer(_ req: DoorRequest, on loop: EventLoop) -> EventLoopFuture<DoorResponse> {
        let requestId = UUID().uuidString.lowercased()
        let target: (path: String, query: String)
        do { target = try Self.requestTarget(req.uri) } catch {
            let e = error as? AWSError ?? AWSError("InvalidURI", 400, "hoop: \(error)")
            return loop.makeSucceededFuture(errorResponse(e, proto: protocolGuess(SigV4.Request(method: req.method, path: "/", query: "",
                                                                                                   headers: req.headers, body: [])), requestId))
        }
        let signed = SigV4.Request(method: req.method, path: target.path, query: target.query, headers: req.headers, body: req.body)
        // STS's web-identity exchange is the one unsigned call: the token is its credential.
        let unsignedForm = formPairs(signed)
        if signed.header("authorization") == nil, !signed.query.contains("X-Amz-Signature"),
           (unsignedForm + SigV4.queryPairs(signed.query)).first(where: { $0.0 == "Action" })?.1 == "AssumeRoleWithWebIdentity" {
            return assumeRoleWithWebIdentity(unsignedForm + SigV4.queryPairs(signed.query), req, requestId, on: loop)
        }
        let verified: SigV4Verifier.Verified
        let identified: Operations.Identified
        var request = signed
        let form: [(String, String)]
        let params: [String: JSON]
        var caller: SigV4Verifier.Verified?   // signed by keys of an AWS connection: its refusals are recorded
        do {
            verified = try verifier.verify(signed)
            guard awsConnections.contains(verified.claims.connection) else {
                throw AWSError("AccessDenied", 403, "hoop: these keys are for a connection that is not an AWS one")
            }
            caller = verified
            // From here on only what the client signed exists: the operation is identified,
            // and its parameters read, from the same headers that travel on.
            request.headers = signed.headers.filter { verified.signedHeaders.contains($0.0) }
            if verified.payloadHash == SigV4Verifier.Streaming.unsignedTrailer {
                try AWSChunked.decode(&request)
            }
            // The presigned form's own parameters (its signature, the session token) do not travel.
            if verified.presigned {
                request.query = SigV4.queryPairs(request.query).isEmpty ? "" : request.query.split(separator: "&")
                    .filter { !(SigV4.percentDecode($0.split(separator: "=", maxSplits: 1).first ?? "") ?? "").hasPrefix("X-Amz-") }
                    .joined(separator: "&")
            }
            form = formPairs(request)
            try Self.oneOperationNamed(request, form)
            // What the answer is (text or bytes) decides how it is masked: the caller may not relabel it.
            if SigV4.queryPairs(request.query).contains(where: { ["response-content-type", "response-content-encoding"].contains($0.0.lowercased()) }) {
                throw AWSError("AccessDenied", 403, "hoop does not let a call change the answer's content type or encoding")
            }
            identified = try operations.identify(request, signingName: verified.scope.service, form: form)
            try Self.noDigestConditions(request)
            if identified.service.signingName == "sts" && identified.operation.name != "GetCallerIdentity" {
                throw AWSError("AccessDenied", 403, "hoop answers only AssumeRoleWithWebIdentity and GetCallerIdentity of STS")
            }
            params = try CallParams.decode(request, identified, form: form)
        } catch let e as AWSError {
            if let caller { recordRefusal(e, caller, req, target.path, on: loop) }
            return loop.makeSucceededFuture(errorResponse(e, proto: protocolGuess(signed), requestId))
        } catch {
            return loop.makeSucceededFuture(errorResponse(AWSError("InternalFailure", 500, "hoop: \(error)"), proto: "query", requestId))
        }
        let claims = verified.claims
        let proto = identified.service.proto
        let sessionFuture = ring.session(forKey: claims.accessKeyId, on: loop) { id in
            Frame(FrameType.sessionOpen, session: id, seq: 0, [
                "connection": .string(claims.connection), "user": .string(claims.user),
                "credential": .string(verified.token), "client": self.client(req),
                "application_name": .string(userAgentProduct(signed.header("user-agent"))),
            ])
        }
        return sessionFuture.flatMap { id in
            self.ring.call(id, { seq in self.callFrame(id, seq, request, verified, identified, params, client: self.client(req)) }, on: loop)
                .map { result in
                    // The next page's tokens this answer delivers: the session's pages (PageTokens).
                    if Int(result["status"]?.int ?? 200) / 100 == 2, let body = result["body"]?.string {
                        self.ring.rememberPageTokens(id, PageTokens.issued(identified, body: body).map { PageTokens.key(identified, params, $0) })
                    }
                    return result
                }
        }.map { result in
            self.httpResponse(result, proto: proto, requestId)
        }.recover { error in
            self.errorResponse(error as? AWSError ?? AWSError("InternalFailure", 500, "hoop: \(error)"), proto: proto, requestId)
        }
    }

    /// The door's own refusal of a verified caller goes on the caller's session (opened
    /// as for a call: hoop-auth judges the token again), for the audit trail. The client's
    /// answer does not wait for it.
    func recordRefusal(_ e: AWSError, _ caller: SigV4Verifier.Verified, _ req: DoorRequest, _ path: String, on loop: EventLoop) {
        let claims = caller.claims
        ring.session(forKey: claims.accessKeyId, on: loop) { id in
            Frame(FrameType.sessionOpen, session: id, seq: 0, [
                "connection": .string(claims.connection), "user": .string(claims.user),
                "credential": .string(caller.token), "client": self.client(req),
                "application_name": .string(userAgentProduct(req.headers.first { $0.0 == "user-agent" }?.1)),
            ])
        }.whenSuccess { id in
            self.ring.refused(id, code: e.code, message: e.message, method: req.method, path: path)
        }
    }

    // MARK: STS

    func assumeRoleWithWebIdentity(_ params: [(String, String)], _ req: DoorRequest, _ requestId: String,
                                   on loop: EventLoop) -> EventLoopFuture<DoorResponse> {
        func p(_ n: String) -> String? { params.first { $0.0 == n }?.1 }
        // SDKs send the token file as read, trailing newline and all.
        guard let roleArn = p("RoleArn"), let token = p("WebIdentityToken")?.trimmingCharacters(in: .whitespacesAndNewlines),
              let sessionName = p("RoleSessionName") else {
            return loop.makeSucceededFuture(errorResponse(AWSError("MissingParameter", 400,
                "AssumeRoleWithWebIdentity needs RoleArn, RoleSessionName and WebIdentityToken"), proto: "query", requestId))
        }
        // The exchange is for an OIDC token: a session token of this gateway is a credential
        // already, never something to trade for new keys.
        guard !token.hasPrefix(GatewayKey.tokenPrefix) else {
            return loop.makeSucceededFuture(errorResponse(AWSError("InvalidIdentityToken", 400,
                "the web identity token must be an OIDC token"), proto: "query", requestId))
        }
        let duration = Double(p("DurationSeconds") ?? "3600") ?? 3600
        guard (900...43200).contains(duration) else {
            return loop.makeSucceededFuture(errorResponse(AWSError("ValidationError", 400,
                "DurationSeconds must be between 900 and 43200"), proto: "query", requestId))
        }
        // The role's last path element names the hoop connection.
        let connection = String(roleArn.split(separator: "/").last ?? "")
        guard awsConnections.contains(connection) else {
            return loop.makeSucceededFuture(errorResponse(AWSError("AccessDenied", 403,
                "no AWS connection is named \"\(connection)\" (the role's last path element)"), proto: "query", requestId))
        }
        let id = ring.newSessionId()
        let open = Frame(FrameType.sessionOpen, session: id, seq: 0, [
            "connection": .string(connection), "credential": .string(token), "client": client(req),
            "application_name": .string("sts:AssumeRoleWithWebIdentity"),
        ])
        return ring.open(id, open, on: loop).map { opened in
            self.ring.close(id)
            let identity = opened["identity"]
            let now = Date().timeIntervalSince1970
            let ends = [Double(identity?["session_ends_at"]?.int ?? 0), Double(identity?["token_expires_at"]?.int ?? 0), now + duration]
                .filter { $0 > 0 }.min() ?? now
            let claims = GatewayKey.Claims(accessKeyId: GatewayKey.newAccessKeyId(), issuer: identity?["issuer"]?.string ?? "",
                                           subject: identity?["subject"]?.string ?? "", user: identity?["user"]?.string ?? "",
                                           groups: (identity?["groups"]?.array ?? []).compactMap(\.string),
                                           kind: identity?["kind"]?.string ?? "agent", connection: connection,
                                           expires: ends.rounded(.down), issued: now.rounded(.down))
            logLine(RingSessions.stage, "session \(id): temporary credentials \(claims.accessKeyId) on \(connection) until \(Int(claims.expires))")
            return self.stsCredentials(claims, roleArn: roleArn, sessionName: sessionName, requestId)
        }.recover { error in
            var e = error as? AWSError ?? AWSError("InternalFailure", 500, "\(error)")
            if e.code == "InvalidClientTokenId" || e.code == "ExpiredToken" { e = AWSError("InvalidIdentityToken", 400, e.message) }
            if e.code == "InternalFailure" && e.message.contains("hoop-auth") { e.code = "AccessDenied"; e.status = 403 }
            return self.errorResponse(e, proto: "query", requestId)
        }
    }

    func stsCredentials(_ c: GatewayKey.Claims, roleArn: String, sessionName: String, _ requestId: String) -> DoorResponse {
        let expiration = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: c.expires))
        let assumed = "arn:aws:sts::000000000000:assumed-role/\(c.connection)/\(sessionName)"
        let body = """
        <AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <AssumeRoleWithWebIdentityResult>
            <SubjectFromWebIdentityToken>\(xml(c.subject))</SubjectFromWebIdentityToken>
            <Audience>hoop</Audience>
            <AssumedRoleUser><Arn>\(xml(assumed))</Arn><AssumedRoleId>AROAHOOP:\(xml(sessionName))</AssumedRoleId></AssumedRoleUser>
            <Credentials>
              <AccessKeyId>\(c.accessKeyId)</AccessKeyId>
              <SecretAccessKey>\(key.secret(for: c.accessKeyId))</SecretAccessKey>
              <SessionToken>\(key.sessionToken(c))</SessionToken>
              <Expiration>\(expiration)</Expiration>
            </Credentials>
            <Provider>\(xml(c.issuer))</Provider>
          </AssumeRoleWithWebIdentityResult>
          <ResponseMetadata><RequestId>\(requestId)</RequestId></ResponseMetadata>
        </AssumeRoleWithWebIdentityResponse>
        """
        return DoorResponse(status: 200, headers: [("Content-Type", "text/xml"), ("x-amzn-RequestId", requestId)], body: Array(body.utf8))
    }

    // MARK: frames

    func callFrame(_ id: String, _ seq: Int64, _ r: SigV4.Request, _ v: SigV4Verifier.Verified,
                   _ op: Operations.Identified, _ params: [String: JSON], client: JSON) -> Frame {
        var headers: [String: JSON] = [:]
        // Only what the client signed travels: an unsigned header is nobody's word. And only
        // what the operation's model reads: a service may take any other header for a
        // parameter (moto reads a REST call's headers as its parameters when it has no query
        // or body, an `Action` or `X-Amz-Target` header first: `Action: DeleteFunction`
        // signed on a GetAlias ran DeleteFunction).
        for name in v.signedHeaders where Self.forwardable(name, op) {
            let values = r.headers.filter { $0.0 == name }.map(\.1)
            if !values.isEmpty { headers[name] = .string(values.joined(separator: ",")) }
        }
        for (name, value) in r.headers where name.hasPrefix("x-amz-checksum-") && headers[name] == nil {
            headers[name] = .string(value)   // moved from an aws-chunked trailer by AWSChunked
        }
        var iamAction = op.operation.iamAction, access = op.operation.access
        if op.service.signingName == "dynamodb" && PartiQL.operations.contains(op.operation.name) {
            (iamAction, access) = PartiQL.access(params)
        }
        var f: [String: JSON] = [
            "service": .string(op.service.name), "signing_name": .string(op.service.signingName),
            "action": .string(op.operation.name), "iam_action": .string(iamAction),
            "access": .string(access), "protocol": .string(op.service.proto),
            "region": .string(v.scope.region), "params": .object(params),
            "resources": .object(CallParams.resources(params)), "target": .string(CallParams.target(op, params)),
            "method": .string(r.method), "path": .string(r.path), "query": .string(r.query),
            "headers": .object(headers), "detached": .bool(true),
            // The session is the access key's, reused across connections: each call says where it came from.
            "client": client,
        ]
        // A page token counts as one (left out of what is approved) only when this session
        // was issued it; a token the client wrote (a DynamoDB start key) is judged with the call.
        let paging = PageTokens.paging(op, params) { ring.wasIssued(id, $0) }
        if !paging.isEmpty { f["paging"] = .array(paging.map(JSON.string)) }
        if !op.operation.idempotency.isEmpty { f["idempotency"] = .array(op.operation.idempotency.map(JSON.string)) }
        if op.operation.revealsSecrets { f["reveals_secrets"] = .bool(true) }
        if op.operation.answersImage { f["answers_image"] = .bool(true) }
        // Where the answer holds environment variables: hoop-mask redacts their values.
        if !op.operation.environment.isEmpty { f["environment"] = .array(op.operation.environment.map(JSON.string)) }
        // Its answer's map members, whose keys hoop-mask reads (the model's members it does not).
        if !op.operation.maps.isEmpty { f["maps"] = .array(op.operation.maps.map(JSON.string)) }
        // Its answer's name/value pairs: hoop-mask redacts a value whose name says credential.
        if !op.operation.pairs.isEmpty { f["pairs"] = .array(op.operation.pairs.map { .array($0.map(JSON.string)) }) }
        var body = r.body
        if ["json", "rest-json"].contains(op.service.proto), body.contains(where: { $0 == 0x26 || $0 == 0x3B }) {
            body = Self.readableOneWay(body)
            if headers["content-length"] != nil { headers["content-length"] = .string(String(body.count)); f["headers"] = .object(headers) }
        }
        if !body.isEmpty {
            if let text = String(validating: body, as: UTF8.self) { f["body"] = .string(text) }
            else { f["body_base64"] = .string(Data(body).base64EncodedString()) }
        }
        return Frame(FrameType.call, session: id, seq: seq, f)
    }

    /// A header the identified operation reads: one of its header members (botocore's
    /// `location: header(s)`), or one of the protocol's own (the body's type, length,
    /// digest and encoding, checksums; the JSON protocol's target, which named the operation).
    static func forwardable(_ name: String, _ op: Operations.Identified) -> Bool {
        if ["content-type", "content-length", "content-md5", "content-encoding", "x-amz-sdk-checksum-algorithm",
            "x-amz-trailer", "x-amz-decoded-content-length"].contains(name) || name.hasPrefix("x-amz-checksum-") { return true }
        if name == "x-amz-target" { return op.service.proto == "json" }
        return op.operation.headerMembers[name] != nil
            || op.operation.headerMembers.keys.contains { $0.hasSuffix("*") && name.hasPrefix($0.dropLast()) }
    }

    /// A JSON body (CallParams read it: one JSON object) with every `&` and `;` written
    /// as a JSON escape: the same JSON, and no longer a form too. A service that reads a
    /// body both ways (moto's stand-in parses any body as a query string, and prefers its
    /// pairs) would otherwise take `{"TableName": "t", "Note": "&Action=DeleteTable&"}` as
    /// DeleteTable, or a member the door never read. In valid JSON these bytes occur only
    /// inside strings, where the escape means the same character.
    static func readableOneWay(_ body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count + 16)
        for b in body {
            switch b {
            case 0x26: out.append(contentsOf: Array("\\u0026".utf8))
            case 0x3B: out.append(contentsOf: Array("\\u003b".utf8))
            default: out.append(b)
            }
        }
        return out
    }

    /// The `result` frame as the service's HTTP answer. What described the bytes before
    /// hoop-mask changed them (length, CRC32, checksums) is recomputed or dropped.
    func httpResponse(_ f: Frame, proto: String, _ requestId: String) -> DoorResponse {
        var body: [UInt8]
        if let text = f["body"]?.string { body = Array(text.utf8) }
        else if let b64 = f["body_base64"]?.string, let d = Data(base64Encoded: b64) { body = Array(d) }
        else { body = [] }
        let stream = f.session.flatMap { s in f.seq.flatMap { ring.stream(session: s, seq: $0) } }
        let keepsLength = stream != nil && f["text"]?.bool == false
        // A streamed text answer may be masked piece by piece: what described its bytes goes.
        let masked = f["body_masked"]?.bool == true || (stream != nil && !keepsLength)
        var headers: [(String, String)] = []
        for (name, value) in f["headers"]?.object ?? [:] {
            guard let v = value.string, name != "content-length", name != "transfer-encoding", name != "connection" else { continue }
            if masked && (name == "content-md5" || name.hasPrefix("x-amz-checksum-") || name == "x-amz-crc32") { continue }
            headers.append((name, v))
        }
        if masked, f["headers"]?["x-amz-crc32"] != nil { headers.append(("x-amz-crc32", String(CRC32.checksum(body)))) }
        if !headers.contains(where: { $0.0 == "x-amzn-requestid" || $0.0 == "x-amz-request-id" }) {
            headers.append(("x-amzn-RequestId", requestId))
        }
        if stream != nil && !keepsLength { headers.removeAll { $0.0 == "etag" } }
        else if f["body_masked"]?.bool == true, proto == "rest-xml" || headers.contains(where: { $0.0 == "etag" }) {
            // An SDK checks a single-part ETag as the body's MD5 (Java v1): the masked body's
            // (hoop-mask drops the original's of a PHI resource: a digest of it is an oracle).
            headers.removeAll { $0.0 == "etag" }
            headers.append(("etag", "\"" + Insecure.MD5.hash(data: body).map { String(format: "%02x", $0) }.joined() + "\""))
        }
        return DoorResponse(status: Int(f["status"]?.int ?? 200), headers: headers, body: body,
                            declaredLength: f["headers"]?["content-length"]?.string, stream: stream, streamKeepsLength: keepsLength)
    }

    func errorResponse(_ e: AWSError, proto: String, _ requestId: String) -> DoorResponse {
        let (type, body) = e.render(protocol: proto, requestId: requestId)
        var headers = [("Content-Type", type), ("x-amzn-RequestId", requestId)]
        if proto == "json" || proto == "rest-json" { headers.append(("x-amzn-ErrorType", e.code)) }
        return DoorResponse(status: e.status, headers: headers, body: Array(body.utf8))
    }

    /// The error format before the operation is known: by what the request looks like.
    func protocolGuess(_ r: SigV4.Request) -> String {
        if r.header("x-amz-target") != nil { return "json" }
        if let scope = r.header("authorization")?.split(separator: "/").dropFirst(3).first, scope == "s3" { return "rest-xml" }
        if r.query.contains("X-Amz-Credential") && r.query.contains("%2Fs3%2F") { return "rest-xml" }
        return "query"
    }

    /// A request's target: its path and query, every byte as RFC 3986 allows it (RequestTarget).
    static func requestTarget(_ uri: String) throws -> (path: String, query: String) { try RequestTarget.split(uri) }

    /// Conditions a service checks against an object's digest (its ETag, the MD5 of a
    /// one-part object): hoop-mask withholds digests of PHI, and a 200 or 412 would
    /// confirm a guess of the bytes one call at a time. `*` (exists or not) compares no digest.
    static let digestConditions: Set<String> = ["if-match", "if-none-match", "if-range", "x-amz-copy-source-if-match",
                                                "x-amz-copy-source-if-none-match"]

    static func noDigestConditions(_ r: SigV4.Request) throws {
        if let (name, _) = r.headers.first(where: { digestConditions.contains($0.0) && $0.1.trimmingCharacters(in: .whitespaces) != "*" }) {
            throw AWSError("InvalidArgument", 400, "hoop does not forward \(name): it compares an object's digest, which masking withholds")
        }
    }

    /// A call names its operation once: an `Action` in the query and the form, two of them,
    /// or an `Action` beside an `X-Amz-Target`, could be read one way here and another upstream.
    static func oneOperationNamed(_ r: SigV4.Request, _ form: [(String, String)]) throws {
        let actions = (form + SigV4.queryPairs(r.query)).filter { $0.0 == "Action" }.count
        let targets = r.headers.filter { $0.0 == "x-amz-target" }.count
        guard actions + targets <= 1 else {
            throw AWSError("InvalidParameterCombination", 400, "hoop: a call must name its operation once (one Action, or one X-Amz-Target)")
        }
    }

    func formPairs(_ r: SigV4.Request) -> [(String, String)] {
        guard r.method == "POST", CallParams.mimetype(r.header("content-type")) == "application/x-www-form-urlencoded",
              let text = String(validating: r.body, as: UTF8.self) else { return [] }
        // Forms encode a space as `+`.
        return SigV4.queryPairs(text.replacingOccurrences(of: "+", with: "%20"))
    }

    func client(_ r: DoorRequest) -> JSON {
        var c: [String: JSON] = ["addr": .string(r.client.addr), "port": .int(Int64(r.client.port))]
        if let tls = r.client.tls { c["tls"] = .string(tls) }
        return .object(c)
    }
}

func userAgentProduct(_ ua: String?) -> String {
    String((ua ?? "").split(separator: " ").first?.prefix(64) ?? "")
}
