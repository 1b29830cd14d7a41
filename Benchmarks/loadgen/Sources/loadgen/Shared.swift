import Synchronization

/// What the threads of one run share: phase signals and the results. Everything else is
/// owned by one worker thread.
final class Shared: Sendable {
    /// Connections that are open (and subscribed, where that applies), publishers included.
    let ready = Atomic<Int>(0)
    /// Connections that never became ready.
    let failed = Atomic<Int>(0)
    /// CLOCK_MONOTONIC ns at which publishing starts (0: not yet). Set by the coordinator.
    let goNs = Atomic<Int64>(0)
    /// When the publisher finished (all sent and, over HTTP, all answered); 0: not yet.
    let publishEndNs = Atomic<Int64>(0)
    /// Idle mode: the hold is over.
    let stop = Atomic<Bool>(false)
    let results = Mutex<[WorkerResult]>([])
}
