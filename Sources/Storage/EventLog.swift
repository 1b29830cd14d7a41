/// The read side of the event history, as subscriptions and polling need it. Narrow on
/// purpose, so another backend (PostgreSQL, Redis streams) can provide it.
public protocol EventLog: AnyObject {
    /// Names this history; fixed for the life of the database.
    var epoch: String { get }
    /// The newest `seq` ever written, 0 if none (stays put when old events are pruned).
    func head() throws -> Int64
    /// Events with `seq <= retainedFloor()` have been pruned; 0 if none ever were. A
    /// cursor `since` below the floor has expired.
    func retainedFloor() throws -> Int64
    /// Events with `seq > after`, oldest first, at most `limit`; only those of `userId`'s
    /// orders, or all when `userId` is nil.
    func events(after seq: Int64, userId: String?, limit: Int) throws -> [StoredEvent]

    /// The polling page after `seq` for `userId` (nil: every event), at most `limit`
    /// events, in ONE query: the events, the current JSON of the orders they touch, and
    /// the channel's heads, all from one snapshot.
    func pollPage(after seq: Int64, userId: String?, limit: Int) throws -> PollPage
    /// The heads of `userId`'s channel (nil: `admin`), in one query.
    func pollHeads(userId: String?) throws -> PollHeads
}
