extension SQLiteOrderStore {
    /// Deletes the oldest events, up to the first one created at or after `olderThanMs`,
    /// and moves the floor to the last deleted seq. Pruning stops at the first newer event
    /// even if later ones are older (a clock step back), so the retained events always
    /// form one contiguous run above the floor. Idempotency keys older than the cut-off
    /// go too: the retry window is the retention period.
    public func pruneEvents(olderThanMs: Int64) throws -> Int {
        try db.run("BEGIN IMMEDIATE")
        do {
            let floor = try retainedFloor()
            // Scans in seq order from the oldest event and stops at the first one to keep,
            // so the cost is the number of events pruned, with no time index to maintain.
            let firstKept = try db.queryFirst("SELECT seq FROM events WHERE created_at >= ? ORDER BY seq LIMIT 1",
                                              [.integer(olderThanMs)]) { $0.int64(0) }
            let newFloor = try firstKept.map { $0 - 1 } ?? head()
            var deleted = 0
            if newFloor > floor {
                try db.run("DELETE FROM events WHERE seq <= ?", [.integer(newFloor)])
                deleted = db.changes
                try db.run("UPDATE meta SET value = ? WHERE key = 'pruned_through'", [.text(String(newFloor))])
            }
            try db.run("DELETE FROM idempotency_keys WHERE created_at < ?", [.integer(olderThanMs)])
            try db.run("COMMIT")
            return deleted
        } catch {
            if !db.isAutocommit { try? db.execute("ROLLBACK") }
            throw error
        }
    }
}
