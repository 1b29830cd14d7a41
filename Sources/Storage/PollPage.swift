/// Where a channel's event history stands, read in one snapshot: what a polling answer
/// needs besides its events, and what names its version (its `ETag`).
public struct PollHeads: Sendable, Equatable {
    /// The newest retained `seq` on the channel (`user:<id>`: that user's events; `admin`:
    /// all of them, so the same as `head`); 0 when it has none.
    public var channel: Int64
    /// The newest `seq` ever written (`EventLog.head()`).
    public var head: Int64
    /// `EventLog.retainedFloor()`.
    public var retainedFloor: Int64

    public init(channel: Int64, head: Int64, retainedFloor: Int64) {
        self.channel = channel
        self.head = head
        self.retainedFloor = retainedFloor
    }
}

/// One page of `GET /api/orders?since=`: the events and the current state of the orders
/// they touch, read in ONE query (one snapshot), as stored bytes: nothing is parsed or
/// encoded again.
public struct PollPage: Sendable, Equatable {
    /// The channel's events after the cursor, oldest first, at most the limit asked for.
    public var events: [StoredEvent]
    /// For each order these events touch, once each, in the order of its first event: the
    /// order's JSON as of its newest event, which is its current state (every change to an
    /// order appends an event, and pruning only removes the oldest run of events, so an
    /// order with an event in the page still has its newest one).
    public var orders: [[UInt8]]
    public var heads: PollHeads

    public init(events: [StoredEvent], orders: [[UInt8]], heads: PollHeads) {
        self.events = events
        self.orders = orders
        self.heads = heads
    }

    /// Assembles a page from the query's rows: the page's events (oldest first) and, per
    /// order, its newest event's JSON (any order).
    static func assemble(events: [StoredEvent], newest: [String: [UInt8]], heads: PollHeads) -> PollPage {
        var seen = Set<String>()
        var orders: [[UInt8]] = []
        for event in events where seen.insert(event.orderId).inserted {
            orders.append(newest[event.orderId] ?? event.orderJSON)
        }
        return PollPage(events: events, orders: orders, heads: heads)
    }
}
