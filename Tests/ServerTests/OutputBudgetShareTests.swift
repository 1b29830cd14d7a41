import Testing
@testable import OrderPushServer

/// `OutputBudget`: the process's total from each loop's published slot, and each loop's
/// proportional share of an excess (docs/PROTOCOL.md, `--max-total-output-bytes`).
@Suite struct OutputBudgetShareTests {
    @Test func theTotalAddsEveryLoopsSlotAndCountsTheCallersOwnFigure() {
        let budget = OutputBudget(loops: 3, capBytes: 1000)
        budget.publish(loop: 0, queuedBytes: 100)
        budget.publish(loop: 1, queuedBytes: 250)
        budget.publish(loop: 2, queuedBytes: 5)
        #expect(budget.totalQueuedBytes == 355)
        // Loop 1's figure of this turn replaces what it published.
        #expect(budget.total(withLoop: 1, at: 400) == 505)
        #expect(budget.replayLimitBytes == 500)
    }

    @Test func underTheCapNobodySheds() {
        let budget = OutputBudget(loops: 2, capBytes: 1000)
        #expect(budget.share(total: 1000, own: 600) == 0)
        #expect(budget.share(total: 400, own: 400) == 0)
        #expect(budget.share(total: 2000, own: 0) == 0)
    }

    @Test func overTheCapEachLoopShedsItsProportionalShareAndTheSharesCoverTheExcess() {
        let budget = OutputBudget(loops: 3, capBytes: 1000)
        let holdings = [700, 500, 101]
        let total = holdings.reduce(0, +)
        let shares = holdings.map { budget.share(total: total, own: $0) }
        #expect(shares[0] > shares[1] && shares[1] > shares[2])
        #expect(shares.reduce(0, +) >= total - 1000)
        #expect(shares.reduce(0, +) <= total - 1000 + holdings.count)   // rounding up only
        for (share, own) in zip(shares, holdings) { #expect(share <= own) }
    }

    @Test func replaysWaitingOnAnyLoopIsSeenByAll() {
        let budget = OutputBudget(loops: 2, capBytes: 1000)
        #expect(!budget.replaysWaitAnywhere)
        budget.setReplaysWaiting(loop: 1, true)
        #expect(budget.replaysWaitAnywhere)
        budget.setReplaysWaiting(loop: 1, false)
        #expect(!budget.replaysWaitAnywhere)
    }
}
