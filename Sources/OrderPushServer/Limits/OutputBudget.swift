import Synchronization

/// The process-wide bound on output queued for clients (`--max-total-output-bytes`): how
/// many bytes every loop's connections hold together, and what a loop may still queue.
///
/// One slot per loop, each written only by its loop, once per loop turn (`publish`), never
/// per delivery: a connection's queue is accounted when it is flushed (the change since its
/// last flush, into the loop's plain counter), and the loop then publishes its total. The
/// slots are atomics because every loop reads all of them (to know the process's total) and
/// `/metrics` reads them from whichever loop serves it; relaxed ordering is enough, as each
/// value stands alone and a figure one turn old only delays shedding by one turn.
final class OutputBudget: Sendable {
    final class Slot: Sendable {
        let queuedBytes = Atomic<Int>(0)
        /// The loop has replays paused for the budget (set from its tick).
        let replaysWaiting = Atomic<Bool>(false)
    }

    /// Bytes all connections together may hold before the largest are closed with 1013.
    let capBytes: Int
    private let slots: [Slot]

    init(loops: Int, capBytes: Int) {
        self.capBytes = capBytes
        slots = (0..<max(1, loops)).map { _ in Slot() }
    }

    /// Replays (output the server produces at its own pace, not as events happen) only
    /// proceed while the process holds less than this, so live events keep the other half.
    var replayLimitBytes: Int { capBytes / 2 }

    /// Loop `index`'s total, as of its last turn.
    func publish(loop index: Int, queuedBytes: Int) {
        slots[index].queuedBytes.store(queuedBytes, ordering: .relaxed)
    }

    /// Loop `index` has (or no longer has) replays paused for the budget. Every loop's tick
    /// reads all of these: stalled queues on any loop may be what holds another's replays.
    func setReplaysWaiting(loop index: Int, _ waiting: Bool) {
        if slots[index].replaysWaiting.load(ordering: .relaxed) != waiting {
            slots[index].replaysWaiting.store(waiting, ordering: .relaxed)
        }
    }

    var replaysWaitAnywhere: Bool {
        slots.contains { $0.replaysWaiting.load(ordering: .relaxed) }
    }

    /// Every loop's total as last published.
    var totalQueuedBytes: Int {
        var sum = 0
        for slot in slots { sum += slot.queuedBytes.load(ordering: .relaxed) }
        return sum
    }

    /// The process's total with loop `index` counted at `ownBytes` (its figure of this turn).
    func total(withLoop index: Int, at ownBytes: Int) -> Int {
        var sum = ownBytes
        for (i, slot) in slots.enumerated() where i != index { sum += slot.queuedBytes.load(ordering: .relaxed) }
        return sum
    }

    /// How many bytes loop `index` must shed when the process holds `total` of which the loop
    /// holds `own`: its proportional share of the excess over the cap (0 when under it).
    func share(total: Int, own: Int) -> Int {
        guard total > capBytes, own > 0, total > 0 else { return 0 }
        let excess = total - capBytes
        // Rounded up, so the shares add up to at least the excess.
        return Int((Double(excess) * Double(own) / Double(total)).rounded(.up))
    }
}
