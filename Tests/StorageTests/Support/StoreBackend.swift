import Testing
@testable import Storage

/// What the server needs from a store, whatever the backend.
typealias OrderStore = OrderRepository & EventLog

/// The backends the shared behavioural tests run against: each such test takes a
/// `StoreBackend` argument, so it runs once per backend with the same body.
enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    /// Every backend, but PostgreSQL only when it is not skipped (`ORDERPUSH_SKIP_POSTGRES=1`).
    static var underTest: [StoreBackend] { TestPostgres.isSkipped ? [.sqlite] : allCases }

    var testDescription: String { rawValue }
}

/// One database of one backend, private to one test. `open()` can be called again for
/// another store on the same database: a reopen, or (for PostgreSQL) another node.
///
/// SQLite databases are files in `directory`, which the test's suite owns (a stored
/// property), so they outlive every store of the test; PostgreSQL ones are fresh
/// databases on the shared test cluster.
final class StoreFixture {
    let backend: StoreBackend
    private let sqlitePath: String
    /// The PostgreSQL database's URL (PostgreSQL only).
    let postgresURL: PostgresURL?

    init(_ backend: StoreBackend, in directory: TemporaryDirectory, name: String = "orders") throws {
        self.backend = backend
        sqlitePath = directory.file(name + ".sqlite")
        postgresURL = backend == .postgres ? try TestPostgres.shared().createDatabase() : nil
    }

    /// A store on this fixture's database (created with its schema on first open).
    func open() throws -> any OrderStore {
        switch backend {
        case .sqlite: try SQLiteOrderStore(path: sqlitePath)
        case .postgres: try PostgresOrderStore(url: postgresURL!)
        }
    }

    /// Makes inserting a tracking entry whose note is `note` fail with "boom refused"
    /// (after the orders row was updated), on `store`'s connection.
    func failHistoryInserts(withNote note: String, on store: any OrderStore) throws {
        switch store {
        case let sqlite as SQLiteOrderStore:
            try sqlite.db.execute("""
                CREATE TEMP TRIGGER boom BEFORE INSERT ON tracking_history WHEN NEW.note = '\(note)'
                BEGIN SELECT RAISE(ABORT, 'boom refused'); END
                """)
        case let postgres as PostgresOrderStore:
            try postgres.connection.executeScript("""
                CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'boom refused'; END $$;
                CREATE TRIGGER boom BEFORE INSERT ON tracking_history FOR EACH ROW
                WHEN (NEW.note = '\(note)') EXECUTE FUNCTION boom();
                """)
        default:
            Issue.record("unknown store type \(type(of: store))")
        }
    }

    /// Makes COMMIT fail (a deferred foreign key violation) for any batch that appends an
    /// event for `userId`, without touching the real schema's constraints.
    func failCommits(withEventFor userId: String, on store: any OrderStore) throws {
        switch store {
        case let sqlite as SQLiteOrderStore:
            try sqlite.db.execute("""
                CREATE TEMP TABLE parent (id INTEGER PRIMARY KEY);
                CREATE TEMP TABLE child (parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);
                CREATE TEMP TRIGGER orphan AFTER INSERT ON events WHEN NEW.user_id = '\(userId)'
                BEGIN INSERT INTO child VALUES (NEW.seq); END
                """)
        case let postgres as PostgresOrderStore:
            try postgres.connection.executeScript("""
                CREATE TABLE parent (id bigint PRIMARY KEY);
                CREATE TABLE child (parent_id bigint REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
                CREATE FUNCTION orphan() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN INSERT INTO child VALUES (NEW.seq); RETURN NULL; END $$;
                CREATE TRIGGER orphan AFTER INSERT ON events FOR EACH ROW
                WHEN (NEW.user_id = '\(userId)') EXECUTE FUNCTION orphan();
                """)
        default:
            Issue.record("unknown store type \(type(of: store))")
        }
    }

    /// Undoes `failCommits`.
    func stopFailingCommits(on store: any OrderStore) throws {
        switch store {
        case let sqlite as SQLiteOrderStore: try sqlite.db.execute("DROP TRIGGER orphan")
        case let postgres as PostgresOrderStore: try postgres.connection.executeScript("DROP TRIGGER orphan ON events")
        default: Issue.record("unknown store type \(type(of: store))")
        }
    }
}
