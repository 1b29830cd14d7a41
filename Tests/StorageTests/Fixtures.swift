import JSON
import Orders
@testable import Storage

enum Fixtures {
    static func input(_ items: [(String, Int, Double)] = [("p1", 2, 120)], payment: PaymentMethod = .cashOnDelivery,
                      metadata: JSONValue = .null, address: JSONValue = .null) -> NewOrderInput {
        NewOrderInput(items: items.map { OrderItem(productId: $0.0, name: "Item \($0.0)", quantity: $0.1, price: $0.2) },
                      paymentMethod: payment, shippingAddress: address, metadata: metadata)
    }

    static func key(_ sub: String, _ key: String, body: String = "body") -> IdempotencyKey {
        IdempotencyKey(sub: sub, key: key, bodyHash: Array(body.utf8))
    }
}

extension OrderRepository {
    /// Applies one write and returns its outcome, recording an issue on failure.
    func applyOne(_ write: OrderWrite, nowMs: Int64 = 1_000) throws -> WriteOutcome {
        let results = apply([write], nowMs: nowMs)
        guard results.count == 1 else { throw StorageError(code: nil, message: "expected one result") }
        return try results[0].get()
    }

    func create(_ owner: String, _ input: NewOrderInput = Fixtures.input(), key: IdempotencyKey? = nil,
                nowMs: Int64 = 1_000) throws -> WriteOutcome {
        try applyOne(.create(input, ownerId: owner, idempotency: key), nowMs: nowMs)
    }

    func track(_ orderId: String, _ update: TrackingInput, nowMs: Int64 = 2_000) throws -> WriteOutcome {
        try applyOne(.updateTracking(orderId: orderId, update), nowMs: nowMs)
    }
}

extension EventLog {
    func allEvents() throws -> [StoredEvent] { try events(after: 0, userId: nil, limit: .max) }
}
