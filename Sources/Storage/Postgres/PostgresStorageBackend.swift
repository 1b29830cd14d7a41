import Orders
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Orders and events in a PostgreSQL database shared by every OrderPush node
/// (`--database-url`). Each store it opens is a `ReconnectingPostgresStore`: opening never
/// fails, so a node starts while the database is down and answers 503 until it is back.
public struct PostgresStorageBackend: StorageBackend {
    public let url: PostgresURL
    /// Shared by the stores this backend opens; see `DatabaseRecoverySignal`.
    public let recovery = DatabaseRecoverySignal()

    /// Connection attempts give up after this many seconds unless the URL says otherwise:
    /// a reader or writer thread waits at most this long for an unreachable host (a refused
    /// connection, the usual case of a stopped server, fails at once). Loop threads never
    /// use these stores: their reads run on the server's database reader threads.
    public static let defaultConnectTimeoutSeconds = 2

    public init(url: PostgresURL) {
        var url = url
        if !url.options.contains(where: { $0.0 == "connect_timeout" }) {
            url.options.append(("connect_timeout", String(Self.defaultConnectTimeoutSeconds)))
        }
        self.url = url
    }

    public func openWriter() throws -> any OrderStore { ReconnectingPostgresStore(url: url, recovery: recovery) }
    public func openReader() throws -> any OrderStore { ReconnectingPostgresStore(url: url, recovery: recovery) }
}

/// Says "the database is back" to every store of a node: the thread that watches the
/// database continuously (the event broker) raises it when its connection comes back, and
/// a store waiting out its backoff then tries at its next call, so the loops do not keep
/// answering 503 for up to a backoff period after `/healthz` went back to 200.
/// An atomic counter: raised by one thread, read by every loop.
public final class DatabaseRecoverySignal: Sendable {
    private let generation = Atomic<Int>(0)
    public init() {}
    public func raise() { generation.add(1, ordering: .relaxed) }
    public var current: Int { generation.load(ordering: .relaxed) }
}

/// A `PostgresOrderStore` that is opened on first use and reopened after a lost
/// connection, with exponential backoff between attempts (100 ms doubling to 5 s): while
/// the database is down every call fails at once with the last reason instead of waiting
/// for a connection attempt, so a thread using it (a reader thread, the writer) is never
/// held up more than one connect timeout per backoff period.
///
/// Threading: like the store it wraps, used by the thread that opened it only.
public final class ReconnectingPostgresStore: OrderRepository, EventLog {
    public let url: PostgresURL
    private var store: PostgresOrderStore?
    /// The epoch read on the first successful connection; it never changes for a database.
    private var knownEpoch: String?
    private var backoffMs: Int64 = 0
    private var nextAttemptMs: Int64 = 0
    /// Why the last call failed on the connection; nil while connected.
    public private(set) var lastFailure: String?

    static let initialBackoffMs: Int64 = 100
    static let maximumBackoffMs: Int64 = 5_000

    private let recovery: DatabaseRecoverySignal?
    /// `recovery.current` when the last failure happened.
    private var failedAtGeneration = 0

    public init(url: PostgresURL, recovery: DatabaseRecoverySignal? = nil) {
        self.url = url
        self.recovery = recovery
    }

    /// True when the last call reached the database.
    public var isConnected: Bool { store?.isConnected == true && lastFailure == nil }

    /// Empty while the database has never been reached: callers must then refuse what
    /// needs it (their next read fails with the reason anyway).
    public var epoch: String {
        if knownEpoch == nil { _ = try? connected() }
        return knownEpoch ?? ""
    }

    /// The open store, opening it if needed, unless a recent attempt failed.
    private func connected() throws -> PostgresOrderStore {
        let now = Self.monotonicMs()
        if let store, store.isConnected { return store }
        if now < nextAttemptMs && (recovery?.current ?? 0) == failedAtGeneration {
            throw PostgresError(kind: .connection, message: "the database is unavailable (\(lastFailure ?? "not connected yet")); next attempt in \(nextAttemptMs - now) ms")
        }
        do {
            if let store {
                try store.ensureConnected()
                return store
            }
            let opened = try PostgresOrderStore(url: url)
            store = opened
            knownEpoch = opened.epoch
            return opened
        } catch {
            noteFailure(error)
            throw error
        }
    }

    private func noteFailure(_ error: any Error) {
        lastFailure = "\(error)"
        failedAtGeneration = recovery?.current ?? 0
        backoffMs = backoffMs == 0 ? Self.initialBackoffMs : min(Self.maximumBackoffMs, backoffMs * 2)
        nextAttemptMs = Self.monotonicMs() + backoffMs
    }

    private func noteSuccess() {
        lastFailure = nil
        backoffMs = 0
    }

    /// Runs the read `body` on the open store; a failure of the connection starts the
    /// backoff. A connection that was lost while idle (the server restarted) is only
    /// found out by the next call: that read is run once more on a new connection (reads
    /// change nothing, so running one twice is harmless), so the first read after an
    /// outage does not fail.
    private func using<T>(_ body: (PostgresOrderStore) throws -> T) throws -> T {
        let store = try connected()
        do {
            let value: T
            do {
                value = try body(store)
            } catch let error as PostgresError where error.isConnectionFailure || !store.isConnected {
                try store.ensureConnected()
                value = try body(store)
            }
            noteSuccess()
            return value
        } catch {
            if (error as? PostgresError)?.isConnectionFailure == true || !store.isConnected { noteFailure(error) }
            throw error
        }
    }

    // MARK: - EventLog

    public func head() throws -> Int64 { try using { try $0.head() } }
    public func retainedFloor() throws -> Int64 { try using { try $0.retainedFloor() } }
    public func events(after seq: Int64, userId: String?, limit: Int) throws -> [StoredEvent] {
        try using { try $0.events(after: seq, userId: userId, limit: limit) }
    }
    public func pollPage(after seq: Int64, userId: String?, limit: Int) throws -> PollPage {
        try using { try $0.pollPage(after: seq, userId: userId, limit: limit) }
    }
    public func pollHeads(userId: String?) throws -> PollHeads { try using { try $0.pollHeads(userId: userId) } }

    // MARK: - OrderRepository

    public func apply(_ writes: [OrderWrite], nowMs: Int64) -> [Result<WriteOutcome, WriteError>] {
        let store: PostgresOrderStore
        do {
            store = try connected()
        } catch {
            return writes.map { _ in .failure(.storage("\(error)")) }
        }
        let results = store.apply(writes, nowMs: nowMs)
        if store.isConnected {
            noteSuccess()
        } else {
            let reason = results.lazy.compactMap { result -> String? in
                if case .failure(.storage(let message)) = result { return message }
                return nil
            }.first ?? "connection lost"
            noteFailure(PostgresError(kind: .connection, message: reason))
        }
        return results
    }

    public func order(id: String) throws -> Order? { try using { try $0.order(id: id) } }
    public func orders(ids: [String]) throws -> [Order] { try using { try $0.orders(ids: ids) } }
    public func orders(userId: String?, limit: Int) throws -> [Order] { try using { try $0.orders(userId: userId, limit: limit) } }
    public func pruneEvents(olderThanMs: Int64) throws -> Int { try using { try $0.pruneEvents(olderThanMs: olderThanMs) } }
    public func searchOrders(_ search: OrderSearch) throws -> OrderPage { try using { try $0.searchOrders(search) } }
    public func statusCounts(userId: String?) throws -> StatusCounts { try using { try $0.statusCounts(userId: userId) } }

    static func monotonicMs() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
