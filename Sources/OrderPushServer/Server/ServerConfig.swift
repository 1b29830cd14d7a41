import Auth
import Glibc

/// Every limit and timeout of the server, with the documented defaults (docs/PROTOCOL.md
/// §10). The CLI fills this from flags and `ORDERPUSH_*` variables.
public struct ServerConfig: Sendable {
    public var host = "127.0.0.1"
    public var port: UInt16 = 8080
    public var databasePath = "data/orderpush.sqlite"
    /// `postgresql://...`: orders and events in PostgreSQL, shared with other nodes
    /// (instead of the SQLite file at `databasePath`).
    public var databaseURL: String?
    /// This node's name in `/healthz` and `/metrics`; nil: `<hostname>:<port>`.
    public var nodeName: String?
    /// nil: `<database folder>/jwt-secret`, generated on first start.
    public var jwtSecretPath: String?
    /// `--jwt-keys`: a folder of signing keys, one file per key, named by its kid. Replaces
    /// the single secret when set (docs/PROTOCOL.md §1, "Signing keys").
    public var jwtKeysDirectory: String?
    /// `--jwt-primary`: the kid of the primary key in `jwtKeysDirectory`.
    public var jwtPrimaryKeyID: String?
    public var webRoot = "web"
    public var tlsCertificatePath: String?
    public var tlsPrivateKeyPath: String?
    public var tlsPort: UInt16 = 8443
    /// `--tls-ticket-key-file`: the session-ticket key (`TLSTicketKeyFile`), shared by the
    /// nodes of a cluster and kept across restarts; nil: a random key per process.
    public var tlsTicketKeyPath: String?
    public var servePlain = true

    /// WebSocket ping interval; a connection that has not answered by the next ping is closed.
    public var pingIntervalSeconds = 30
    /// A request's headers (and body) must arrive within this time; also the keep-alive idle limit.
    public var headerTimeoutSeconds = 10
    /// How long a close handshake we started may take before the TCP connection is dropped.
    public var closeTimeoutSeconds = 5
    /// On SIGTERM, how long to wait for WebSocket clients to answer close 1001 and for writes to drain.
    public var shutdownGraceSeconds = 5
    public var retentionDays = 7

    public var maxHeaderBytes = 16 * 1024
    public var maxBodyBytes = 1024 * 1024
    /// Largest inbound WebSocket message on /ws (1009 above it).
    public var maxMessageBytes = 1024 * 1024
    /// Largest inbound message on /ws/echo: Autobahn's 9.* cases send 16 MiB messages.
    public var maxEchoMessageBytes = 64 * 1024 * 1024
    /// Outbound bytes a connection may have queued before it is closed as a slow consumer (1013).
    public var maxOutputBytes = 8 * 1024 * 1024
    /// Outbound bytes all connections of the process may have queued together; past it the
    /// connections holding the most are closed with 1013 and replays wait (`OutputBudget`).
    public var maxTotalOutputBytes = 256 * 1024 * 1024
    /// Echo replies legitimately queue a whole large message; its cap is sized for that.
    public var maxEchoOutputBytes = 80 * 1024 * 1024
    /// Open connections of the whole process (all loops together). Leaves ~1 000 of a
    /// 20 000 descriptor limit for listeners, epoll, wakeups, the database and refusals.
    public var maxConnections = 19_000
    /// Data messages per second a `/ws` client may send (bursts of twice that); past it the
    /// connection is closed with 1008. 0: unlimited. /ws/echo and /ws/broadcast are exempt.
    public var webSocketMessageRate = 50
    public var pollLimit = 500
    /// Largest number of writes committed in one transaction (group commit).
    public var maxWriteBatch = 256
    /// Reads waiting for a `DatabaseReader` thread, all loops together (one queue per
    /// process); past it a read is refused: 503 `storage_busy`, a subscribe `unavailable`, a
    /// replay retries on the tick. Bounds what a slow or stuck database can pile up.
    public var maxQueuedReads = 4096
    /// Writes (POST /api/orders) per second one `user` token's `sub` may make, across all
    /// loops; 0 turns the limit off. Admin and service callers are not limited.
    public var userWriteRate: Double = 10
    /// Writes a user may make at once before the rate applies: twice the rate per second.
    public var userWriteBurst: Double { max(1, (userWriteRate * 2).rounded(.down)) }

    public var enableEcho = false
    /// Negotiate permessage-deflate (RFC 7692) on WebSocket upgrades (`--no-deflate` turns it off).
    public var enableDeflate = true
    public var enableBench = false
    /// Event loops (threads), each with its own SO_REUSEPORT listener: one per CPU by
    /// default, which measured better than one loop on 2 cores (docs/ARCHITECTURE.md).
    public var loops = ServerConfig.onlineCPUs

    public init() {}
}

extension ServerConfig {
    /// CPUs online, clamped to 1...64.
    public static var onlineCPUs: Int {
        max(1, min(64, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
    }

    /// Where the signing keys come from: the key folder if given, else the single secret.
    public var jwtKeySource: JWTKeySource {
        if let jwtKeysDirectory { return .directory(path: jwtKeysDirectory, primary: jwtPrimaryKeyID) }
        return .secretFile(path: resolvedSecretPath)
    }

    /// `--jwt-secret-file`, or `jwt-secret` in the database's folder.
    public var resolvedSecretPath: String {
        if let jwtSecretPath { return jwtSecretPath }
        let folder = databasePath.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return (folder.isEmpty ? "." : folder) + "/jwt-secret"
    }
}
