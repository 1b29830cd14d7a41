import HTTP1
import Storage

/// Where one loop's storage reads run: the one mechanism every read path uses (GET of an
/// order, polling, the legacy list, search, a subscribe's cursor check, replay pages).
/// A path builds its read as a job, `(any OrderStore) throws -> T`, and hands it here with
/// what to do with the answer on the loop:
/// - With SQLite (`inlineStore` set), a job runs at once on the loop against the loop's own
///   read-only handle (a local WAL read: microseconds) and its answer comes back
///   synchronously (`Start.done`): the path stays as fast as a plain call.
/// - With PostgreSQL (no inline store), and for jobs that are slow on any backend
///   (`alwaysOffLoop`: searches), the job goes to the `DatabaseReader`; the loop goes on
///   serving, and the answer arrives later through the mailbox (`complete`), which calls the
///   continuation on the loop (`Start.started`).
/// - The reader's queue full: nothing runs (`Start.refused`); the caller answers 503 with
///   `Retry-After` (HTTP) or an `unavailable` error (a subscribe), or retries on the tick (a
///   replay in progress).
///
/// Loop-thread only.
final class StoreReads {
    /// Seconds a client is told to wait (`Retry-After`) when the reader's queue is full.
    static let retryAfterSeconds = 1

    private let inlineStore: (any OrderStore)?
    private let reader: DatabaseReader
    /// The loop these reads belong to (it owns this object).
    private unowned let loop: ServerLoop
    let failures: ReadFailureLog
    private var nextID: UInt64 = 0
    private var continuations: [UInt64: (Result<any Sendable, ReadFailure>) -> Void] = [:]
    /// The event history's epoch once a read has told it (it never changes for a
    /// database): a subscribe without a cursor then needs no read at all.
    var knownEpoch: String?

    enum Start<T> {
        /// Ran inline: here is the answer (the continuation is not called).
        case done(Result<T, ReadFailure>)
        /// Handed to the reader: the continuation gets the answer later, on this loop.
        case started
        /// The reader's queue is full: nothing was run or queued.
        case refused
    }

    /// - Parameter inlineStore: the loop's own store when its reads are cheap enough to run
    ///   on the loop (SQLite); nil to send every read to `reader` (PostgreSQL).
    init(inlineStore: (any OrderStore)?, reader: DatabaseReader, loop: ServerLoop, failures: ReadFailureLog, knownEpoch: String?) {
        self.inlineStore = inlineStore
        self.reader = reader
        self.loop = loop
        self.failures = failures
        let epoch = inlineStore?.epoch ?? knownEpoch
        self.knownEpoch = (epoch?.isEmpty ?? true) ? nil : epoch
    }

    /// Reads handed to the reader and not answered yet; the loop waits for these at shutdown.
    var pending: Int { continuations.count }

    func start<T: Sendable>(alwaysOffLoop: Bool = false, _ job: @escaping @Sendable (any OrderStore) throws -> T,
                            then continuation: @escaping (Result<T, ReadFailure>) -> Void) -> Start<T> {
        if let inlineStore, !alwaysOffLoop {
            do {
                return .done(.success(try job(inlineStore)))
            } catch {
                return .done(.failure(ReadFailure(description: "\(error)")))
            }
        }
        nextID &+= 1
        let id = nextID
        guard reader.submit(ReadJob(loop: loop.index, id: id, run: { try job($0) })) else { return .refused }
        continuations[id] = { result in
            // The job returned a T; the cast cannot fail.
            continuation(result.map { $0 as! T })
        }
        return .started
    }

    /// Answers from the reader (through the mailbox), in the order they were posted.
    func complete(_ completions: [ReadCompletion]) {
        for completion in completions {
            guard let continuation = continuations.removeValue(forKey: completion.id) else { continue }
            continuation(completion.result)
        }
    }

    // MARK: - HTTP

    /// Runs a read whose answer is an HTTP response for `connection`: inline it is answered
    /// at once; on the reader the request is deferred (the connection reads no further
    /// pipelined request until it is answered, so answers keep their order) and answered
    /// when the read is done; a connection closed meanwhile is not found and the answer is
    /// dropped.
    func respond(to connection: Connection, alwaysOffLoop: Bool = false,
                 _ job: @escaping @Sendable (any OrderStore) throws -> HTTPResponse) -> RequestOutcome {
        let fd = connection.fd, serial = connection.serial
        let failures = self.failures
        switch start(alwaysOffLoop: alwaysOffLoop, job, then: { [unowned loop] result in
            loop.connection(fd: fd, serial: serial)?.completeDeferred(failures.response(result))
        }) {
        case .done(let result): return .respond(failures.response(result))
        case .started: return .deferred
        case .refused: return .respond(Self.busy())
        }
    }

    /// The answer while the reader's queue is full.
    static func busy() -> HTTPResponse {
        var response = HTTPResponse.error(.serviceUnavailable, code: "storage_busy",
                                          message: "too many reads are waiting for the database; retry after \(retryAfterSeconds) s")
        response.headers.add("Retry-After", String(retryAfterSeconds))
        return response
    }
}
