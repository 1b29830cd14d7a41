import CSSL
import Glibc

/// The real shop's load (mode `shop`): admin dashboards on channel `admin`, customers each on
/// `user:u<i>` (some with a second tab), legacy clients polling `GET /api/orders`, and the
/// shop's backend creating orders (POST) and three tracking updates per order (PUT).
///
/// Clients by global index: admins first, then the customers' first tabs, then the second
/// tabs (customer i has one when i % twoTabEvery == 0), then the legacy pollers, whose users
/// come after the customers (u<customers + j>).
struct ShopSettings: Sendable {
    var admins = 200
    var customers = 15_000
    /// Every K-th customer has a second tab (0: none).
    var twoTabEvery = 10
    var legacyPollers = 2_000
    /// Admins and customers poll instead of subscribing (the design push replaces).
    var allPoll = false
    /// Tracking updates per order (PUT), `updateGapNs` apart, the first one that long after
    /// the POST was answered.
    var updates = 3
    var updateGapNs: Int64 = 5_000_000_000
    /// Reconnect storm: clients reconnect (orderpush.js backoff) when the server goes away;
    /// the backend retries POSTs with an Idempotency-Key. No updates (a PUT is not idempotent).
    var storm = false
    var backoffBaseMs = 500.0
    var backoffCapMs = 15_000.0
    var secret: [UInt8] = []

    var secondTabs: Int { twoTabEvery > 0 ? (customers + twoTabEvery - 1) / twoTabEvery : 0 }
    var users: Int { customers + legacyPollers }
    var clientCount: Int { admins + customers + secondTabs + legacyPollers }
    var eventsPerOrder: Int { 1 + updates }

    /// Who global client `g` is: its user (-1: admin) and whether it polls.
    func identity(_ g: Int) -> (user: Int, polls: Bool) {
        if g < admins { return (-1, allPoll) }
        var i = g - admins
        if i < customers { return (i, allPoll) }
        i -= customers
        if i < secondTabs { return (i * twoTabEvery, allPoll) }
        i -= secondTabs
        return (customers + i, true)
    }
}

/// Which user each planned order belongs to, fixed before the run so that every process
/// knows what each of its clients must receive.
struct ShopPlan: Sendable {
    let orders: Int
    /// Order S → its owner.
    let userOf: [Int32]
    /// Order S → its position among its owner's orders.
    let rankOf: [Int32]
    /// User → how many orders it gets.
    let countOf: [Int32]

    init(orders: Int, users: Int) {
        self.orders = orders
        var userOf = [Int32](repeating: 0, count: orders)
        var rankOf = [Int32](repeating: 0, count: orders)
        var countOf = [Int32](repeating: 0, count: max(1, users))
        for s in 0..<orders {
            // A fixed scramble, so that orders spread over all users (legacy ones included)
            // at any rate, and runs are repeatable.
            let u = Int(truncatingIfNeeded: (UInt64(s) &* 0x9E37_79B9_7F4A_7C15) >> 24) % max(1, users)
            userOf[s] = Int32(u)
            rankOf[s] = countOf[u]
            countOf[u] += 1
        }
        self.userOf = userOf
        self.rankOf = rankOf
        self.countOf = countOf
    }
}

/// One request of the shop's backend: the POST of order `order` (k = 0) or its k-th
/// tracking update, with the time it was first sent (kept for retries: the body must be
/// the same for the Idempotency-Key to replay it).
struct ShopWrite: Sendable {
    var order: Int
    var k: Int
    var dueNs: Int64
    var sentNs: Int64 = 0
}

/// What an event message or a polled event says, in the loadgen's terms.
struct ShopEvent {
    /// Planned order index and update number (0: created).
    var order: Int
    var k: Int
    /// When the POST (k = 0) or the PUT was sent.
    var sentNs: Int64
    /// The server's event seq.
    var seq: Int64
}

enum ShopFormat {
    static let statuses = ["confirmed", "packed", "shipped", "out_for_delivery", "delivered"]
    private static let partnerKey: [UInt8] = Array(#""deliveryPartner":{"name":"lg"#.utf8)
    private static let phoneKey: [UInt8] = Array(#""phone":""#.utf8)
    private static let updatedKind: [UInt8] = Array(#""event":"tracking.updated""#.utf8)
    static let eventType: [UInt8] = Array(#""type":"event""#.utf8)
    static let subscribedType: [UInt8] = Array(#""type":"subscribed""#.utf8)
    static let epochKey: [UInt8] = Array(#""epoch":""#.utf8)
    static let eventsKey: [UInt8] = Array(#""events":["#.utf8)
    private static let idKey: [UInt8] = Array(#""id":""#.utf8)

    static func orderBody(order: Int, user: Int, sentNs: Int64) -> [UInt8] {
        Array((#"{"items":[{"productId":"p1","name":"Tea","quantity":1,"price":1.0}],"paymentMethod":"cod","#
            + #""userId":"u\#(user)","metadata":{"t":\#(sentNs),"seq":\#(order)}}"#).utf8)
    }

    /// A tracking update that carries its number (in the partner's name) and its send time
    /// (in the partner's phone): the partner appears once in an order, so the event says
    /// which update it is.
    static func updateBody(k: Int, sentNs: Int64) -> [UInt8] {
        Array((#"{"status":"\#(statuses[(k - 1) % statuses.count])","deliveryPartner":{"name":"lg\#(k)","phone":"\#(sentNs)"}}"#).utf8)
    }

    /// The event in `payload[from..<to]` (one event object: a WebSocket message or one
    /// element of a polling answer's `events`).
    static func event(in payload: UnsafeRawBufferPointer, from: Int) -> ShopEvent? {
        guard let seq = StampFormat.number(after: StampFormat.seqKey, in: payload, from: from),
              let (created, _) = StampFormat.orderStamp(in: payload, from: from) else { return nil }
        guard let kindAt = StampFormat.find(updatedKind, in: payload, from: from),
              kindAt < (StampFormat.find(StampFormat.metadataKey, in: payload, from: from) ?? 0) else {
            return ShopEvent(order: created.seq, k: 0, sentNs: created.sentNs, seq: seq)
        }
        guard var i = StampFormat.find(partnerKey, in: payload, from: from) else { return nil }
        i += partnerKey.count
        let k = StampFormat.digits(payload, &i)
        guard k > 0, let t = StampFormat.number(after: phoneKey, in: payload, from: i) else { return nil }
        return ShopEvent(order: created.seq, k: Int(k), sentNs: t, seq: seq)
    }

    /// The order id in a POST answer (`{"order":{"id":"ord_…",…`).
    static func orderID(in body: [UInt8]) -> String? {
        body.withUnsafeBytes { b -> String? in
            guard var i = StampFormat.find(idKey, in: b, from: 0) else { return nil }
            i += idKey.count
            let start = i
            while i < b.count, b[i] != 0x22 { i += 1 }
            return String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
        }
    }

    static func string(after key: [UInt8], in payload: UnsafeRawBufferPointer) -> String? {
        guard var i = StampFormat.find(key, in: payload, from: 0) else { return nil }
        i += key.count
        let start = i
        while i < payload.count, payload[i] != 0x22 { i += 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: payload[start..<i]), as: UTF8.self)
    }
}

/// HS256 JSON Web Tokens, signed here so that thousands of user tokens need no server call.
enum Tokens {
    static func sign(sub: String, role: String, secret: [UInt8], ttlSeconds: Int = 7200) -> String {
        let exp = Int(time(nil)) + ttlSeconds
        let head = base64url(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let body = base64url(Array(#"{"sub":"\#(sub)","role":"\#(role)","exp":\#(exp)}"#.utf8))
        let input = Array((head + "." + body).utf8)
        var mac = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = secret.withUnsafeBytes { key in
            input.withUnsafeBytes { data in
                HMAC(EVP_sha256(), key.baseAddress, Int32(key.count), data.baseAddress!.assumingMemoryBound(to: UInt8.self),
                     data.count, &mac, &length)
            }
        }
        return head + "." + body + "." + base64url(mac)
    }

    static func base64url(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out: [UInt8] = []
        var i = 0
        while i + 2 < bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [table[Int(n >> 18)], table[Int(n >> 12 & 63)], table[Int(n >> 6 & 63)], table[Int(n & 63)]]
            i += 3
        }
        if bytes.count - i == 1 {
            let n = UInt32(bytes[i]) << 16
            out += [table[Int(n >> 18)], table[Int(n >> 12 & 63)]]
        } else if bytes.count - i == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [table[Int(n >> 18)], table[Int(n >> 12 & 63)], table[Int(n >> 6 & 63)]]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The key as the server reads `--jwt-secret-file`: the bytes, one line ending removed.
    static func loadSecret(_ path: String) throws(LoadError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LoadError("cannot read \(path)") }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 65536)
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { throw LoadError("empty secret file \(path)") }
        bytes.removeSubrange(n...)
        if bytes.last == 10 { bytes.removeLast(); if bytes.last == 13 { bytes.removeLast() } }
        return bytes
    }
}
