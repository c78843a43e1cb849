import HoopFrames
import NIOCore

// Response frames from the ring into backend messages.
extension SessionHandler {
    // MARK: response frames

    /// Frames from the ring for this session, in order.
    func receive(_ items: [RingItem]) {
        guard let context else { return }
        for item in items {
            guard state == .opening || state == .ready else { break }
            switch item {
            case .broken(let code, let message):
                logLine(RingLink.stage, "session \(sessionID ?? "-"): unreadable frame from the ring (\(code))")
                fatal(code, "hoop: \(message)", reason: "protocol_error")
            case .frame(let frame) where frame.type == FrameType.copyCredit:
                copyCredited(frame["frames"]?.int ?? 1)
            case .frame(let frame):
                response(frame)
            case .rows(let frame, let wire):
                response(frame, wire: wire)
            }
        }
        context.flush()
    }

    func response(_ frame: Frame, wire: ByteBuffer? = nil) {
        guard let context else { return }
        guard FrameType.responses.contains(frame.type) else {
            logLine(RingLink.stage, "\(RingLink.loggable(frame.type)) frame for session \(sessionID ?? "-") ignored")
            return
        }
        // Fail closed (DESIGN invariant 1): nothing of an unstamped frame goes out.
        for stage in env.require where !frame.stamped(by: stage) {
            logLine(RingLink.stage, "session \(sessionID ?? "-"): \(RingLink.loggable(frame.type)) frame without stamp:\(stage) refused")
            return fatal("XX000", "hoop: a response did not pass the required stages", reason: "unstamped_response")
        }
        if state == .opening { return openingResponse(frame) }

        let type = frame.type
        let (due, write) = order.arrives(type: type, seq: frame.seq, fatal: frame["fatal"]?.bool == true)
        self.write(due)
        if !write {
            if SessionOrder.creditSpending.contains(type) { returnCredit(type) }
            return settle(frame)
        }
        if type == FrameType.columns, frame["for"]?.string == "execute" {
            // Types for binary columns, not a RowDescription: the client did not Describe.
            if let s = frame.seq { resultFormats.announced(frame, seq: s) }
            return
        }
        var frame = frame
        var binaryRows: BinaryPlan?
        do {
            if type == FrameType.columns, let s = frame.seq { frame = try resultFormats.describe(frame, seq: s) }
            if type == FrameType.rows, let s = frame.seq { binaryRows = try resultFormats.plan(forExecute: s) }
        } catch let refusal as ResultFormats.Refusal {
            refuseAnswers(refusal, seq: frame.seq ?? order.seq)
            if SessionOrder.creditSpending.contains(type) { returnCredit(type) }
            return settle(frame)
        } catch {
            return fatal("08P01", "hoop: malformed response frame", reason: "protocol_error")
        }

        // A notice hoop-mask withheld (code raised more than one for a request): recorded, not sent.
        if type == FrameType.notice, frame["withheld"]?.bool == true {
            returnCredit(type)
            return settle(frame)
        }
        var b = context.channel.allocator.buffer(capacity: 64)
        do {
            switch type {
            case FrameType.rows, FrameType.copyOutData, FrameType.notice, FrameType.notification:
                if let wire { b = wire }
                else if type == FrameType.rows { throw FrameShapeError() }   // rows come through RowsFrame
                else if type == FrameType.notice { Backend.notice(&b, type: UInt8(ascii: "N"), fields: frame.fields, fatal: false) }
                else if type == FrameType.notification { Backend.notification(&b, ownPID(frame)) }
                else { try Backend.copyData(&b, frame) }
                if let binaryRows {
                    do {
                        b = try binaryRows.convert(b, allocator: context.channel.allocator)
                    } catch let refusal as ResultFormats.Refusal {
                        refuseAnswers(refusal, seq: frame.seq ?? order.seq)
                        returnCredit(type)
                        return settle(frame)
                    }
                }
                // A batch spent a credit: it comes back once the client's socket took the batch.
                let promise = context.eventLoop.makePromise(of: Void.self)
                promise.futureResult.whenSuccess { [weak self] in self?.returnCredit(type) }
                context.write(wrapOutboundOut(b), promise: promise)
                settle(frame)
                return
            case FrameType.copyInResponse: try Backend.copyResponse(&b, type: UInt8(ascii: "G"), frame)
            case FrameType.copyOutResponse: try Backend.copyResponse(&b, type: UInt8(ascii: "H"), frame)
            case FrameType.copyOutDone: Backend.empty(&b, UInt8(ascii: "c"))
            case FrameType.columns: try Backend.rowDescription(&b, frame)
            case FrameType.complete: Backend.commandComplete(&b, tag: frame["tag"].flatMap(Backend.scalarText) ?? "")
            case FrameType.empty: Backend.empty(&b, UInt8(ascii: "I"))
            case FrameType.suspended: Backend.empty(&b, UInt8(ascii: "s"))
            case FrameType.parseComplete: Backend.empty(&b, UInt8(ascii: "1"))
            case FrameType.bindComplete: Backend.empty(&b, UInt8(ascii: "2"))
            case FrameType.closeComplete: Backend.empty(&b, UInt8(ascii: "3"))
            case FrameType.noData: Backend.empty(&b, UInt8(ascii: "n"))
            case FrameType.parameters: try Backend.parameterDescription(&b, frame)
            case FrameType.parameterStatus:
                Backend.parameterStatus(&b, name: frame["name"].flatMap(Backend.scalarText) ?? "",
                                        value: frame["value"].flatMap(Backend.scalarText) ?? "")
            case FrameType.error:
                let isFatal = frame["fatal"]?.bool == true
                Backend.notice(&b, type: UInt8(ascii: "E"), fields: frame.fields, fatal: isFatal)
                if isFatal { return finish(with: b, reason: "fatal_error") }
            case FrameType.ready:
                txStatus = Backend.status(frame["status"])
                Backend.readyForQuery(&b, status: txStatus)
            case FrameType.sessionClosed:
                closeReason = "upstream_closed"
                closeEmitted = true
                return closeNow()
            default:
                return
            }
        } catch {
            logLine(RingLink.stage, "session \(sessionID ?? "-"): \(RingLink.loggable(type)) frame of the wrong shape")
            return fatal("08P01", "hoop: malformed response frame", reason: "protocol_error")
        }
        context.write(wrapOutboundOut(b), promise: nil)
        settle(frame)
    }

    /// A refusal found in the answers (a binary column hoop cannot write): the client
    /// gets the error, and the rest of the answers up to ReadyForQuery are dropped, as
    /// the server skips to Sync after an error. What the server already ran, ran.
    func refuseAnswers(_ refusal: ResultFormats.Refusal, seq: Int64) {
        guard let context, order.refuseAnswers() else { return }
        recordRefusal(code: refusal.code, message: refusal.message, seq: seq)
        var b = context.channel.allocator.buffer(capacity: 128)
        Backend.error(&b, severity: "ERROR", code: refusal.code, message: refusal.message)
        context.write(wrapOutboundOut(b), promise: nil)
    }

    /// A notification this session sent names the pid of its BackendKeyData, as a
    /// direct server's would (hoop-connect marks it `own`; other pids are the server's).
    func ownPID(_ frame: Frame) -> Frame {
        guard frame["own"]?.bool == true, let key = cancelKey else { return frame }
        var f = frame
        f["pid"] = .int(Int64(Int32(bitPattern: UInt32(key >> 32))))
        return f
    }

    /// hoop-connect handed COPY data to the server: the client may send more.
    func copyCredited(_ frames: Int64) {
        copyInFlight = max(0, copyInFlight - Int(clamping: max(0, frames)))
        resumeReading()
    }

    /// Marks the request a response finishes, and writes replies that were waiting on it.
    func settle(_ frame: Frame) {
        if frame.type == FrameType.ready {
            resultFormats.ready(status: frame["status"]?.string)
            // Every COPY is over: no credit is owed any more.
            if copyInFlight > 0 { copyCredited(Int64(copyInFlight)) }
        }
        let (answered, due) = order.settled(type: frame.type, seq: frame.seq)
        if let answered { resultFormats.answered(seq: answered) }
        write(due)
    }
}
