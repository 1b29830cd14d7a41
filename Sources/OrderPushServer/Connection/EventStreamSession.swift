/// What the application chose for an event stream (`GET /api/events`): who follows which
/// channel from where, and the output cap. The per-connection protocol state (heartbeats,
/// the end of the stream) lives in `ConnectionStateMachine.StreamingState`.
struct EventStreamSession {
    let client: PushClient
    let channel: String
    /// The cursor to resume after: `Last-Event-ID`, else the `since` query parameter.
    let since: Int64?
    let epoch: String?
    let maxOutputBytes: Int
}
