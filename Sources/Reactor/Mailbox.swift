import Synchronization

/// A queue into a thread that sleeps in epoll or on an eventfd. Producers on any thread
/// `post`; the owner drains everything with `takeAll` after its wakeup fires.
/// Sendable by construction: the queue sits behind a Mutex and the eventfd is atomic.
public final class Mailbox<Message: Sendable>: Sendable {
    private let queue = Mutex<[Message]>([])
    public let wakeup: WakeupSignal

    public init(blocking: Bool = false) throws(SystemError) {
        wakeup = try WakeupSignal(blocking: blocking)
    }

    public func post(_ message: Message) {
        let wasEmpty = queue.withLock { q in
            q.append(message)
            return q.count == 1
        }
        // One wakeup per batch is enough: the owner takes everything queued when it wakes.
        if wasEmpty { wakeup.signal() }
    }

    public func takeAll() -> [Message] {
        queue.withLock { q in
            let all = q
            q.removeAll(keepingCapacity: true)
            return all
        }
    }
}
