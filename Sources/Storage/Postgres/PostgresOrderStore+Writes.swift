import JSON
import Orders

extension PostgresOrderStore {
    /// Applies `writes` in one transaction, each in its own SAVEPOINT, like
    /// `SQLiteOrderStore.apply`, and commits them in `seq` order with every other node.
    ///
    /// Why a lock: a transaction that takes seq N and one that takes N+1 could otherwise
    /// commit in either order, and a reader running between the two commits would see N+1
    /// without N; its cursor would then move past N and skip it forever. (The same holds
    /// for a PostgreSQL sequence: numbers are handed out before commit, not in commit
    /// order.) So the batch takes a transaction-scoped advisory lock before it assigns any
    /// seq and keeps it until its COMMIT has finished; the next appender, on any node,
    /// waits for it and can only take higher seqs and commit later. PostgreSQL releases a
    /// transaction's locks after the commit is visible to other sessions, so "N+1 visible"
    /// implies "N visible". (The row lock of `UPDATE event_log SET head = head + 1` would
    /// order seqs too; the advisory lock is taken first so that the whole batch, its
    /// idempotency-key checks included, is one serial step across nodes, and so the
    /// guarantee is stated in one place rather than left to a side effect.) The cost is
    /// that appends are serial across nodes, one group commit at a time, which batching
    /// amortises.
    ///
    /// Round trips: BEGIN and the lock in one, then per write its savepoint (with the
    /// previous one's release) and its statements (prepared once per connection), then
    /// NOTIFY and COMMIT in one.
    public func apply(_ writes: [OrderWrite], nowMs: Int64) -> [Result<WriteOutcome, WriteError>] {
        guard !writes.isEmpty else { return [] }
        do {
            try ensureConnected()
            // One round trip: the key is this build's constant, not input.
            try connection.executeScript("BEGIN; SELECT pg_advisory_xact_lock(\(PostgresSchema.appendLockKey))")
        } catch {
            rollbackQuietly()
            return writes.map { _ in .failure(.storage("\(error)")) }
        }
        var results: [Result<WriteOutcome, WriteError>] = []
        results.reserveCapacity(writes.count)
        var head: Int64?
        var releasePending = false
        var committing = false
        do {
            for write in writes {
                // The previous write's savepoint is released in the same round trip.
                try connection.executeScript(releasePending ? "RELEASE one_write; SAVEPOINT one_write" : "SAVEPOINT one_write")
                do {
                    let outcome = try perform(write, nowMs: nowMs)
                    releasePending = true
                    results.append(.success(outcome))
                    if !outcome.replayed { head = outcome.event.seq }
                } catch let failure {
                    // Undo this write only; the batch goes on.
                    try connection.executeScript("ROLLBACK TO one_write; RELEASE one_write")
                    releasePending = false
                    results.append(.failure(failure))
                }
            }
            // COMMIT releases the last savepoint. The NOTIFY is delivered to every
            // LISTENer when (and only if) this transaction commits; its payload is the new
            // head: the last seq appended, as the lock was held throughout.
            committing = true
            let status = try connection.executeScript(head.map {
                "SELECT pg_notify('\(Self.notificationChannel)', '\($0)'); COMMIT"
            } ?? "COMMIT").commandStatus
            guard status == "COMMIT" else {
                throw PostgresError(kind: .unexpectedValue, message: "the transaction was rolled back at COMMIT (\(status))")
            }
            return results
        } catch {
            // The transaction itself failed (COMMIT, or a savepoint that could not be
            // rolled back): nothing of the batch was kept, so every write failed. If the
            // connection broke during COMMIT the outcome is unknown; the message says so,
            // and an idempotency key makes the client's retry safe.
            rollbackQuietly()
            var message = "\(error)"
            if committing, (error as? PostgresError)?.isConnectionFailure == true {
                message += "; the batch may or may not have been committed"
            }
            return writes.map { _ in .failure(.storage(message)) }
        }
    }

    private func rollbackQuietly() {
        if connection.isConnected && connection.isInTransaction { _ = try? connection.executeScript("ROLLBACK") }
    }

    /// Performs one write inside the caller's savepoint. Database failures come out as
    /// `WriteError.storage`, so the savepoint is rolled back like any refused write.
    private func perform(_ write: OrderWrite, nowMs: Int64) throws(WriteError) -> WriteOutcome {
        do {
            switch write {
            case let .create(input, ownerId, idempotency):
                return try create(input, ownerId: ownerId, idempotency: idempotency, nowMs: nowMs)
            case let .updateTracking(orderId, update):
                guard let current = try loadOrder(id: orderId) else { throw WriteError.orderNotFound(orderId) }
                let next = current.applying(update, atMs: nowMs)
                try connection.executeCached("""
                    UPDATE orders SET status = $1, location_lat = $2, location_lng = $3, partner_name = $4,
                    partner_phone = $5, updated_at = $6 WHERE id = $7
                    """, params: [next.status.rawValue, Self.text(next.tracking.location?.lat),
                                  Self.text(next.tracking.location?.lng), next.tracking.deliveryPartner?.name,
                                  next.tracking.deliveryPartner?.phone, String(next.updatedAtMs), orderId])
                let event = try appendEvent(StoredEvent.trackingUpdated, order: next, nowMs: nowMs,
                                            history: (next.tracking.history.last!, next.tracking.history.count - 1))
                return WriteOutcome(order: next, event: event, replayed: false)
            }
        } catch let failure as WriteError {
            throw failure
        } catch {
            throw .storage("\(error)")
        }
    }

    private func create(_ input: NewOrderInput, ownerId: String, idempotency: IdempotencyKey?,
                        nowMs: Int64) throws -> WriteOutcome {
        // Keys are unique across nodes: every appender holds the append lock, so no other
        // transaction can insert this key between this check and this insert.
        if let idempotency, let replay = try replay(idempotency) { return replay }

        var order = Order(id: Order.makeID(), userId: ownerId, input: input, nowMs: nowMs)
        let items = PostgresBytea.encode(SQLiteOrderStore.itemsJSON(order.items))
        let address = PostgresBytea.encode(order.shippingAddress.serialized())
        let metadata = PostgresBytea.encode(order.metadata.serialized())
        // 64 random bits make a clash unlikely, but a clash must not fail the request:
        // ON CONFLICT inserts nothing and returns no row, and another id is tried.
        while try connection.executeCached("""
            INSERT INTO orders (id, user_id, status, payment_method, total, items, shipping_address, metadata,
            created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            ON CONFLICT (id) DO NOTHING RETURNING 1
            """, params: [order.id, order.userId, order.status.rawValue, order.paymentMethod.rawValue,
                          Self.text(order.total), items, address, metadata, String(order.createdAtMs),
                          String(order.updatedAtMs)]).rowCount == 0 {
            order.id = Order.makeID()
        }
        // The last history row goes in with the event (one round trip for both).
        let history = order.tracking.history
        for (position, entry) in history.enumerated().dropLast() {
            try insertHistory(entry, orderId: order.id, position: position)
        }
        let event = try appendEvent(StoredEvent.orderCreated, order: order, nowMs: nowMs,
                                    history: history.last.map { ($0, history.count - 1) })
        if let idempotency {
            try connection.executeCached("""
                INSERT INTO idempotency_keys (sub, key, body_hash, order_id, seq, created_at)
                VALUES ($1, $2, $3, $4, $5, $6)
                """, params: [idempotency.sub, idempotency.key, PostgresBytea.encode(idempotency.bodyHash), order.id,
                              String(event.seq), String(nowMs)])
        }
        return WriteOutcome(order: order, event: event, replayed: false)
    }

    /// The outcome of the first request with this key, or `nil` if the key is new.
    /// - Throws: `WriteError.idempotencyConflict` when the key came with another body.
    private func replay(_ idempotency: IdempotencyKey) throws -> WriteOutcome? {
        let stored = try connection.executeCached("SELECT body_hash, order_id, seq FROM idempotency_keys WHERE sub = $1 AND key = $2",
                                            params: [idempotency.sub, idempotency.key]).first { row throws(PostgresError) in
            (hash: try row.bytes(0), orderId: try row.string(1), seq: try row.int64(2))
        }
        guard let stored else { return nil }
        guard stored.hash == idempotency.bodyHash else { throw WriteError.idempotencyConflict }
        guard let order = try loadOrder(id: stored.orderId) else {
            throw PostgresError(kind: .unexpectedValue, message: "idempotency key points at missing order \(stored.orderId)")
        }
        let event = try connection.execute("""
            SELECT seq, kind, order_id, user_id, created_at, order_json FROM events WHERE seq = $1
            """, params: [String(stored.seq)]).first(Self.event)
            ?? StoredEvent(seq: stored.seq, kind: StoredEvent.orderCreated, orderId: order.id, userId: order.userId,
                           createdAtMs: order.createdAtMs, orderJSON: order.jsonBytes())
        return WriteOutcome(order: order, event: event, replayed: true)
    }

    private func insertHistory(_ entry: TrackingEntry, orderId: String, position: Int) throws(PostgresError) {
        try connection.executeCached("""
            INSERT INTO tracking_history (order_id, position, status, note, location_lat, location_lng, at)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            """, params: [orderId, String(position), entry.status.rawValue, entry.note, Self.text(entry.location?.lat),
                          Self.text(entry.location?.lng), String(entry.atMs)])
    }

    /// Takes the next seq from `event_log.head` (inside the savepoint, so a write rolled
    /// back gives it back) and stores the event under it; with `history`, inserts that
    /// tracking-history row in the same statement (one round trip fewer per write: the
    /// writer holds the append lock across nodes, so its round trips are the cluster's
    /// write throughput).
    private func appendEvent(_ kind: String, order: Order, nowMs: Int64,
                             history: (entry: TrackingEntry, position: Int)? = nil) throws -> StoredEvent {
        let json = order.jsonBytes()
        var params: [String?] = [kind, order.id, order.userId, String(nowMs), PostgresBytea.encode(json)]
        var historyCTE = ""
        if let (entry, position) = history {
            historyCTE = """
                history AS (INSERT INTO tracking_history (order_id, position, status, note, location_lat, location_lng, at)
                VALUES ($2, $6, $7, $8, $9, $10, $11)),
                """
            params += [String(position), entry.status.rawValue, entry.note, Self.text(entry.location?.lat),
                       Self.text(entry.location?.lng), String(entry.atMs)]
        }
        guard let seq = try connection.executeCached("""
            WITH \(historyCTE) next AS (UPDATE event_log SET head = head + 1 RETURNING head)
            INSERT INTO events (seq, kind, order_id, user_id, created_at, order_json)
            SELECT head, $1, $2, $3, $4, $5 FROM next RETURNING seq
            """, params: params).first({ try $0.int64(0) }) else {
            throw PostgresError(kind: .unexpectedValue, message: "event_log has no row")
        }
        return StoredEvent(seq: seq, kind: kind, orderId: order.id, userId: order.userId, createdAtMs: nowMs, orderJSON: json)
    }

    /// A double as a text parameter that reads back as the same value (Swift prints the
    /// shortest representation that round-trips; PostgreSQL 12+ does too).
    static func text(_ value: Double?) -> String? {
        guard let value else { return nil }
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        return "\(value)"
    }
}
