/// Which connections of one loop follow which channel. Owned by that loop's thread.
/// Subscribers are kept by connection serial so removal is O(1) and a closed connection
/// can never be written to by mistake.
struct ChannelRegistry {
    private(set) var subscribers: [String: [UInt64: Connection]] = [:]

    /// Returns false when the connection already followed `channel`.
    mutating func add(_ connection: Connection, to channel: String) -> Bool {
        subscribers[channel, default: [:]].updateValue(connection, forKey: connection.serial) == nil
    }

    mutating func remove(_ connection: Connection, from channel: String) {
        // In place: copying the channel's table out first made each removal O(subscribers),
        // and 10k admins disconnecting at once blocked the loop for half a second.
        guard subscribers[channel]?.removeValue(forKey: connection.serial) != nil else { return }
        if subscribers[channel]?.isEmpty == true { subscribers[channel] = nil }
    }

    func connections(on channel: String) -> Dictionary<UInt64, Connection>.Values? {
        subscribers[channel]?.values
    }

    func count(on channel: String) -> Int { subscribers[channel]?.count ?? 0 }
}
