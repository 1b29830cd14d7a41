import CEpoll
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

    // Exactly-once accounting: one bit per (row, seq).
    private var seen: [UInt64]
    private let wordsPerRow: Int
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

        if id == 0 && settings.hasPublisher {
            for p in 0..<settings.publishers {
                let c = Client(role: .publisher, isWebSocket: settings.publisherIsWebSocket, slot: clients.count,
                               row: -1, globalIndex: settings.clients + p)
                clients.append(c)
                publishers.append(c)
            }
        }
        for g in stride(from: id, to: settings.clients, by: settings.threads) {
            let role: Client.Role = settings.mode == .poll ? .poller : .subscriber
            clients.append(Client(role: role, isWebSocket: settings.usesWebSocketClients, slot: clients.count,
                                  row: rows, globalIndex: g))
            rows += 1
        }
        expected = settings.expectedPerClient
        wordsPerRow = (expected + 63) / 64
        seen = [UInt64](repeating: 0, count: rows * wordsPerRow)
        result.latenciesNs.reserveCapacity(min(rows * expected, 40_000_000))
    }

    deinit { readBuffer.deallocate() }

    func run() {
        while true {
            let now = Clock.nowNs()
            openMore()
            if !started {
                let go = shared.goNs.load(ordering: .acquiring)
                if go != 0 && now >= go { start(go) }
            }
            if started {
                publishTick(now)
                pollTick(now)
            }
            if isFinished(now) { break }
            poller.wait(timeoutMs: timeoutMs(now)) { token, readable, writable in
                handle(clients[token], readable: readable, writable: writable)
            }
        }
        for c in clients where c.phase != .closed && c.phase != .idle { closeSocket(c) }
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
        if settings.mode == .poll {
            pollEndNs = go + Int64(settings.durationSeconds * 1e9)
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
        case .latency, .throughput, .orders:
            guard started else { return false }
            if id == 0 && !publishDone { return false }
            let end = shared.publishEndNs.load(ordering: .acquiring)
            guard end > 0 else { return false }
            if completeRows + closedRows >= result.clientsReady { return true }
            return now - max(end, result.lastReceiveNs) > Int64(settings.idleTimeoutSeconds * 1e9)
        }
    }

    private func timeoutMs(_ now: Int64) -> Int32 {
        var ms: Int64 = started ? 50 : 5
        if started && !publishDone && !publishers.isEmpty && sent < settings.messages {
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
            let endpoint = c.role == .publisher || settings.subscriberEndpoints.isEmpty
                ? settings.endpoint : settings.subscriberEndpoints[c.globalIndex % settings.subscriberEndpoints.count]
            switch ClientSocket.connect(to: endpoint, from: settings.sources.address(for: c.globalIndex)) {
            case .success(let fd):
                c.fd = fd
                c.phase = .connecting
                c.wantsWrite = true
                poller.add(fd, token: c.slot, writable: true)
                connecting += 1
            case .failure(let error):
                c.phase = .closed
                notReady(error.description)
            }
        }
    }

    private func handle(_ c: Client, readable: Bool, writable: Bool) {
        switch c.phase {
        case .connecting:
            connected(c)
        case .closed, .idle:
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
        if c.isWebSocket {
            c.phase = .upgrading
            send(c, c.role == .publisher ? publisherUpgrade : subscriberUpgrade)
        } else {
            c.phase = .open
            if c.role == .poller {
                send(c, pollRequest(since: nil, etag: nil))
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
        if c.role != .publisher { result.clientsReady += 1 }
        shared.ready.add(1, ordering: .releasing)
    }

    private func notReady(_ message: String) {
        result.connectFailures += 1
        result.noteError(message)
        shared.failed.add(1, ordering: .releasing)
    }

    /// Closes a client for good and accounts for why.
    private func fail(_ c: Client, _ message: String) {
        guard c.phase != .closed else { return }
        let wasConnecting = c.phase == .connecting || c.phase == .upgrading || !c.isReady
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
        close(c.fd)
        c.phase = .closed
        c.out = []
        c.outOffset = 0
        c.inbox = []
    }

    // MARK: - Input

    private func readFrom(_ c: Client) {
        let n = read(c.fd, readBuffer.baseAddress, readBuffer.count)
        if n > 0 {
            result.bytesReceived += n
            ingest(c, UnsafeRawBufferPointer(rebasing: readBuffer[0..<n]), now: Clock.nowNs())
        } else if n == 0 {
            fail(c, "closed by server")
        } else if errno != EAGAIN && errno != EINTR {
            fail(c, "read: \(String(cString: strerror(errno)))")
        }
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
        case .idle, .poll:
            result.foreign += 1
        }
    }

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
        let word = c.row * wordsPerRow + stamp.seq >> 6
        let bit = UInt64(1) << UInt64(stamp.seq & 63)
        if seen[word] & bit != 0 {
            if strict { result.duplicates += 1 }
            return
        }
        seen[word] |= bit
        c.distinct += 1
        result.delivered += 1
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
        if c.distinct == expected && !c.isComplete {
            c.isComplete = true
            completeRows += 1
        }
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
                if c.role == .subscriber, let message = settings.subscribeMessage {
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
            if c.role == .publisher {
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
        while c.outOffset < c.out.count {
            let offset = c.outOffset
            let n = c.out.withUnsafeBytes { write(c.fd, $0.baseAddress! + offset, $0.count - offset) }
            if n > 0 {
                result.bytesSent += n
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

    // MARK: - Polling

    private func pollRequest(since: Int64?, etag: String?) -> [UInt8] {
        var text = "GET /api/orders" + (since.map { "?since=\($0)" } ?? "") + " HTTP/1.1\r\n"
        text += "Host: \(settings.endpoint.authority)\r\n" + settings.authorizationLine
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
                send(c, pollRequest(since: c.cursor, etag: c.etag))
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
