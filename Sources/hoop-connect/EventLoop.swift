import Foundation
import Glibc
import HoopFrames

/// hoop-connect's one thread: the ring's input, every session's upstream socket and
/// the catalog connections, watched by one poll. Sessions are tasks whose executor is
/// this loop (a task executor preference), so that their code reads as straight-line
/// libpq calls while each wait (a socket, a request, a credit) only suspends the task:
/// no thread per session, no hand-off between threads on the hot path, and one write
/// of the ring's output per wake-up for everything every session produced.
final class EventLoop: TaskExecutor, @unchecked Sendable {
    private let lock = NSLock()
    private var jobs: [UnownedJob] = []
    private var running: [UnownedJob] = []
    /// The loop sleeps in poll: a job enqueued from another thread must ring the pipe.
    private var sleeping = false
    private let wakeFD: Int32, wakeWriteFD: Int32
    /// One-shot watches: the callback runs once, when the descriptor is ready.
    private var watches: [Int32: (events: Int16, id: Int, ready: (Int16) -> Void)] = [:]
    private var watchCount = 0

    init() {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) != 0 { fatalError("hoop-connect: no pipe for the event loop") }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeFD = fds[0]; wakeWriteFD = fds[1]
        jobs.reserveCapacity(256); running.reserveCapacity(256)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        lock.lock()
        jobs.append(job)
        let ring = sleeping
        sleeping = false
        lock.unlock()
        if ring { var one: UInt8 = 1; _ = write(wakeWriteFD, &one, 1) }
    }

    /// Calls `ready` once, on the loop, when `fd` is ready for `events` (or fails).
    func watch(_ fd: Int32, _ events: Int16, _ ready: @escaping (Int16) -> Void) {
        watchCount += 1
        watches[fd] = (events, watchCount, ready)
    }

    func unwatch(_ fd: Int32) { watches.removeValue(forKey: fd) }

    /// Suspends the calling task until `fd` is ready for `events`; the events it is ready for.
    /// A descriptor that is not one (a connection libpq closed) is answered at once.
    func wait(_ fd: Int32, _ events: Int16) async -> Int16 {
        guard fd >= 0 else { return Int16(POLLNVAL) }
        return await withUnsafeContinuation { c in watch(fd, events) { c.resume(returning: $0) } }
    }

    /// Starts `body` as a task on this loop.
    func spawn(_ body: @escaping () async -> Void) {
        Task(executorPreference: self) { await body() }
    }

    /// Runs every job ready now, and those they make ready, until none is left.
    private func runJobs() {
        while true {
            lock.lock()
            swap(&jobs, &running)
            lock.unlock()
            if running.isEmpty { return }
            for job in running { job.runSynchronously(on: asUnownedTaskExecutor()) }
            running.removeAll(keepingCapacity: true)
        }
    }

    /// The loop: runs what is ready, then `idle` (the stage flushes its output there, once
    /// per wake-up), then sleeps in poll until a watched descriptor or `input` is ready
    /// (`input` < 0: not watched) or `timeout` seconds pass (nil: no limit). `inputReady`
    /// reads the input; the loop ends when `proceed` says so, checked after each round of jobs.
    func run(input: () -> Int32, inputReady: () throws -> Void, idle: () throws -> Void,
             timeout: () -> Double?, proceed: () -> Bool) throws {
        var fds: [pollfd] = []
        var polled: [Int] = []
        while true {
            runJobs()
            try idle()
            guard proceed() else { return }
            fds.removeAll(keepingCapacity: true)
            polled.removeAll(keepingCapacity: true)
            fds.append(pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0))
            let inputFD = input()
            fds.append(pollfd(fd: inputFD, events: Int16(POLLIN), revents: 0))   // a negative fd is skipped by poll
            for (fd, w) in watches {
                fds.append(pollfd(fd: fd, events: w.events, revents: 0))
                polled.append(w.id)
            }
            lock.lock()
            if !jobs.isEmpty { lock.unlock(); continue }
            sleeping = true
            lock.unlock()
            let ms = timeout().map { Int32(max(0, min(($0 * 1000).rounded(.up), 60_000))) } ?? -1
            let n = poll(&fds, nfds_t(fds.count), ms)
            lock.lock(); sleeping = false; lock.unlock()
            if n < 0 { if errno == EINTR { continue }; throw POSIXError(.init(rawValue: errno) ?? .EIO) }
            if fds[0].revents != 0 { var drain = [UInt8](repeating: 0, count: 64); while read(wakeFD, &drain, drain.count) > 0 {} }
            for i in 2..<fds.count where fds[i].revents != 0 {
                // Still the watch polled (an earlier callback may have ended it); one-shot:
                // taken off before the callback, which may watch the descriptor again.
                guard let w = watches[fds[i].fd], w.id == polled[i - 2] else { continue }
                watches.removeValue(forKey: fds[i].fd)
                w.ready(fds[i].revents)
            }
            if inputFD >= 0 && fds[1].revents != 0 { try inputReady() }
        }
    }
}
