import HTTP1

/// What the application decided for one HTTP request.
enum RequestOutcome {
    case respond(HTTPResponse)
    /// Switch to WebSocket: the 101 answer, then frames on the same connection.
    case upgrade(HTTPResponse, WebSocketSession)
    /// Answer with this response's head and keep the connection as an event stream
    /// (Server-Sent Events): the application writes events until the stream ends.
    case eventStream(HTTPResponse, EventStreamSession)
    /// The answer comes later through `Connection.completeDeferred` (e.g. after a durable
    /// commit); the connection reads nothing more until then, so pipelined answers keep order.
    case deferred
}
