/// What other threads tell a loop. Delivered through the loop's `Mailbox`, in order.
enum LoopMessage: Sendable {
    /// Start the graceful shutdown: close 1001 to every WebSocket, finish answers, stop.
    case shutdown
    /// `--bench`: a text frame, already encoded, for every `/ws/broadcast` client.
    case broadcast([UInt8])
    /// SIGHUP: build a new TLS context from these files for the loop's listeners (the old one
    /// stays with the connections made from it); on failure keep the old one and log why.
    case reloadTLS(certificateChainPath: String, privateKeyPath: String)
    /// For the product running on the loop (`LoopServices.mailbox`).
    case service(ServiceMessage)
}
