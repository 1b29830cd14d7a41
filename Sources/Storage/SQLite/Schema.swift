/// The database layout, versioned with `PRAGMA user_version`. Each migration takes the
/// schema from version `index` to `index + 1` and runs in the same transaction that
/// bumps the version, so a crash leaves either the old or the new schema.
enum Schema {
    static let migrations: [String] = [v1, v2, v3]
    static var currentVersion: Int { migrations.count }

    static let v1 = """
        CREATE TABLE orders (
            id               TEXT PRIMARY KEY,
            user_id          TEXT NOT NULL,
            status           TEXT NOT NULL,
            payment_method   TEXT NOT NULL,
            total            REAL NOT NULL,
            items            BLOB NOT NULL,      -- JSON array of items
            shipping_address BLOB NOT NULL,      -- JSON object or null
            metadata         BLOB NOT NULL,      -- JSON, as the client sent it
            location_lat     REAL,
            location_lng     REAL,
            partner_name     TEXT,
            partner_phone    TEXT,
            created_at       INTEGER NOT NULL,   -- Unix ms
            updated_at       INTEGER NOT NULL
        );
        -- Newest first, per user and overall; rowid (insertion order) breaks ties.
        CREATE INDEX orders_by_user ON orders(user_id, created_at);
        CREATE INDEX orders_by_created ON orders(created_at);

        CREATE TABLE tracking_history (
            order_id     TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
            position     INTEGER NOT NULL,        -- 0 is the "placed" entry
            status       TEXT NOT NULL,
            note         TEXT,
            location_lat REAL,
            location_lng REAL,
            at           INTEGER NOT NULL,
            PRIMARY KEY (order_id, position)
        ) WITHOUT ROWID;

        -- AUTOINCREMENT: a seq is never handed out twice, even after the newest events
        -- are pruned, so a client cursor can never point at a different event.
        CREATE TABLE events (
            seq        INTEGER PRIMARY KEY AUTOINCREMENT,
            kind       TEXT NOT NULL,
            order_id   TEXT NOT NULL,
            user_id    TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            order_json BLOB NOT NULL             -- the order right after the change
        );
        CREATE INDEX events_by_user ON events(user_id, seq);

        CREATE TABLE idempotency_keys (
            sub        TEXT NOT NULL,
            key        TEXT NOT NULL,
            body_hash  BLOB NOT NULL,
            order_id   TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
            seq        INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (sub, key)
        ) WITHOUT ROWID;

        CREATE TABLE meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID;
        """

    /// Search and paging (`searchOrders`, `statusCounts`):
    /// - `created_seq`: the order's creation number (1, 2, 3... in commit order; the
    ///   writer assigns `MAX + 1` inside its transaction). Pages are cut on it (keyset), so
    ///   an order created while a client pages gets a higher number than every cursor
    ///   already handed out and can never shift a later page. Existing orders are
    ///   numbered in insertion (rowid) order.
    /// - an index per filter, each ending in `created_seq`, so any filtered page is one
    ///   range scan from the cursor downwards, whatever the table's size.
    /// - `order_id_search`, `order_item_search`: FTS5 over the id's hex digits and over
    ///   the item names (rowid = `created_seq`, contentless: only the index is kept). A
    ///   prefix query is read lazily, newest first, only at a prefix length that has a
    ///   prefix index (else FTS5 merges every matching term's whole doclist first, which
    ///   grows with the table): ids get 1-4 (at 5+ hex digits few ids share a prefix),
    ///   item words 1-8 (query words are cut to 8).
    /// - `order_status_counts`: the count per status, kept by triggers in the same
    ///   transaction as the write, so the dashboard's tab counts cost one small read.
    static let v2 = """
        ALTER TABLE orders ADD COLUMN created_seq INTEGER;
        UPDATE orders SET created_seq = rowid;
        CREATE UNIQUE INDEX orders_by_seq ON orders(created_seq);
        CREATE INDEX orders_by_status_seq ON orders(status, created_seq);
        CREATE INDEX orders_by_user_seq ON orders(user_id, created_seq, status);

        CREATE VIRTUAL TABLE order_id_search USING fts5(hex, content='', prefix='1 2 3 4', tokenize='unicode61');
        CREATE VIRTUAL TABLE order_item_search USING fts5(names, content='', prefix='1 2 3 4 5 6 7 8',
                                                          tokenize='unicode61');
        INSERT INTO order_id_search (rowid, hex) SELECT created_seq, substr(id, 5) FROM orders;
        INSERT INTO order_item_search (rowid, names)
            SELECT created_seq, IFNULL((SELECT group_concat(json_extract(value, '$.name'), ' ')
                                        FROM json_each(CAST(items AS TEXT))), '')
            FROM orders;
        CREATE TRIGGER order_search_insert AFTER INSERT ON orders BEGIN
            INSERT INTO order_id_search (rowid, hex) VALUES (NEW.created_seq, substr(NEW.id, 5));
            INSERT INTO order_item_search (rowid, names)
            VALUES (NEW.created_seq, IFNULL((SELECT group_concat(json_extract(value, '$.name'), ' ')
                                             FROM json_each(CAST(NEW.items AS TEXT))), ''));
        END;

        CREATE TABLE order_status_counts (
            status TEXT PRIMARY KEY,
            n      INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO order_status_counts (status, n) SELECT status, count(*) FROM orders GROUP BY status;
        CREATE TRIGGER order_status_count_insert AFTER INSERT ON orders BEGIN
            INSERT INTO order_status_counts (status, n) VALUES (NEW.status, 1)
                ON CONFLICT (status) DO UPDATE SET n = n + 1;
        END;
        CREATE TRIGGER order_status_count_update AFTER UPDATE OF status ON orders
            WHEN NEW.status IS NOT OLD.status BEGIN
            UPDATE order_status_counts SET n = n - 1 WHERE status = OLD.status;
            INSERT INTO order_status_counts (status, n) VALUES (NEW.status, 1)
                ON CONFLICT (status) DO UPDATE SET n = n + 1;
        END;
        """

    /// Polling (`pollPage`): an order's current JSON is its newest event's `order_json`,
    /// found by this index in one step per order (without it, by scanning every event
    /// after the cursor).
    static let v3 = """
        CREATE INDEX events_by_order ON events(order_id, seq);
        """
}
