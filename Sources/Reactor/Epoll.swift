#if !os(Linux)
#error("OrderPush runs on Linux only: the reactor is built on epoll, eventfd, signalfd and timerfd.")
#endif

import CLinux
import Glibc

/// A thin owner of one epoll instance. Interest is level-triggered: a handler that leaves
/// bytes unread is called again on the next turn, so no handler can starve or lose a wakeup.
public final class Epoll {
    public struct Interest: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let readable = Interest(rawValue: EPOLLIN.rawValue)
        public static let writable = Interest(rawValue: EPOLLOUT.rawValue)
        /// Peer closed its writing half (or all of it).
        public static let peerClosed = Interest(rawValue: EPOLLRDHUP.rawValue)
    }

    /// What epoll reported for one registered descriptor.
    public struct Readiness: Sendable {
        public let token: UInt64
        public let events: UInt32
        public var isReadable: Bool { events & (EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue | EPOLLRDHUP.rawValue) != 0 }
        public var isWritable: Bool { events & (EPOLLOUT.rawValue | EPOLLERR.rawValue) != 0 }
        public var isError: Bool { events & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 }
    }

    private let fd: Int32
    private var events: UnsafeMutableBufferPointer<epoll_event>

    public init(maxEventsPerWait: Int = 1024) throws(SystemError) {
        let fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard fd >= 0 else { throw SystemError("epoll_create1") }
        self.fd = fd
        events = .allocate(capacity: maxEventsPerWait)
    }

    deinit {
        events.deallocate()
        Glibc.close(fd)
    }

    public func add(_ descriptor: Int32, interest: Interest, token: UInt64) throws(SystemError) {
        try control(EPOLL_CTL_ADD, descriptor, interest, token)
    }

    public func modify(_ descriptor: Int32, interest: Interest, token: UInt64) throws(SystemError) {
        try control(EPOLL_CTL_MOD, descriptor, interest, token)
    }

    /// Removing a descriptor that is about to be closed cannot meaningfully fail; errors are ignored.
    public func remove(_ descriptor: Int32) {
        var ev = epoll_event()
        _ = epoll_ctl(fd, EPOLL_CTL_DEL, descriptor, &ev)
    }

    private func control(_ op: Int32, _ descriptor: Int32, _ interest: Interest, _ token: UInt64) throws(SystemError) {
        var ev = epoll_event(events: interest.rawValue, data: epoll_data_t(u64: token))
        guard epoll_ctl(fd, op, descriptor, &ev) == 0 else { throw SystemError("epoll_ctl") }
    }

    /// Waits up to `timeoutMs` (-1: forever) and calls `body` for each ready descriptor.
    public func wait(timeoutMs: Int32, _ body: (Readiness) -> Void) {
        let n = epoll_wait(fd, events.baseAddress, Int32(events.count), timeoutMs)
        guard n > 0 else { return }   // EINTR or timeout: the caller's loop simply turns again
        for i in 0..<Int(n) {
            body(Readiness(token: events[i].data.u64, events: events[i].events))
        }
    }
}
