import CEpoll
import CSSL
import Glibc

/// One thread's share of the load: its own epoll instance, its own clients (client i of the
/// run belongs to worker i % threads), and on worker 0 the publisher connections.
/// Level-triggered, one `read` per readiness event into one 256 KiB buffer per thread, so
/// an idle client holds no buffers at all.
final class Worker {
    private let id: Int
    private let settings: RunSettings
    private let shared: Shared
    private let poller = Poller()
    private var clients: [Client] = []
    private var publishers: [Client] = []
    private var rows = 0
    private var nextOpen = 0
    private var connecting = 0
    private let connectLimit: Int
    private let readBuffer: UnsafeMutableRawBufferPointer
    private var result = WorkerResult()
    private let deadlineNs: Int64

    // Exactly-once accounting: one bit per (client, expected message); each client's row
    // starts at its `bitBase`.
    private var seen: [UInt64]
    private let expected: Int
    private var completeRows = 0
    private var closedRows = 0

    private var started = false
    private var goNs: Int64 = 0
    private var sent = 0
    private var publishDone = false
    private var nextPublisher = 0
    private let intervalNs: Int64
    private var pollQueue: [Int] = []
    private var pollHead = 0
    private var pollEndNs: Int64 = .max
    private var maskState: UInt64

    private let subscriberUpgrade: [UInt8]
    /// Created on the first compressed message (--extensions).
    private var inflater: MessageInflater?
    private let publisherUpgrade: [UInt8]

    // Shop mode: the backend's schedule (worker 0 of process 0).
    private var nextPost = 0
    private var updateQueues: [[ShopWrite]] = []
    private var updateHeads: [Int] = []
    private var retries: [ShopWrite] = []
    private var orderIDs: [String?] = []
    private var writesExpected = 0
    private var writesFinished = 0
    private var serviceAuthorization = ""
    private var pollers = 0
    // Storm: clients waiting to reconnect, and those down now.
    private var waiting: [Int] = []
    private var downNow = 0
    private var random: UInt64
    private var tlsContext: OpaquePointer?

    init(id: Int, settings: RunSettings, shared: Shared) {
        self.id = id
        self.settings = settings
        self.shared = shared
        connectLimit = max(1, settings.connectConcurrency / settings.threads)
        readBuffer = .allocate(byteCount: 256 * 1024, alignment: 64)
        deadlineNs = Clock.nowNs() + Int64(settings.timeoutSeconds * 1e9)
        intervalNs = settings.rate > 0 ? Int64(1e9 / settings.rate) : 0
        maskState = 0x9E37_79B9_7F4A_7C15 &+ UInt64(id) &* 0x1234_5678_9ABC_DEF1
        subscriberUpgrade = Frames.upgradeRequest(path: settings.clientPath, authority: settings.endpoint.authority,
                                                  extensions: settings.extensionOffer)
        publisherUpgrade = Frames.upgradeRequest(path: settings.publishPath, authority: settings.endpoint.authority)
        random = 0x2545_F491_4F6C_DD1D &+ UInt64(id + 1) &* 0x9E37_79B9 &+ UInt64(settings.processIndex) << 32

        if id == 0 && settings.runsPublishers {
            for p in 0..<settings.publishers {
                let c = Client(role: .publisher, isWebSocket: settings.publisherIsWebSocket, slot: clients.count,
                               row: -1, globalIndex: settings.clients + p)
                clients.append(c)
                publishers.append(c)
            }
        }
        expected = settings.expectedPerClient
        var bits = 0
        let adminToken = settings.shop.map { Tokens.sign(sub: "admin-dashboard", role: "admin", secret: $0.secret) } ?? ""
        let stride = settings.processCount * settings.threads
        for g in Swift.stride(from: settings.processIndex + settings.processCount * id, to: settings.clients, by: stride) {
            let c: Client
            if let shop = settings.shop, let plan = settings.plan {
                let who = shop.identity(g)
                c = Client(role: who.polls ? .poller : .subscriber, isWebSocket: !who.polls, slot: clients.count,
                           row: rows, globalIndex: g)
                c.user = who.user
                c.token = who.user < 0 ? adminToken : Tokens.sign(sub: "u\(who.user)", role: "user", secret: shop.secret)
                c.expectedCount = (who.user < 0 ? plan.orders : Int(plan.countOf[who.user])) * shop.eventsPerOrder
                if who.polls { pollers += 1 }
            } else {
                let role: Client.Role = settings.mode == .poll ? .poller : .subscriber
                c = Client(role: role, isWebSocket: settings.usesWebSocketClients, slot: clients.count,
                           row: rows, globalIndex: g)
                c.expectedCount = expected
            }
            c.bitBase = bits
            bits += c.expectedCount
            clients.append(c)
            rows += 1
        }
        seen = [UInt64](repeating: 0, count: (bits + 63) / 64)
        result.latenciesNs.reserveCapacity(min(bits, 40_000_000))
        if let shop = settings.shop, let plan = settings.plan {
            serviceAuthorization = "Authorization: Bearer " + Tokens.sign(sub: "shop-backend", role: "service", secret: shop.secret) + "\r\n"
            updateQueues = Array(repeating: [], count: shop.updates)
            updateHeads = Array(repeating: 0, count: shop.updates)
            if id == 0 && settings.runsPublishers {
                orderIDs = Array(repeating: nil, count: plan.orders)
                writesExpected = plan.orders * shop.eventsPerOrder
            }
        }
        if settings.tls { tlsContext = TLSClient.makeContext() }
    }

    deinit {
        readBuffer.deallocate()
        if let tlsContext { SSL_CTX_free(tlsContext) }
    }

    func run() {
        while true {
            let now = Clock.nowNs()
            openMore()
            if !started {
                let go = shared.goNs.load(ordering: .acquiring)
                if go != 0 && now >= go { start(go) }
            }
            if started {
                if settings.mode == .shop { shopPublishTick(now) } else { publishTick(now) }
                pollTick(now)
            }
            if !waiting.isEmpty { reconnectTick(now) }
            if isFinished(now) { break }
            poller.wait(timeoutMs: timeoutMs(now)) { token, readable, writable in
                handle(clients[token], readable: readable, writable: writable)
            }
        }
        for c in clients where c.phase != .closed && c.phase != .idle { closeSocket(c) }
        for c in clients where c.role != .publisher && c.isReady { result.expectedTotal += c.expectedCount }
        result.stillDown = downNow
        let final = result
        shared.results.withLock { $0.append(final) }
    }

    // MARK: - Phases

    private func start(_ go: Int64) {
        started = true
        goNs = go
        // Bytes are counted for the measured window only.
        result.bytesReceived = 0
        result.bytesSent = 0
        result.pollBytesReceived = 0
        result.pollBytesSent = 0
        if settings.mode == .poll || settings.mode == .shop {
            pollEndNs = settings.mode == .poll ? go + Int64(settings.durationSeconds * 1e9) : .max
            let interval = settings.pollIntervalSeconds * 1e9
            for c in clients where c.role == .poller && c.isReady {
                // Spread over one interval by global index, as independent clients would be.
                c.nextPollNs = go + Int64(Double(c.globalIndex) / Double(max(1, settings.clients)) * interval)
                pollQueue.append(c.slot)
            }
        }
    }

    private func isFinished(_ now: Int64) -> Bool {
        if now >= deadlineNs {
            result.noteError("run timeout (\(Int(settings.timeoutSeconds)) s) reached")
            return true
        }
        switch settings.mode {
        case .idle:
            return shared.stop.load(ordering: .relaxed)
        case .poll:
            return started && now >= pollEndNs + 2_000_000_000
        case .latency, .throughput, .orders, .shop:
            guard started else { return false }
            if id == 0 && settings.runsPublishers && !publishDone { return false }
            let end = shared.publishEndNs.load(ordering: .acquiring)
            guard end > 0 else { return false }
            if settings.mode == .shop {
                // Pollers poll on until one interval after the last write was answered.
                if pollEndNs == .max { pollEndNs = end + Int64(settings.pollIntervalSeconds * 1e9) + 1_500_000_000 }
                if pollers > 0 && now < pollEndNs { return false }
                if completeRows + closedRows >= result.clientsReady && downNow == 0 { return true }
            } else if completeRows + closedRows >= result.clientsReady {
                return true
            }
            return now - max(end, result.lastReceiveNs) > Int64(settings.idleTimeoutSeconds * 1e9)
        }
    }

    private func timeoutMs(_ now: Int64) -> Int32 {
        var ms: Int64 = started ? 50 : 5
        if !waiting.isEmpty { ms = 5 }
        if settings.mode == .shop && started && !publishDone && !publishers.isEmpty {
            // The next POST when one is due and a connection has room; updates within 5 ms.
            ms = min(ms, 5)
            if nextPost < settings.messages && settings.rate > 0 {
                let due = goNs + Int64(nextPost) * intervalNs
                ms = min(ms, max(0, (due - now + 999_999) / 1_000_000))
            }
        } else if started && !publishDone && !publishers.isEmpty && sent < settings.messages {
            if settings.rate > 0 {
                let due = goNs + Int64(sent) * intervalNs
                ms = min(ms, max(0, (due - now + 999_999) / 1_000_000))
            } else if publishers.contains(where: hasRoom) {
                ms = 0
            }
        }
        if pollHead < pollQueue.count {
            let due = clients[pollQueue[pollHead]].nextPollNs
            ms = min(ms, max(0, (due - now + 999_999) / 1_000_000))
        }
        return Int32(ms)
    }

    // MARK: - Connections

    private func openMore() {
        while connecting < connectLimit && nextOpen < clients.count {
            let c = clients[nextOpen]
            nextOpen += 1
            if let error = startConnect(c) {
                c.phase = .closed
                notReady(error.description)
            } else {
                connecting += 1
            }
        }
    }

    /// Starts the TCP connect of `c`; nil when under way.
    private func startConnect(_ c: Client) -> LoadError? {
        let endpoint = c.role == .publisher || settings.subscriberEndpoints.isEmpty
            ? settings.endpoint : settings.subscriberEndpoints[c.globalIndex % settings.subscriberEndpoints.count]
        switch ClientSocket.connect(to: endpoint, from: settings.sources.address(for: c.globalIndex)) {
        case .success(let fd):
            c.fd = fd
            c.phase = .connecting
            c.wantsWrite = true
            c.openedNs = 0
            poller.add(fd, token: c.slot, writable: true)
            return nil
        case .failure(let error):
            return error
        }
    }

    private func handle(_ c: Client, readable: Bool, writable: Bool) {
        switch c.phase {
        case .connecting:
            connected(c)
        case .tlsHandshake:
            continueHandshake(c)
        case .closed, .idle, .waiting:
            return
        case .upgrading, .open:
            if writable && c.wantsWrite { flush(c) }
            if readable && c.phase != .closed { readFrom(c) }
        }
    }

    private func connected(_ c: Client) {
        let error = ClientSocket.pendingError(c.fd)
        guard error == 0 else {
            fail(c, "connect: \(String(cString: strerror(error)))")
            return
        }
        c.wantsWrite = false
        poller.modify(c.fd, token: c.slot, writable: false)
        if c.wasDown && result.firstReconnectNs == 0 { result.firstReconnectNs = Clock.nowNs() }
        if let tlsContext {
            guard let ssl = SSL_new(tlsContext) else { fail(c, "SSL_new failed"); return }
            SSL_set_fd(ssl, c.fd)
            if settings.tlsResume, let session = c.tlsSession { SSL_set_session(ssl, session) }
            SSL_set_connect_state(ssl)
            c.ssl = ssl
            c.phase = .tlsHandshake
            continueHandshake(c)
            return
        }
        transportReady(c)
    }

    private func continueHandshake(_ c: Client) {
        guard let ssl = c.ssl else { return }
        ERR_clear_error()
        let rc = SSL_do_handshake(ssl)
        if rc == 1 {
            result.tlsHandshakes += 1
            if SSL_session_reused(ssl) == 1 { result.tlsResumed += 1 }
            if c.wantsWrite {
                c.wantsWrite = false
                poller.modify(c.fd, token: c.slot, writable: false)
            }
            transportReady(c)
            return
        }
        switch SSL_get_error(ssl, rc) {
        case SSL_ERROR_WANT_READ:
            if c.wantsWrite {
                c.wantsWrite = false
                poller.modify(c.fd, token: c.slot, writable: false)
            }
        case SSL_ERROR_WANT_WRITE:
            if !c.wantsWrite {
                c.wantsWrite = true
                poller.modify(c.fd, token: c.slot, writable: true)
            }
        default:
            fail(c, "TLS handshake: " + TLSClient.lastError())
        }
    }

    /// TCP (and TLS) is up: upgrade, poll or count the publisher ready.
    private func transportReady(_ c: Client) {
        if c.isWebSocket {
            c.phase = .upgrading
            if c.role == .publisher {
                send(c, publisherUpgrade)
            } else if settings.mode == .shop {
                send(c, Frames.upgradeRequest(path: "/ws?access_token=\(c.token)", authority: settings.endpoint.authority,
                                              extensions: settings.extensionOffer))
            } else {
                send(c, subscriberUpgrade)
            }
        } else {
            c.phase = .open
            c.openedNs = Clock.nowNs()
            if c.role == .poller {
                send(c, pollRequest(c, since: nil, etag: nil))
                c.inFlight += 1
            } else {
                markReady(c)
            }
        }
    }

    private func markReady(_ c: Client) {
        guard !c.isReady else { return }
        c.isReady = true
        connecting -= 1
        if c.role != .publisher {
            result.clientsReady += 1
            if c.expectedCount == 0 && !c.isComplete {
                c.isComplete = true
                completeRows += 1
            }
        }
        shared.ready.add(1, ordering: .releasing)
    }

    private func notReady(_ message: String) {
        result.connectFailures += 1
        result.noteError(message)
        shared.failed.add(1, ordering: .releasing)
    }

    /// Closes a client for good and accounts for why.
    private func fail(_ c: Client, _ message: String) {
        guard c.phase != .closed && c.phase != .waiting else { return }
        if settings.shop?.storm == true && c.isReady && started {
            goneAway(c)
            return
        }
        if settings.mode == .shop && c.role == .publisher && c.isReady, let shop = settings.shop {
            // The server closed a backend connection (e.g. idle keep-alive, also while the
            // clients were still connecting: 16,700 TLS handshakes take longer than the
            // server's keep-alive limit): what it had not answered counts as refused (no
            // Idempotency-Key outside the storm), then reconnect.
            for write in c.pending {
                result.publishRejected += 1
                writesFinished += 1
                if write.k == 0 { writesExpected -= shop.updates }
                if result.firstRejection == nil { result.firstRejection = "connection closed before the answer: \(message)" }
            }
            c.pending = []
            goneAway(c)
            return
        }
        let wasConnecting = c.phase == .connecting || c.phase == .upgrading || c.phase == .tlsHandshake || !c.isReady
        closeSocket(c)
        if wasConnecting && !c.isReady {
            connecting -= 1
            notReady(message)
            return
        }
        if c.role == .publisher {
            result.noteError("publisher: \(message)")
            return
        }
        result.closedByServer += 1
        result.noteError(message)
        if !c.isComplete { closedRows += 1 }
    }

    private func closeSocket(_ c: Client) {
        poller.remove(c.fd)
        if let ssl = c.ssl {
            SSL_free(ssl)
            c.ssl = nil
        }
        close(c.fd)
        c.phase = .closed
        c.out = []
        c.outOffset = 0
        c.inbox = []
        c.fragment = []
        c.wantsWrite = false
    }

    // MARK: - Storm: reconnecting as orderpush.js does

    /// The connection of a ready client broke (the server went away): reconnect after
    /// orderpush.js's backoff (full jitter; a connection that stayed up 3 s resets it).
    private func goneAway(_ c: Client) {
        let now = Clock.nowNs()
        let stable = c.openedNs > 0 && now - c.openedNs >= 3_000_000_000
        closeSocket(c)
        if !c.wasDown && c.role != .publisher {
            c.wasDown = true
            downNow += 1
            result.downs += 1
            if result.firstDownNs == 0 || now < result.firstDownNs { result.firstDownNs = now }
            c.resubscribedNs = 0
        }
        if c.role == .publisher {
            // The backend: resend what was not answered (POSTs carry an Idempotency-Key).
            retries.insert(contentsOf: c.pending, at: 0)
            c.pending = []
            c.inFlight = 0
            c.reconnectAtNs = now + 100_000_000
        } else {
            c.failures = stable ? 0 : c.failures + 1
            let shop = settings.shop!
            let ceiling = min(shop.backoffCapMs, shop.backoffBaseMs * Double(1 << min(20, max(0, c.failures - 1))))
            c.reconnectAtNs = now + Int64(nextUnit() * ceiling * 1e6)
        }
        c.phase = .waiting
        waiting.append(c.slot)
    }

    private func reconnectTick(_ now: Int64) {
        var i = 0
        while i < waiting.count {
            let c = clients[waiting[i]]
            if c.reconnectAtNs <= now {
                waiting.swapAt(i, waiting.count - 1)
                waiting.removeLast()
                if c.role != .publisher { result.reconnectAttempts += 1 }
                if startConnect(c) != nil {
                    c.phase = .open   // so that goneAway takes it
                    c.fd = -1
                    goneAway(c)
                }
            } else {
                i += 1
            }
        }
    }

    private func nextUnit() -> Double {
        random ^= random << 13
        random ^= random >> 7
        random ^= random << 17
        return Double(random >> 11) / Double(1 << 53)
    }

    // MARK: - Input

    private func readFrom(_ c: Client) {
        if let ssl = c.ssl {
            // Drain OpenSSL: decrypted bytes it holds do not make the socket readable again.
            while c.phase == .open || c.phase == .upgrading {
                ERR_clear_error()
                var n = 0
                let rc = SSL_read_ex(ssl, readBuffer.baseAddress, readBuffer.count, &n)
                if rc == 1 {
                    countIn(c, n)
                    ingest(c, UnsafeRawBufferPointer(rebasing: readBuffer[0..<n]), now: Clock.nowNs())
                    continue
                }
                let code = SSL_get_error(ssl, rc)
                if code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE { break }
                fail(c, code == SSL_ERROR_ZERO_RETURN ? "closed by server" : "TLS read: " + TLSClient.lastError())
                return
            }
            if c.tlsSession == nil, let ssl = c.ssl, let session = SSL_get1_session(ssl) {
                // TLS 1.3 tickets come after the handshake: keep the first resumable one.
                if SSL_SESSION_is_resumable(session) == 1 { c.tlsSession = session } else { SSL_SESSION_free(session) }
            }
            return
        }
        let n = read(c.fd, readBuffer.baseAddress, readBuffer.count)
        if n > 0 {
            countIn(c, n)
            ingest(c, UnsafeRawBufferPointer(rebasing: readBuffer[0..<n]), now: Clock.nowNs())
        } else if n == 0 {
            fail(c, "closed by server")
        } else if errno != EAGAIN && errno != EINTR {
            fail(c, "read: \(String(cString: strerror(errno)))")
        }
    }

    private func countIn(_ c: Client, _ n: Int) {
        result.bytesReceived += n
        if c.role == .poller { result.pollBytesReceived += n }
    }

    private func countOut(_ c: Client, _ n: Int) {
        result.bytesSent += n
        if c.role == .poller { result.pollBytesSent += n }
    }

    private func ingest(_ c: Client, _ bytes: UnsafeRawBufferPointer, now: Int64) {
        if c.phase == .open && c.isWebSocket {
            ingestFrames(c, bytes, now: now)
        } else {
            c.inbox.append(contentsOf: bytes)
            processResponses(c, now: now)
        }
    }

    /// WebSocket input: frames are read straight out of the thread's buffer; only a frame cut
    /// by the end of a read is copied, to the client's inbox.
    private func ingestFrames(_ c: Client, _ bytes: UnsafeRawBufferPointer, now: Int64) {
        if c.inbox.isEmpty {
            let used = processFrames(c, bytes, now: now)
            if c.phase == .open && used < bytes.count { c.inbox.append(contentsOf: bytes[used...]) }
        } else {
            var data = c.inbox
            c.inbox = []
            data.append(contentsOf: bytes)
            let used = data.withUnsafeBytes { processFrames(c, $0, now: now) }
            if c.phase == .open && used < data.count { c.inbox = Array(data[used...]) }
        }
    }

    /// Handles every whole frame in `buffer`; returns how many bytes they used.
    private func processFrames(_ c: Client, _ buffer: UnsafeRawBufferPointer, now: Int64) -> Int {
        var offset = 0
        while c.phase == .open, let frame = Frames.next(in: buffer, at: offset) {
            offset = frame.payload.upperBound
            let payload = UnsafeRawBufferPointer(rebasing: buffer[frame.payload])
            switch frame.opcode {
            case Frames.text, Frames.binary:
                if frame.fin {
                    if frame.compressed {
                        onCompressedMessage(c, payload, now: now)
                    } else {
                        onMessage(c, payload, now: now)
                    }
                } else {
                    c.fragmentOpcode = frame.opcode
                    c.fragmentCompressed = frame.compressed
                    c.fragment = Array(payload)
                }
            case Frames.continuation:
                c.fragment.append(contentsOf: payload)
                if frame.fin {
                    let whole = c.fragment
                    c.fragment = []
                    if c.fragmentCompressed {
                        whole.withUnsafeBytes { onCompressedMessage(c, $0, now: now) }
                    } else {
                        whole.withUnsafeBytes { onMessage(c, $0, now: now) }
                    }
                }
            case Frames.ping:
                sendFrame(c, opcode: Frames.pong, payload: payload)
            case Frames.close:
                let code = payload.count >= 2 ? Int(payload[0]) << 8 | Int(payload[1]) : 1005
                result.closeCodes[code, default: 0] += 1
                if !c.closeSent {
                    c.closeSent = true
                    sendFrame(c, opcode: Frames.close, payload: UnsafeRawBufferPointer(rebasing: payload.prefix(2)))
                }
                fail(c, "server closed the WebSocket with \(code)")
            default:
                break
            }
        }
        return offset
    }

    /// A permessage-deflate message: inflated (its stamp is read after inflating, so the
    /// latency includes it, as it would for a browser).
    private func onCompressedMessage(_ c: Client, _ payload: UnsafeRawBufferPointer, now: Int64) {
        if inflater == nil { inflater = MessageInflater() }
        guard let message = inflater!.inflate(payload) else {
            fail(c, "compressed message is not valid deflate data")
            return
        }
        message.withUnsafeBytes { onMessage(c, $0, now: now) }
    }

    private func onMessage(_ c: Client, _ payload: UnsafeRawBufferPointer, now: Int64) {
        guard c.role == .subscriber else { return }   // a publisher's copy of its own broadcast
        switch settings.mode {
        case .latency, .throughput:
            if let stamp = StampFormat.benchStamp(in: payload) {
                record(c, stamp, now: now, strict: true)
            } else {
                result.foreign += 1
            }
        case .orders:
            if let (stamp, _) = StampFormat.orderStamp(in: payload, from: 0) {
                // The server's order is its event seq; the stamp's seq is creation order.
                if let seq = StampFormat.serverSeq(in: payload) {
                    if seq <= c.lastServerSeq { result.outOfOrder += 1 } else { c.lastServerSeq = seq }
                }
                record(c, stamp, now: now, strict: true, ordered: false)
            } else if !c.isReady, StampFormat.find(Self.subscribedType, in: payload, from: 0) != nil {
                markReady(c)
            } else if StampFormat.find(Self.errorType, in: payload, from: 0) != nil {
                result.serverErrors += 1
                if result.firstServerError == nil {
                    result.firstServerError = String(decoding: payload.prefix(300), as: UTF8.self)
                }
                if !c.isReady { fail(c, "subscribe refused: \(String(decoding: payload.prefix(200), as: UTF8.self))") }
            } else {
                result.foreign += 1
            }
        case .shop:
            onShopMessage(c, payload, now: now)
        case .idle, .poll:
            result.foreign += 1
        }
    }

    private func onShopMessage(_ c: Client, _ payload: UnsafeRawBufferPointer, now: Int64) {
        if StampFormat.find(ShopFormat.eventType, in: payload, from: 0) != nil {
            guard let event = ShopFormat.event(in: payload, from: 0) else {
                result.foreign += 1
                return
            }
            if event.seq <= c.lastServerSeq { result.outOfOrder += 1 } else { c.lastServerSeq = event.seq }
            recordShop(c, event, now: now, strict: true)
        } else if StampFormat.find(ShopFormat.subscribedType, in: payload, from: 0) != nil {
            // The cursor: the last seq seen, else (never an event) the head, as orderpush.js
            // keeps it; a resubscribe's replay then comes in order after it.
            if c.lastServerSeq < 0, let head = StampFormat.number(after: Self.headKey, in: payload, from: 0) {
                c.lastServerSeq = head
            }
            if let epoch = ShopFormat.string(after: ShopFormat.epochKey, in: payload) { c.epoch = epoch }
            if !c.isReady {
                markReady(c)
            } else if c.wasDown {
                c.wasDown = false
                downNow -= 1
                c.resubscribedNs = now
                c.caughtUpNs = now
                result.resubscribed += 1
                result.lastResubscribeNs = max(result.lastResubscribeNs, now)
                result.lastCaughtUpNs = max(result.lastCaughtUpNs, now)
            }
        } else if StampFormat.find(Self.errorType, in: payload, from: 0) != nil {
            result.serverErrors += 1
            if result.firstServerError == nil {
                result.firstServerError = String(decoding: payload.prefix(300), as: UTF8.self)
            }
            if !c.isReady { fail(c, "subscribe refused: \(String(decoding: payload.prefix(200), as: UTF8.self))") }
        } else {
            result.foreign += 1
        }
    }

    /// One shop event seen by `c` (a push message or a polled event): must be one the
    /// client is owed (its own user's, or any for an admin), once.
    private func recordShop(_ c: Client, _ event: ShopEvent, now: Int64, strict: Bool) {
        guard let shop = settings.shop, let plan = settings.plan,
              event.order >= 0, event.order < plan.orders, event.k >= 0, event.k < shop.eventsPerOrder else {
            result.foreign += 1
            return
        }
        let index: Int
        if c.user < 0 {
            index = event.order * shop.eventsPerOrder + event.k
        } else {
            guard Int(plan.userOf[event.order]) == c.user else {
                result.foreign += 1   // another customer's event: must never happen
                return
            }
            index = Int(plan.rankOf[event.order]) * shop.eventsPerOrder + event.k
        }
        guard markSeen(c, index, strict: strict) else { return }
        let delay = now - event.sentNs
        if c.role == .poller {
            result.stalenessNs.append(delay)
        } else if c.user < 0 && event.k == 0 {
            result.latenciesNs.append(delay)
        } else if c.user >= 0 && event.k > 0 {
            result.latencies2Ns.append(delay)
        }
        result.lastReceiveNs = now
        if c.resubscribedNs > 0 && event.sentNs < c.resubscribedNs && now > c.caughtUpNs {
            c.caughtUpNs = now
            result.lastCaughtUpNs = max(result.lastCaughtUpNs, now)
        }
    }

    /// Sets the bit of (`c`, `index`); false when it was set already (a duplicate).
    @inline(__always)
    private func markSeen(_ c: Client, _ index: Int, strict: Bool) -> Bool {
        let bitIndex = c.bitBase + index
        let word = bitIndex >> 6
        let bit = UInt64(1) << UInt64(bitIndex & 63)
        if seen[word] & bit != 0 {
            if strict { result.duplicates += 1 }
            return false
        }
        seen[word] |= bit
        c.distinct += 1
        result.delivered += 1
        if c.distinct == c.expectedCount && !c.isComplete {
            c.isComplete = true
            completeRows += 1
        }
        return true
    }

    private static let headKey: [UInt8] = Array(#""head":"#.utf8)

    private static let subscribedType: [UInt8] = Array(#""type":"subscribed""#.utf8)
    private static let errorType: [UInt8] = Array(#""type":"error""#.utf8)
    private static let cursorKey: [UInt8] = Array(#""cursor":"#.utf8)

    /// Counts one delivery of `stamp` to `c`. `strict`: a second copy is a duplicate and an
    /// earlier seq after a later one is out of order (WebSocket); polling answers repeat
    /// orders by design, so there only the first sighting counts. `ordered: false` (orders):
    /// the stamp's seq is creation order, not the server's, so an inversion is only noted.
    @inline(__always)
    private func record(_ c: Client, _ stamp: Stamp, now: Int64, strict: Bool, ordered: Bool = true) {
        guard stamp.seq >= 0 && stamp.seq < expected else {
            result.foreign += 1
            return
        }
        guard markSeen(c, stamp.seq, strict: strict) else { return }
        if stamp.seq < c.lastSeq {
            if !ordered {
                result.creationOrderInversions += 1
            } else if strict {
                result.outOfOrder += 1
            }
        } else {
            c.lastSeq = stamp.seq
        }
        result.latenciesNs.append(now - stamp.sentNs)
        result.lastReceiveNs = now
    }

    /// HTTP input (and the WebSocket upgrade answer): whole responses from the inbox.
    private func processResponses(_ c: Client, now: Int64) {
        while c.phase != .closed {
            let scan = c.inbox.withUnsafeBytes { HTTPResponseScanner.next(in: $0, keepBody: true) }
            let response: HTTPResponse
            switch scan {
            case .incomplete: return
            case .invalid(let why): fail(c, why); return
            case .response(let r): response = r
            }
            c.inbox.removeFirst(response.length)
            if c.phase == .upgrading {
                guard response.status == 101 else {
                    fail(c, "upgrade refused: \(response.status) \(String(decoding: response.body.prefix(200), as: UTF8.self))")
                    return
                }
                c.phase = .open
                c.openedNs = now
                if c.role == .subscriber && settings.mode == .shop {
                    shopSubscribe(c)
                } else if c.role == .subscriber, let message = settings.subscribeMessage {
                    message.withUnsafeBytes { sendFrame(c, opcode: Frames.text, payload: $0) }
                } else {
                    markReady(c)
                }
                let leftover = c.inbox
                c.inbox = []
                if !leftover.isEmpty { leftover.withUnsafeBytes { ingestFrames(c, $0, now: now) } }
                return
            }
            c.inFlight -= 1
            if c.role == .publisher && settings.mode == .shop {
                shopAnswered(c, response, now: now)
            } else if c.role == .publisher {
                publisherAnswered(response, now: now)
            } else {
                pollAnswered(c, response, now: now)
            }
        }
    }

    // MARK: - Output

    private func nextMask() -> UInt32 {
        maskState ^= maskState << 13
        maskState ^= maskState >> 7
        maskState ^= maskState << 17
        return UInt32(truncatingIfNeeded: maskState)
    }

    private func sendFrame(_ c: Client, opcode: UInt8, payload: UnsafeRawBufferPointer) {
        guard c.phase == .open || c.phase == .upgrading else { return }
        Frames.appendMasked(opcode: opcode, payload: payload, mask: nextMask(), to: &c.out)
        flush(c)
    }

    private func send(_ c: Client, _ bytes: [UInt8]) {
        c.out.append(contentsOf: bytes)
        flush(c)
    }

    private func flush(_ c: Client) {
        if c.phase == .tlsHandshake || c.phase == .connecting { return }
        while c.outOffset < c.out.count {
            let offset = c.outOffset
            var n: Int
            if let ssl = c.ssl {
                ERR_clear_error()
                var written = 0
                let rc = c.out.withUnsafeBytes { SSL_write_ex(ssl, $0.baseAddress! + offset, $0.count - offset, &written) }
                if rc == 1 {
                    n = written
                } else {
                    let code = SSL_get_error(ssl, rc)
                    n = -1
                    errno = code == SSL_ERROR_WANT_WRITE || code == SSL_ERROR_WANT_READ ? EAGAIN : EPIPE
                }
            } else {
                n = c.out.withUnsafeBytes { write(c.fd, $0.baseAddress! + offset, $0.count - offset) }
            }
            if n > 0 {
                countOut(c, n)
                c.outOffset += n
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN {
                if c.outOffset > 1 << 20 {
                    c.out.removeFirst(c.outOffset)
                    c.outOffset = 0
                }
                if !c.wantsWrite {
                    c.wantsWrite = true
                    poller.modify(c.fd, token: c.slot, writable: true)
                }
                return
            }
            fail(c, "write: \(String(cString: strerror(errno)))")
            return
        }
        c.out.removeAll(keepingCapacity: c.role == .publisher)
        c.outOffset = 0
        if c.wantsWrite {
            c.wantsWrite = false
            poller.modify(c.fd, token: c.slot, writable: false)
        }
    }

    // MARK: - Publishing

    private func hasRoom(_ p: Client) -> Bool {
        guard p.phase == .open && p.isReady else { return false }
        return p.isWebSocket ? p.pendingOutput == 0 : p.inFlight < settings.pipeline
    }

    private func publishTick(_ now: Int64) {
        guard !publishDone, !publishers.isEmpty else { return }
        if sent < settings.messages {
            if settings.rate > 0 {
                while sent < settings.messages && now >= goNs + Int64(sent) * intervalNs {
                    guard let p = publisherWithRoom() else { break }
                    appendMessage(to: p)
                    flush(p)
                }
            } else {
                for p in publishers where hasRoom(p) {
                    if p.isWebSocket {
                        while sent < settings.messages && p.pendingOutput < 64 * 1024 { appendMessage(to: p) }
                    } else {
                        while sent < settings.messages && p.inFlight < settings.pipeline { appendMessage(to: p) }
                    }
                    flush(p)
                }
            }
        }
        let live = publishers.filter { $0.phase == .open }
        let outstanding = live.contains { $0.inFlight > 0 || $0.pendingOutput > 0 }
        if (sent >= settings.messages || live.isEmpty) && !outstanding {
            publishDone = true
            shared.publishEndNs.store(Clock.nowNs(), ordering: .releasing)
        }
    }

    private func publisherWithRoom() -> Client? {
        for i in 0..<publishers.count {
            let p = publishers[(nextPublisher + i) % publishers.count]
            if p.phase == .open && p.isReady && (p.isWebSocket || p.inFlight < settings.pipeline) {
                nextPublisher = (nextPublisher + i + 1) % publishers.count
                return p
            }
        }
        return nil
    }

    /// Queues message number `sent`, stamped with the time it is handed over.
    private func appendMessage(to p: Client) {
        let now = Clock.nowNs()
        let seq = sent
        sent += 1
        result.published += 1
        if result.firstSendNs == 0 { result.firstSendNs = now }
        result.lastSendNs = now
        let body: [UInt8]
        switch settings.mode {
        case .orders, .poll: body = StampFormat.orderBody(seq: seq, sentNs: now)
        default: body = StampFormat.benchMessage(seq: seq, sentNs: now, size: settings.messageSize)
        }
        if p.isWebSocket {
            body.withUnsafeBytes { Frames.appendMasked(opcode: Frames.text, payload: $0, mask: nextMask(), to: &p.out) }
        } else {
            let head = "POST \(settings.publishPath) HTTP/1.1\r\nHost: \(settings.endpoint.authority)\r\n"
                + settings.authorizationLine
                + "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
            p.out.append(contentsOf: head.utf8)
            p.out.append(contentsOf: body)
            p.inFlight += 1
        }
    }

    private func publisherAnswered(_ response: HTTPResponse, now: Int64) {
        if (200..<300).contains(response.status) {
            result.publishAcked += 1
            result.lastAckNs = now
        } else {
            result.publishRejected += 1
            if result.firstRejection == nil {
                result.firstRejection = "\(response.status) \(String(decoding: response.body.prefix(200), as: UTF8.self))"
            }
        }
    }

    // MARK: - Shop backend

    /// The shop's backend: POST order S when due (or as fast as answered with --rate 0),
    /// each answered POST schedules its tracking updates; retries first (storm).
    private func shopPublishTick(_ now: Int64) {
        guard !publishDone, !publishers.isEmpty, let shop = settings.shop, let plan = settings.plan else { return }
        for p in publishers where p.phase == .waiting && p.reconnectAtNs <= now {
            if let i = waiting.firstIndex(of: p.slot) { waiting.remove(at: i) }
            if startConnect(p) != nil {
                p.phase = .open
                p.fd = -1
                goneAway(p)
            }
        }
        while let p = publisherWithRoom() {
            var write: ShopWrite
            if !retries.isEmpty {
                write = retries.removeFirst()
            } else if nextPost < plan.orders && (settings.rate <= 0 || now >= goNs + Int64(nextPost) * intervalNs) {
                write = ShopWrite(order: nextPost, k: 0, dueNs: now)
                nextPost += 1
            } else if let q = dueUpdateQueue(now) {
                write = updateQueues[q][updateHeads[q]]
                updateHeads[q] += 1
                if updateHeads[q] > 4096 && updateHeads[q] * 2 > updateQueues[q].count {
                    updateQueues[q].removeFirst(updateHeads[q])
                    updateHeads[q] = 0
                }
            } else {
                break
            }
            sendShopWrite(p, &write, shop: shop, plan: plan)
            p.pending.append(write)
            flush(p)
        }
        if writesFinished >= writesExpected {
            publishDone = true
            shared.publishEndNs.store(Clock.nowNs(), ordering: .releasing)
        }
    }

    private func dueUpdateQueue(_ now: Int64) -> Int? {
        var best: Int?
        for q in 0..<updateQueues.count where updateHeads[q] < updateQueues[q].count {
            let due = updateQueues[q][updateHeads[q]].dueNs
            if due <= now && (best == nil || due < updateQueues[best!][updateHeads[best!]].dueNs) { best = q }
        }
        return best
    }

    private func sendShopWrite(_ p: Client, _ write: inout ShopWrite, shop: ShopSettings, plan: ShopPlan) {
        let now = Clock.nowNs()
        if write.sentNs == 0 { write.sentNs = now }
        result.published += 1
        if result.firstSendNs == 0 { result.firstSendNs = now }
        result.lastSendNs = now
        let body: [UInt8]
        var head: String
        if write.k == 0 {
            body = ShopFormat.orderBody(order: write.order, user: Int(plan.userOf[write.order]), sentNs: write.sentNs)
            head = "POST /api/orders HTTP/1.1\r\n"
            if shop.storm { head += "Idempotency-Key: lg-\(write.order)\r\n" }
        } else {
            body = ShopFormat.updateBody(k: write.k, sentNs: write.sentNs)
            head = "PUT /api/orders/\(orderIDs[write.order] ?? "missing")/tracking HTTP/1.1\r\n"
        }
        head += "Host: \(settings.endpoint.authority)\r\n" + serviceAuthorization
            + "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
        p.out.append(contentsOf: head.utf8)
        p.out.append(contentsOf: body)
        p.inFlight += 1
    }

    private func shopAnswered(_ p: Client, _ response: HTTPResponse, now: Int64) {
        guard !p.pending.isEmpty, let shop = settings.shop else { return }
        let write = p.pending.removeFirst()
        if (200..<300).contains(response.status) {
            result.publishAcked += 1
            writesFinished += 1
            if write.k == 0 {
                result.lastAckNs = now   // the last order's POST: orders/s
                orderIDs[write.order] = ShopFormat.orderID(in: response.body)
                for k in 1...max(1, shop.updates) where k <= shop.updates {
                    updateQueues[k - 1].append(ShopWrite(order: write.order, k: k, dueNs: now + Int64(k) * shop.updateGapNs))
                }
            }
        } else if shop.storm && (response.status >= 500 || response.status == 429) {
            retries.append(write)   // the server is shutting down or starting: try again
        } else {
            result.publishRejected += 1
            writesFinished += 1
            if write.k == 0 { writesExpected -= shop.updates }
            if result.firstRejection == nil {
                result.firstRejection = "\(response.status) \(String(decoding: response.body.prefix(200), as: UTF8.self))"
            }
        }
    }

    // MARK: - Polling

    private func pollRequest(_ c: Client, since: Int64?, etag: String?) -> [UInt8] {
        var query = since.map { "?since=\($0)" } ?? ""
        if since != nil, let epoch = c.epoch { query += "&epoch=" + epoch }
        var text = "GET /api/orders" + query + " HTTP/1.1\r\n"
        text += "Host: \(settings.endpoint.authority)\r\n"
        text += settings.mode == .shop ? "Authorization: Bearer \(c.token)\r\n" : settings.authorizationLine
        if let etag { text += "If-None-Match: \(etag)\r\n" }
        return Array((text + "\r\n").utf8)
    }

    private func pollTick(_ now: Int64) {
        let interval = Int64(settings.pollIntervalSeconds * 1e9)
        while pollHead < pollQueue.count {
            let c = clients[pollQueue[pollHead]]
            guard c.nextPollNs <= now else { break }
            pollHead += 1
            guard c.phase == .open else { continue }
            if c.inFlight > 0 {
                result.pollLate += 1
            } else {
                send(c, pollRequest(c, since: c.cursor, etag: c.etag))
                c.inFlight += 1
                result.pollRequests += 1
            }
            c.nextPollNs += interval
            if c.nextPollNs < pollEndNs { pollQueue.append(c.slot) }
        }
        if pollHead > 4096 && pollHead * 2 > pollQueue.count {
            pollQueue.removeFirst(pollHead)
            pollHead = 0
        }
    }

    private func pollAnswered(_ c: Client, _ response: HTTPResponse, now: Int64) {
        if response.status == 200 {
            let cursor = response.body.withUnsafeBytes { StampFormat.number(after: Self.cursorKey, in: $0, from: 0) }
            if let cursor { c.cursor = cursor }
            c.etag = response.etag
            if settings.mode == .shop, let epoch = response.body.withUnsafeBytes({ ShopFormat.string(after: ShopFormat.epochKey, in: $0) }) {
                c.epoch = epoch
            }
        }
        guard c.isReady else {
            if response.status == 200 && c.cursor >= 0 {
                markReady(c)
            } else {
                fail(c, "first poll: \(response.status) \(String(decoding: response.body.prefix(200), as: UTF8.self))")
            }
            return
        }
        switch response.status {
        case 200 where settings.mode == .shop:
            result.poll200 += 1
            let events = response.body.withUnsafeBytes { body -> Int in
                guard var at = StampFormat.find(ShopFormat.eventsKey, in: body, from: 0) else { return 0 }
                var count = 0
                while let start = StampFormat.find(ShopFormat.eventType, in: body, from: at) {
                    count += 1
                    if let event = ShopFormat.event(in: body, from: start) {
                        recordShop(c, event, now: now, strict: false)
                    } else {
                        result.foreign += 1
                    }
                    at = start + ShopFormat.eventType.count
                }
                return count
            }
            // A full page (the server's default limit, 500) may have more behind it: poll
            // again at once, as docs/PROTOCOL.md §5 and orderpush.js do.
            if events >= 500 && c.inFlight == 0 && c.phase == .open {
                send(c, pollRequest(c, since: c.cursor, etag: c.etag))
                c.inFlight += 1
                result.pollRequests += 1
            }
        case 200:
            result.poll200 += 1
            response.body.withUnsafeBytes { body in
                var from = 0
                while let (stamp, next) = StampFormat.orderStamp(in: body, from: from) {
                    record(c, stamp, now: now, strict: false)
                    from = next
                }
            }
        case 304:
            result.poll304 += 1
        default:
            result.pollOther += 1
            if result.firstServerError == nil {
                result.firstServerError = "poll: \(response.status) \(String(decoding: response.body.prefix(200), as: UTF8.self))"
            }
        }
    }
}

// MARK: - Shop: subscribing and the backend

extension Worker {
    /// `subscribe` to the client's channel; after a reconnect, with `since` and `epoch` as
    /// orderpush.js sends them (the last seq seen, else the head of the first `subscribed`).
    fileprivate func shopSubscribe(_ c: Client) {
        let channel = c.user < 0 ? "admin" : "user:u\(c.user)"
        var text = #"{"type":"subscribe","channel":"\#(channel)""#
        if c.wasDown && c.lastServerSeq >= 0 {
            text += #","since":\#(c.lastServerSeq)"#
            if let epoch = c.epoch { text += #","epoch":"\#(epoch)""# }
        }
        text += "}"
        Array(text.utf8).withUnsafeBytes { sendFrame(c, opcode: Frames.text, payload: $0) }
    }
}
