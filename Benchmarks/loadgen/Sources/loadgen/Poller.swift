import CEpoll
import Glibc

/// One epoll instance, level-triggered, with the connection's slot index as the token.
final class Poller {
    private let fd: Int32
    private var events: UnsafeMutableBufferPointer<epoll_event>

    init() {
        fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(fd >= 0, "epoll_create1 failed")
        events = .allocate(capacity: 1024)
    }

    deinit {
        events.deallocate()
        close(fd)
    }

    func add(_ descriptor: Int32, token: Int, writable: Bool) {
        control(EPOLL_CTL_ADD, descriptor, token, writable)
    }

    func modify(_ descriptor: Int32, token: Int, writable: Bool) {
        control(EPOLL_CTL_MOD, descriptor, token, writable)
    }

    func remove(_ descriptor: Int32) {
        var ev = epoll_event()
        epoll_ctl(fd, EPOLL_CTL_DEL, descriptor, &ev)
    }

    private func control(_ op: Int32, _ descriptor: Int32, _ token: Int, _ writable: Bool) {
        let interest = EPOLLIN.rawValue | EPOLLRDHUP.rawValue | (writable ? EPOLLOUT.rawValue : 0)
        var ev = epoll_event(events: interest, data: epoll_data_t(u64: UInt64(token)))
        epoll_ctl(fd, op, descriptor, &ev)
    }

    /// Waits up to `timeoutMs` and calls `body(token, readable, writable)` per ready socket.
    func wait(timeoutMs: Int32, _ body: (Int, Bool, Bool) -> Void) {
        let n = epoll_wait(fd, events.baseAddress, Int32(events.count), timeoutMs)
        guard n > 0 else { return }
        let readMask = EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue | EPOLLRDHUP.rawValue
        let writeMask = EPOLLOUT.rawValue | EPOLLERR.rawValue
        for i in 0..<Int(n) {
            let e = events[i].events
            body(Int(events[i].data.u64), e & readMask != 0, e & writeMask != 0)
        }
    }
}
