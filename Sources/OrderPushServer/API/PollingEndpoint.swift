import Auth
import HTTP1
import JSON
import OpenSSLKit
import Orders
import Storage

/// `GET /api/orders?since=N&epoch=E&limit=L`: the polling fallback of docs/PROTOCOL.md §4,
/// read from the event log and the orders. The whole answer is one read job
/// (`OrderService` hands it to `StoreReads`), run against the store it is given.
///
/// The cursor only moves when the caller is given events: with nothing new the answer
/// (and its ETag) stays the same, so a client polling every 5 s gets a body-less 304.
struct PollingEndpoint: Sendable {
    let pollLimit: Int

    func poll(_ request: HTTPRequest, claims: Claims, store: any OrderStore) throws -> HTTPResponse {
        let epoch = store.epoch
        let userScope = claims.role == .user ? claims.sub : nil
        let channel = userScope.map { "user:" + $0 } ?? "admin"
        var since: Int64?
        if let raw = request.queryValue("since") {
            guard let v = Int64(raw), v >= 0 else {
                return .error(.badRequest, code: "bad_request", message: "since must be a non-negative integer")
            }
            since = v
        }
        var limit = pollLimit
        if let raw = request.queryValue("limit") {
            guard let v = Int(raw), v >= 1, v <= pollLimit else {
                return .error(.badRequest, code: "bad_request", message: "limit must be an integer from 1 to \(pollLimit)")
            }
            limit = v
        }
        // An empty epoch: a shared database not reached yet; the read below answers 503.
        if let e = request.queryValue("epoch"), !epoch.isEmpty, e != epoch, since != nil {
            return APIResponses.cursorExpired("this cursor belongs to another event history (epoch); reload without since")
        }
        return try {
            let head = try store.head()
            var orders: [Order]
            var events: [StoredEvent] = []
            let cursor: Int64
            if let since {
                guard since >= (try store.retainedFloor()), since <= head else {
                    return APIResponses.cursorExpired("events after \(since) are no longer retained; reload without since")
                }
                events = try store.events(after: since, userId: userScope, limit: limit)
                var seen = Set<String>()
                let ids = events.compactMap { seen.insert($0.orderId).inserted ? $0.orderId : nil }
                orders = try store.orders(ids: ids)
                cursor = events.last?.seq ?? since
            } else {
                orders = try store.orders(userId: userScope, limit: OrdersAPI.maxListedOrders)
                cursor = head
            }
            // The newest change among the listed orders is part of the version too: a page cut
            // by `limit` can list an order that has changed since, with the same cursor.
            let newestChange = orders.lazy.map(\.updatedAtMs).max() ?? 0
            let etag = "\"\(epoch.prefix(12))-\(Self.etagScope(userScope))-\(since.map(String.init) ?? "all")-\(cursor)-\(events.count)-\(orders.count)-\(newestChange)\""
            if let match = request.headers["If-None-Match"], Self.etagMatches(match, etag) {
                var headers = HTTPHeaders()
                headers.add("ETag", etag)
                return HTTPResponse(status: .notModified, headers: headers)
            }
            var w = JSONWriter(reservingCapacity: 256 + events.count * 600)
            w.appendRaw(#"{"orders":["#)
            for (i, order) in orders.enumerated() {
                if i > 0 { w.append(UInt8(ascii: ",")) }
                order.appendJSON(to: &w)
            }
            w.appendRaw(#"],"events":["#)
            for (i, event) in events.enumerated() {
                if i > 0 { w.append(UInt8(ascii: ",")) }
                PushMessage.append(event, channel: channel, to: &w)
            }
            w.appendRaw(#"],"cursor":"#)
            w.writeInteger(cursor)
            w.appendRaw(#","epoch":"#)
            w.writeString(epoch)
            w.appendRaw(#","pollIntervalMs":5000}"#)
            var response = HTTPResponse.json(.ok, w.bytes)
            response.headers.add("ETag", etag)
            response.headers.add("Cache-Control", "no-cache")
            return response
        }()
    }

    /// Who the answer is for, in its ETag: "a" for the admin view, else a hash of the user's
    /// sub, so two users' lists (same URL, same head, same count) never share an ETag and a
    /// browser cache revalidating one user's copy cannot be told the other's is current.
    static func etagScope(_ userScope: String?) -> String {
        guard let userScope else { return "a" }
        return "u" + Hex.encode(Digest.sha256(Array(userScope.utf8)).prefix(8))
    }

    static func etagMatches(_ header: String, _ etag: String) -> Bool {
        header.split(separator: ",").contains { candidate in
            let c = candidate.trimmingSpaces
            return c == "*" || c == etag || c == "W/" + etag
        }
    }
}
