import Glibc
import Logging
import Reactor
import Storage
import Synchronization

/// Why a read job failed, as text: the database's error is not `Sendable`, and the loop
/// only logs it and answers 503 (or closes a replaying subscriber).
struct ReadFailure: Error, Sendable, CustomStringConvertible {
    let description: String
}

/// A read to run on a `DatabaseReader` thread against that thread's own store, and where
/// its answer goes: loop `loop`'s mailbox, as completion `id` of that loop's `StoreReads`.
struct ReadJob: Sendable {
    let loop: Int
    let id: UInt64
    let run: @Sendable (any OrderStore) throws -> any Sendable
}

struct ReadCompletion: Sendable {
    let id: UInt64
    let result: Result<any Sendable, ReadFailure>
}

/// The threads that run storage reads for the event loops, so a loop thread never waits
/// for a database: with PostgreSQL every read a request can trigger (a GET of one order, a
/// polling page, a subscribe's cursor check, each replay page, a search); with SQLite only
/// searches (the other reads take microseconds on the loop's own read-only handle and stay
/// there, see `StoreReads`). Loops hand it jobs; each finished answer is posted back to the
/// loop that asked, through its mailbox, in batches.
///
/// Each thread opens its own store (a store is used by the thread that opened it only);
/// they share one queue, so a read that is stuck (a locked table, an unreachable host
/// during its connect timeout) holds one thread while the others go on. The queue is
/// bounded (`capacity`, `--max-queued-reads`, one bound for all loops as they share the
/// queue): past it `submit` refuses, and the loop answers 503 with `Retry-After` instead
/// of queueing without limit behind a slow database. `/metrics` shows the queue's length
/// and the refusals.
final class DatabaseReader: Sendable {
    /// Jobs queued and not yet taken by a thread, at most, for the whole process.
    let capacity: Int
    private let metrics: ServerMetrics
    // Shared by the loops (submitting) and the reader threads (taking): the queue is the
    // hand-over between threads, so it is behind a lock.
    private let queue = Mutex<(items: [ReadJob], stopping: Bool)>(([], false))
    private let wakeup: WakeupSignal
    private let threads = Mutex<[LoopThread]>([])

    /// - Parameters:
    ///   - threadCount: how many reads run at once (each thread holds one connection).
    ///   - storage: opens each thread's store, on that thread.
    ///   - capacity: jobs queued at most (`ServerConfig.maxQueuedReads`).
    init(threadCount: Int, capacity: Int, storage: any StorageBackend, group: LoopGroup,
         metrics: ServerMetrics, logger: Logger) throws {
        precondition(capacity > 0, "a reader that refuses every job")
        self.capacity = capacity
        self.metrics = metrics
        wakeup = try WakeupSignal()
        var started: [LoopThread] = []
        for _ in 0..<max(1, threadCount) {
            started.append(try LoopThread { [self] in
                run(openStore: storage.openReader, group: group, logger: logger)
            })
        }
        threads.withLock { $0 = started }
    }

    /// Queues `job`; false (nothing queued) when `capacity` jobs are already waiting.
    func submit(_ job: ReadJob) -> Bool {
        let accepted = queue.withLock { q -> Bool in
            guard q.items.count < capacity else { return false }
            q.items.append(job)
            metrics.readsQueued.store(q.items.count, ordering: .relaxed)
            return true
        }
        if accepted {
            wakeup.signal()
        } else {
            metrics.readsRefused.add(1, ordering: .relaxed)
        }
        return accepted
    }

    /// Answers what is queued, then ends the threads.
    func stopAndJoin() {
        queue.withLock { $0.stopping = true }
        wakeup.signal()
        let all = threads.withLock { t -> [LoopThread] in defer { t = [] }; return t }
        for t in all { t.join() }
    }

    /// Jobs taken per turn by one thread: small, so a burst is shared among the threads
    /// rather than taken whole by the first one awake.
    private static let batch = 16

    private func run(openStore: () throws -> any OrderStore, group: LoopGroup, logger: Logger) {
        let store: (any OrderStore)?
        do {
            store = try openStore()
        } catch {
            logger.error("cannot open the database for reads off the loops (they are answered 503): \(error)")
            store = nil
        }
        while true {
            let (items, stopping, more) = queue.withLock { q -> ([ReadJob], Bool, Bool) in
                let n = min(Self.batch, q.items.count)
                let taken = Array(q.items.prefix(n))
                q.items.removeFirst(n)
                if n > 0 { metrics.readsQueued.store(q.items.count, ordering: .relaxed) }
                return (taken, q.stopping, !q.items.isEmpty)
            }
            // Another thread may be asleep while jobs wait: pass the wake-up on.
            if more { wakeup.signal() }
            var perLoop: [Int: [ReadCompletion]] = [:]
            for job in items {
                let result: Result<any Sendable, ReadFailure>
                if let store {
                    do {
                        result = .success(try job.run(store))
                    } catch {
                        result = .failure(ReadFailure(description: "\(error)"))
                    }
                } else {
                    result = .failure(ReadFailure(description: "the database could not be opened for reads"))
                }
                perLoop[job.loop, default: []].append(ReadCompletion(id: job.id, result: result))
            }
            for (loop, completions) in perLoop { group.mailboxes[loop].post(.service(.readResults(completions))) }
            if items.isEmpty {
                if stopping {
                    wakeup.signal()   // the other threads stop too
                    return
                }
                var p = pollfd(fd: wakeup.fd, events: Int16(POLLIN), revents: 0)
                if poll(&p, 1, 60_000) > 0 { wakeup.drain() }
            }
        }
    }
}
