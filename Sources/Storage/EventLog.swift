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
}
