import HTTP1
import Storage

/// The product that runs on a loop (orders, auth, push channels) as seen by the core: the
/// core routes to it, hands it its mailbox messages, and waits for its pending work at
/// shutdown; it knows nothing else about it.
protocol LoopServices: AnyObject {
    /// Work started but not answered yet (a write waiting for its commit).
    var hasPendingWork: Bool { get }
    func handle(_ route: Route, _ request: HTTPRequest, on connection: Connection) -> RequestOutcome
    func handlePushMessage(_ bytes: [UInt8], client: PushClient, on connection: Connection)
    func sendError(code: String, message: String, channel: String?, client: PushClient, on connection: Connection)
    /// Committed events, in `seq` order.
    func deliver(_ events: [StoredEvent])
    func complete(_ completions: [WriteCompletion])
    /// A connection that asked for it (`notifiesWhenDrained`) has written all it had queued.
    func outputDrained(_ connection: Connection)
    /// A WebSocket connection is going away; drop what is kept for it.
    func webSocketClosed(_ connection: Connection)
}
