import JSON
import Orders

extension SQLiteOrderStore {
    public func apply(_ writes: [OrderWrite], nowMs: Int64) -> [Result<WriteOutcome, WriteError>] {
        guard !writes.isEmpty else { return [] }
        do {
            try db.run("BEGIN IMMEDIATE")
        } catch {
            return writes.map { _ in .failure(.storage(error.description)) }
        }
        var results: [Result<WriteOutcome, WriteError>] = []
        results.reserveCapacity(writes.count)
        do {
            for write in writes {
                try db.run("SAVEPOINT one_write")
                do {
                    let outcome = try perform(write, nowMs: nowMs)
                    try db.run("RELEASE one_write")
                    results.append(.success(outcome))
                } catch let failure as WriteError {
                    // Undo this write only; the batch goes on.
                    try db.run("ROLLBACK TO one_write")
                    try db.run("RELEASE one_write")
                    results.append(.failure(failure))
                }
            }
            try db.run("COMMIT")
            return results
        } catch {
            // The transaction itself failed (COMMIT, or a savepoint that could not be
            // rolled back): nothing of the batch was kept, so every write failed.
            if !db.isAutocommit { try? db.execute("ROLLBACK") }
            let message = (error as? StorageError)?.description ?? "\(error)"
            return writes.map { _ in .failure(.storage(message)) }
        }
    }

    /// Performs one write inside the caller's savepoint. Storage failures come out as
    /// `WriteError.storage`, so the savepoint is rolled back like any refused write.
    /// (Helpers throw untyped: refusals are `WriteError`, database failures `StorageError`.)
    private func perform(_ write: OrderWrite, nowMs: Int64) throws(WriteError) -> WriteOutcome {
        do {
            switch write {
            case let .create(input, ownerId, idempotency):
                return try create(input, ownerId: ownerId, idempotency: idempotency, nowMs: nowMs)
            case let .updateTracking(orderId, update):
                guard let current = try loadOrder(id: orderId) else { throw WriteError.orderNotFound(orderId) }
                let next = current.applying(update, atMs: nowMs)
                try db.run("""
                    UPDATE orders SET status = ?, location_lat = ?, location_lng = ?, partner_name = ?,
                    partner_phone = ?, updated_at = ? WHERE id = ?
                    """, [.text(next.status.rawValue), .real(next.tracking.location?.lat), .real(next.tracking.location?.lng),
                          .text(next.tracking.deliveryPartner?.name), .text(next.tracking.deliveryPartner?.phone),
                          .integer(next.updatedAtMs), .text(orderId)])
                try insertHistory(next.tracking.history.last!, orderId: orderId, position: next.tracking.history.count - 1)
                let event = try appendEvent(StoredEvent.trackingUpdated, order: next, nowMs: nowMs)
                return WriteOutcome(order: next, event: event, replayed: false)
            }
        } catch let failure as WriteError {
            throw failure
        } catch {
            throw .storage((error as? StorageError)?.description ?? "\(error)")
        }
    }

    private func create(_ input: NewOrderInput, ownerId: String, idempotency: IdempotencyKey?,
                        nowMs: Int64) throws -> WriteOutcome {
        if let idempotency, let replay = try replay(idempotency) { return replay }

        var id = Order.makeID()
        // 64 random bits make a clash unlikely, but a clash must not fail the request.
        while try db.queryFirst("SELECT 1 FROM orders WHERE id = ?", [.text(id)], row: { _ in true }) != nil {
            id = Order.makeID()
        }
        let order = Order(id: id, userId: ownerId, input: input, nowMs: nowMs)
        try db.run("""
            INSERT INTO orders (\(Self.orderColumns), created_seq)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL, ?, ?,
                    (SELECT IFNULL(MAX(created_seq), 0) + 1 FROM orders))
            """, [.text(order.id), .text(order.userId), .text(order.status.rawValue), .text(order.paymentMethod.rawValue),
                  .real(order.total), .blob(Self.itemsJSON(order.items)), .blob(order.shippingAddress.serialized()),
                  .blob(order.metadata.serialized()), .integer(order.createdAtMs), .integer(order.updatedAtMs)])
        for (position, entry) in order.tracking.history.enumerated() {
            try insertHistory(entry, orderId: order.id, position: position)
        }
        let event = try appendEvent(StoredEvent.orderCreated, order: order, nowMs: nowMs)
        if let idempotency {
            try db.run("""
                INSERT INTO idempotency_keys (sub, key, body_hash, order_id, seq, created_at) VALUES (?, ?, ?, ?, ?, ?)
                """, [.text(idempotency.sub), .text(idempotency.key), .blob(idempotency.bodyHash), .text(order.id),
                      .integer(event.seq), .integer(nowMs)])
        }
        return WriteOutcome(order: order, event: event, replayed: false)
    }

    /// The outcome of the first request with this key, or `nil` if the key is new.
    /// - Throws: `WriteError.idempotencyConflict` when the key came with another body.
    private func replay(_ idempotency: IdempotencyKey) throws -> WriteOutcome? {
        let stored = try db.queryFirst("SELECT body_hash, order_id, seq FROM idempotency_keys WHERE sub = ? AND key = ?",
                                       [.text(idempotency.sub), .text(idempotency.key)]) { row in
            (hash: row.blob(0), orderId: row.string(1), seq: row.int64(2))
        }
        guard let stored else { return nil }
        guard stored.hash == idempotency.bodyHash else { throw WriteError.idempotencyConflict }
        guard let order = try loadOrder(id: stored.orderId) else {
            throw StorageError(code: nil, message: "idempotency key points at missing order \(stored.orderId)")
        }
        let event = try db.queryFirst("""
            SELECT seq, kind, order_id, user_id, created_at, order_json FROM events WHERE seq = ?
            """, [.integer(stored.seq)], row: Self.event)
            ?? StoredEvent(seq: stored.seq, kind: StoredEvent.orderCreated, orderId: order.id, userId: order.userId,
                           createdAtMs: order.createdAtMs, orderJSON: order.jsonBytes())
        return WriteOutcome(order: order, event: event, replayed: true)
    }

    private func insertHistory(_ entry: TrackingEntry, orderId: String, position: Int) throws(StorageError) {
        try db.run("""
            INSERT INTO tracking_history (order_id, position, status, note, location_lat, location_lng, at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """, [.text(orderId), .integer(Int64(position)), .text(entry.status.rawValue), .text(entry.note),
                  .real(entry.location?.lat), .real(entry.location?.lng), .integer(entry.atMs)])
    }

    private func appendEvent(_ kind: String, order: Order, nowMs: Int64) throws(StorageError) -> StoredEvent {
        let json = order.jsonBytes()
        try db.run("INSERT INTO events (kind, order_id, user_id, created_at, order_json) VALUES (?, ?, ?, ?, ?)",
                   [.text(kind), .text(order.id), .text(order.userId), .integer(nowMs), .blob(json)])
        return StoredEvent(seq: db.lastInsertRowID, kind: kind, orderId: order.id, userId: order.userId,
                           createdAtMs: nowMs, orderJSON: json)
    }

    static func itemsJSON(_ items: [OrderItem]) -> [UInt8] {
        JSONValue.array(items.map { item in
            .object([("productId", .string(item.productId)), ("name", .string(item.name)),
                     ("quantity", .number(Double(item.quantity))), ("price", .number(item.price))])
        }).serialized()
    }
}
