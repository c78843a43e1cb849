import HoopFrames
import XCTest
@testable import HoopAudit

/// hoop-record's commit delay waits only for an answer that is due: another session's
/// request went by moments ago and its answer has not.
final class AnswersDueTests: XCTestCase {
    func note(_ due: inout AnswersDue, _ type: String, _ session: String?, at now: Double) {
        var line = #"{"type":"\#(type)""# + (session.map { #","session":"\#($0)""# } ?? "") + "}"
        line.withUTF8 { raw in
            due.note(RawFrame(bytes: UnsafeRawBufferPointer(raw), header: FrameHeader(type: type, session: session, seq: nil)), now: now)
        }
    }

    func testARequestMakesItsAnswerDueUntilItComes() {
        var due = AnswersDue()
        XCTAssertFalse(due.anyDue(now: 10), "nothing went by")
        note(&due, FrameType.query, "a", at: 10)
        XCTAssertTrue(due.anyDue(now: 10.0005))
        note(&due, FrameType.rows, "a", at: 10.0006)
        due.committed()
        XCTAssertTrue(due.anyDue(now: 10.0006), "rows committed are not the end of an answer")
        note(&due, FrameType.ready, "a", at: 10.0007)
        due.committed()
        XCTAssertFalse(due.anyDue(now: 10.0007), "ready ends it")
    }

    func testEveryKindOfRequestAndEnd() {
        for (request, end) in [(FrameType.sync, FrameType.ready), (FrameType.call, FrameType.result),
                               (FrameType.call, FrameType.resultEnd), (FrameType.query, FrameType.sessionClosed)] {
            var due = AnswersDue()
            note(&due, request, "s", at: 1)
            XCTAssertTrue(due.anyDue(now: 1), request)
            note(&due, end, "s", at: 1)
            XCTAssertFalse(due.anyDue(now: 1), end)
        }
        var due = AnswersDue()
        for type in [FrameType.parse, FrameType.bind, FrameType.credit, FrameType.hold] { note(&due, type, "s", at: 1) }
        note(&due, FrameType.query, nil, at: 1)
        XCTAssertFalse(due.anyDue(now: 1), "parts of a request, credits, decisions and ring-level frames are not")
    }

    func testAnAnswerLateBeyondTheHorizonIsNotWaitedFor() {
        var due = AnswersDue()
        note(&due, FrameType.query, "slow", at: 5)
        XCTAssertTrue(due.anyDue(now: 5 + AnswersDue.horizon / 2))
        XCTAssertFalse(due.anyDue(now: 5 + AnswersDue.horizon * 1.5), "a slow statement or a held request is not waited for")
        note(&due, FrameType.query, "other", at: 6)
        XCTAssertTrue(due.anyDue(now: 6), "another session's answer is")
        note(&due, FrameType.ready, "slow", at: 6)
        XCTAssertTrue(due.anyDue(now: 6), "one session's end leaves the other's due")
    }

    /// A session whose answer is under way is not waited for: a lone client never waits
    /// on itself (its rows read, its `ready` still to come), nor does a COPY's client.
    func testASessionAnsweringIsNotWaitedFor() {
        var due = AnswersDue()
        note(&due, FrameType.query, "a", at: 1)
        note(&due, FrameType.rows, "a", at: 1.0001)
        XCTAssertFalse(due.anyDue(now: 1.0001), "its own answer is under way")
        note(&due, FrameType.query, "b", at: 1.0002)
        XCTAssertTrue(due.anyDue(now: 1.0002), "another session's is due")
        due.committed()
        XCTAssertTrue(due.anyDue(now: 1.0003), "after the commit, a's rest is due again")
        var copy = AnswersDue()
        note(&copy, FrameType.query, "c", at: 1)
        note(&copy, FrameType.copyInResponse, "c", at: 1)
        XCTAssertFalse(copy.anyDue(now: 1))
    }

    func testManySessionsStayBounded() {
        var due = AnswersDue()
        for i in 0..<10_000 { note(&due, FrameType.query, "s\(i)", at: Double(i)) }
        XCTAssertTrue(due.anyDue(now: 9_999))
        XCTAssertFalse(due.anyDue(now: 20_000))
    }
}
