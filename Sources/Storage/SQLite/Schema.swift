/// The database layout, versioned with `PRAGMA user_version`. Each migration takes the
/// schema from version `index` to `index + 1` and runs in the same transaction that
/// bumps the version, so a crash leaves either the old or the new schema.
enum Schema {
    static let migrations: [String] = [v1]
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
}
