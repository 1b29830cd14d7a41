import Foundation

/// A value shared between the threads of one test.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    var current: Value { withLock { $0 } }
}

/// Runs `body(0..<count)` on `count` threads released together, and waits for them all.
/// Real threads rather than a dispatch pool, so they overlap even on two cores.
func concurrently(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let start = DispatchSemaphore(value: 0)
    let done = DispatchGroup()
    for i in 0..<count {
        done.enter()
        let thread = Thread {
            start.wait()
            body(i)
            done.leave()
        }
        thread.start()
    }
    for _ in 0..<count { start.signal() }
    done.wait()
}

/// A thread running `body` until it is asked to stop; `body` loops while its argument
/// (`shouldStop`) returns false, so it can keep its own state (a connection) across rounds.
final class BackgroundLoop: @unchecked Sendable {
    private let stopFlag = Locked(false)
    private let finished = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable (_ shouldStop: () -> Bool) -> Void) {
        let thread = Thread { [stopFlag, finished] in
            body { stopFlag.current }
            finished.signal()
        }
        thread.start()
    }

    /// Asks the loop to stop and waits until `body` has returned.
    func stopAndJoin() {
        stopFlag.withLock { $0 = true }
        finished.wait()
    }
}
