/// Everything one run needs, fixed before any thread starts.
struct RunSettings: Sendable {
    enum Mode: String, Sendable { case idle, latency, throughput, orders, poll, shop }
    enum PublisherKind: String, Sendable { case http, ws }

    var mode: Mode
    var endpoint: Endpoint
    /// When not empty, subscriber i connects to `subscriberEndpoints[i % count]` (the nodes
    /// of a cluster) and only the publishers to `endpoint`.
    var subscriberEndpoints: [Endpoint] = []
    /// Subscribers (WebSocket) or, in poll mode, pollers.
    var clients: Int
    var clientPath: String
    /// Sent by each subscriber once open (orders: the `admin` subscribe message).
    var subscribeMessage: [UInt8]?
    var publisherKind: PublisherKind = .http
    var publishPath = "/publish"
    /// Publisher connections (all on thread 0).
    var publishers = 1
    /// Requests in flight per HTTP publisher connection.
    var pipeline = 1
    /// Messages (or orders) to publish; in poll mode, orders created during the window.
    var messages = 0
    /// Messages per second; 0 = as fast as the server takes them.
    var rate = 0.0
    var messageSize = 0
    var token: String?
    var threads = 1
    var connectConcurrency = 256
    var sources = SourceAddresses(first: 1, count: 0)
    var holdSeconds = 10.0
    var durationSeconds = 60.0
    var pollIntervalSeconds = 5.0
    /// Whole run, connections included: the run stops by itself after this.
    var timeoutSeconds = 120.0
    /// After the last publish: how long without a delivery before missing ones are given up.
    var idleTimeoutSeconds = 5.0
    var serverPID: Int32?
    var label = ""
    /// `Sec-WebSocket-Extensions` of the subscribers' upgrade requests; empty: none.
    var extensionOffer = ""
    /// Shop mode: the population and the order plan.
    var shop: ShopSettings?
    var plan: ShopPlan?
    /// Connect over TLS (no certificate check: loopback benchmarks) and, on reconnect,
    /// resume the session with the server's ticket.
    var tls = false
    var tlsResume = true
    /// Several processes (20,000 descriptors each): this one handles clients g with
    /// g % processCount == processIndex; only process 0 publishes.
    var processIndex = 0
    var processCount = 1
    /// Storm: the server's pid is re-read from this file (it changes on restart).
    var serverPIDFile: String?
    /// Set in a child process: where its counts go.
    var childOutput: String?
    var isChild: Bool { childOutput != nil }

    var usesWebSocketClients: Bool { mode != .poll }
    var hasPublisher: Bool { mode != .idle }
    /// This process runs the publishers (they are counted in its ready target).
    var runsPublishers: Bool { hasPublisher && processIndex == 0 }
    var publisherIsWebSocket: Bool { (mode == .latency || mode == .throughput) && publisherKind == .ws }
    /// Clients of this process.
    var localClients: Int { clients / processCount + (processIndex < clients % processCount ? 1 : 0) }
    /// Seq numbers each client should see once.
    var expectedPerClient: Int { mode == .idle ? 0 : messages }

    /// The `Authorization` header line, when a token is set.
    var authorizationLine: String { token.map { "Authorization: Bearer \($0)\r\n" } ?? "" }
}
