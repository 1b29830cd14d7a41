import Testing
@testable import Storage

/// The libpq wrapper against the throwaway test cluster.
@Suite(.enabled(if: !TestPostgres.isSkipped, "ORDERPUSH_SKIP_POSTGRES=1"))
struct PostgresConnectionTests {
    func connect() throws -> PostgresConnection {
        try PostgresConnection(url: TestPostgres.shared().createDatabase())
    }

    @Test func typedColumnsAndTextParameters() throws {
        let db = try connect()
        #expect(db.isConnected && !db.isInTransaction && db.serverVersion >= 120000)
        let result = try db.execute("""
            SELECT $1::bigint, $2::text, $3::text IS NULL, $4::float8, $5::bool, $6::bytea, NULL::text, 'Infinity'::float8
            """, params: ["-9223372036854775808", "é 😀 'q' \"d\"", nil, "0.1", "true", PostgresBytea.encode([0, 1, 0xfe, 0xff])])
        #expect(result.rowCount == 1 && result.columnCount == 8)
        let row = result[0]
        #expect(try row.int64(0) == .min)
        #expect(try row.string(1) == "é 😀 'q' \"d\"")
        #expect(try row.bool(2))
        #expect(try row.double(3) == 0.1)
        #expect(try row.bool(4))
        #expect(try row.bytes(5) == [0, 1, 0xfe, 0xff])
        #expect(row.isNull(6) && row.optionalString(6) == nil)
        #expect(try row.double(7) == .infinity)
        // A NULL or a value of the wrong shape is an error naming the column, not a crash.
        #expect(throws: PostgresError(kind: .unexpectedValue, message: "column text is NULL")) { try row.string(6) }
        #expect(throws: PostgresError(kind: .unexpectedValue, message: "column text is \"é 😀 'q' \"d\"\", not an integer")) {
            try row.int64(1)
        }

        try db.executeScript("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b')")
        #expect(try db.execute("UPDATE t SET v = $1", params: ["c"]).affectedRows == 2)
        #expect(try db.execute("SELECT id, v FROM t ORDER BY id").map { try "\($0.int64(0))\($0.string(1))" } == ["1c", "2c"])
        #expect(try db.execute("SELECT id FROM t WHERE id > 5").first { try $0.int64(0) } == nil)
    }

    @Test func serverErrorsCarrySQLStateMessageAndDetail() throws {
        let db = try connect()
        #expect(throws: PostgresError(kind: .server, sqlState: "22012", message: "division by zero")) {
            try db.execute("SELECT 1 / $1::int", params: ["0"])
        }
        try db.executeScript("CREATE TABLE u (id int PRIMARY KEY)")
        try db.execute("INSERT INTO u VALUES (1)")
        do {
            try db.execute("INSERT INTO u VALUES (1)")
            Issue.record("a duplicate key was accepted")
        } catch {
            #expect(error.sqlState == "23505" && error.kind == .server && !error.isConnectionFailure)
            #expect(error.message == "duplicate key value violates unique constraint \"u_pkey\"")
            #expect(error.detail == "Key (id)=(1) already exists.")
            #expect(error.description.hasPrefix("PostgreSQL error 23505: duplicate key value"))
        }
        // A failed statement inside a transaction leaves it failed until ROLLBACK.
        try db.executeScript("BEGIN")
        #expect(throws: PostgresError.self) { try db.execute("SELECT * FROM missing_table") }
        #expect(db.isInTransaction)
        #expect(throws: PostgresError.self) { try db.execute("SELECT 1") }   // 25P02
        try db.executeScript("ROLLBACK")
        #expect(try db.execute("SELECT 1").first { try $0.int64(0) } == 1)
    }

    @Test func connectionFailuresAreClear() throws {
        let cluster = try TestPostgres.shared()
        var wrongPassword = cluster.url(database: "postgres")
        wrongPassword.password = "not-the-password"
        do {
            _ = try PostgresConnection(url: wrongPassword)
            Issue.record("a wrong password was accepted")
        } catch {
            #expect(error.kind == .connection && error.isConnectionFailure)
            #expect(error.message.contains("password authentication failed"))
            #expect(!error.message.contains("not-the-password"))
        }
        do {
            _ = try PostgresConnection(url: cluster.url(database: "no_such_database"))
            Issue.record("a missing database was accepted")
        } catch {
            #expect(error.kind == .connection && error.message.contains("\"no_such_database\" does not exist"))
        }
    }

    @Test func aTerminatedConnectionIsNoticedAndReopened() throws {
        let cluster = try TestPostgres.shared()
        let db = try connect()
        let admin = try PostgresConnection(url: cluster.url(database: "postgres"))
        try admin.execute("SELECT pg_terminate_backend($1)", params: [String(db.backendPID)])
        do {
            try db.execute("SELECT 1")
            Issue.record("a terminated connection still answered")
        } catch {
            #expect(error.isConnectionFailure)
        }
        #expect(!db.isConnected)
        try db.reconnect()
        #expect(db.isConnected)
        #expect(try db.execute("SELECT 2").first { try $0.int64(0) } == 2)
    }

    @Test func listenReceivesNotificationsOnlyAfterCommit() throws {
        let url = try TestPostgres.shared().createDatabase()
        let listener = try PostgresConnection(url: url)
        let sender = try PostgresConnection(url: url)
        try listener.listen("orderpush events")   // a name that needs quoting
        #expect(try listener.notifications(timeoutMs: 0).isEmpty)

        try sender.executeScript("BEGIN")
        try sender.notify("orderpush events", payload: "41")
        try sender.notify("other", payload: "x")
        // Not delivered before COMMIT.
        #expect(try listener.notifications(timeoutMs: 100).isEmpty)
        try sender.executeScript("COMMIT")
        var received = try listener.notifications(timeoutMs: 10_000)
        #expect(received == [PostgresNotification(channel: "orderpush events", payload: "41", senderPID: sender.backendPID)])

        // A rolled-back NOTIFY is never delivered; the next committed one is.
        try sender.executeScript("BEGIN")
        try sender.notify("orderpush events", payload: "lost")
        try sender.executeScript("ROLLBACK")
        try sender.notify("orderpush events", payload: "42")
        received = try listener.notifications(timeoutMs: 10_000)
        #expect(received.map(\.payload) == ["42"])

        try listener.unlisten("orderpush events")
        try sender.notify("orderpush events", payload: "43")
        #expect(try listener.execute("SELECT 1").rowCount == 1)   // a round trip after the NOTIFY
        #expect(try listener.notifications(timeoutMs: 0).isEmpty)
    }
}
