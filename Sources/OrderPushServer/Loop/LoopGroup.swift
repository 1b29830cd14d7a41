import Reactor
import Synchronization

/// The mailboxes of every loop, so any thread can reach all of them. Immutable after start.
final class LoopGroup: Sendable {
    let mailboxes: [Mailbox<LoopMessage>]
    /// Open connections of the whole process. One counter shared by every loop, not a count
    /// per loop: `--max-connections` protects the process's descriptor limit, which all loops
    /// draw from, and per-loop counts would let N loops open N times the limit.
    private let openConnections = Atomic<Int>(0)

    /// The process-wide output bound, one slot per loop.
    let outputBudget: OutputBudget

    init(count: Int, maxTotalOutputBytes: Int = ServerConfig().maxTotalOutputBytes) throws(SystemError) {
        outputBudget = OutputBudget(loops: count, capBytes: maxTotalOutputBytes)
        var boxes: [Mailbox<LoopMessage>] = []
        for _ in 0..<count { boxes.append(try Mailbox<LoopMessage>()) }
        mailboxes = boxes
    }

    /// Takes a place for a new connection; false at the cap. Increment first, then check, so
    /// two loops accepting at once cannot both take the last place.
    func admitConnection(limit: Int) -> Bool {
        if openConnections.add(1, ordering: .relaxed).newValue <= limit { return true }
        openConnections.subtract(1, ordering: .relaxed)
        return false
    }

    /// Gives back the place of a connection that `admitConnection` let in.
    func connectionEnded() {
        openConnections.subtract(1, ordering: .relaxed)
    }

    func postToAll(_ message: LoopMessage) {
        for box in mailboxes { box.post(message) }
    }
}
