import ArgumentParser
import Glibc
import Logging
import Auth
import OrderPushServer
import Storage

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve HTTP and WebSocket (the default command).",
        discussion: "Every option can also be set as ORDERPUSH_<NAME> (e.g. ORDERPUSH_PORT=9000); a flag wins.")

    @Option(help: "Address to listen on (default 127.0.0.1).") var host: String?
    @Option(help: "Port for HTTP and WebSocket; 0 picks a free one (default 8080).") var port: UInt16?
    @Option(help: "SQLite database file (default data/orderpush.sqlite).") var db: String?
    @Option(name: .customLong("database-url"), help: "postgresql://user[:password]@host[:port]/dbname: orders and events in PostgreSQL, shared by several nodes (instead of --db).") var databaseURL: String?
    @Option(name: .customLong("node-name"), help: "This node's name in /healthz and /metrics (default <hostname>:<port>).") var nodeName: String?
    @Option(name: .customLong("jwt-secret-file"), help: "HMAC key file for tokens (default: jwt-secret next to the database, created on first start).") var jwtSecretFile: String?
    @Option(name: .customLong("jwt-keys"), help: "Folder of HMAC keys, one file per key named by its kid (instead of --jwt-secret-file); SIGHUP re-reads it.") var jwtKeys: String?
    @Option(name: .customLong("jwt-primary"), help: "The kid of the primary key in --jwt-keys (needed when it holds several).") var jwtPrimary: String?
    @Option(help: "Folder of the web pages (default web).") var web: String?
    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain; with --tls-key, serves HTTPS/WSS.") var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "PEM private key for --tls-cert.") var tlsKey: String?
    @Option(name: .customLong("tls-port"), help: "Port for HTTPS/WSS (default 8443).") var tlsPort: UInt16?
    @Option(name: .customLong("tls-ticket-key-file"), help: "Session-ticket key: 160 hex characters (openssl rand -hex 80), mode 0600; sessions then resume across restarts and across nodes given the same file; SIGHUP re-reads it (default: a random key per process).") var tlsTicketKeyFile: String?
    @Flag(name: .customLong("no-plain"), help: "With TLS: do not serve plain HTTP.") var noPlain = false
    @Option(name: .customLong("ping-interval"), help: "Seconds between WebSocket pings (default 30).") var pingInterval: Int?
    @Option(name: .customLong("header-timeout"), help: "Seconds a request's headers may take (default 10).") var headerTimeout: Int?
    @Option(name: .customLong("retention-days"), help: "Days of events kept for resume (default 7).") var retentionDays: Int?
    @Option(help: "Event-loop threads (default: one per CPU; see docs/ARCHITECTURE.md).") var loops: Int?
    @Option(name: .customLong("max-connections"), help: "Open connections at most, all loops together; past it new ones get 503 (default 19000).") var maxConnections: Int?
    @Option(name: .customLong("ws-message-rate"), help: "Messages per second a /ws client may send, bursts of twice that, else close 1008; 0: unlimited (default 50; /ws/echo exempt).") var wsMessageRate: Int?
    @Option(name: .customLong("close-timeout"), help: "Seconds a close handshake we start may take (default 5).") var closeTimeout: Int?
    @Option(name: .customLong("shutdown-grace"), help: "Seconds to drain on SIGTERM before dropping connections (default 5).") var shutdownGrace: Int?
    @Option(name: .customLong("max-header-bytes"), help: "Request line + headers at most, else 431 (default 16384).") var maxHeaderBytes: Int?
    @Option(name: .customLong("max-body-bytes"), help: "Request body at most, else 413 (default 1048576).") var maxBodyBytes: Int?
    @Option(name: .customLong("max-message-bytes"), help: "Inbound WebSocket message at most on /ws, else close 1009 (default 1048576).") var maxMessageBytes: Int?
    @Option(name: .customLong("echo-max-message-bytes"), help: "Inbound message at most on /ws/echo (default 67108864; Autobahn sends 16 MiB).") var echoMaxMessageBytes: Int?
    @Option(name: .customLong("max-output-bytes"), help: "Queued outbound bytes per connection before close 1013 (default 8388608).") var maxOutputBytes: Int?
    @Option(name: .customLong("max-total-output-bytes"), help: "Queued outbound bytes of all connections together before the largest queues are closed with 1013 (default 268435456; at least --max-output-bytes).") var maxTotalOutputBytes: Int?
    @Option(name: .customLong("poll-limit"), help: "Events per polling answer at most (default 500).") var pollLimit: Int?
    @Option(name: .customLong("max-queued-reads"), help: "Reads waiting for the database at most, all loops together (with PostgreSQL every read, with SQLite searches); past it 503 storage_busy (default 4096).") var maxQueuedReads: Int?
    @Option(name: .customLong("write-batch"), help: "Writes committed in one transaction at most (group commit; default 256).") var writeBatch: Int?
    @Option(name: .customLong("user-write-rate"), help: "Order writes per second per user token (sub), in bursts of twice that; 0 turns it off (default 10). Admin and service tokens are not limited.") var userWriteRate: Double?
    @Flag(name: .customLong("no-deflate"), help: "Do not negotiate permessage-deflate (WebSocket compression).") var noDeflate = false
    @Flag(help: "Add /ws/echo, an unauthenticated echo endpoint (conformance suites, benchmarks).") var echo = false
    @Flag(help: "Add /ws/broadcast and POST /publish, unauthenticated (benchmarks).") var bench = false

    func run() throws {
        var config = ServerConfig()
        // One row per option: its name (the flag `--name`, the variable `ORDERPUSH_NAME`),
        // what the command line gave, and the field it sets. A flag wins over the variable;
        // neither leaves the default.
        let options: [ConfigOption] = [
            ConfigOption("host", host, \.host),
            ConfigOption("port", port, \.port),
            ConfigOption("db", db, \.databasePath),
            ConfigOption("database-url", databaseURL, \.databaseURL),
            ConfigOption("node-name", nodeName, \.nodeName),
            ConfigOption("jwt-secret-file", jwtSecretFile, \.jwtSecretPath),
            ConfigOption("jwt-keys", jwtKeys, \.jwtKeysDirectory),
            ConfigOption("jwt-primary", jwtPrimary, \.jwtPrimaryKeyID),
            ConfigOption("web", web, \.webRoot),
            ConfigOption("tls-cert", tlsCert, \.tlsCertificatePath),
            ConfigOption("tls-key", tlsKey, \.tlsPrivateKeyPath),
            ConfigOption("tls-port", tlsPort, \.tlsPort),
            ConfigOption("tls-ticket-key-file", tlsTicketKeyFile, \.tlsTicketKeyPath),
            ConfigOption("ping-interval", pingInterval, \.pingIntervalSeconds),
            ConfigOption("header-timeout", headerTimeout, \.headerTimeoutSeconds),
            ConfigOption("retention-days", retentionDays, \.retentionDays),
            ConfigOption("loops", loops, \.loops),
            ConfigOption("max-connections", maxConnections, \.maxConnections),
            ConfigOption("ws-message-rate", wsMessageRate, \.webSocketMessageRate),
            ConfigOption("close-timeout", closeTimeout, \.closeTimeoutSeconds),
            ConfigOption("shutdown-grace", shutdownGrace, \.shutdownGraceSeconds),
            ConfigOption("max-header-bytes", maxHeaderBytes, \.maxHeaderBytes),
            ConfigOption("max-body-bytes", maxBodyBytes, \.maxBodyBytes),
            ConfigOption("max-message-bytes", maxMessageBytes, \.maxMessageBytes),
            ConfigOption("echo-max-message-bytes", echoMaxMessageBytes, \.maxEchoMessageBytes),
            ConfigOption("max-output-bytes", maxOutputBytes, \.maxOutputBytes),
            ConfigOption("max-total-output-bytes", maxTotalOutputBytes, \.maxTotalOutputBytes),
            ConfigOption("poll-limit", pollLimit, \.pollLimit),
            ConfigOption("write-batch", writeBatch, \.maxWriteBatch),
            ConfigOption("max-queued-reads", maxQueuedReads, \.maxQueuedReads),
            ConfigOption("user-write-rate", userWriteRate, \.userWriteRate),
            ConfigOption(flag: "no-plain", noPlain) { $0.servePlain = false },
            ConfigOption(flag: "echo", echo) { $0.enableEcho = true },
            ConfigOption(flag: "no-deflate", noDeflate) { $0.enableDeflate = false },
            ConfigOption(flag: "bench", bench) { $0.enableBench = true },
        ]
        for option in options { try option.apply(&config) }
        // An echo reply queues a whole message, so its output cap follows its message limit.
        config.maxEchoOutputBytes = max(config.maxOutputBytes, config.maxEchoMessageBytes + config.maxEchoMessageBytes / 4)

        guard config.pingIntervalSeconds > 0, config.headerTimeoutSeconds > 0, config.retentionDays > 0,
              config.loops > 0, config.loops <= 64, config.maxConnections > 0, config.closeTimeoutSeconds > 0,
              config.shutdownGraceSeconds >= 0, config.maxHeaderBytes >= 1024, config.maxBodyBytes >= 0,
              config.maxMessageBytes >= 125, config.maxEchoMessageBytes >= 125, config.maxOutputBytes >= 65536,
              config.maxTotalOutputBytes >= config.maxOutputBytes, config.pollLimit > 0, config.maxWriteBatch > 0,
              config.userWriteRate >= 0, config.userWriteRate.isFinite,
              config.webSocketMessageRate >= 0, config.webSocketMessageRate <= 1_000_000 else {
            throw ValidationError("timeouts, limits and counts must be positive (--user-write-rate >= 0, --ws-message-rate 0...1000000, --max-header-bytes >= 1024, --max-output-bytes >= 65536, --max-total-output-bytes >= --max-output-bytes, --loops 1...64)")
        }
        guard config.maxQueuedReads > 0 else {
            throw ValidationError("--max-queued-reads must be a positive integer (reads waiting for the database, whole process), not \(config.maxQueuedReads)")
        }
        if let url = config.databaseURL {
            guard db == nil && Environment.value(for: "db") == nil else {
                throw ValidationError("--db (SQLite) and --database-url (PostgreSQL) exclude each other; give one")
            }
            do {
                _ = try PostgresURL(parsing: url)
            } catch {
                throw ValidationError("\(error)")
            }
        }
        guard config.jwtKeysDirectory == nil || config.jwtSecretPath == nil else {
            throw ValidationError("--jwt-keys and --jwt-secret-file are alternatives: give one")
        }
        guard config.jwtPrimaryKeyID == nil || config.jwtKeysDirectory != nil else {
            throw ValidationError("--jwt-primary names a key of --jwt-keys, which is not given")
        }
        guard (config.tlsCertificatePath == nil) == (config.tlsPrivateKeyPath == nil) else {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        guard config.tlsTicketKeyPath == nil || config.tlsCertificatePath != nil else {
            throw ValidationError("--tls-ticket-key-file needs TLS (--tls-cert and --tls-key)")
        }

        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        let logger = Logger(label: "orderpush")
        let server = OrderPushServer(config: config, logger: logger)
        do {
            try server.bind()
        } catch let error as TLSTicketKeyFileError {
            throw ValidationError("\(error)")
        } catch {
            throw ValidationError("cannot listen on \(config.host):\(config.port): \(error)")
        }
        try server.run { info in
            let shownHost = config.host.contains(":") ? "[\(config.host)]" : config.host
            if let port = server.boundPort { print("orderpush listening on http://\(shownHost):\(port)") }
            if let port = server.boundTLSPort { print("orderpush listening on https://\(shownHost):\(port) (also wss://)") }
            let base = server.boundPort.map { "http://\(shownHost):\($0)" } ?? "https://\(shownHost):\(server.boundTLSPort ?? 0)"
            let wsBase = (base.hasPrefix("https") ? "wss" : "ws") + base.drop { $0 != ":" }
            if config.enableEcho { print("echo endpoint: \(wsBase)/ws/echo") }
            if config.enableBench {
                let loopbackOnly = ["127.0.0.1", "::1", "localhost"].contains(config.host)
                print("bench endpoints: \(wsBase)/ws/broadcast and POST \(base)/publish (unauthenticated; "
                      + (loopbackOnly ? "loopback only)" : "WARNING: listening on \(config.host), not loopback)"))
            }
            // The one place a token is printed: minted here for the person starting the server.
            let now = Int64(time(nil))
            let admin = info.signer.sign(sub: "admin", role: .admin, expiresAt: now + 86_400, issuedAt: now)
            let demo = info.signer.sign(sub: "demo", role: .user, expiresAt: now + 86_400, issuedAt: now)
            print("admin dashboard (24 h link): \(base)/admin?token=\(admin)")
            print("demo customer   (24 h link): \(base)/track?token=\(demo)")
            if info.head == 0 {
                print("the database is empty: create an order as the demo customer with")
                print("  curl -X POST \(base)/api/orders -H 'Authorization: Bearer \(demo)' -H 'Content-Type: application/json' \\")
                print(#"       -d '{"items":[{"productId":"p1","name":"Tea","quantity":2,"price":120.0}],"paymentMethod":"cod"}'"#)
            }
            fflush(nil)   // all streams: stdout may be a pipe to a supervisor
        }
    }
}
