import Testing
@testable import Storage

/// The database URL parser: pure, no server needed.
@Suite struct PostgresURLTests {
    @Test func parsesTheDocumentedForm() throws {
        let url = try PostgresURL(parsing: "postgresql://orders:s3cret@db.internal:6543/orderpush")
        #expect(url == PostgresURL(user: "orders", password: "s3cret", host: "db.internal", port: 6543, database: "orderpush"))
        #expect(url.redacted == "postgresql://orders:***@db.internal:6543/orderpush")
        #expect("\(url)" == url.redacted)   // the password never reaches a log line
    }

    @Test func optionalPartsAndEncodings() throws {
        // No password, no port, the short scheme, upper-case scheme.
        #expect(try PostgresURL(parsing: "postgres://me@localhost/db")
                == PostgresURL(user: "me", password: nil, host: "localhost", port: 5432, database: "db"))
        #expect(try PostgresURL(parsing: "POSTGRESQL://me@localhost/db").host == "localhost")
        // An empty password is a password.
        #expect(try PostgresURL(parsing: "postgresql://me:@h/db").password == "")
        // Percent-encoded user, password and database; a raw @ in the password is fine.
        let encoded = try PostgresURL(parsing: "postgresql://us%40er:p%3A%2Fss@w@h:1/d%C3%A9b")
        #expect(encoded.user == "us@er" && encoded.password == "p:/ss@w" && encoded.database == "déb" && encoded.port == 1)
        // IPv6 with and without a port.
        #expect(try PostgresURL(parsing: "postgresql://u@[::1]:5433/db").host == "::1")
        #expect(try PostgresURL(parsing: "postgresql://u@[::1]:5433/db").port == 5433)
        #expect(try PostgresURL(parsing: "postgresql://u@[fe80::1]/db").port == 5432)
        #expect(try PostgresURL(parsing: "postgresql://u:p@[::1]:5433/db").redacted == "postgresql://u:***@[::1]:5433/db")
        // Allowed options pass through to libpq, after the defaults they replace.
        let withOptions = try PostgresURL(parsing: "postgresql://u@h/db?sslmode=require&connect_timeout=3")
        #expect(withOptions.options.map { "\($0.0)=\($0.1)" } == ["sslmode=require", "connect_timeout=3"])
        let parameters = withOptions.connectionParameters.map { "\($0.0)=\($0.1)" }
        #expect(parameters.contains("connect_timeout=3") && !parameters.contains("connect_timeout=10"))
        #expect(parameters.contains("client_encoding=UTF8") && parameters.contains("sslmode=require"))
        #expect(withOptions.redacted == "postgresql://u@h:5432/db?sslmode=require&connect_timeout=3")
    }

    @Test(arguments: [
        ("", "no scheme"),
        ("localhost:5432/db", "no scheme"),
        ("mysql://u@h/db", "scheme is \"mysql\", not postgresql"),
        ("postgresql://u@h", "no database name"),
        ("postgresql://u@h/", "no database name"),
        ("postgresql://u@h:5432/a/b", "the path must be just /dbname"),
        ("postgresql://h:5432/db", "no user (user@host)"),
        ("postgresql://:pw@h/db", "empty user"),
        ("postgresql://u@/db", "empty host"),
        ("postgresql://u@:5432/db", "empty host"),
        ("postgresql://u@h:/db", "port \"\" is not a number from 1 to 65535"),
        ("postgresql://u@h:0/db", "port \"0\" is not a number from 1 to 65535"),
        ("postgresql://u@h:65536/db", "port \"65536\" is not a number from 1 to 65535"),
        ("postgresql://u@h:54x/db", "port \"54x\" is not a number from 1 to 65535"),
        ("postgresql://u@h:-1/db", "port \"-1\" is not a number from 1 to 65535"),
        ("postgresql://u@h1,h2/db", "several hosts are not supported"),
        ("postgresql://u@[::1/db", "unclosed [ in an IPv6 host"),
        ("postgresql://u@[::1]x/db", "unexpected text after the IPv6 host"),
        ("postgresql://u@bad host/db", "host \"bad host\" is not a host name or address"),
        ("postgresql://u%zz@h/db", "bad percent-encoding in the user"),
        ("postgresql://u:%4@h/db", "bad percent-encoding in the password"),
        ("postgresql://u@h/d%ff", "bad percent-encoding in the database name"),
        ("postgresql://u@h/db#x", "a fragment (#) is not allowed; percent-encode # as %23"),
        ("postgresql://u@h/db?sslmode", "option \"sslmode\" has no value"),
        ("postgresql://u@h/db?password=x", "unknown option \"password\" (allowed: application_name, connect_timeout, sslmode, sslrootcert)"),
    ])
    func refusesBadURLsWithTheReason(_ text: String, _ reason: String) {
        #expect(throws: PostgresError(kind: .invalidURL,
                                      message: "invalid database URL: \(reason) (expected postgresql://user[:password]@host[:port]/dbname)")) {
            try PostgresURL(parsing: text)
        }
    }

    @Test func errorsNeverRepeatThePassword() {
        for text in ["postgresql://u:hunter2@h:99999/db", "postgresql://u:hunter2@h/db?x=1", "postgresql://u:hunter2@/db"] {
            do {
                _ = try PostgresURL(parsing: text)
                Issue.record("\(text) was accepted")
            } catch {
                #expect(!"\(error)".contains("hunter2"))
            }
        }
    }
}
