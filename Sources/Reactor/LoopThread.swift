import Glibc

/// A joinable OS thread. Foundation's `Thread` cannot be joined, and shutdown has to wait
/// for every loop to finish its drain before the database is closed.
public final class LoopThread: Sendable {
    private let handle: pthread_t

    private final class Entry: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    public init(_ body: @escaping @Sendable () -> Void) throws(SystemError) {
        let entry = Unmanaged.passRetained(Entry(body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let entry = Unmanaged<Entry>.fromOpaque(raw!).takeRetainedValue()
            entry.body()
            return nil
        }, entry)
        guard rc == 0 else {
            Unmanaged<Entry>.fromOpaque(entry).release()
            throw SystemError("pthread_create", errno: rc)
        }
        handle = thread
    }

    public func join() {
        pthread_join(handle, nil)
    }
}
