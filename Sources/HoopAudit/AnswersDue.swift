import HoopFrames

/// The sessions whose request went by (to the upstream, which ran it) and whose answer
/// has not come yet: answers due within moments, which a commit may wait for.
public struct AnswersDue {
    /// When each session's last request went by.
    private var since: [String: Double] = [:]
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
        default:
            break
        }
    }

    public func anyDue(now: Double) -> Bool { since.values.contains { now - $0 < Self.horizon } }
}
