import Auth
import HTTP1
import JSON
import OpenSSLKit
import Orders
import Reactor
import Storage

/// The order endpoints of docs/PROTOCOL.md §4 other than polling: create
/// (`POST /api/orders`), update tracking, read one order, and the legacy list
/// (`/api/orders/manage`). Writes go to `WriteSubmission`; reads are jobs for `StoreReads`
/// (on the loop with SQLite, on the `DatabaseReader` with PostgreSQL).
final class OrdersAPI {
    /// Orders listed at most, for the legacy list and the polling answer without `since`.
    static let maxListedOrders = 1000

    private let writes: WriteSubmission
    private let userWrites: UserWriteLimiter
    private let reads: StoreReads

    init(writes: WriteSubmission, userWrites: UserWriteLimiter, reads: StoreReads) {
        self.writes = writes
        self.userWrites = userWrites
        self.reads = reads
    }

    func createOrder(_ request: HTTPRequest, claims: Claims, on connection: Connection) -> RequestOutcome {
        let input: NewOrderInput
        do {
            input = try NewOrderInput.parse(request.body)
        } catch {
            return .respond(APIResponses.inputError(error))
        }
        let owner: String
        switch claims.role {
        case .user:
            if let other = input.userId, other != claims.sub {
                return .respond(APIResponses.forbidden("a user can only create its own orders"))
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
        // Counted once the request is known to be a valid write: only those cost a commit.
        if claims.role == .user, case .limited(let retryAfter) = userWrites.take(sub: claims.sub, nowMs: MonotonicClock.nowMilliseconds()) {
            var response = HTTPResponse.error(.tooManyRequests, code: "rate_limited",
                                              message: "too many writes; at most \(Self.rateText(userWrites)) per second, retry after \(retryAfter) s")
            response.headers.add("Retry-After", String(retryAfter))
            writes.logLimitHit("user write rate", "user writes over --user-write-rate answered 429")
            return .respond(response)
        }
        writes.submit(.create(input, ownerId: owner, idempotency: idempotency), from: connection)
        return .deferred
    }

    private static func rateText(_ limiter: UserWriteLimiter) -> String {
        let r = limiter.ratePerSecond
        return r == r.rounded() ? String(Int(r)) : String(r)
    }

    func updateTracking(_ id: String, _ request: HTTPRequest, claims: Claims, on connection: Connection) -> RequestOutcome {
        guard claims.role != .user else { return .respond(APIResponses.forbidden("only admin and service callers update tracking")) }
        let input: TrackingInput
        do {
            input = try TrackingInput.parse(request.body)
        } catch {
            return .respond(APIResponses.inputError(error))
        }
        writes.submit(.updateTracking(orderId: id, input), from: connection)
        return .deferred
    }

    func getOrder(_ id: String, claims: Claims, on connection: Connection) -> RequestOutcome {
        reads.respond(to: connection) { store in
            guard let order = try store.order(id: id) else {
                return .error(.notFound, code: "not_found", message: "no order \(id)")
            }
            guard claims.role != .user || order.userId == claims.sub else {
                return APIResponses.forbidden("this order belongs to another user")
            }
            var w = JSONWriter()
            w.appendRaw(#"{"order":"#)
            order.appendJSON(to: &w)
            w.append(UInt8(ascii: "}"))
            return .json(.ok, w.bytes)
        }
    }

    func legacyList(claims: Claims, on connection: Connection) -> RequestOutcome {
        reads.respond(to: connection) { store in
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
    }
}
