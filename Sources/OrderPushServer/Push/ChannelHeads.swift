import Storage
import Synchronization

/// The newest `seq` of each channel that polling has asked about, in memory, so that a
/// poll with nothing new is answered 304 without touching storage (`PollingEndpoint`).
///
/// Fed with every committed event by the two paths that see them first: the writer, right
/// after COMMIT and before any answer to the write goes out (so a client that got its 201
/// and polls at once, on any loop, sees the new head), and fan-out, for the events other
/// nodes commit (they reach this node through the broker like every event). A channel is
/// learned lazily: its entry is opened before the storage read that tells its head, events
/// arriving meanwhile are kept in it, and only then is it trusted; so no event can slip
/// between the read and the entry.
///
/// Shared by every loop and the writer: a user's polls may land on any loop, and the
/// writer must publish a new head before its answer can reach any of them. Hence the lock;
/// it is held for a dictionary lookup or an update, never across I/O.
final class ChannelHeads: Sendable {
    private struct Entry {
        /// The newest seq seen on the channel, from storage or from events.
        var head: Int64
        /// False from the opening of the entry until storage has told the head.
        var known: Bool
    }

    /// Past this many channels the table is emptied (every channel is learned again, one
    /// query each): users come and go over years, and a poll costs one query more once in
    /// a while, not memory without bound.
    let capacity: Int
    private let entries = Mutex<[String: Entry]>([:])

    init(capacity: Int = 200_000) {
        self.capacity = capacity
    }

    /// Committed events, in any order: each moves its two channels' heads if they are tracked.
    func record(_ events: [StoredEvent]) {
        guard !events.isEmpty else { return }
        entries.withLock { table in
            for event in events {
                Self.raise(&table, Channel.admin, to: event.seq)
                Self.raise(&table, Channel.user(event.userId), to: event.seq)
            }
        }
    }

    private static func raise(_ table: inout [String: Entry], _ channel: String, to seq: Int64) {
        guard let index = table.index(forKey: channel) else { return }
        if table.values[index].head < seq { table.values[index].head = seq }
    }

    /// The channel's head if it is known; nil if storage must be asked (then call `opening`
    /// BEFORE the read and `learned` after it).
    func head(of channel: String) -> Int64? {
        entries.withLock { table in
            guard let entry = table[channel], entry.known else { return nil }
            return entry.head
        }
    }

    /// Opens the channel's entry, if it has none, so events from now on are kept.
    func opening(_ channel: String) {
        entries.withLock { table in
            guard table[channel] == nil else { return }
            if table.count >= capacity { table.removeAll(keepingCapacity: true) }
            table[channel] = Entry(head: 0, known: false)
        }
    }

    /// What storage said the channel's head is (read after `opening`). Returns the head to
    /// use: the newer of that and every event recorded since the entry opened. If the
    /// entry went meanwhile (the table was emptied), storage's answer is used this time
    /// and the channel stays unknown.
    @discardableResult
    func learned(_ channel: String, head stored: Int64) -> Int64 {
        entries.withLock { table in
            guard let index = table.index(forKey: channel) else { return stored }
            table.values[index].head = max(table.values[index].head, stored)
            table.values[index].known = true
            return table.values[index].head
        }
    }

    /// Forgets every channel (each is learned again on its next poll). Called after
    /// pruning, which can lower a channel's newest retained seq below what was seen.
    func forgetAll() {
        entries.withLock { $0.removeAll(keepingCapacity: true) }
    }

    /// How many channels are tracked (for tests and metrics).
    var count: Int { entries.withLock { $0.count } }
}
