import Foundation
import HoopFrames
import NIOCore

// Wire decoding: the bytes a PostgreSQL client sends (protocol 3.0, "Frontend/Backend
// Protocol", Message Formats) into messages. Everything here reads hostile input: no
// force-unwraps, no trapping integer conversions, and no allocation sized by a claimed
// length before that many bytes have arrived.

/// A problem with the client's bytes that ends its connection (FATAL ErrorResponse).
struct ProtocolViolation: Error, Equatable {
    let code: String
    let message: String

    static let invalidMessage = ProtocolViolation(code: "08P01", message: "invalid frontend message")
    static let invalidFormat = ProtocolViolation(code: "08P01", message: "invalid message format")
    static let tooLarge = ProtocolViolation(code: "54000", message: "message too large")
}

/// What the framing layer yields.
enum FrontendMessage {
    case sslRequest
    case gssEncRequest
    case cancel(pid: Int32, secret: Int32)
    /// A StartupMessage of protocol 3.x; parameters in the order sent.
    case startup(minorVersion: Int, parameters: [(String, String)])
    /// A typed message after startup: its type byte and its body (length word removed).
    case message(type: UInt8, body: ByteBuffer)
    /// The client broke the protocol; the decoder discards everything after this.
    case violation(ProtocolViolation)
}

/// Splits the client's byte stream into messages, incrementally. Startup packets have
/// no type byte; after the StartupMessage every message is `type, Int32 length, body`.
struct PGFrontendDecoder: ByteToMessageDecoder {
    typealias InboundOut = FrontendMessage

    static let sslRequestCode: Int32 = 80877103
    static let gssEncRequestCode: Int32 = 80877104
    static let cancelRequestCode: Int32 = 80877102
    static let startupLimit = 10_000
    /// The password message (it may carry a token) is held to PostgreSQL's own limit.
    static let authLimit = 65_535
    static let knownTypes: Set<UInt8> = Set("QPBDECSHXpdcfF".utf8)

    enum Phase { case startup, auth, messages, discarding }
    var phase = Phase.startup
    var negotiations = 0
    /// An SSLRequest will be answered 'S' (docs/tls.md): bytes already here after it
    /// came in clear and must not be read as if they had been encrypted.
    var tlsOffered = false
    /// The largest body accepted after authentication: the frame limit less the frame's
    /// own envelope. The encoded frame is size-checked again (escaping can grow it).
    let messageLimit: Int

    init(messageLimit: Int = max(1024, maxFrameBytes - 4096)) {
        self.messageLimit = messageLimit
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        switch phase {
        case .discarding:
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return .needMoreData
        case .startup:
            return decodeStartup(context: context, buffer: &buffer)
        case .auth, .messages:
            return decodeTyped(context: context, buffer: &buffer)
        }
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        let state = try decode(context: context, buffer: &buffer)
        // A message cut short by the end of the stream is dropped.
        if state == .needMoreData { buffer.moveReaderIndex(to: buffer.writerIndex) }
        return state
    }

    private mutating func fail(_ v: ProtocolViolation, context: ChannelHandlerContext, buffer: inout ByteBuffer) -> DecodingState {
        phase = .discarding
        buffer.moveReaderIndex(to: buffer.writerIndex)
        context.fireChannelRead(wrapInboundOut(.violation(v)))
        return .continue
    }

    private mutating func decodeStartup(context: ChannelHandlerContext, buffer: inout ByteBuffer) -> DecodingState {
        guard let length32 = buffer.getInteger(at: buffer.readerIndex, as: Int32.self) else { return .needMoreData }
        let length = Int(length32)
        guard length >= 8, length <= Self.startupLimit else {
            return fail(ProtocolViolation(code: "08P01", message: "invalid length of startup packet"), context: context, buffer: &buffer)
        }
        guard buffer.readableBytes >= length, var packet = buffer.readSlice(length: length) else { return .needMoreData }
        packet.moveReaderIndex(forwardBy: 4)
        guard let code = packet.readInteger(as: Int32.self) else {
            return fail(.invalidFormat, context: context, buffer: &buffer)
        }
        switch code {
        case Self.sslRequestCode, Self.gssEncRequestCode:
            negotiations += 1
            guard packet.readableBytes == 0, negotiations <= 3 else {   // SessionHandler allows each kind once
                return fail(ProtocolViolation(code: "08P01", message: "invalid startup packet"), context: context, buffer: &buffer)
            }
            if code == Self.sslRequestCode && tlsOffered && buffer.readableBytes > 0 {
                return fail(ProtocolViolation(code: "08P01", message: "received unencrypted data after SSL request"),
                            context: context, buffer: &buffer)
            }
            context.fireChannelRead(wrapInboundOut(code == Self.sslRequestCode ? .sslRequest : .gssEncRequest))
            return .continue
        case Self.cancelRequestCode:
            guard let pid = packet.readInteger(as: Int32.self), let secret = packet.readInteger(as: Int32.self),
                  packet.readableBytes == 0 else {
                return fail(ProtocolViolation(code: "08P01", message: "invalid length of cancel request"), context: context, buffer: &buffer)
            }
            phase = .discarding
            buffer.moveReaderIndex(to: buffer.writerIndex)
            context.fireChannelRead(wrapInboundOut(.cancel(pid: pid, secret: secret)))
            return .continue
        default:
            let major = Int(UInt32(bitPattern: code) >> 16), minor = Int(UInt32(bitPattern: code) & 0xFFFF)
            guard major == 3 else {
                return fail(ProtocolViolation(code: "0A000",
                    message: "unsupported frontend protocol \(major).\(minor): server supports 3.0 to 3.0"),
                    context: context, buffer: &buffer)
            }
            var parameters: [(String, String)] = []
            while true {
                guard let name = packet.readCString() else {
                    return fail(ProtocolViolation(code: "08P01", message: "invalid startup packet layout: expected terminator as last byte"),
                                context: context, buffer: &buffer)
                }
                if name.isEmpty { break }
                guard let value = packet.readCString() else {
                    return fail(ProtocolViolation(code: "08P01", message: "invalid startup packet layout"), context: context, buffer: &buffer)
                }
                guard let n = name.string, let v = value.string else {
                    return fail(ProtocolViolation(code: "22021", message: "invalid byte sequence for encoding \"UTF8\""),
                                context: context, buffer: &buffer)
                }
                parameters.append((n, v))
            }
            guard packet.readableBytes == 0 else {
                return fail(ProtocolViolation(code: "08P01", message: "invalid startup packet layout: expected terminator as last byte"),
                            context: context, buffer: &buffer)
            }
            phase = .auth
            context.fireChannelRead(wrapInboundOut(.startup(minorVersion: minor, parameters: parameters)))
            return .continue
        }
    }

    private mutating func decodeTyped(context: ChannelHandlerContext, buffer: inout ByteBuffer) -> DecodingState {
        let start = buffer.readerIndex
        guard let type = buffer.getInteger(at: start, as: UInt8.self) else { return .needMoreData }
        // Judge the type as soon as its byte arrives: garbage is refused at once.
        guard Self.knownTypes.contains(type) else { return fail(.invalidMessage, context: context, buffer: &buffer) }
        guard let length32 = buffer.getInteger(at: start + 1, as: Int32.self) else { return .needMoreData }
        guard length32 >= 4 else { return fail(.invalidMessage, context: context, buffer: &buffer) }
        let bodyLength = Int(length32) - 4
        let limit = phase == .auth ? Self.authLimit : messageLimit
        guard bodyLength <= limit else { return fail(.tooLarge, context: context, buffer: &buffer) }
        guard buffer.readableBytes >= 5 + bodyLength else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 5)
        guard let body = buffer.readSlice(length: bodyLength) else { return .needMoreData }
        phase = .messages
        context.fireChannelRead(wrapInboundOut(.message(type: type, body: body)))
        return .continue
    }
}

/// A NUL-terminated string as read: its bytes, and the text when they are valid UTF-8.
struct WireString {
    let bytes: ByteBuffer
    var isEmpty: Bool { bytes.readableBytes == 0 }
    var string: String? { bytes.validatedUTF8() }
}

extension ByteBuffer {
    /// Reads up to the next NUL (consumed, not returned); nil when there is none.
    mutating func readCString() -> WireString? {
        guard let nul = readableBytesView.firstIndex(of: 0) else { return nil }
        guard let slice = readSlice(length: nul - readerIndex) else { return nil }
        moveReaderIndex(forwardBy: 1)
        return WireString(bytes: slice)
    }

    /// The readable bytes as a String when they are valid UTF-8 without NUL.
    func validatedUTF8() -> String? {
        withUnsafeReadableBytes { raw -> String? in
            if raw.contains(0) { return nil }
            return String(utf8Text: raw)
        }
    }
}

/// A typed message, parsed.
enum ClientMessage {
    case password(String)
    case query(sql: String)
    case parse(name: String, sql: String, paramTypes: [UInt32])
    case bind(portal: String, statement: String, params: [JSON], paramFormats: [Int16], resultFormats: [Int16])
    case describe(kind: UInt8, name: String)
    case execute(portal: String, maxRows: Int32)
    case close(kind: UInt8, name: String)
    case sync
    case flush
    case terminate
    case copyData(JSON)
    case copyDone
    case copyFail(String)
    case functionCall
}

/// Why a well-framed message cannot be forwarded.
enum MessageProblem: Error {
    /// The body does not follow the message format: FATAL 08P01.
    case malformed
    /// A string or text parameter is not valid UTF-8 (or holds NUL): ERROR 22021.
    case invalidUTF8
    /// A result format code other than text (0) or binary (1): ERROR 22023.
    case unsupportedFormat(Int16)
}

extension ClientMessage {
    static func parse(type: UInt8, body: ByteBuffer) throws -> ClientMessage {
        var b = body
        func string() throws -> String {
            guard let s = b.readCString() else { throw MessageProblem.malformed }
            guard let text = s.string else { throw MessageProblem.invalidUTF8 }
            return text
        }
        func int16() throws -> Int16 {
            guard let v = b.readInteger(as: Int16.self) else { throw MessageProblem.malformed }
            return v
        }
        func int32() throws -> Int32 {
            guard let v = b.readInteger(as: Int32.self) else { throw MessageProblem.malformed }
            return v
        }
        func end() throws { guard b.readableBytes == 0 else { throw MessageProblem.malformed } }
        /// A count followed by that many items of `width` bytes: checked against what is there.
        func count(width: Int) throws -> Int {
            let n = Int(try int16())
            guard n >= 0, n * width <= b.readableBytes else { throw MessageProblem.malformed }
            return n
        }

        switch type {
        case UInt8(ascii: "p"):
            // Read the whole string before judging its encoding, so that a malformed
            // message is reported as such.
            guard let s = b.readCString() else { throw MessageProblem.malformed }
            try end()
            guard let text = s.string else { throw MessageProblem.invalidUTF8 }
            return .password(text)
        case UInt8(ascii: "Q"):
            guard let s = b.readCString() else { throw MessageProblem.malformed }
            try end()
            guard let sql = s.string else { throw MessageProblem.invalidUTF8 }
            return .query(sql: sql)
        case UInt8(ascii: "P"):
            guard let name = b.readCString(), let sql = b.readCString() else { throw MessageProblem.malformed }
            let n = try count(width: 4)
            var types: [UInt32] = []
            types.reserveCapacity(n)
            for _ in 0..<n { types.append(UInt32(bitPattern: try int32())) }
            try end()
            guard let nameText = name.string, let sqlText = sql.string else { throw MessageProblem.invalidUTF8 }
            return .parse(name: nameText, sql: sqlText, paramTypes: types)
        case UInt8(ascii: "B"):
            guard let portal = b.readCString(), let statement = b.readCString() else { throw MessageProblem.malformed }
            let nFormats = try count(width: 2)
            var formats: [Int16] = []
            formats.reserveCapacity(nFormats)
            for _ in 0..<nFormats { formats.append(try int16()) }
            let nParams = try count(width: 4)
            guard nFormats == 0 || nFormats == 1 || nFormats == nParams else { throw MessageProblem.malformed }
            var badText = false
            // A parameter is text (a JSON string) or binary ({"base64": …}, passed to the
            // server as it came); docs/frames.md, Requests.
            var params: [JSON] = []
            params.reserveCapacity(nParams)
            for i in 0..<nParams {
                let length = try int32()
                if length == -1 { params.append(.null); continue }
                guard length >= 0, let value = b.readSlice(length: Int(length)) else { throw MessageProblem.malformed }
                let format = formats.isEmpty ? 0 : formats[formats.count == 1 ? 0 : i]
                guard format == 0 || format == 1 else { throw MessageProblem.malformed }
                if format == 1 {
                    params.append(.object(["base64": .string(Data(value.readableBytesView).base64EncodedString())]))
                } else if let text = value.validatedUTF8() {
                    params.append(.string(text))
                } else {
                    params.append(.null); badText = true
                }
            }
            let nResults = try count(width: 2)
            var results: [Int16] = []
            results.reserveCapacity(nResults)
            for _ in 0..<nResults { results.append(try int16()) }
            try end()
            if let odd = results.first(where: { $0 != 0 && $0 != 1 }) { throw MessageProblem.unsupportedFormat(odd) }
            guard !badText, let portalText = portal.string, let statementText = statement.string else {
                throw MessageProblem.invalidUTF8
            }
            return .bind(portal: portalText, statement: statementText, params: params,
                         paramFormats: formats, resultFormats: results)
        case UInt8(ascii: "D"), UInt8(ascii: "C"):
            guard let kind = b.readInteger(as: UInt8.self),
                  kind == UInt8(ascii: "S") || kind == UInt8(ascii: "P") else { throw MessageProblem.malformed }
            let name = try string()
            try end()
            return type == UInt8(ascii: "D") ? .describe(kind: kind, name: name) : .close(kind: kind, name: name)
        case UInt8(ascii: "E"):
            let portal = try string()
            let maxRows = try int32()
            try end()
            return .execute(portal: portal, maxRows: maxRows)
        case UInt8(ascii: "S"): try end(); return .sync
        case UInt8(ascii: "H"): try end(); return .flush
        case UInt8(ascii: "X"): try end(); return .terminate
        case UInt8(ascii: "d"):
            // COPY data need not be split on characters: UTF-8 text travels as a string,
            // anything else as base64.
            if let text = b.validatedUTF8() { return .copyData(.string(text)) }
            return .copyData(.object(["base64": .string(Data(b.readableBytesView).base64EncodedString())]))
        case UInt8(ascii: "c"): return .copyDone
        case UInt8(ascii: "f"): return .copyFail(b.readCString()?.string ?? "COPY failed")
        case UInt8(ascii: "F"): return .functionCall
        default:
            throw MessageProblem.malformed
        }
    }
}
