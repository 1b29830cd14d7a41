/// What one worker thread counted; the coordinator adds them up.
struct WorkerResult: Sendable {
    var clientsReady = 0
    var connectFailures = 0
    var firstError: String?
    /// Ready clients the server closed (or reset) before the run ended.
    var closedByServer = 0
    var closeCodes: [Int: Int] = [:]
    /// Distinct (client, seq) deliveries.
    var delivered = 0
    var duplicates = 0
    /// A stamp seq below an earlier one on the same connection. In orders mode: the server's
    /// event seq not above the previous one (the server's order broken).
    var outOfOrder = 0
    /// Orders mode: events delivered in another order than the load generator created them.
    /// Not an error: with several creating connections (and loops) the commit order, which
    /// is the delivery order, differs from the order the requests were sent in.
    var creationOrderInversions = 0
    /// Messages without a stamp of this run (e.g. errors, other traffic).
    var foreign = 0
    var serverErrors = 0
    var firstServerError: String?
    /// publish → receive delays, ns, one per distinct delivery.
    var latenciesNs: [Int64] = []
    /// Shop: PUT → customer delays, and how stale polled events were (poll answer − write).
    var latencies2Ns: [Int64] = []
    var stalenessNs: [Int64] = []
    var pollBytesReceived = 0
    var pollBytesSent = 0
    // Storm: when connections went down, came back and caught up.
    var downs = 0
    /// Shop: the deliveries the ready clients were owed.
    var expectedTotal = 0
    var resubscribed = 0
    var stillDown = 0
    var firstDownNs: Int64 = 0
    var firstReconnectNs: Int64 = 0
    var lastResubscribeNs: Int64 = 0
    var lastCaughtUpNs: Int64 = 0
    var reconnectAttempts = 0
    var tlsHandshakes = 0
    var tlsResumed = 0
    var firstSendNs: Int64 = 0
    var lastSendNs: Int64 = 0
    var lastReceiveNs: Int64 = 0
    var lastAckNs: Int64 = 0
    var published = 0
    var publishAcked = 0
    var publishRejected = 0
    var firstRejection: String?
    var bytesReceived = 0
    var bytesSent = 0
    var pollRequests = 0
    var poll200 = 0
    var poll304 = 0
    var pollOther = 0
    /// Polls skipped because the previous answer had not come yet.
    var pollLate = 0

    mutating func noteError(_ message: String) {
        if firstError == nil { firstError = message }
    }

    static func earliest(_ a: Int64, _ b: Int64) -> Int64 { a == 0 ? b : (b == 0 ? a : min(a, b)) }

    mutating func merge(_ o: WorkerResult) {
        clientsReady += o.clientsReady
        connectFailures += o.connectFailures
        firstError = firstError ?? o.firstError
        closedByServer += o.closedByServer
        for (code, n) in o.closeCodes { closeCodes[code, default: 0] += n }
        delivered += o.delivered
        duplicates += o.duplicates
        outOfOrder += o.outOfOrder
        creationOrderInversions += o.creationOrderInversions
        foreign += o.foreign
        serverErrors += o.serverErrors
        firstServerError = firstServerError ?? o.firstServerError
        latenciesNs.append(contentsOf: o.latenciesNs)
        latencies2Ns.append(contentsOf: o.latencies2Ns)
        stalenessNs.append(contentsOf: o.stalenessNs)
        pollBytesReceived += o.pollBytesReceived
        pollBytesSent += o.pollBytesSent
        downs += o.downs
        expectedTotal += o.expectedTotal
        resubscribed += o.resubscribed
        stillDown += o.stillDown
        firstDownNs = Self.earliest(firstDownNs, o.firstDownNs)
        firstReconnectNs = Self.earliest(firstReconnectNs, o.firstReconnectNs)
        lastResubscribeNs = max(lastResubscribeNs, o.lastResubscribeNs)
        lastCaughtUpNs = max(lastCaughtUpNs, o.lastCaughtUpNs)
        reconnectAttempts += o.reconnectAttempts
        tlsHandshakes += o.tlsHandshakes
        tlsResumed += o.tlsResumed
        if o.firstSendNs != 0 { firstSendNs = firstSendNs == 0 ? o.firstSendNs : min(firstSendNs, o.firstSendNs) }
        lastSendNs = max(lastSendNs, o.lastSendNs)
        lastReceiveNs = max(lastReceiveNs, o.lastReceiveNs)
        lastAckNs = max(lastAckNs, o.lastAckNs)
        published += o.published
        publishAcked += o.publishAcked
        publishRejected += o.publishRejected
        firstRejection = firstRejection ?? o.firstRejection
        bytesReceived += o.bytesReceived
        bytesSent += o.bytesSent
        pollRequests += o.pollRequests
        poll200 += o.poll200
        poll304 += o.poll304
        pollOther += o.pollOther
        pollLate += o.pollLate
    }
}
