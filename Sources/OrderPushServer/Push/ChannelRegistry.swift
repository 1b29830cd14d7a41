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
        guard var set = subscribers[channel] else { return }
        set.removeValue(forKey: connection.serial)
        subscribers[channel] = set.isEmpty ? nil : set
    }

    func connections(on channel: String) -> Dictionary<UInt64, Connection>.Values? {
        subscribers[channel]?.values
    }

    func count(on channel: String) -> Int { subscribers[channel]?.count ?? 0 }
}
