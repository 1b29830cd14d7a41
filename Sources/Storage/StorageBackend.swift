/// What the server reads and writes: the event history and the orders, as one store. The
/// server above the backend factory is typed by this composition only, never by a concrete
/// database, so another backend (PostgreSQL) fits behind the same two protocols.
public typealias OrderStore = EventLog & OrderRepository

/// Opens the stores of one storage backend. The server chooses its backend in one place
/// (`OrderPushServer.run`); everything else gets stores from here.
///
/// Threading: a store is used by the thread that opened it only (SQLite handles stay on
/// their thread), so each event loop opens its own reader and the writer thread its writer.
public protocol StorageBackend: Sendable {
    /// The writable store (creates and migrates the schema as needed). One, for the writer.
    func openWriter() throws -> any OrderStore
    /// A store for one event loop's reads; it must see every commit of the writer.
    func openReader() throws -> any OrderStore
}

/// Orders and events in one SQLite file (`SQLiteOrderStore`, WAL mode: readers never wait
/// for the writer).
public struct SQLiteStorageBackend: StorageBackend {
    public let path: String

    public init(path: String) { self.path = path }

    public func openWriter() throws -> any OrderStore { try SQLiteOrderStore(path: path) }
    public func openReader() throws -> any OrderStore { try SQLiteOrderStore(path: path, readOnly: true) }
}
