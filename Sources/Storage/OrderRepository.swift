import Orders

/// Identifies a client's retry of an order creation: the same `key` from the same `sub`
/// with the same body is the same request.
public struct IdempotencyKey: Sendable, Equatable {
    /// The authenticated caller (JWT `sub`); keys of different callers never collide.
    public let sub: String
    /// The `Idempotency-Key` header value.
    public let key: String
    /// A digest of the request body (SHA-256 is the caller's choice), to detect a key
    /// reused for a different request.
    public let bodyHash: [UInt8]

    public init(sub: String, key: String, bodyHash: [UInt8]) {
        self.sub = sub
        self.key = key
        self.bodyHash = bodyHash
    }
}

/// One change to apply.
public enum OrderWrite: Sendable {
    /// Creates an order owned by `ownerId` (already decided from the caller's role).
    case create(NewOrderInput, ownerId: String, idempotency: IdempotencyKey?)
    case updateTracking(orderId: String, TrackingInput)
}

/// The result of one successful write.
public struct WriteOutcome: Sendable {
    /// The order's state after the write (for a replay: its current state).
    public let order: Order
    /// The event the write produced; for a replay, the original creation event (its
    /// snapshot is the order as first created; if it was pruned, one is rebuilt with
    /// the original `seq` and the current order).
    public let event: StoredEvent
    /// True for an idempotent retry: nothing was written, and there is nothing to
    /// publish.
    public let replayed: Bool

    public init(order: Order, event: StoredEvent, replayed: Bool) {
        self.order = order
        self.event = event
        self.replayed = replayed
    }
}

/// Why one write failed. Other writes of the same batch are not affected.
public enum WriteError: Error, Sendable, Equatable {
    case orderNotFound(String)
    /// The idempotency key was used before by the same caller with a different body.
    case idempotencyConflict
    /// The database failed; SQLite's message. Nothing of this write was kept.
    case storage(String)
}

/// The write and order-read side of storage. Narrow on purpose, so another backend can
/// provide it.
public protocol OrderRepository: AnyObject {
    /// Applies writes in ONE transaction (group commit: one fsync for the batch); each
    /// write in its own SAVEPOINT so one failing write does not undo the others. Results
    /// in the same order. Returns only after COMMIT.
    func apply(_ writes: [OrderWrite], nowMs: Int64) -> [Result<WriteOutcome, WriteError>]
    func order(id: String) throws -> Order?
    /// The orders that exist among `ids`, in the order given (unknown ids are skipped).
    func orders(ids: [String]) throws -> [Order]
    /// Newest first; `userId` nil means all users.
    func orders(userId: String?, limit: Int) throws -> [Order]
    /// One page of the orders `search` selects, newest first by creation number (a number
    /// per order, increasing in creation order, never reused), at most `search.limit`
    /// orders, with their history. `next` is the creation number to pass as `before` for
    /// the following page, nil on the last page. Keyset paging: an order created while a
    /// client pages gets a higher number than any cursor handed out, so pages never repeat
    /// or skip. Each page must cost about the same whatever the table's size (indexes
    /// ending in the creation number).
    func searchOrders(_ search: OrderSearch) throws -> OrderPage
    /// How many orders have each status; only `userId`'s orders, or all when nil. Read in
    /// one snapshot with the event log's head, so a client can keep the counts right by
    /// applying exactly the events after `StatusCounts.head`.
    func statusCounts(userId: String?) throws -> StatusCounts
    /// Deletes events created before `olderThanMs` (the oldest run of them, so the
    /// retained history stays contiguous) and moves the floor; returns how many went.
    func pruneEvents(olderThanMs: Int64) throws -> Int
}

/// What `searchOrders` selects. Every condition given must hold.
public struct OrderSearch: Sendable, Equatable {
    public var status: OrderStatus?
    /// The owner, exactly.
    public var userId: String?
    /// Free text (surrounding white space ignored): an order matches when its owner is
    /// exactly `text`; or its id starts with `text` (`ord_` optional: `ord_3f`, `3f`);
    /// or every word of `text` (runs of letters and digits, any case, diacritics ignored,
    /// compared on at most their first 8 characters) starts a word of its item names.
    /// Nil, empty or only `ord_`: no text condition.
    public var text: String?
    /// Only orders created before this creation number (a previous page's `next`).
    public var before: Int64?
    public var limit: Int

    public init(status: OrderStatus? = nil, userId: String? = nil, text: String? = nil, before: Int64? = nil,
                limit: Int) {
        self.status = status
        self.userId = userId
        self.text = text
        self.before = before
        self.limit = limit
    }
}

/// One page of a search.
public struct OrderPage: Sendable {
    /// Newest first.
    public var orders: [Order]
    /// The `before` of the following page; nil when this is the last one.
    public var next: Int64?

    public init(orders: [Order], next: Int64?) {
        self.orders = orders
        self.next = next
    }
}

/// Orders per status as of one point of the event history.
public struct StatusCounts: Sendable, Equatable {
    /// Statuses without orders are absent.
    public var counts: [OrderStatus: Int]
    /// The event log's head when the counts were read: every event up to it is counted,
    /// none after it.
    public var head: Int64

    public init(counts: [OrderStatus: Int], head: Int64) {
        self.counts = counts
        self.head = head
    }
}
