import Glibc
import Logging
import Reactor
import Storage
import Synchronization

/// Fan-out across nodes that share one PostgreSQL database: a dedicated thread LISTENs on
/// `orderpush_events` (every commit that appends events NOTIFYs it, on whichever node) and,
/// on each wake-up, reads what is new from the log in one query (`seq > published`, in
/// `seq` order, in batches) and posts it to every loop of this node exactly as the local
/// broker posts local commits (`ServiceMessage.events`).
///
/// The single source of fan-out on this node, local commits included: the writer does not
/// hand its own events to the loops (`publish` only wakes this thread to read now instead
/// of waiting for its own NOTIFY). Were the writer to deliver its commit N+2 at once while
/// another node's N+1 was still on its way here, a loop would deliver N+2 and then drop
/// N+1 as already delivered (`FanOut` keeps a high-water mark): a silent gap. Reading the
/// log in `seq` order from one place makes that impossible, since appends commit in `seq`
/// order on every node (`PostgresOrderStore.apply`), so once this thread sees N+1 it has
/// seen N.
///
/// Nothing is lost by a missed notification, a dropped connection or a paused process:
/// the position is `published`, not the notifications. A lost connection is reopened with
/// backoff (100 ms doubling to 5 s) and the log read from `published` on; without any
/// notification the log is still read every `headCheckIntervalMs`, which bounds the delay
/// of a notification lost in transit.
final class PostgresEventBroker: EventBroker {
    static let headCheckIntervalMs: Int32 = 1000
    static let batchSize = 1000

    private let wakeup: WakeupSignal
    private let stopping = Atomic<Bool>(false)
    private let thread = Mutex<LoopThread?>(nil)

    /// - Parameter publishedThrough: the loops' starting point (their `lastDeliveredSeq`):
    ///   everything above it is read from the log and handed to them.
    ///   - recovery: raised each time the connection comes back, for the node's other stores.
    init(url: PostgresURL, group: LoopGroup, publishedThrough start: Int64, node: NodeStatus,
         recovery: DatabaseRecoverySignal, logger: Logger) throws {
        wakeup = try WakeupSignal()
        let t = try LoopThread { [self] in
            run(url: url, group: group, start: start, node: node, recovery: recovery, logger: logger)
        }
        thread.withLock { $0 = t }
    }

    /// The writer's local commits: a hint to read the log now (see the type's comment for
    /// why they are not posted from here).
    func publish(_ events: [StoredEvent]) {
        if !events.isEmpty { wakeup.signal() }
    }

    func stopAndJoin() {
        stopping.store(true, ordering: .relaxed)
        wakeup.signal()
        let t = thread.withLock { t -> LoopThread? in defer { t = nil }; return t }
        t?.join()
    }

    private func run(url: PostgresURL, group: LoopGroup, start: Int64, node: NodeStatus,
                     recovery: DatabaseRecoverySignal, logger: Logger) {
        var published = start
        var backoffMs: Int32 = 0
        // The LISTEN session and the one reading the log (a reconnect of either loses the
        // LISTEN, so both are opened again together).
        var listener: PostgresConnection?
        var reader: PostgresOrderStore?
        while !stopping.load(ordering: .relaxed) {
            do {
                if listener == nil || reader == nil {
                    let l = try PostgresConnection(url: url)
                    try l.listen(PostgresOrderStore.notificationChannel)
                    reader = try PostgresOrderStore(url: url)
                    listener = l
                    backoffMs = 0
                    if node.setDatabase(up: true, reason: nil) {
                        recovery.raise()
                        logger.info("database connection is up; delivering the log after seq \(published)")
                    }
                }
                // Listening before reading: a commit after this read notifies, one before
                // it is in what this read returns.
                while true {
                    let batch = try reader!.events(after: published, userId: nil, limit: Self.batchSize)
                    guard let last = batch.last else { break }
                    if batch[0].seq != published + 1 {
                        // Seqs have no holes, so only pruning makes one: this node was away
                        // longer than the retention period.
                        logger.warning("events \(published + 1)...\(batch[0].seq - 1) were pruned before this node delivered them")
                    }
                    published = last.seq
                    group.postToAll(.service(.events(batch)))
                    if batch.count < Self.batchSize { break }
                }
                var fds = [pollfd(fd: listener!.socket, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: wakeup.fd, events: Int16(POLLIN), revents: 0)]
                _ = poll(&fds, 2, Self.headCheckIntervalMs)
                if fds[1].revents != 0 { wakeup.drain() }
                // Takes the notifications in (their payloads are not needed: the log is the
                // truth); throws if the connection went away meanwhile.
                _ = try listener!.notifications(timeoutMs: 0)
            } catch {
                listener = nil
                reader = nil
                backoffMs = backoffMs == 0 ? 100 : min(5_000, backoffMs * 2)
                if node.setDatabase(up: false, reason: "\(error)") {
                    logger.error("database connection lost (\(error)); reconnecting with backoff, then delivering the log after seq \(published)")
                }
                var p = pollfd(fd: wakeup.fd, events: Int16(POLLIN), revents: 0)
                if poll(&p, 1, backoffMs) > 0 { wakeup.drain() }
            }
        }
    }
}
