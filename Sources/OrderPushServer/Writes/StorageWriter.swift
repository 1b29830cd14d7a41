import Glibc
import Logging
import Reactor
import Storage
import Synchronization

/// Who is waiting for a write: the loop, and the connection there (by fd and serial, so a
/// connection that went away in the meantime is simply not found).
struct WriteTicket: Sendable {
    let loop: Int
    let fd: Int32
    let serial: UInt64
}

struct WriteCompletion: Sendable {
    let ticket: WriteTicket
    let result: Result<WriteOutcome, WriteError>
}

/// The one thread that writes to the database. Loops hand it writes; it commits everything
/// that queued up while the previous commit was running in ONE transaction (group commit:
/// one fsync for the whole batch, so durability costs one fsync per batch, not per order),
/// then publishes the new events in `seq` order and tells each loop its answers.
///
/// Order of effects for every write: COMMIT, then publish, then the HTTP answer; nothing
/// is pushed or acknowledged that is not durable.
final class StorageWriter: Sendable {
    private struct Pending: Sendable {
        let write: OrderWrite
        let ticket: WriteTicket
    }

    private let queue = Mutex<(items: [Pending], stopping: Bool)>(([], false))
    private let wakeup: WakeupSignal
    private let thread = Mutex<LoopThread?>(nil)

    /// - Parameters:
    ///   - storage: opens the writable store on the writer thread (a store stays on the
    ///     thread that opened it).
    ///   - channelHeads: polling's channel heads, moved after each commit before any answer.
    init(storage: any StorageBackend, group: LoopGroup, channelHeads: ChannelHeads, broker: EventBroker,
         metrics: ServerMetrics, maxBatch: Int, retentionMs: Int64, logger: Logger) throws {
        wakeup = try WakeupSignal()   // non-blocking: the thread sleeps in poll(2) with a timeout
        let t = try LoopThread { [self] in
            run(openStore: storage.openWriter, group: group, heads: channelHeads, broker: broker, metrics: metrics,
                maxBatch: maxBatch, retentionMs: retentionMs, logger: logger)
        }
        thread.withLock { $0 = t }
    }

    func submit(_ write: OrderWrite, ticket: WriteTicket) {
        queue.withLock { $0.items.append(Pending(write: write, ticket: ticket)) }
        wakeup.signal()
    }

    /// Commits what is queued, then ends the thread and closes the database.
    func stopAndJoin() {
        queue.withLock { $0.stopping = true }
        wakeup.signal()
        let t = thread.withLock { t -> LoopThread? in defer { t = nil }; return t }
        t?.join()
    }

    private func run(openStore: () throws -> any OrderStore, group: LoopGroup, heads: ChannelHeads, broker: EventBroker,
                     metrics: ServerMetrics, maxBatch: Int, retentionMs: Int64, logger: Logger) {
        let store: any OrderStore
        // Failures a client can cause again and again (a locked or full database) log at
        // most one line per interval per kind; this thread owns it, so no lock.
        var throttle = LogThrottle()
        do {
            store = try openStore()
        } catch {
            logger.critical("cannot open the database for writing: \(error)")
            group.postToAll(.shutdown)
            failEverything(group: group, reason: "\(error)")
            return
        }
        var nextPruneMs: Int64 = 0
        while true {
            let (items, stopping) = queue.withLock { q -> ([Pending], Bool) in
                defer { q.items.removeAll(keepingCapacity: true) }
                return (q.items, q.stopping)
            }
            var start = 0
            while start < items.count {
                let batch = items[start..<min(items.count, start + maxBatch)]
                start += batch.count
                commit(Array(batch), store: store, group: group, heads: heads, broker: broker, metrics: metrics,
                       logger: logger, throttle: &throttle)
            }
            if stopping && items.isEmpty { break }
            let now = WallClock.nowMilliseconds()
            if now >= nextPruneMs {
                // Retention: hourly, and once at start.
                nextPruneMs = now + 3_600_000
                do {
                    let pruned = try store.pruneEvents(olderThanMs: now - retentionMs)
                    // Pruning (here or by another node) can lower a channel's newest
                    // retained seq; polling learns every channel again.
                    heads.forgetAll()
                    if pruned > 0 { logger.info("pruned \(pruned) events older than the retention period") }
                } catch {
                    if let suppressed = throttle.admit("prune", nowMs: MonotonicClock.nowMilliseconds()) {
                        logger.error("pruning old events failed (retried in an hour): \(error)\(LogThrottle.suffix(suppressed))")
                    }
                }
            }
            if items.isEmpty { waitForWork(timeoutMs: 60_000) }
        }
    }

    private func commit(_ batch: [Pending], store: any OrderStore, group: LoopGroup, heads: ChannelHeads, broker: EventBroker,
                        metrics: ServerMetrics, logger: Logger, throttle: inout LogThrottle) {
        let results = store.apply(batch.map(\.write), nowMs: WallClock.nowMilliseconds())
        // The database's reason for the operator (the client only hears 503); never a
        // token: writes carry none, only the caller's sub inside idempotency keys.
        var failed = 0
        var reason = ""
        for case .failure(.storage(let message)) in results {
            failed += 1
            reason = message
        }
        if failed > 0, let suppressed = throttle.admit("commit", nowMs: MonotonicClock.nowMilliseconds()) {
            logger.error("commit failed, \(failed) of \(results.count) writes answered 503: \(reason)\(LogThrottle.suffix(suppressed))")
        }
        var events: [StoredEvent] = []
        var perLoop: [Int: [WriteCompletion]] = [:]
        for (pending, result) in zip(batch, results) {
            if case .success(let outcome) = result, !outcome.replayed { events.append(outcome.event) }
            perLoop[pending.ticket.loop, default: []].append(WriteCompletion(ticket: pending.ticket, result: result))
        }
        metrics.eventsAppended.add(events.count, ordering: .relaxed)
        // Before any answer: a client told 201 then polls (any loop) must not get a 304.
        heads.record(events)
        // Events first, answers second: both reach a loop through one ordered mailbox.
        broker.publish(events.sorted { $0.seq < $1.seq })
        for (loop, completions) in perLoop { group.mailboxes[loop].post(.service(.writeResults(completions))) }
    }

    private func failEverything(group: LoopGroup, reason: String) {
        while true {
            let (items, stopping) = queue.withLock { q -> ([Pending], Bool) in
                defer { q.items.removeAll() }
                return (q.items, q.stopping)
            }
            for p in items {
                group.mailboxes[p.ticket.loop].post(.service(.writeResults([WriteCompletion(ticket: p.ticket, result: .failure(.storage(reason)))])))
            }
            if stopping { return }
            waitForWork(timeoutMs: 1000)
        }
    }

    private func waitForWork(timeoutMs: Int32) {
        var p = pollfd(fd: wakeup.fd, events: Int16(POLLIN), revents: 0)
        if poll(&p, 1, timeoutMs) > 0 { wakeup.drain() }
    }
}
