import OpenSSLKit

/// What other threads tell a loop. Delivered through the loop's `Mailbox`, in order.
enum LoopMessage: Sendable {
    /// Start the graceful shutdown: close 1001 to every WebSocket, finish answers, stop.
    case shutdown
    /// `--bench`: a text message for every `/ws/broadcast` client (each loop frames it, plain
    /// and compressed, once: see `FramedEvent`).
    case broadcast([UInt8])
    /// SIGHUP: build a new TLS context from these files and ticket keys for the loop's
    /// listeners (the old one stays with the connections made from it); on failure keep the
    /// old one and log why.
    case reloadTLS(certificateChainPath: String, privateKeyPath: String, ticketKeys: TLSTicketKeys)
    /// For the product running on the loop (`LoopServices.mailbox`).
    case service(ServiceMessage)
}
