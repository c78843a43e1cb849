import Foundation
import Glibc
import HoopFrames
import XCTest
@testable import hoop_connect

/// hoop-connect's event loop: tasks run on the loop's own thread, a watched descriptor
/// resumes its task when ready, and a job enqueued from another thread wakes a loop
/// asleep in poll.
final class EventLoopTests: XCTestCase {
    private func pipePair() -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        XCTAssertEqual(pipe(&fds), 0)
        return (fds[0], fds[1])
    }

    /// Runs the loop on this thread until `done` or `seconds` pass.
    private func runLoop(_ loop: EventLoop, seconds: Double = 10, until done: @escaping () -> Bool) throws {
        let deadline = monotonicSeconds() + seconds
        try loop.run(input: { -1 }, inputReady: {}, idle: {}, timeout: { max(0, deadline - monotonicSeconds()) },
                     proceed: { !done() && monotonicSeconds() < deadline })
    }

    func testATaskWaitsForItsDescriptorOnTheLoopThread() throws {
        let loop = EventLoop()
        let p = pipePair()
        defer { close(p.read); close(p.write) }
        let loopThread = pthread_self()
        var events: Int16 = 0
        var ranOnLoop: [Bool] = []
        var done = false
        loop.spawn {
            ranOnLoop.append(pthread_equal(pthread_self(), loopThread) != 0)
            events = await loop.wait(p.read, Int16(POLLIN))
            ranOnLoop.append(pthread_equal(pthread_self(), loopThread) != 0)
            done = true
        }
        // The writer is another thread, a little later: the loop must be asleep in poll by then.
        Thread.detachNewThread { usleep(100_000); var one: UInt8 = 7; _ = write(p.write, &one, 1) }
        try runLoop(loop) { done }
        XCTAssertTrue(done, "the task was not resumed when its descriptor became readable")
        XCTAssertNotEqual(events & Int16(POLLIN), 0)
        XCTAssertEqual(ranOnLoop, [true, true])
    }

    func testAContinuationResumedOnAnotherThreadWakesTheLoop() throws {
        let loop = EventLoop()
        let loopThread = pthread_self()
        var resumedOnLoop = false
        var done = false
        loop.spawn {
            let value: Int = await withUnsafeContinuation { c in
                Thread.detachNewThread { usleep(100_000); c.resume(returning: 42) }
            }
            resumedOnLoop = pthread_equal(pthread_self(), loopThread) != 0 && value == 42
            done = true
        }
        try runLoop(loop) { done }
        XCTAssertTrue(done, "a job enqueued from another thread did not wake the loop")
        XCTAssertTrue(resumedOnLoop)
    }

    func testAnEndedWatchDoesNotFire() throws {
        let loop = EventLoop()
        let p = pipePair()
        defer { close(p.read); close(p.write) }
        var fired = 0
        var done = false
        loop.watch(p.read, Int16(POLLIN)) { _ in fired += 1 }
        loop.unwatch(p.read)
        var one: UInt8 = 1
        _ = write(p.write, &one, 1)
        loop.spawn {
            // A second watch, on the write end, which is always ready: the loop runs a round.
            _ = await loop.wait(p.write, Int16(POLLOUT))
            done = true
        }
        try runLoop(loop) { done }
        XCTAssertTrue(done)
        XCTAssertEqual(fired, 0)
    }
}

/// The per-request test for texts whose relation names a session keeps.
final class DefiningTextTests: XCTestCase {
    func testWordsOfDefiningStatementsInAnyCase() {
        for sql in ["DECLARE c CURSOR FOR SELECT 1", "prepare p as select 1", "insert INTO t values (1)",
                    "Update t set a = 1", "cReAtE temp table tt as select 1", "MERGE into t using s on true when matched then delete",
                    "select 1; select * into tt from v", "with x as (update t set a = 1 returning a) select * from x"] {
            XCTAssertTrue(UpstreamSession.mayDefine(sql), sql)
        }
    }

    func testTextsWithoutThemAndWordsCutShort() {
        for sql in ["select abalance from pgbench_accounts where aid = 42", "", "declar", "SELECT 'int'", "crea", "merg",
                    "select 'ü' || 'déclare'"] {
            XCTAssertFalse(UpstreamSession.mayDefine(sql), sql)
        }
    }

    /// Writes count as words of their own: a column `updated_at` names none.
    func testWritesAreWholeWordsInAnyCase() {
        for sql in ["INSERT into t values (1)", "with w as (Delete from t returning *) select * from w", "update\tt set a = 1",
                    "merge into t using s on true when matched then delete", "prepare p as insert into t values ($1)",
                    "select 1;update t set a=1", "(delete from t)"] {
            XCTAssertTrue(UpstreamSession.mayWrite(sql), sql)
        }
        for sql in ["select updated_at, deleted, inserted_by, merged$ from t", "select x_update from t", "select 'ü'||'insertü'",
                    "select 1 from insertions", "", "updat"] {
            XCTAssertFalse(UpstreamSession.mayWrite(sql), sql)
        }
    }
}
