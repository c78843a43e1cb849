import HoopFrames

/// The sessions whose request went by (to the upstream, which ran it) and whose answer
/// has not come yet: answers due within moments, which a commit may wait for. A session
/// whose answer is already under way (a response of it waits for this commit) is not
/// waited for: the rest of its answer follows its client's reading, and a lone client
/// never waits on itself.
public struct AnswersDue {
    /// When each session's last request went by.
    private var since: [String: Double] = [:]
    /// The sessions with a response waiting for the next commit.
    private var answering: Set<String> = []
    /// An answer not come within this long is not waited for (a slow statement, a held
    /// request's frames, a client that never syncs).
    public static let horizon = 0.002

    public init() {}

    public mutating func note(_ frame: RawFrame, now: Double) {
        guard let session = frame.session else { return }
        switch frame.type {
        case FrameType.query, FrameType.sync, FrameType.call:
            if since.count >= 256 { since = since.filter { now - $0.value < Self.horizon } }
            since[session] = now
        case FrameType.ready, FrameType.result, FrameType.resultEnd, FrameType.sessionClosed:
            since.removeValue(forKey: session)
            answering.insert(session)
        default:
            if FrameType.responses.contains(frame.type) || frame.type == FrameType.error { answering.insert(session) }
        }
    }

    /// The responses read so far are committed.
    public mutating func committed() { answering.removeAll(keepingCapacity: true) }

    /// Whether another session's answer is due.
    public func anyDue(now: Double) -> Bool {
        since.contains { now - $0.value < Self.horizon && !answering.contains($0.key) }
    }
}
