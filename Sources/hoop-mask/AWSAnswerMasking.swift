import Foundation
import HoopFrames
import HoopMasking

/// An AWS answer this stage will not deliver, for a reason of policy (not a fault): the
/// call gets an AccessDenied naming why, the session goes on.
struct CallRefusal: Error {
    let why: String
    init(_ why: String) { self.why = why }
}

/// A streamed AWS answer under way.
struct AnswerStream {
    var call: AWSCallContext?
    var contentType: String?
    /// Decided by the head and the first piece.
    var format: AnswerFormat? = nil
    var header: CSVHeader? = nil
    /// The end of the previous text piece: context for the next (a label on the line before).
    var tail = ""
    /// Pieces of bytes (no text) passed so far: only the first can carry magic bytes.
    var bytePieces = 0
}

/// AWS answers (`result`, `result_data`): masked by the call they answer (its `call`
/// object, put there by hoop-connect-aws) with the connection's resource rules, and
/// content detection. The reading itself is HoopMasking's (AWSAnswers.swift).
extension ResponseMasking {
    func maskAnswer(_ frame: Frame, _ masker: Masker) throws -> Outcome {
        let call = frame["call"].map(AWSCallContext.init)
        let key = (frame.session ?? "") + "\n" + String(frame.seq ?? -1)
        do { try refuseUnmaskable(frame, call, masker) } catch let r as CallRefusal {
            if frame["chunked"]?.bool == true { refusedCalls.insert(key) }
            throw r
        }
        var out = frame
        var counts = maskHeaders(frame, &out, masker, call: call)
        if frame["chunked"]?.bool == true {
            streams[key] = AnswerStream(call: call, contentType: frame["headers"]?["content-type"]?.string)
            return outcome(frame, out, counts)
        }
        guard let body = frame["body"]?.string else {
            if let bytes = frame["body_base64"]?.string { try refuseTextInBytes(bytes, call, masker) }
            if frame["body"] == nil || frame["body"] == .null { return outcome(frame, out, counts) }
            throw MaskFailure("a result body that is not text")
        }
        let r: MaskResult
        do { r = try masker.maskAWSAnswer(body, contentType: frame["headers"]?["content-type"]?.string, call: call) }
        catch let e as AnswerRefusal { throw CallRefusal(e.description) }
        // The door then recomputes or drops what described the original bytes (length,
        // checksums, ETag): an SDK checks them.
        if r.value != body {
            out["body"] = .string(r.value ?? "")
            out["body_masked"] = .bool(true)
        }
        counts.merge(r.counts, uniquingKeysWith: +)
        return outcome(frame, out, counts)
    }

    /// A piece of a streamed answer, cut at a line's end by the upstream.
    func maskPiece(_ frame: Frame, _ masker: Masker) throws -> Outcome {
        let key = (frame.session ?? "") + "\n" + String(frame.seq ?? -1)
        if refusedCalls.contains(key) { return .replace([]) }
        guard let body = frame["body"]?.string else {
            // Bytes of a non-PHI answer (refused at its head otherwise): passed, unless they
            // are text in another encoding that content detection flags (the stream ends cut).
            if let bytes = frame["body_base64"]?.string {
                // A compressed or UTF-16 stream cannot be read piece by piece (only the first
                // carries the magic bytes or the byte-order mark): ended.
                let first = (streams[key]?.bytePieces ?? 0) == 0
                streams[key, default: AnswerStream()].bytePieces += 1
                if first, let d = Data(base64Encoded: bytes), UnpackedText.beginsPacked(d) {
                    refusedCalls.insert(key)
                    throw MaskFailure("a compressed or UTF-16 answer too large to read whole cannot be masked")
                }
                do { try refuseTextInBytes(bytes, streams[key]?.call, masker, continuing: !first) } catch let r as CallRefusal {
                    refusedCalls.insert(key)
                    throw MaskFailure(r.why)
                }
            }
            return .pass
        }
        var s = streams[key] ?? AnswerStream()
        let format = s.format ?? AnswerFormat.ofStream(firstPiece: body, contentType: s.contentType, key: s.call?.objectKey)
        if s.format == nil, format == .text || format == .csv, !masker.policy.fieldRules(for: s.call).isEmpty,
           (body.first(where: { !$0.isWhitespace && $0 != "\u{FEFF}" }).map { "{[<".contains($0) } ?? false)
            || AnswerFormat.isOtherwiseDelimited(body) {
            // A document (JSON, XML) in pieces, or a table delimited otherwise than CSV, cannot
            // be read for its names, and field rules apply to it: content detection alone
            // would read it. Refused, as a whole one is.
            refusedCalls.insert(key)
            throw MaskFailure("a structured answer too large to read whole cannot be masked by its fields")
        }
        s.format = format
        let r: MaskResult
        do { r = try masker.maskAWSPiece(body, format: format, call: s.call, header: &s.header, context: s.tail) }
        catch let e as AnswerRefusal { throw MaskFailure(e.description) }   // mid-answer: the stream ends cut
        s.tail = String(body.unicodeScalars.suffix(64).map(Character.init))
        streams[key] = s
        var out = frame
        out["body"] = .string(r.value ?? "")
        return outcome(frame, out, r.counts)
    }

    /// Bytes that are no UTF-8 but hold text (gzip'd, UTF-16, Windows-1252: UnpackedText)
    /// cannot be masked in place: refused when content detection flags that text. Bytes
    /// that are no text pass (an image, an archive of other formats).
    /// `continuing`: a later piece of a stream, read for its encoding only (UnpackedText).
    func refuseTextInBytes(_ base64: String, _ call: AWSCallContext?, _ masker: Masker, continuing: Bool = false) throws {
        guard let data = Data(base64Encoded: base64) else { return }
        let text: String
        switch UnpackedText.read(data, continuing: continuing) {
        case .noText: return
        case .unreadable: throw CallRefusal("an answer of compressed bytes that cannot be read to their end cannot be masked")
        case .text(let t): text = t
        }
        guard !text.isEmpty else { return }
        let r = try? masker.maskAWSAnswer(text, contentType: "text/plain", call: call)
        if r == nil || r?.changed == true {
            throw CallRefusal("an answer of bytes holds text that content detection flags (another encoding, or compressed): it cannot be masked in place")
        }
    }

    /// What cannot be masked is refused whole: an event stream (its frames are binary
    /// messages), S3 Select (the same), bytes of a resource the policy names, and a part
    /// of an answer that would be masked (its masked length is not the part's).
    func refuseUnmaskable(_ frame: Frame, _ call: AWSCallContext?, _ masker: Masker) throws {
        let headers = frame["headers"]
        let type = headers?["content-type"]?.string?.lowercased() ?? ""
        let status = frame["status"]?.int ?? 200
        // Whatever the status: an error's body may be the object's bytes (S3 Object Lambda's
        // WriteGetObjectResponse chooses it).
        if type.contains("vnd.amazon.eventstream") {
            throw CallRefusal("an event stream cannot be masked")
        }
        if call?.action == "SelectObjectContent" {
            throw CallRefusal("S3 Select answers in an event stream, which cannot be masked")
        }
        let chunked = frame["chunked"]?.bool == true
        let text = chunked ? frame["text"]?.bool == true : frame["body"]?.string != nil
        let bytes = chunked ? !text : frame["body_base64"]?.string != nil
        let phi = masker.policy.namesPHI(call)
        if bytes && phi {
            throw CallRefusal("a binary answer of a resource the masking policy names cannot be masked")
        }
        let ranged = call?.range == true || status == 206 || headers?["content-range"] != nil
        if ranged && (text || phi) {
            // A part of bytes of no named resource that happen to read as UTF-8 (a Parquet
            // reader's 8-byte footer: one in 110) is read as bytes are (refuseTextInBytes):
            // passed while content detection flags nothing in it. A part that would be
            // masked cannot be: its masked length is not the part's.
            if !phi, !chunked, !AnswerBody.isTextType(type), let body = frame["body"]?.string,
               (try? masker.maskAWSAnswer(body, contentType: headers?["content-type"]?.string, call: call))?.changed == false { return }
            throw CallRefusal("a part of an answer that is masked cannot be read: read the object whole")
        }
    }

    /// Headers the service writes itself, of its own values (lengths, digests, dates, ids,
    /// codes, states): passed as they are. Every other header is read for PHI.
    static let serviceHeaders: Set<String> = [
        "content-length", "content-range", "content-md5", "etag", "last-modified", "accept-ranges",
        "x-amzn-requestid", "x-amz-request-id", "x-amz-id-2", "x-amzn-errortype", "x-amz-crc32", "x-amz-version-id",
        "x-amz-delete-marker", "x-amz-storage-class", "x-amz-mp-parts-count", "x-amz-tagging-count",
        "x-amz-replication-status", "x-amz-bucket-region", "x-amz-request-charged", "x-amz-missing-meta",
        "x-amz-executed-version", "x-amz-function-error", "x-amz-abort-date", "x-amz-server-side-encryption",
        "x-amz-server-side-encryption-aws-kms-key-id", "x-amz-server-side-encryption-bucket-key-enabled",
        "x-amz-server-side-encryption-customer-algorithm", "x-amz-server-side-encryption-customer-key-md5",
    ]

    /// Headers that carry data: object metadata, a file name, Lambda's log tail (base64).
    /// Of a resource the policy names, the digests of the original bytes (ETag, Content-MD5,
    /// checksums) are not passed: for a small object (one SSN, one birth date) they are an
    /// oracle. The door recomputes the ETag of a masked body from what it sends.
    func maskHeaders(_ frame: Frame, _ out: inout Frame, _ masker: Masker, call: AWSCallContext?) -> [String: Int] {
        guard case .object(var headers)? = frame["headers"] else { return [:] }
        var counts: [String: Int] = [:]
        if masker.policy.namesPHI(call) {
            for name in headers.keys where name == "etag" || name == "content-md5" || name.hasPrefix("x-amz-checksum-") {
                headers.removeValue(forKey: name)
                counts["DIGEST", default: 0] += 1
            }
        }
        for (name, value) in headers {
            guard let v = value.string else { continue }
            if name.hasPrefix("x-amz-meta-") {
                let r = masker.maskMetadata(String(name.dropFirst("x-amz-meta-".count)), v, call: call)
                if !r.counts.isEmpty { headers[name] = .string(r.value ?? ""); counts.merge(r.counts, uniquingKeysWith: +) }
            } else if name == "x-amz-log-result" {
                guard let d = Data(base64Encoded: v), let text = String(data: d, encoding: .utf8) else {
                    headers.removeValue(forKey: name)   // unreadable: not passed (and counted, so the change is kept)
                    counts["UNREADABLE", default: 0] += 1
                    continue
                }
                let r = masker.maskText(text)
                if !r.counts.isEmpty {
                    headers[name] = .string(Data((r.value ?? "").utf8).base64EncodedString())
                    counts.merge(r.counts, uniquingKeysWith: +)
                }
            } else if !Self.serviceHeaders.contains(name), !name.hasPrefix("x-amz-checksum-"), !name.hasPrefix("x-amz-object-lock-") {
                // Text an uploader may have chosen, whatever the header: a content type's
                // parameters (`text/plain; name="..."`), an encoding, a disposition's file
                // name, a lifecycle rule's id, the service's message about it.
                let r = masker.maskText(v)
                if !r.counts.isEmpty { headers[name] = .string(r.value ?? ""); counts.merge(r.counts, uniquingKeysWith: +) }
            }
        }
        out["headers"] = .object(headers)
        return counts
    }
}
