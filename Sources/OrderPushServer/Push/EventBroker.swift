import Storage

/// Where committed events go to reach subscribers. The single-node broker hands them to
/// every loop of this process; a multi-node backend (Redis pub/sub, PostgreSQL NOTIFY)
/// would publish them to the other nodes as well and feed what it receives into the same
/// loop mailboxes. Events must be published in `seq` order.
protocol EventBroker: Sendable {
    func publish(_ events: [StoredEvent])
}

/// The in-process broker: one mailbox message per loop per commit batch.
final class LocalEventBroker: EventBroker {
    private let group: LoopGroup
    init(group: LoopGroup) { self.group = group }

    func publish(_ events: [StoredEvent]) {
        guard !events.isEmpty else { return }
        group.postToAll(.service(.events(events)))
    }
}
