import Glibc
import Reactor
import Synchronization
import Testing

/// `EventLoop` on a real epoll instance: readiness dispatch, the periodic tick and the
/// end-of-turn hook. No timing assertions: each test runs the loop until the event it
/// waits for stops it, with a generous deadline (checked on the tick) so a failure ends
/// the test instead of hanging it.
@Suite struct EventLoopTests {
    /// Calls `body` for each readiness of the descriptor it is registered for.
    final class Handler: EventHandler {
        let body: (Epoll.Readiness) -> Void
        init(_ body: @escaping (Epoll.Readiness) -> Void) { self.body = body }
        func handle(_ readiness: Epoll.Readiness) { body(readiness) }
    }

    static let generousDeadlineMs: Int64 = 20_000

    /// Installs a tick that stops the loop once the deadline has passed; returns a flag
    /// telling whether it had to.
    private func stopAtDeadline(_ loop: EventLoop, then tick: (() -> Void)? = nil) -> () -> Bool {
        let deadline = MonotonicClock.nowMilliseconds() + Self.generousDeadlineMs
        var timedOut = false
        loop.onTick = {
            tick?()
            if MonotonicClock.nowMilliseconds() > deadline { timedOut = true; loop.stop() }
        }
        return { timedOut }
    }

    @Test func aMessagePostedFromAnotherThreadIsDispatchedThenAfterTurnRuns() throws {
        let loop = try EventLoop()
        loop.tickIntervalMs = 50
        let mailbox = try Mailbox<Int>()
        var log: [String] = []
        var received: [Int] = []
        let handler = Handler { readiness in
            #expect(readiness.isReadable)
            mailbox.wakeup.drain()
            let batch = mailbox.takeAll()
            received += batch
            log.append("handle")
            if received.count == 100 { loop.stop() }
        }
        try loop.register(mailbox.wakeup.fd, interest: .readable, handler: handler)
        loop.afterTurn = { if log.last == "handle" { log.append("afterTurn") } }
        let timedOut = stopAtDeadline(loop)

        let producer = try LoopThread { for i in 0..<100 { mailbox.post(i) } }
        loop.run()
        producer.join()

        #expect(!timedOut())
        #expect(received == Array(0..<100))
        // Every turn that handled readiness ended with afterTurn, the last one included.
        #expect(log.last == "afterTurn")
        for (i, entry) in log.enumerated() where entry == "handle" {
            #expect(i + 1 < log.count && log[i + 1] == "afterTurn")
        }
    }

    @Test func theTickRunsRepeatedlyWithNothingReadyAndAfterTurnFollowsEachTurn() throws {
        let loop = try EventLoop()
        loop.tickIntervalMs = 5
        var ticks = 0
        var turnsAfterTick = 0
        var tickSinceLastTurn = false
        let timedOut = stopAtDeadline(loop) {
            ticks += 1
            tickSinceLastTurn = true
            if ticks == 5 { loop.stop() }
        }
        loop.afterTurn = {
            if tickSinceLastTurn { turnsAfterTick += 1; tickSinceLastTurn = false }
        }
        loop.run()

        #expect(!timedOut())
        #expect(ticks == 5)
        // The turn in which each tick ran also called afterTurn.
        #expect(turnsAfterTick == 5)
    }

    @Test func aDeregisteredDescriptorIsNoLongerDispatched() throws {
        let loop = try EventLoop()
        loop.tickIntervalMs = 10
        let first = try WakeupSignal(), second = try WakeupSignal()
        var firstCalls = 0
        var secondCalls = 0
        try loop.register(first.fd, interest: .readable, handler: Handler { _ in
            firstCalls += 1
            loop.deregister(first.fd)      // left readable on purpose: level-triggered epoll would call again
            second.signal()
        })
        try loop.register(second.fd, interest: .readable, handler: Handler { _ in
            secondCalls += 1
            second.drain()
            loop.stop()
        })
        let timedOut = stopAtDeadline(loop)
        first.signal()
        loop.run()

        #expect(!timedOut())
        #expect(firstCalls == 1)
        #expect(secondCalls == 1)
    }

    @Test func levelTriggeredReadinessIsReportedAgainUntilDrained() throws {
        let loop = try EventLoop()
        loop.tickIntervalMs = 10
        let signal = try WakeupSignal()
        var calls = 0
        try loop.register(signal.fd, interest: .readable, handler: Handler { _ in
            calls += 1
            if calls == 3 { signal.drain(); loop.stop() }   // not drained on calls 1 and 2
        })
        let timedOut = stopAtDeadline(loop)
        signal.signal()
        loop.run()

        #expect(!timedOut())
        #expect(calls == 3)
    }
}
