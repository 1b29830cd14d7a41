/// What other threads tell a loop. Delivered through the loop's `Mailbox`, in order.
enum LoopMessage: Sendable {
    /// Start the graceful shutdown: close 1001 to every WebSocket, finish answers, stop.
    case shutdown
    /// `--bench`: a text frame, already encoded, for every `/ws/broadcast` client.
    case broadcast([UInt8])
    /// For the product running on the loop (`LoopServices.mailbox`).
    case service(ServiceMessage)
}
