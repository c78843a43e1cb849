import HoopFrames

/// The ordering and credit rules of one client session, as a value: each transition
/// returns what the handler must do (write replies, send credits, drop a frame), and
/// the handler (SessionHandler) only does it. No I/O here, so unit tests reach every
/// rule.
///
/// - Requests are numbered as they go round the ring; those that expect an answer
///   are outstanding until the answer that finishes them comes.
/// - A reply made here (an error for a message hoop refuses itself, its
///   ReadyForQuery) keeps its place among the upstream's answers: it waits until every
///   request forwarded before it is answered.
/// - After an error in the extended protocol, the server skips everything up to Sync:
///   a local error makes hoop-listen drop those messages unread; an upstream error in
///   the same batch comes first and makes a waiting local error moot.
/// - A refusal found in the answers (a binary column hoop cannot write) drops what the
///   server would not send after an error, up to ReadyForQuery.
/// - Each `rows`, `copy_out_data`, `notice` or `notification` frame spent a credit:
///   it goes back once the client's socket took it, at once while a request is in
///   flight, else with the next request or after a short delay.
struct SessionOrder {
    enum Reply: Equatable {
        case error(code: String, message: String)
        case ready
    }

    struct Held: Equatable {
        let reply: Reply
        /// The last request forwarded before it.
        let after: Int64
        /// Extended protocol: the first request of its Sync batch. An upstream error in
        /// [batchStart, after] comes first and makes this one moot.
        let batchStart: Int64?
    }

    enum CreditAction: Equatable {
        case send(Int)
        case startTimer
        case none
    }

    /// The number of the last request sent round the ring.
    private(set) var seq: Int64 = 0
    private(set) var outstanding: [(seq: Int64, kind: RequestKind)] = []
    private(set) var held: [Held] = []
    private(set) var skippingToSync = false
    private(set) var batchStart: Int64 = 1
    private(set) var discardingAnswers = false
    private(set) var deferredCredits = 0
    private(set) var creditTimerRunning = false

    // MARK: requests

    /// A client message of `type` arrived: false when it is dropped unread (after an
    /// error in the extended protocol, everything but Sync and Terminate).
    func reads(_ type: UInt8) -> Bool {
        !skippingToSync || type == UInt8(ascii: "S") || type == UInt8(ascii: "X")
    }

    /// A request goes round the ring: its number, and the credits that go ahead of it
    /// (a credit alone wakes every stage it crosses, so it travels with the next request).
    mutating func send(_ kind: RequestKind?) -> (seq: Int64, credits: Int) {
        if kind == .sync { skippingToSync = false }
        let credits = takeCredits()
        seq += 1
        if let kind { outstanding.append((seq, kind)) }
        if kind == .sync || kind == .query { batchStart = seq + 1 }
        return (seq, credits)
    }

    /// An error answered here, for a message of `type`: a simple-protocol message
    /// gets ErrorResponse then ReadyForQuery; CopyData only the error; an extended one
    /// the error, then everything up to Sync is skipped (the Sync still goes upstream,
    /// whose ReadyForQuery ends it). Returns the replies due now.
    mutating func localError(for type: UInt8, code: String, message: String) -> [Reply] {
        let error = Reply.error(code: code, message: message)
        switch type {
        case UInt8(ascii: "Q"), UInt8(ascii: "F"):
            held.append(Held(reply: error, after: seq, batchStart: nil))
            held.append(Held(reply: .ready, after: seq, batchStart: nil))
        case UInt8(ascii: "d"):
            held.append(Held(reply: error, after: seq, batchStart: nil))
        default:
            held.append(Held(reply: error, after: seq, batchStart: batchStart))
            skippingToSync = true
        }
        return due(before: nil)
    }

    // MARK: responses

    /// A response frame for request `seq` arrived: the replies due ahead of it, and
    /// whether it is written (false: dropped after a refusal, as the server would not
    /// have sent it).
    mutating func arrives(type: String, seq: Int64?, fatal: Bool) -> (due: [Reply], write: Bool) {
        var replies: [Reply] = []
        if let s = seq {
            replies = due(before: s)
            if type == FrameType.error {
                held.removeAll { h in
                    guard let start = h.batchStart else { return false }
                    return start <= s && s <= h.after
                }
            }
        }
        let write = !(discardingAnswers && Self.skippedAfterError.contains(type) && !fatal)
        return (replies, write)
    }

    /// A refusal found in the answers: true for the first (the client gets it), and
    /// the answers up to ReadyForQuery are dropped from now on.
    mutating func refuseAnswers() -> Bool {
        guard !discardingAnswers else { return false }
        discardingAnswers = true
        return true
    }

    /// A response was written or dropped: the request it finished (nil: none), and
    /// the replies now due.
    mutating func settled(type: String, seq: Int64?) -> (answered: Int64?, due: [Reply]) {
        if type == FrameType.ready { discardingAnswers = false }
        guard let s = seq else {
            if type == FrameType.ready { outstanding.removeAll() }
            return (nil, type == FrameType.ready ? due(before: nil) : [])
        }
        var answered: Int64? = nil
        if type == FrameType.ready {
            // A ReadyForQuery ends everything up to its Sync or Query.
            outstanding.removeAll { $0.seq <= s }
        } else if let i = outstanding.firstIndex(where: { $0.seq == s }), outstanding[i].kind.isAnsweredBy(type) {
            outstanding.remove(at: i)
            answered = s
        }
        return (answered, due(before: nil))
    }

    /// The held replies that are due: those made before request `responseSeq` when an
    /// answer to it arrives, and any whose earlier requests are all answered.
    private mutating func due(before responseSeq: Int64?) -> [Reply] {
        var replies: [Reply] = []
        while let h = held.first {
            let isDue: Bool
            if let responseSeq, h.after < responseSeq {
                isDue = true
            } else if let first = outstanding.first {
                isDue = first.seq > h.after
            } else {
                isDue = true
            }
            guard isDue else { break }
            held.removeFirst()
            replies.append(h.reply)
        }
        return replies
    }

    /// The answers the server would not send after an error, up to ReadyForQuery.
    static let skippedAfterError: Set<String> = [
        FrameType.rows, FrameType.copyOutData, FrameType.notice, FrameType.columns, FrameType.complete, FrameType.empty,
        FrameType.suspended, FrameType.parseComplete, FrameType.bindComplete, FrameType.closeComplete, FrameType.noData,
        FrameType.parameters, FrameType.error, FrameType.copyInResponse, FrameType.copyOutResponse, FrameType.copyOutDone]

    // MARK: credits

    /// The answers that spent a credit on their way: it goes back when they are
    /// written (or dropped).
    static let creditSpending: Set<String> = [FrameType.rows, FrameType.copyOutData, FrameType.notice, FrameType.notification]

    /// The client's socket took (or hoop dropped) a frame that spent a credit; `answer`:
    /// a batch of a request's answer (rows, COPY data), which only the next request needs
    /// back, where a notice or notification may come unasked.
    mutating func creditReturned(answer: Bool = false) -> CreditAction {
        deferredCredits += 1
        if !outstanding.isEmpty { return .send(takeCredits()) }
        // One answer's credit waits for the next request with no timer: a timer per
        // request costs hoop-listen a wake-up (and two timer calls) on the hot path,
        // and the upstream keeps window - 1 (hoop-connect's --window is at least 2) for
        // what may come unasked, whose own credits start the timer.
        if answer, deferredCredits == 1 { return .none }
        guard !creditTimerRunning else { return .none }
        creditTimerRunning = true
        return .startTimer
    }

    /// The delay for an idle session's credits is over.
    mutating func creditTimerFired() -> Int { takeCredits() }

    private mutating func takeCredits() -> Int {
        creditTimerRunning = false
        defer { deferredCredits = 0 }
        return deferredCredits
    }
}
