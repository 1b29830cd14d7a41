/// The PostgreSQL layout, versioned in the one-row `schema_version` table. Each migration
/// takes the schema from version `index` to `index + 1` and runs in the transaction that
/// records the new version, under an advisory lock, so several nodes starting at once
/// migrate once and a crash leaves either the old or the new schema. The statements say
/// `IF NOT EXISTS` as well, so a half-applied manual change does not block a start.
///
/// The same tables as the SQLite schema (`Schema.swift`), with two differences:
/// - `events.seq` is not a sequence: `event_log.head` is the counter, incremented in the
///   appending transaction, so a rolled-back write gives its number back and seqs stay
///   gap-free (a PostgreSQL sequence is not transactional and would leave holes).
/// - `orders.insertion` stands in for SQLite's rowid, to break ties between orders
///   created in the same millisecond.
/// JSON is stored as `bytea`: the exact bytes that were sent live, whatever the database
/// encoding.
enum PostgresSchema {
    static let migrations: [String] = [v1]
    static var currentVersion: Int { migrations.count }

    /// `pg_advisory_xact_lock` keys (per database). Arbitrary constants, "OPUSH" + a number.
    static let migrationLockKey: Int64 = 0x4F_5055_5348_0001
    static let appendLockKey: Int64 = 0x4F_5055_5348_0002

    /// Created before the version can be read; the advisory lock is already held.
    static let versionTable = """
        CREATE TABLE IF NOT EXISTS schema_version (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            version   integer NOT NULL
        )
        """

    static let v1 = """
        CREATE TABLE IF NOT EXISTS orders (
            id               text PRIMARY KEY,
            user_id          text NOT NULL,
            status           text NOT NULL,
            payment_method   text NOT NULL,
            total            double precision NOT NULL,
            items            bytea NOT NULL,      -- JSON array of items
            shipping_address bytea NOT NULL,      -- JSON object or null
            metadata         bytea NOT NULL,      -- JSON, as the client sent it
            location_lat     double precision,
            location_lng     double precision,
            partner_name     text,
            partner_phone    text,
            created_at       bigint NOT NULL,     -- Unix ms
            updated_at       bigint NOT NULL,
            insertion        bigint GENERATED ALWAYS AS IDENTITY
        );
        -- Newest first, per user and overall; insertion order breaks ties.
        CREATE INDEX IF NOT EXISTS orders_by_user ON orders (user_id, created_at, insertion);
        CREATE INDEX IF NOT EXISTS orders_by_created ON orders (created_at, insertion);

        CREATE TABLE IF NOT EXISTS tracking_history (
            order_id     text NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
            position     integer NOT NULL,        -- 0 is the "placed" entry
            status       text NOT NULL,
            note         text,
            location_lat double precision,
            location_lng double precision,
            at           bigint NOT NULL,
            PRIMARY KEY (order_id, position)
        );

        CREATE TABLE IF NOT EXISTS events (
            seq        bigint PRIMARY KEY,        -- from event_log.head, never reused
            kind       text NOT NULL,
            order_id   text NOT NULL,
            user_id    text NOT NULL,
            created_at bigint NOT NULL,
            order_json bytea NOT NULL             -- the order right after the change
        );
        CREATE INDEX IF NOT EXISTS events_by_user ON events (user_id, seq);

        CREATE TABLE IF NOT EXISTS idempotency_keys (
            sub        text NOT NULL,
            key        text NOT NULL,
            body_hash  bytea NOT NULL,
            order_id   text NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
            seq        bigint NOT NULL,
            created_at bigint NOT NULL,
            PRIMARY KEY (sub, key)
        );

        -- One row: the history's name, the newest seq ever handed out (kept when events
        -- are pruned, so a seq is never reused) and the pruning floor.
        CREATE TABLE IF NOT EXISTS event_log (
            singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            epoch          text NOT NULL,
            head           bigint NOT NULL,
            pruned_through bigint NOT NULL
        );
        """
}
