/// One client connection owned by a worker: a WebSocket subscriber, a publisher (HTTP or
/// WebSocket) or an HTTP poller.
final class Client {
    enum Role { case subscriber, publisher, poller }
    enum Phase { case idle, connecting, tlsHandshake, upgrading, open, closed, waiting }

    let role: Role
    let isWebSocket: Bool
    /// Token in the worker's poller and index in its client list.
    let slot: Int
    /// Index among the worker's subscribers or pollers (bitmap row); -1 for publishers.
    let row: Int
    /// Index over all clients of the run (source address, poll spreading).
    let globalIndex: Int

    var fd: Int32 = -1
    var phase = Phase.idle
    var isReady = false
    var closeSent = false
    var wantsWrite = false

    /// Bytes waiting for the kernel, from `outOffset` on.
    var out: [UInt8] = []
    var outOffset = 0
    /// Bytes received but not yet a whole frame or response.
    var inbox: [UInt8] = []
    var fragment: [UInt8] = []
    var fragmentOpcode: UInt8 = 0
    var fragmentCompressed = false

    // Subscriber / poller accounting.
    var distinct = 0
    var lastSeq = -1
    /// Orders: the server's event `seq` of the last event received (its delivery order).
    var lastServerSeq: Int64 = -1
    var isComplete = false
    /// Exactly-once accounting: first bit of this client's row and how many it must see.
    var bitBase = 0
    var expectedCount = 0

    // Shop mode: who this client is. `user` -1: an admin (channel `admin`).
    var user = -1
    var token = ""
    /// Storm: the server's epoch from `subscribed`, the reconnect schedule and timings.
    var epoch: String?
    var failures = 0
    var reconnectAtNs: Int64 = 0
    var openedNs: Int64 = 0
    var wasDown = false
    var resubscribedNs: Int64 = 0
    var caughtUpNs: Int64 = 0
    /// Publisher (shop): requests sent on this connection and not yet answered, in order.
    var pending: [ShopWrite] = []

    // TLS (--tls): the OpenSSL session and, for resumption, the last session ticket.
    var ssl: OpaquePointer?
    var tlsSession: OpaquePointer?

    // HTTP: requests sent and not yet answered.
    var inFlight = 0

    // Poller.
    var cursor: Int64 = -1
    var etag: String?
    var nextPollNs: Int64 = 0

    init(role: Role, isWebSocket: Bool, slot: Int, row: Int, globalIndex: Int) {
        self.role = role
        self.isWebSocket = isWebSocket
        self.slot = slot
        self.row = row
        self.globalIndex = globalIndex
    }

    var pendingOutput: Int { out.count - outOffset }
}
