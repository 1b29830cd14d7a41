import Foundation
import Synchronization

/// Runs `body(0..<count)` on `count` threads of its own (not a pool, whose width is the
/// core count) and returns when all have finished. `body` should open its own
/// connections: they are not Sendable.
func runOnThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            body(index)
            group.leave()
        }
        thread.start()
    }
    group.wait()
}

/// Lets `parties` threads wait for each other, so they start something at the same moment.
final class StartingLine: Sendable {
    private let parties: Int
    private let arrived = Atomic<Int>(0)

    init(parties: Int) { self.parties = parties }

    /// Returns once every party has called it (or after 30 s, so a failing test ends).
    func wait() {
        arrived.add(1, ordering: .sequentiallyConsistent)
        let deadline = ContinuousClock.now + .seconds(30)
        while arrived.load(ordering: .sequentiallyConsistent) < parties && ContinuousClock.now < deadline {
            sched_yield()
        }
    }
}
