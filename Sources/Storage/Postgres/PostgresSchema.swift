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
    static let migrations: [String] = [v1, v2, v3]
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

    /// Search and paging (`searchOrders`, `statusCounts`), the counterpart of SQLite's v2:
    /// - the creation number is `insertion`: handed out under the append lock, so it grows
    ///   in commit order across nodes and never repeats; pages are cut on it (keyset).
    /// - an index per filter ending in `insertion`, so a filtered page is one range scan
    ///   from the cursor downwards.
    /// - `order_item_words`: each item name's words (lowercased runs of letters and digits,
    ///   cut to 8 characters like the query's), kept by a trigger, for word-prefix matches;
    ///   an id prefix uses the `text_pattern_ops` index on `id`.
    /// - `order_status_counts`: the count per status, kept by triggers in the writing
    ///   transaction, so the dashboard's tab counts cost one small read.
    /// Letters are lowercased and split by the database's locale (Debian's default UTF-8
    /// locales handle accented letters; a `C` locale database treats them as separators),
    /// and accents are not folded as SQLite's `unicode61` tokenizer does.
    static let v2 = """
        CREATE INDEX IF NOT EXISTS orders_by_insertion ON orders (insertion);
        CREATE INDEX IF NOT EXISTS orders_by_status_insertion ON orders (status, insertion);
        CREATE INDEX IF NOT EXISTS orders_by_user_insertion ON orders (user_id, insertion, status);
        CREATE INDEX IF NOT EXISTS orders_by_id_pattern ON orders (id text_pattern_ops);

        CREATE OR REPLACE FUNCTION orderpush_item_words(items bytea) RETURNS SETOF text
        LANGUAGE sql IMMUTABLE AS $$
            SELECT DISTINCT left(w, 8)
            FROM jsonb_array_elements(convert_from(items, 'UTF8')::jsonb) AS item,
                 regexp_split_to_table(lower(coalesce(item->>'name', '')), '[^[:alnum:]]+') AS w
            WHERE w <> ''
        $$;
        CREATE TABLE IF NOT EXISTS order_item_words (
            insertion bigint NOT NULL,
            word      text NOT NULL,
            PRIMARY KEY (insertion, word)
        );
        CREATE INDEX IF NOT EXISTS order_item_words_by_word ON order_item_words (word text_pattern_ops, insertion);
        INSERT INTO order_item_words (insertion, word)
            SELECT o.insertion, w FROM orders o, orderpush_item_words(o.items) AS w ON CONFLICT DO NOTHING;

        CREATE TABLE IF NOT EXISTS order_status_counts (
            status text PRIMARY KEY,
            n      bigint NOT NULL
        );
        INSERT INTO order_status_counts (status, n) SELECT status, count(*) FROM orders GROUP BY status
            ON CONFLICT (status) DO UPDATE SET n = EXCLUDED.n;

        CREATE OR REPLACE FUNCTION orderpush_order_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO order_item_words (insertion, word)
                SELECT NEW.insertion, w FROM orderpush_item_words(NEW.items) AS w ON CONFLICT DO NOTHING;
            INSERT INTO order_status_counts (status, n) VALUES (NEW.status, 1)
                ON CONFLICT (status) DO UPDATE SET n = order_status_counts.n + 1;
            RETURN NULL;
        END $$;
        CREATE OR REPLACE FUNCTION orderpush_order_status_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE order_status_counts SET n = n - 1 WHERE status = OLD.status;
            INSERT INTO order_status_counts (status, n) VALUES (NEW.status, 1)
                ON CONFLICT (status) DO UPDATE SET n = order_status_counts.n + 1;
            RETURN NULL;
        END $$;
        DROP TRIGGER IF EXISTS order_inserted ON orders;
        CREATE TRIGGER order_inserted AFTER INSERT ON orders
            FOR EACH ROW EXECUTE FUNCTION orderpush_order_inserted();
        DROP TRIGGER IF EXISTS order_status_changed ON orders;
        CREATE TRIGGER order_status_changed AFTER UPDATE OF status ON orders
            FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status) EXECUTE FUNCTION orderpush_order_status_changed();
        """

    /// Polling (`pollPage`), the counterpart of SQLite's v3: an order's current JSON is its
    /// newest event's `order_json`, found by this index in one step per order.
    static let v3 = """
        CREATE INDEX IF NOT EXISTS events_by_order ON events (order_id, seq);
        """
}
