import HTTP1
import WebSocket

/// The product that runs on a loop (orders, auth, push channels) as seen by the core: the
/// core routes requests to it, hands it the messages and events of the WebSocket
/// connections it upgraded, hands it its mailbox messages one by one in posting order, and
/// waits for its pending work at shutdown; it knows nothing else about it.
protocol LoopServices: AnyObject {
    /// Work started but not answered yet (a write waiting for its commit).
    var hasPendingWork: Bool { get }
    func handle(_ route: Route, _ request: HTTPRequest, on connection: Connection) -> RequestOutcome
    /// A complete text or binary message on a WebSocket of the product's endpoint.
    func webSocketMessage(_ message: WebSocketInbound, on connection: Connection)
    /// A WebSocket of the product's endpoint is going away; drop what is kept for it.
    func webSocketClosed(_ connection: Connection)
    /// An event stream the product opened (`RequestOutcome.eventStream`) has sent its head.
    func eventStreamOpened(_ connection: Connection)
    /// An event stream of the product is going away; drop what is kept for it.
    func eventStreamClosed(_ connection: Connection)
    /// A connection that asked for it (`notifiesWhenDrained`) has written all it had queued.
    func outputDrained(_ connection: Connection)
    /// A mailbox message for the product. Called by the loop's mailbox handler only, never
    /// from within another call of the product, so the product cannot re-enter it.
    func mailbox(_ message: ServiceMessage)
}
