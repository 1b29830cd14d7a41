/// Something the loop calls when its descriptor is ready.
public protocol EventHandler: AnyObject {
    func handle(_ readiness: Epoll.Readiness)
}

/// One thread's event loop (the shape of Redis' ae.c): epoll readiness dispatched to
/// handlers by descriptor, a periodic tick for deadlines, and an end-of-turn hook where
/// output queued during the turn is written, one write per socket per turn.
///
/// Not Sendable: a loop and everything registered on it belong to the thread that runs it.
public final class EventLoop {
    private let epoll: Epoll
    /// Handlers indexed by fd; a generation in the token guards against a descriptor that was
    /// closed and reused within one batch of readiness events.
    private var slots: [Slot?] = []
    private var generation: UInt32 = 0
    private var running = false

    private struct Slot {
        let generation: UInt32
        let handler: EventHandler
    }

    /// Called every `tickIntervalMs` (deadlines, pings).
    public var onTick: (() -> Void)?
    public var tickIntervalMs: Int64 = 250
    /// Called after each batch of readiness events has been handled.
    public var afterTurn: (() -> Void)?

    public init() throws(SystemError) {
        epoll = try Epoll()
    }

    public func register(_ fd: Int32, interest: Epoll.Interest, handler: EventHandler) throws(SystemError) {
        generation &+= 1
        let index = Int(fd)
        if index >= slots.count { slots.append(contentsOf: repeatElement(nil, count: index - slots.count + 1)) }
        slots[index] = Slot(generation: generation, handler: handler)
        do {
            try epoll.add(fd, interest: interest, token: token(fd, generation))
        } catch {
            slots[index] = nil
            throw error
        }
    }

    public func update(_ fd: Int32, interest: Epoll.Interest) {
        guard let slot = slots[Int(fd)] else { return }
        // MOD can only fail for an fd we no longer own; the connection is closing anyway.
        try? epoll.modify(fd, interest: interest, token: token(fd, slot.generation))
    }

    /// Call before closing `fd`.
    public func deregister(_ fd: Int32) {
        guard Int(fd) < slots.count, slots[Int(fd)] != nil else { return }
        epoll.remove(fd)
        slots[Int(fd)] = nil
    }

    public func stop() { running = false }

    public func run() {
        running = true
        var nextTick = MonotonicClock.nowMilliseconds() + tickIntervalMs
        while running {
            let now = MonotonicClock.nowMilliseconds()
            let timeout = Int32(clamping: max(0, nextTick - now))
            epoll.wait(timeoutMs: timeout) { readiness in
                let fd = Int(readiness.token >> 32)
                let gen = UInt32(truncatingIfNeeded: readiness.token)
                guard fd < slots.count, let slot = slots[fd], slot.generation == gen else { return }
                slot.handler.handle(readiness)
            }
            if MonotonicClock.nowMilliseconds() >= nextTick {
                nextTick = MonotonicClock.nowMilliseconds() + tickIntervalMs
                onTick?()
            }
            afterTurn?()
        }
    }

    private func token(_ fd: Int32, _ generation: UInt32) -> UInt64 {
        UInt64(UInt32(bitPattern: fd)) << 32 | UInt64(generation)
    }
}
