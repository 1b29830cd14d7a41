import Auth
import HTTP1
import JSON
import Orders
import Storage

/// `GET /api/orders/search?status=S&userId=U&q=TEXT&limit=N&before=C&counts=1`
/// (docs/PROTOCOL.md §4): one page of orders, newest first, cut by an opaque cursor.
/// With `counts=1`, also the orders per status and the event `cursor`/`epoch` they are
/// valid at: a dashboard subscribes from that cursor and keeps both counts and page
/// current from the events.
///
/// The cursor is the last listed order's creation number (`OrderPage.next`); an order
/// created while a client pages gets a higher number than every cursor handed out, so it
/// never moves a later page.
/// The loop only checks the parameters and the caller's scope; the page is read and
/// encoded on a `DatabaseReader` thread (`page(_:counts:store:)`), off the loop.
enum SearchEndpoint {
    static let defaultLimit = 50
    static let maxLimit = 200
    /// `q` longer than this is refused: no id, owner or item name is longer.
    static let maxTextBytes = 256

    /// The answer for one parsed search, read from `store` (on the reader thread).
    static func page(_ query: OrderSearch, counts wantsCounts: Bool, store: any OrderStore) throws -> HTTPResponse {
        // Counts (and their head) first, the page after: the page is at least as new as
        // the cursor, so subscribing from it misses nothing on screen.
        let counts = wantsCounts ? try store.statusCounts(userId: query.userId) : nil
        let page = try store.searchOrders(query)
        var w = JSONWriter(reservingCapacity: 256 + page.orders.count * 700)
        w.appendRaw(#"{"orders":["#)
        for (i, order) in page.orders.enumerated() {
            if i > 0 { w.append(UInt8(ascii: ",")) }
            order.appendJSON(to: &w)
        }
        w.appendRaw(#"],"next":"#)
        if let next = page.next { w.writeString(String(next)) } else { w.appendRaw("null") }
        if let counts {
            w.appendRaw(#","counts":{"#)
            for (i, status) in OrderStatus.allCases.enumerated() {
                if i > 0 { w.append(UInt8(ascii: ",")) }
                w.writeString(status.rawValue)
                w.append(UInt8(ascii: ":"))
                w.writeInteger(Int64(counts.counts[status] ?? 0))
            }
            w.appendRaw(#"},"cursor":"#)
            w.writeInteger(counts.head)
            w.appendRaw(#","epoch":"#)
            w.writeString(store.epoch)
        }
        w.append(UInt8(ascii: "}"))
        var response = HTTPResponse.json(.ok, w.bytes)
        response.headers.add("Cache-Control", "no-store")
        return response
    }

    struct Refusal: Error {
        let response: HTTPResponse
        static func bad(_ message: String) -> Refusal {
            Refusal(response: .error(.badRequest, code: "bad_request", message: message))
        }
    }

    /// The search the request asks for, within what the caller may see: a `user` token is
    /// scoped to its own orders, and naming another user is refused (403) rather than
    /// silently answered with the caller's own orders.
    static func parse(_ request: HTTPRequest, claims: Claims) -> Result<(OrderSearch, Bool), Refusal> {
        var search = OrderSearch(limit: defaultLimit)
        if let raw = request.queryValue("status"), !raw.isEmpty {
            guard let status = OrderStatus(rawValue: raw) else {
                let known = OrderStatus.allCases.map(\.rawValue).joined(separator: ", ")
                return .failure(.bad("status must be one of \(known)"))
            }
            search.status = status
        }
        if let raw = request.queryValue("limit") {
            guard let limit = Int(raw), (1...maxLimit).contains(limit) else {
                return .failure(.bad("limit must be an integer from 1 to \(maxLimit)"))
            }
            search.limit = limit
        }
        if let raw = request.queryValue("before"), !raw.isEmpty {
            guard raw.utf8.count <= 18, raw.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let before = Int64(raw), before > 0 else {
                return .failure(.bad("before must be a cursor given as next by a previous page"))
            }
            search.before = before
        }
        if let raw = request.queryValue("q"), !raw.isEmpty {
            guard raw.utf8.count <= maxTextBytes else {
                return .failure(.bad("q must be at most \(maxTextBytes) bytes"))
            }
            search.text = raw
        }
        if let raw = request.queryValue("userId"), !raw.isEmpty {
            search.userId = raw
        }
        if claims.role == .user {
            if let other = search.userId, other != claims.sub {
                return .failure(Refusal(response: APIResponses.forbidden("a user can only search its own orders")))
            }
            search.userId = claims.sub
        }
        var counts = false
        if let raw = request.queryValue("counts") {
            guard raw == "1" || raw == "0" || raw == "true" || raw == "false" else {
                return .failure(.bad("counts must be 1 or 0"))
            }
            counts = raw == "1" || raw == "true"
        }
        return .success((search, counts))
    }
}
