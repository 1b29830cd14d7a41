import ArgumentParser
import Glibc

@main
struct LoadGen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadgen",
        abstract: "WebSocket/HTTP load generator on raw epoll (loopback only).",
        discussion: """
            Prints JSON lines on stdout ({"event":"all_open",...} when every connection is ready, \
            {"event":"result",...} at the end) and a human summary on stderr. Every run stops by \
            itself (--timeout).
            """,
        subcommands: [Idle.self, Latency.self, Throughput.self, Orders.self, Poll.self, Shop.self])
}

/// Options every mode takes.
struct CommonOptions: ParsableArguments {
    @Option(help: "Server address (127.0.0.0/8 only).") var host = "127.0.0.1"
    @Option(help: "Server port.") var port: UInt16
    @Option(help: "Worker threads, one epoll loop each.") var threads = 1
    @Option(help: "Server process id: its CPU seconds and RSS are read from /proc.") var serverPid: Int32?
    @Option(help: "The whole run stops after this many seconds.") var timeout = 120.0
    @Option(help: "Give up waiting for missing deliveries this long after the last one.") var idleTimeout = 5.0
    @Option(help: "Connections being set up at once.") var connectConcurrency = 256
    @Option(help: "Spread source addresses over this many 127.0.0.x (0: only past 28k connections).") var sources = 0
    @Option(help: "First x of the 127.0.0.x source addresses.") var sourceFirst = 1
    @Option(help: "Free text copied into the JSON lines.") var label = ""
    @Option(help: "Sec-WebSocket-Extensions offer of the subscribers, e.g. 'permessage-deflate; client_max_window_bits' (Chromium's); compressed messages are inflated.") var extensions = ""
    @Option(name: .customLong("subscriber-ports"), help: "Comma-separated ports: subscribers spread over them in turn (the nodes of a cluster); publishers use --port.") var subscriberPorts: String?
    @Flag(help: "Connect over TLS (wss://, https://); the certificate is not checked.") var tls = false
    @Flag(name: .customLong("no-tls-resume"), help: "With --tls: do not resume sessions on reconnect.") var noTLSResume = false
    @Option(help: "Processes sharing the clients (0: as many as the descriptor limit needs).") var processes = 0
    @Option(help: ArgumentHelp("Set by the parent process.", visibility: .hidden)) var processIndex = 0
    @Option(help: ArgumentHelp("Set by the parent process.", visibility: .hidden)) var childOutput: String?
    @Option(help: "File holding the server's pid, re-read while running (it changes when the server restarts).") var serverPidFile: String?

    func settings(mode: RunSettings.Mode, clients: Int, path: String) throws -> RunSettings {
        guard (1...16).contains(threads) else { throw ValidationError("--threads 1...16") }
        guard clients >= 0, sourceFirst >= 1, sourceFirst + max(0, sources) <= 256 else {
            throw ValidationError("bad client count or source range")
        }
        do {
            var s = RunSettings(mode: mode, endpoint: try Endpoint(host: host, port: port), clients: clients, clientPath: path)
            s.threads = threads
            s.serverPID = serverPid
            s.timeoutSeconds = timeout
            s.idleTimeoutSeconds = idleTimeout
            s.connectConcurrency = max(1, connectConcurrency)
            s.sources = SourceAddresses(first: sourceFirst, count: max(0, sources))
            s.label = label.isEmpty ? mode.rawValue : label
            s.extensionOffer = extensions
            s.tls = tls
            s.tlsResume = !noTLSResume
            s.processIndex = processIndex
            s.processCount = max(1, processes)
            s.childOutput = childOutput
            s.serverPIDFile = serverPidFile
            if let subscriberPorts {
                s.subscriberEndpoints = try subscriberPorts.split(separator: ",").map { text throws(LoadError) in
                    guard let p = UInt16(text) else { throw LoadError("bad port in --subscriber-ports: \(text)") }
                    return try Endpoint(host: host, port: p)
                }
            }
            return s
        } catch {
            throw ValidationError(error.description)
        }
    }
}

func runLoad(_ settings: RunSettings) throws {
    signal(SIGPIPE, SIG_IGN)
    do {
        try Coordinator(settings: settings).run()
    } catch {
        say("loadgen: \(error.description)")
        throw ExitCode(2)
    }
}

struct Idle: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Open N WebSocket connections and hold them.")
    @OptionGroup var common: CommonOptions
    @Option(name: .shortAndLong, help: "Connections.") var connections = 10_000
    @Option(help: "WebSocket path.") var path = "/ws/broadcast"
    @Option(help: "Seconds to hold them once all are open.") var hold = 10.0

    func run() throws {
        var s = try common.settings(mode: .idle, clients: connections, path: path)
        s.holdSeconds = hold
        s.timeoutSeconds = max(common.timeout, hold + 60)
        try runLoad(s)
    }
}

/// Options of the modes with a bench publisher.
struct PublishOptions: ParsableArguments {
    @Option(help: "Subscriber WebSocket path.") var path = "/ws/broadcast"
    @Option(help: "Publish over http (POST) or ws (a WebSocket on --publish-path).") var publisher: String?
    @Option(help: "POST path (http) or WebSocket path (ws); default /publish or /ws/broadcast.") var publishPath: String?
    @Option(help: "HTTP requests in flight per publisher connection.") var pipeline: Int?
    @Option(help: "Message size in bytes (padded).") var size = 0

    func apply(to s: inout RunSettings, defaultKind: RunSettings.PublisherKind, defaultPipeline: Int) throws {
        guard let kind = RunSettings.PublisherKind(rawValue: publisher ?? defaultKind.rawValue) else {
            throw ValidationError("--publisher http|ws")
        }
        s.publisherKind = kind
        s.publishPath = publishPath ?? (kind == .http ? "/publish" : "/ws/broadcast")
        s.pipeline = max(1, pipeline ?? defaultPipeline)
        s.messageSize = size
    }
}

struct Latency: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "N subscribers; one publisher sends M stamped messages at R per second.")
    @OptionGroup var common: CommonOptions
    @OptionGroup var publish: PublishOptions
    @Option(name: .shortAndLong, help: "Subscribers.") var subscribers = 10_000
    @Option(name: .shortAndLong, help: "Messages.") var messages = 100
    @Option(name: .shortAndLong, help: "Messages per second.") var rate = 10.0

    func run() throws {
        guard rate > 0, messages > 0 else { throw ValidationError("--rate and --messages must be positive") }
        var s = try common.settings(mode: .latency, clients: subscribers, path: publish.path)
        try publish.apply(to: &s, defaultKind: .http, defaultPipeline: 16)
        s.messages = messages
        s.rate = rate
        try runLoad(s)
    }
}

struct Throughput: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "N subscribers; K messages published as fast as the server takes them.")
    @OptionGroup var common: CommonOptions
    @OptionGroup var publish: PublishOptions
    @Option(name: .shortAndLong, help: "Subscribers.") var subscribers = 1_000
    @Option(name: .shortAndLong, help: "Messages.") var messages = 2_000

    func run() throws {
        guard messages > 0 else { throw ValidationError("--messages must be positive") }
        var s = try common.settings(mode: .throughput, clients: subscribers, path: publish.path)
        try publish.apply(to: &s, defaultKind: .ws, defaultPipeline: 64)
        s.messages = messages
        s.rate = 0
        try runLoad(s)
    }
}

struct Orders: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The product path: N admin subscribers on /ws; orders created with POST /api/orders.")
    @OptionGroup var common: CommonOptions
    @Option(name: .shortAndLong, help: "Subscribers on channel admin.") var subscribers = 10_000
    @Option(help: "JWT (role admin or service) for /ws and the API.") var token: String
    @Option(name: .shortAndLong, help: "Orders to create.") var messages = 100
    @Option(name: .shortAndLong, help: "Orders per second; 0 = as fast as answered.") var rate = 0.0
    @Option(help: "Connections creating orders.") var creators = 4
    @Option(help: "Requests in flight per creating connection.") var pipeline = 1

    func run() throws {
        guard messages > 0, rate >= 0, creators > 0 else { throw ValidationError("positive --messages and --creators, --rate >= 0") }
        var s = try common.settings(mode: .orders, clients: subscribers, path: "/ws?access_token=\(token)")
        s.token = token
        s.subscribeMessage = Array(#"{"type":"subscribe","channel":"admin"}"#.utf8)
        s.publisherKind = .http
        s.publishPath = "/api/orders"
        s.publishers = creators
        s.pipeline = max(1, pipeline)
        s.messages = messages
        s.rate = rate
        try runLoad(s)
    }
}

struct Poll: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "N clients polling GET /api/orders?since= every 5 s while orders are created.")
    @OptionGroup var common: CommonOptions
    @Option(name: .shortAndLong, help: "Polling clients.") var clients = 10_000
    @Option(help: "JWT (role admin or service).") var token: String
    @Option(help: "Seconds of polling.") var duration = 60.0
    @Option(help: "Seconds between one client's polls.") var interval = 5.0
    @Option(help: "Orders created per second during the window (0: none).") var orderRate = 1.0

    func run() throws {
        guard duration > 0, interval > 0, orderRate >= 0 else { throw ValidationError("positive --duration and --interval") }
        var s = try common.settings(mode: .poll, clients: clients, path: "/api/orders")
        s.token = token
        s.durationSeconds = duration
        s.pollIntervalSeconds = interval
        s.publisherKind = .http
        s.publishPath = "/api/orders"
        s.publishers = 1
        s.pipeline = 4
        s.rate = orderRate
        s.messages = orderRate > 0 ? Int(orderRate * duration) : 0
        s.timeoutSeconds = max(common.timeout, duration + 60)
        try runLoad(s)
    }
}

struct Shop: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The real shop: admins on `admin`, customers on `user:<id>`, legacy pollers; the backend POSTs orders and PUTs tracking updates.")
    @OptionGroup var common: CommonOptions
    @Option(help: "File with the server's HS256 secret (tokens are signed here).") var jwtSecretFile: String
    @Option(help: "Admin dashboards (channel admin).") var admins = 200
    @Option(help: "Customers, each on user:u<i>.") var customers = 15_000
    @Option(help: "Every K-th customer has a second tab (0: none).") var twoTabEvery = 10
    @Option(help: "Legacy clients polling GET /api/orders (users after the customers).") var pollers = 2_000
    @Flag(help: "Admins and customers poll too, instead of subscribing.") var allPoll = false
    @Option(help: "Seconds between one poller's polls.") var interval = 5.0
    @Option(name: .shortAndLong, help: "Orders per second; 0 = as fast as answered.") var rate = 1.0
    @Option(help: "Seconds of order creation (orders = rate x duration) unless -m is given.") var duration = 60.0
    @Option(name: .shortAndLong, help: "Orders to create.") var messages: Int?
    @Option(help: "Tracking updates per order.") var updates = 3
    @Option(help: "Seconds from an order's answer to its first update, and between updates.") var updateGap = 5.0
    @Option(help: "Connections of the backend.") var creators = 8
    @Option(help: "Requests in flight per backend connection.") var pipeline = 4
    @Flag(help: "Reconnect storm: clients reconnect when the server goes away (orderpush.js backoff), the backend retries POSTs with an Idempotency-Key; no updates.") var storm = false

    func run() throws {
        var shop = ShopSettings()
        shop.admins = admins
        shop.customers = customers
        shop.twoTabEvery = max(0, twoTabEvery)
        shop.legacyPollers = pollers
        shop.allPoll = allPoll
        shop.updates = storm ? 0 : max(0, min(5, updates))
        shop.updateGapNs = Int64(updateGap * 1e9)
        shop.storm = storm
        do { shop.secret = try Tokens.loadSecret(jwtSecretFile) } catch { throw ValidationError(error.description) }
        guard admins >= 0, customers >= 0, pollers >= 0, rate >= 0, creators > 0 else { throw ValidationError("bad counts") }
        let orders = messages ?? Int((rate * duration).rounded())
        guard orders > 0 else { throw ValidationError("no orders: give --rate and --duration, or -m") }
        var s = try common.settings(mode: .shop, clients: shop.clientCount, path: "/ws")
        s.shop = shop
        s.plan = ShopPlan(orders: orders, users: shop.users)
        s.publisherKind = .http
        s.publishPath = "/api/orders"
        s.publishers = creators
        s.pipeline = max(1, pipeline)
        s.messages = orders
        s.rate = rate
        s.pollIntervalSeconds = interval
        let expectedSeconds = (rate > 0 ? Double(orders) / rate : 60) + Double(shop.updates) * updateGap + interval
        s.timeoutSeconds = max(common.timeout, expectedSeconds + 120)
        try runLoad(s)
    }
}
