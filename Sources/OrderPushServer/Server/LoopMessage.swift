import Storage

/// What other threads tell a loop. Delivered through the loop's `Mailbox`, in order.
enum LoopMessage: Sendable {
    /// Start the graceful shutdown: close 1001 to every WebSocket, finish answers, stop.
    case shutdown
    /// `--bench`: a text frame, already encoded, for every `/ws/broadcast` client.
    case broadcast([UInt8])
    /// Committed events, in `seq` order, for this loop's subscribers.
    case events([StoredEvent])
    /// Answers to writes this loop submitted.
    case writeResults([WriteCompletion])
}
