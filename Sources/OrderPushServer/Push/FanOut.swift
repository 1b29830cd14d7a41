import Storage
import WebSocket

/// Delivers committed events to this loop's live subscribers: frames each event once per
/// channel and framing in use (WebSocket plain, WebSocket compressed for permessage-deflate
/// clients, Server-Sent Events: see `FramedEvent`) and queues the same bytes to every
/// subscriber with that framing. Owned by the loop's thread; fed from the loop's mailbox in
/// `seq` order.
final class FanOut {
    /// The newest `seq` this loop has fanned out. Replays read up to here and live delivery
    /// continues after it (see `PushProtocol` for the seam).
    private(set) var lastDeliveredSeq: Int64
    private var registry = ChannelRegistry()
    /// Live subscriptions (by connection serial, then channel) that resumed from a seq this
    /// loop had not delivered yet because another loop heard of it first: their events up
    /// to that seq are skipped. Almost always empty; entries go once this loop has caught up.
    private var skipThrough: [UInt64: [String: Int64]] = [:]
    private let metrics: ServerMetrics
    /// The loop's one compressor (replays use it too).
    let compressor: MessageCompressor

    init(lastDeliveredSeq: Int64, metrics: ServerMetrics, compressor: MessageCompressor) {
        self.lastDeliveredSeq = lastDeliveredSeq
        self.metrics = metrics
        self.compressor = compressor
    }

    /// Committed events, in `seq` order. Events this loop has already delivered are ignored.
    func deliver(_ events: [StoredEvent]) {
        for event in events where event.seq > lastDeliveredSeq {
            lastDeliveredSeq = event.seq
            send(event, channel: Channel.admin)
            send(event, channel: Channel.user(event.userId))
        }
        if !skipThrough.isEmpty {
            skipThrough = skipThrough.compactMapValues { channels in
                let pending = channels.filter { $0.value > lastDeliveredSeq }
                return pending.isEmpty ? nil : pending
            }
        }
    }

    /// Live delivery to `connection` on `channel` of every event after `lastDeliveredSeq`,
    /// or, with `skippingThrough`, of every event after that seq.
    func add(_ connection: Connection, to channel: String, skippingThrough: Int64? = nil) {
        _ = registry.add(connection, to: channel)
        if let skippingThrough, skippingThrough > lastDeliveredSeq {
            skipThrough[connection.serial, default: [:]][channel] = skippingThrough
        }
    }

    func remove(_ connection: Connection, from channel: String) {
        registry.remove(connection, from: channel)
        skipThrough[connection.serial]?[channel] = nil
        if skipThrough[connection.serial]?.isEmpty == true { skipThrough[connection.serial] = nil }
    }

    private func send(_ event: StoredEvent, channel: String) {
        guard let subscribers = registry.connections(on: channel), !subscribers.isEmpty else { return }
        var framed = FramedEvent(event, channel: channel, compressor: compressor)
        // Bound once, borrowed by every plain delivery (see `FramedEvent.webSocketFrame`).
        let plain = framed.webSocketFrame
        var delivered = 0
        for connection in subscribers {
            if !skipThrough.isEmpty, let through = skipThrough[connection.serial]?[channel], event.seq <= through { continue }
            if connection.takesPlainFrames {
                connection.sendFrame(plain)
            } else {
                connection.sendFrame(framed.framedOnFirstNeed(for: connection))
            }
            delivered += 1
        }
        metrics.messagesDelivered.add(delivered, ordering: .relaxed)
    }
}

/// The channel names of the push protocol.
enum Channel {
    static let admin = "admin"
    static let userPrefix = "user:"

    static func user(_ id: String) -> String { userPrefix + id }

    static func isValid(_ channel: String) -> Bool {
        if channel == admin { return true }
        guard channel.hasPrefix(userPrefix) else { return false }
        let id = channel.utf8.dropFirst(5)
        // As long as any `sub` a token can carry (tokens are at most 8 KiB).
        return !id.isEmpty && id.count <= 8192 && id.allSatisfy { $0 >= 0x20 && $0 != 0x7f }
    }

    /// The user whose events the channel carries; nil for `admin` (all events).
    static func userScope(of channel: String) -> String? {
        channel == admin ? nil : String(channel.dropFirst(userPrefix.count))
    }
}
