/// Something that can follow channels: a connection, known by a serial number that is
/// never reused in the life of the process.
protocol ChannelSubscriber: AnyObject {
    var serial: UInt64 { get }
}

extension Connection: ChannelSubscriber {}

/// The registry a loop keeps for its connections.
typealias ChannelRegistry = SubscriberTable<Connection>

/// Which subscribers of one loop follow which channel. Owned by that loop's thread.
/// Subscribers are kept by serial so removal is O(1) and a closed connection can never be
/// written to by mistake. Generic over the subscriber so it is tested without sockets.
struct SubscriberTable<Subscriber: ChannelSubscriber> {
    private(set) var subscribers: [String: [UInt64: Subscriber]] = [:]

    /// Returns false when the subscriber already followed `channel`.
    mutating func add(_ subscriber: Subscriber, to channel: String) -> Bool {
        subscribers[channel, default: [:]].updateValue(subscriber, forKey: subscriber.serial) == nil
    }

    mutating func remove(_ subscriber: Subscriber, from channel: String) {
        // In place: copying the channel's table out first made each removal O(subscribers),
        // and 10k admins disconnecting at once blocked the loop for half a second.
        guard subscribers[channel]?.removeValue(forKey: subscriber.serial) != nil else { return }
        if subscribers[channel]?.isEmpty == true { subscribers[channel] = nil }
    }

    func connections(on channel: String) -> Dictionary<UInt64, Subscriber>.Values? {
        subscribers[channel]?.values
    }

    func count(on channel: String) -> Int { subscribers[channel]?.count ?? 0 }
}
