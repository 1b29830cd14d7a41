import HTTP1
import Storage
import WebSocket

/// How a subscriber's connection carries the push messages of docs/PROTOCOL.md §3: the same
/// JSON object either way, in a WebSocket text frame (`/ws`) or as a Server-Sent Event
/// (`/api/events`) named after the message (`order.created`, `subscribed`, `error`, ...),
/// with `id: <seq>` on order events so a reconnecting `EventSource` sends `Last-Event-ID`.
enum PushFraming {
    case webSocket
    case eventStream

    /// An order event on `channel`.
    func event(_ event: StoredEvent, channel: String) -> [UInt8] {
        frame(PushMessage.event(event, channel: channel), eventName: event.kind, id: event.seq)
    }

    /// Any other message; `eventName` is its SSE event name (its `type`).
    func frame(_ message: [UInt8], eventName: String, id: Int64? = nil) -> [UInt8] {
        switch self {
        case .webSocket: FrameEncoder.frame(opcode: .text, payload: message)
        case .eventStream: ServerSentEvents.event(id: id.map(String.init), name: eventName, data: message)
        }
    }
}

extension Connection {
    var pushFraming: PushFraming { isEventStream ? .eventStream : .webSocket }
}

/// One event on one channel as fan-out sends it: the JSON written once, and framed at most
/// once per framing that a subscriber of the channel uses, so every subscriber with the same
/// framing is queued the very same bytes.
struct FramedEvent {
    private let event: StoredEvent
    private let channel: String
    private var webSocketFrame: [UInt8]?
    private var eventStreamFrame: [UInt8]?

    init(_ event: StoredEvent, channel: String) {
        self.event = event
        self.channel = channel
    }

    mutating func bytes(for framing: PushFraming) -> [UInt8] {
        switch framing {
        case .webSocket:
            if let webSocketFrame { return webSocketFrame }
            let frame = framing.event(event, channel: channel)
            webSocketFrame = frame
            return frame
        case .eventStream:
            if let eventStreamFrame { return eventStreamFrame }
            let frame = framing.event(event, channel: channel)
            eventStreamFrame = frame
            return frame
        }
    }
}
