import JSON
import Auth
import HTTP1
import OpenSSLKit
import Orders
import Reactor
import Storage

/// The HTTP API of CONTRACT.md §4.
extension OrderService {
    func handle(_ route: Route, _ request: HTTPRequest, on connection: Connection) -> RequestOutcome {
        if route == .metrics, Socket.peerIsLoopback(connection.fd) {
            return .respond(metricsResponse())
        }
        let claims: Claims
        switch authenticate(request, allowQueryToken: route == .push) {
        case .success(let c): claims = c
        case .failure(let e): return .respond(e.response)
        }
        switch route {
        case .metrics:
            guard claims.role == .admin else { return .respond(forbidden("metrics are for admins (or loopback)")) }
            return .respond(metricsResponse())
        case .push:
            return loop.upgrade(request, to: .push(PushClient(claims: claims)), maxMessageBytes: config.maxMessageBytes,
                                maxOutputBytes: config.maxOutputBytes)
        case .orders where request.method == "POST":
            return createOrder(request, claims: claims, on: connection)
        case .orders:
            return .respond(poll(request, claims: claims))
        case .ordersManage:
            return .respond(readResponse { try legacyList(claims: claims) })
        case .order(let id):
            return .respond(readResponse { try getOrder(id, claims: claims) })
        case .orderTracking(let id):
            return updateTracking(id, request, claims: claims, on: connection)
        default:
            return .respond(.error(.notFound, code: "not_found", message: "no route"))
        }
    }

    private func metricsResponse() -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        return HTTPResponse(status: .ok, headers: headers, body: Array(metrics.render().utf8))
    }

    private func forbidden(_ message: String) -> HTTPResponse {
        .error(.forbidden, code: "forbidden", message: message)
    }

    /// Storage read failures become 503 with a generic message (the detail goes to the log).
    private func readResponse(_ body: () throws -> HTTPResponse) -> HTTPResponse {
        do {
            return try body()
        } catch {
            loop.logger.error("read failed: \(error)")
            return .error(.serviceUnavailable, code: "storage_unavailable", message: "the database could not be read; retry")
        }
    }

    // MARK: - Writes

    private func createOrder(_ request: HTTPRequest, claims: Claims, on connection: Connection) -> RequestOutcome {
        let input: NewOrderInput
        do {
            input = try NewOrderInput.parse(request.body)
        } catch {
            return .respond(inputError(error))
        }
        let owner: String
        switch claims.role {
        case .user:
            if let other = input.userId, other != claims.sub {
                return .respond(forbidden("a user can only create its own orders"))
            }
            owner = claims.sub
        case .admin, .service:
            guard let userId = input.userId, !userId.isEmpty else {
                return .respond(.error(.badRequest, code: "bad_request", message: "userId is required for admin and service callers"))
            }
            owner = userId
        }
        var idempotency: IdempotencyKey?
        if let key = request.headers["Idempotency-Key"] {
            guard !key.isEmpty, key.utf8.count <= 255, key.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7e }) else {
                return .respond(.error(.badRequest, code: "bad_request", message: "Idempotency-Key must be 1-255 visible ASCII characters"))
            }
            idempotency = IdempotencyKey(sub: claims.sub, key: key, bodyHash: Digest.sha256(request.body))
        }
        submit(.create(input, ownerId: owner, idempotency: idempotency), from: connection)
        return .deferred
    }

    private func updateTracking(_ id: String, _ request: HTTPRequest, claims: Claims, on connection: Connection) -> RequestOutcome {
        guard claims.role != .user else { return .respond(forbidden("only admin and service callers update tracking")) }
        let input: TrackingInput
        do {
            input = try TrackingInput.parse(request.body)
        } catch {
            return .respond(inputError(error))
        }
        submit(.updateTracking(orderId: id, input), from: connection)
        return .deferred
    }

    private func inputError(_ error: OrderInputError) -> HTTPResponse {
        switch error.kind {
        case .tooLarge: return .error(.contentTooLarge, code: "content_too_large", message: error.message)
        case .malformedJSON: return .error(.badRequest, code: "bad_json", message: error.message)
        case .invalidField: return .error(.badRequest, code: "bad_request", message: error.message)
        }
    }

    // MARK: - Reads

    private func getOrder(_ id: String, claims: Claims) throws -> HTTPResponse {
        guard let order = try store.order(id: id) else {
            return .error(.notFound, code: "not_found", message: "no order \(id)")
        }
        guard claims.role != .user || order.userId == claims.sub else {
            return forbidden("this order belongs to another user")
        }
        var w = JSONWriter()
        w.appendRaw(#"{"order":"#)
        order.appendJSON(to: &w)
        w.append(UInt8(ascii: "}"))
        return .json(.ok, w.bytes)
    }

    /// Orders listed at most, for the legacy list and the polling answer without `since`.
    static let maxListedOrders = 1000

    private func legacyList(claims: Claims) throws -> HTTPResponse {
        let orders = try store.orders(userId: claims.role == .user ? claims.sub : nil, limit: Self.maxListedOrders)
        var w = JSONWriter()
        w.appendRaw(#"{"orders":["#)
        for (i, order) in orders.enumerated() {
            if i > 0 { w.append(UInt8(ascii: ",")) }
            order.appendJSON(to: &w)
        }
        w.appendRaw("]}")
        return .json(.ok, w.bytes)
    }

    /// `GET /api/orders?since=N&epoch=E&limit=L`: the polling fallback.
    ///
    /// The cursor only moves when the caller is given events: with nothing new the answer
    /// (and its ETag) stays the same, so a client polling every 5 s gets a body-less 304.
    private func poll(_ request: HTTPRequest, claims: Claims) -> HTTPResponse {
        let userScope = claims.role == .user ? claims.sub : nil
        let channel = userScope.map { "user:" + $0 } ?? "admin"
        var since: Int64?
        if let raw = request.queryValue("since") {
            guard let v = Int64(raw), v >= 0 else {
                return .error(.badRequest, code: "bad_request", message: "since must be a non-negative integer")
            }
            since = v
        }
        var limit = config.pollLimit
        if let raw = request.queryValue("limit") {
            guard let v = Int(raw), v >= 1, v <= config.pollLimit else {
                return .error(.badRequest, code: "bad_request", message: "limit must be an integer from 1 to \(config.pollLimit)")
            }
            limit = v
        }
        if let e = request.queryValue("epoch"), e != epoch, since != nil {
            return cursorExpired("this cursor belongs to another event history (epoch); reload without since")
        }
        return readResponse {
            let head = try store.head()
            var orders: [Order]
            var events: [StoredEvent] = []
            let cursor: Int64
            if let since {
                guard since >= (try store.retainedFloor()), since <= head else {
                    return cursorExpired("events after \(since) are no longer retained; reload without since")
                }
                events = try store.events(after: since, userId: userScope, limit: limit)
                var seen = Set<String>()
                let ids = events.compactMap { seen.insert($0.orderId).inserted ? $0.orderId : nil }
                orders = try store.orders(ids: ids)
                cursor = events.last?.seq ?? since
            } else {
                orders = try store.orders(userId: userScope, limit: Self.maxListedOrders)
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
        }
    }

    private func cursorExpired(_ message: String) -> HTTPResponse {
        .error(HTTPStatus(code: 410, reason: "Gone"), code: "cursor_expired", message: message)
    }

    /// Who the answer is for, in its ETag: "a" for the admin view, else a hash of the user's
    /// sub, so two users' lists (same URL, same head, same count) never share an ETag and a
    /// browser cache revalidating one user's copy cannot be told the other's is current.
    static func etagScope(_ userScope: String?) -> String {
        guard let userScope else { return "a" }
        let hex = Array("0123456789abcdef".utf8)
        let digest = Digest.sha256(Array(userScope.utf8)).prefix(8)
        return "u" + String(decoding: digest.flatMap { [hex[Int($0 >> 4)], hex[Int($0 & 0xF)]] }, as: UTF8.self)
    }

    static func etagMatches(_ header: String, _ etag: String) -> Bool {
        header.split(separator: ",").contains { candidate in
            let c = candidate.trimmingSpaces
            return c == "*" || c == etag || c == "W/" + etag
        }
    }
}
