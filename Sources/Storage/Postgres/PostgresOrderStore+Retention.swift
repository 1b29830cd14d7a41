extension PostgresOrderStore {
    /// Deletes the oldest events, up to the first one created at or after `olderThanMs`,
    /// and moves the floor to the last deleted seq, exactly as `SQLiteOrderStore` does (the
    /// retained events stay one contiguous run above the floor). Idempotency keys older
    /// than the cut-off go too.
    ///
    /// Takes the append lock, so pruning runs one node at a time and never between an
    /// appender's seq and its commit (the head it may move the floor to is committed).
    public func pruneEvents(olderThanMs: Int64) throws -> Int {
        try ensureConnected()
        try connection.executeScript("BEGIN")
        do {
            try connection.execute("SELECT pg_advisory_xact_lock($1)", params: [String(PostgresSchema.appendLockKey)])
            guard let (head, floor) = try connection.execute("SELECT head, pruned_through FROM event_log")
                .first({ (row) throws(PostgresError) in (try row.int64(0), try row.int64(1)) }) else {
                throw PostgresError(kind: .unexpectedValue, message: "event_log has no row")
            }
            // Scans in seq order from the oldest event and stops at the first one to keep.
            let firstKept = try connection.execute("SELECT seq FROM events WHERE created_at >= $1 ORDER BY seq LIMIT 1",
                                                   params: [String(olderThanMs)]).first { try $0.int64(0) }
            let newFloor = firstKept.map { $0 - 1 } ?? head
            var deleted = 0
            if newFloor > floor {
                deleted = try connection.execute("DELETE FROM events WHERE seq <= $1", params: [String(newFloor)]).affectedRows
                try connection.execute("UPDATE event_log SET pruned_through = $1", params: [String(newFloor)])
            }
            try connection.execute("DELETE FROM idempotency_keys WHERE created_at < $1", params: [String(olderThanMs)])
            let status = try connection.execute("COMMIT").commandStatus
            guard status == "COMMIT" else {
                throw PostgresError(kind: .unexpectedValue, message: "pruning was rolled back at COMMIT (\(status))")
            }
            return deleted
        } catch {
            if connection.isConnected && connection.isInTransaction { _ = try? connection.executeScript("ROLLBACK") }
            throw error
        }
    }
}
