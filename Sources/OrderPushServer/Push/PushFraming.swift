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

/// One message as fan-out, replays and the bench broadcast send it: the payload written
/// once, and framed at most once per framing a receiver uses (WebSocket plain, WebSocket
/// compressed per deflate window, Server-Sent Events), so every receiver with the same
/// framing is queued the very same bytes.
struct FramedEvent {
    private let payload: [UInt8]
    /// The Server-Sent Events `event:` name and `id:` of the message.
    private let eventName: String
    private let eventID: String?
    private let compressor: MessageCompressor
    /// The plain WebSocket frame, made at once: most subscribers take it
    /// (`Connection.takesPlainFrames`). A loop over many subscribers binds it to a local
    /// constant once and passes that to each plain one: the delivery then borrows it, where
    /// copying it out of this value per delivery (`bytes(for:)`) costs a retain and a
    /// release each (callgrind, docs/BENCHMARKS.md "What the profiles led to").
    let webSocketFrame: [UInt8]
    /// By window size; a nil frame: compressing did not pay (tiny message), send it plain.
    private var compressedFrames: [(windowBits: Int, frame: [UInt8]?)] = []
    private var eventStreamFrame: [UInt8]?

    /// An order event on `channel`.
    init(_ event: StoredEvent, channel: String, compressor: MessageCompressor) {
        payload = PushMessage.event(event, channel: channel)
        eventName = event.kind
        eventID = String(event.seq)
        self.compressor = compressor
        webSocketFrame = FrameEncoder.frame(opcode: .text, payload: payload)
    }

    /// A text message that is not an order event (`--bench` broadcasts).
    init(payload: [UInt8], compressor: MessageCompressor) {
        self.payload = payload
        eventName = "message"
        eventID = nil
        self.compressor = compressor
        webSocketFrame = FrameEncoder.frame(opcode: .text, payload: payload)
    }

    /// The bytes for `connection`: its framing, and its deflate window if it negotiated one.
    /// A plain WebSocket subscriber (most of them) costs two flag reads: this runs once per
    /// delivery.
    @inline(__always)
    mutating func bytes(for connection: Connection) -> [UInt8] {
        if connection.takesPlainFrames { return webSocketFrame }
        return framedOnFirstNeed(for: connection)
    }

    /// The bytes for a connection that does not take the plain frame (an event stream, or a
    /// permessage-deflate client), framed on the first such connection and kept for the next.
    @inline(never)
    mutating func framedOnFirstNeed(for connection: Connection) -> [UInt8] {
        if connection.isEventStream {
            if let eventStreamFrame { return eventStreamFrame }
            let frame = ServerSentEvents.event(id: eventID, name: eventName, data: payload)
            eventStreamFrame = frame
            return frame
        }
        let bits = connection.deflateWindowBits
        if bits != 0 {
            if let made = compressedFrames.first(where: { $0.windowBits == bits }) {
                if let frame = made.frame { return frame }
            } else {
                let frame = compressor.compressedFrame(opcode: .text, payload: payload, windowBits: bits)
                compressedFrames.append((bits, frame))
                if let frame { return frame }
            }
        }
        return webSocketFrame
    }
}
