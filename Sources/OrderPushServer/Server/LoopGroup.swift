import Reactor

/// The mailboxes of every loop, so any thread can reach all of them. Immutable after start.
final class LoopGroup: Sendable {
    let mailboxes: [Mailbox<LoopMessage>]

    init(count: Int) throws(SystemError) {
        var boxes: [Mailbox<LoopMessage>] = []
        for _ in 0..<count { boxes.append(try Mailbox<LoopMessage>()) }
        mailboxes = boxes
    }

    func postToAll(_ message: LoopMessage) {
        for box in mailboxes { box.post(message) }
    }
}
