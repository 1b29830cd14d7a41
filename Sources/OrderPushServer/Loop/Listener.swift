import OpenSSLKit
import Reactor

/// A listening socket registered on a loop; accepts until the kernel queue is empty.
final class Listener: EventHandler {
    let fd: Int32
    let port: UInt16
    /// Set for an HTTPS/WSS listener: accepted sockets speak TLS. Replaced on SIGHUP (loop
    /// thread only, like everything here).
    var tls: TLSContext?
    private unowned let loop: ServerLoop
    /// Set when accept ran out of descriptors; the loop's tick resumes accepting.
    private(set) var isPaused = false

    init(fd: Int32, tls: TLSContext?, loop: ServerLoop) {
        self.fd = fd
        self.tls = tls
        self.port = Socket.localPort(fd)
        self.loop = loop
    }

    func handle(_ readiness: Epoll.Readiness) {
        // Bounded per turn so a connection storm cannot starve established connections.
        for _ in 0..<256 {
            switch Socket.accept(fd) {
            case .accepted(let client):
                loop.adopt(client, tls: tls)
            case .none:
                return
            case .exhausted:
                isPaused = true
                loop.eventLoop.update(fd, interest: [])
                return
            }
        }
    }

    func resumeIfPaused() {
        guard isPaused else { return }
        isPaused = false
        loop.eventLoop.update(fd, interest: .readable)
    }
}
