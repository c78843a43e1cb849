import HoopFrames
import XCTest
@testable import hoop_listen

/// hoop-listen's ordering and credit rules (SessionOrder), without a socket: the
/// replies it makes keep their place among the upstream's answers, the extended
/// protocol's skip-to-Sync, refusals in the answers, and when credits go back.
final class SessionOrderTests: XCTestCase {
    let S = UInt8(ascii: "S"), X = UInt8(ascii: "X"), P = UInt8(ascii: "P"), B = UInt8(ascii: "B"), Q = UInt8(ascii: "Q")

    func testRequestsAreNumberedAndOutstandingUntilAnswered() {
        var o = SessionOrder()
        XCTAssertEqual(o.send(.parse).seq, 1)
        XCTAssertEqual(o.send(.bind).seq, 2)
        XCTAssertEqual(o.send(nil).seq, 3)                     // copy_data, cancel: nothing answers them
        XCTAssertEqual(o.send(.sync).seq, 4)
        XCTAssertEqual(o.outstanding.map(\.seq), [1, 2, 4])
        XCTAssertEqual(o.settled(type: FrameType.parseComplete, seq: 1).answered, 1)
        XCTAssertNil(o.settled(type: FrameType.rows, seq: 2).answered, "rows do not finish a Bind")
        XCTAssertEqual(o.settled(type: FrameType.bindComplete, seq: 2).answered, 2)
        XCTAssertNil(o.settled(type: FrameType.ready, seq: 4).answered)
        XCTAssertTrue(o.outstanding.isEmpty, "ReadyForQuery ends everything up to its Sync")
        XCTAssertEqual(o.batchStart, 5)
    }

    func testALocalErrorWaitsForTheAnswersToEarlierRequests() {
        var o = SessionOrder()
        _ = o.send(.query)                                      // 1, in flight
        // A simple Query hoop refuses itself: error and ReadyForQuery, after query 1's answers.
        XCTAssertEqual(o.localError(for: Q, code: "22021", message: "bad"), [])
        XCTAssertEqual(o.arrives(type: FrameType.rows, seq: 1, fatal: false).due, [])
        XCTAssertEqual(o.settled(type: FrameType.ready, seq: 1).due, [.error(code: "22021", message: "bad"), .ready])
        XCTAssertTrue(o.held.isEmpty)
    }

    func testALocalErrorWithNothingInFlightIsDueAtOnce() {
        var o = SessionOrder()
        XCTAssertEqual(o.localError(for: Q, code: "0A000", message: "no"), [.error(code: "0A000", message: "no"), .ready])
        XCTAssertEqual(o.localError(for: UInt8(ascii: "d"), code: "22021", message: "copy"), [.error(code: "22021", message: "copy")])
    }

    func testAnExtendedErrorSkipsToSync() {
        var o = SessionOrder()
        _ = o.send(.parse)                                      // 1
        XCTAssertEqual(o.localError(for: B, code: "22023", message: "format"), [])
        XCTAssertFalse(o.reads(P), "messages up to Sync are dropped unread")
        XCTAssertFalse(o.reads(B))
        XCTAssertTrue(o.reads(X), "Terminate still ends the session")
        XCTAssertTrue(o.reads(S))
        _ = o.send(.sync)                                       // 2
        XCTAssertTrue(o.reads(P))
        XCTAssertEqual(o.settled(type: FrameType.parseComplete, seq: 1).due, [.error(code: "22023", message: "format")])
        XCTAssertEqual(o.settled(type: FrameType.ready, seq: 2).due, [])
    }

    func testAnUpstreamErrorInTheSameBatchMakesALocalErrorMoot() {
        var o = SessionOrder()
        _ = o.send(.parse)                                      // 1
        _ = o.send(.bind)                                       // 2
        _ = o.localError(for: B, code: "22023", message: "format")   // after 2, batch from 1
        // The server failed request 1: it skipped the rest, so the local error never happened.
        let (due, write) = o.arrives(type: FrameType.error, seq: 1, fatal: false)
        XCTAssertEqual(due, [])
        XCTAssertTrue(write)
        XCTAssertTrue(o.held.isEmpty)
        // An error in an earlier batch does not cancel it.
        var p = SessionOrder()
        _ = p.send(.query)                                      // 1, its own batch
        _ = p.send(.parse)                                      // 2
        _ = p.localError(for: P, code: "22021", message: "utf8")
        XCTAssertEqual(p.arrives(type: FrameType.error, seq: 1, fatal: false).due, [])
        XCTAssertEqual(p.held.count, 1)
        XCTAssertEqual(p.arrives(type: FrameType.parseComplete, seq: 2, fatal: false).due, [],
                       "not before the answer to request 2 itself")
        XCTAssertEqual(p.arrives(type: FrameType.ready, seq: 3, fatal: false).due, [.error(code: "22021", message: "utf8")])
    }

    func testARefusalInTheAnswersDropsWhatTheServerWouldSkip() {
        var o = SessionOrder()
        _ = o.send(.execute)
        _ = o.send(.sync)
        XCTAssertTrue(o.refuseAnswers())
        XCTAssertFalse(o.refuseAnswers(), "only the first refusal is written")
        XCTAssertFalse(o.arrives(type: FrameType.rows, seq: 1, fatal: false).write)
        XCTAssertFalse(o.arrives(type: FrameType.complete, seq: 1, fatal: false).write)
        XCTAssertTrue(o.arrives(type: FrameType.error, seq: 1, fatal: true).write, "a fatal error always goes")
        XCTAssertTrue(o.arrives(type: FrameType.parameterStatus, seq: nil, fatal: false).write)
        XCTAssertTrue(o.arrives(type: FrameType.ready, seq: 2, fatal: false).write)
        _ = o.settled(type: FrameType.ready, seq: 2)
        XCTAssertFalse(o.discardingAnswers, "ReadyForQuery ends the refusal")
        XCTAssertTrue(o.arrives(type: FrameType.rows, seq: 3, fatal: false).write)
    }

    func testCreditsGoBackAtOnceWhileARequestIsInFlight() {
        var o = SessionOrder()
        _ = o.send(.query)
        XCTAssertEqual(o.creditReturned(), .send(1))
        XCTAssertEqual(o.creditReturned(), .send(1))
        XCTAssertEqual(o.deferredCredits, 0)
    }

    func testAnIdleSessionsCreditsTravelWithTheNextRequestOrAfterADelay() {
        var o = SessionOrder()
        XCTAssertEqual(o.creditReturned(), .startTimer)
        XCTAssertEqual(o.creditReturned(), .none, "one timer at a time")
        XCTAssertEqual(o.send(.query).credits, 2, "the next request carries them")
        XCTAssertFalse(o.creditTimerRunning)
        _ = o.settled(type: FrameType.ready, seq: 1)
        XCTAssertEqual(o.creditReturned(), .startTimer)
        XCTAssertEqual(o.creditTimerFired(), 1)
        XCTAssertEqual(o.creditTimerFired(), 0)
    }

    func testOneAnswersCreditWaitsForTheNextRequestWithNoTimer() {
        var o = SessionOrder()
        XCTAssertEqual(o.creditReturned(answer: true), .none, "a request's last batch: no timer on the hot path")
        XCTAssertFalse(o.creditTimerRunning)
        XCTAssertEqual(o.creditReturned(answer: true), .startTimer, "a second would leave the upstream short")
        XCTAssertEqual(o.creditTimerFired(), 2)
        XCTAssertEqual(o.creditReturned(answer: true), .none)
        XCTAssertEqual(o.creditReturned(answer: false), .startTimer, "a notification's credit goes back by itself")
        XCTAssertEqual(o.creditTimerFired(), 2)
        XCTAssertEqual(o.creditReturned(answer: true), .none)
        XCTAssertEqual(o.send(.query).credits, 1, "the next request carries the kept one")
    }
}
