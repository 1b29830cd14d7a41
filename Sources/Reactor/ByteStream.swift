import CLinux
import Glibc

/// The outcome of one read or write on a connection's byte stream.
public enum StreamIO: Equatable {
    case bytes(Int)
    /// Try again when the descriptor is readable (for a read, or a TLS write that must read).
    case wouldBlockRead
    /// Try again when the descriptor is writable.
    case wouldBlockWrite
    /// Orderly end of stream from the peer.
    case closed
    case failed(Int32)
}

/// The seam between a connection and its transport: a plain socket today, a TLS session
/// on the same fd tomorrow. Connections never call read/write on the fd themselves.
public protocol ByteStream: AnyObject {
    var fd: Int32 { get }
    func read(into buffer: UnsafeMutableRawBufferPointer) -> StreamIO
    /// Writes as much of `chunks` as the kernel takes, in order (one writev for a plain socket).
    func write(_ chunks: UnsafeBufferPointer<UnsafeRawBufferPointer>) -> StreamIO
    /// Bytes already decrypted and waiting (TLS); a plain socket has none.
    var hasPendingInput: Bool { get }
    /// Ends the stream (TLS close_notify where it applies) and closes the descriptor.
    func close()
}

/// A plain non-blocking TCP socket.
public final class SocketStream: ByteStream {
    public let fd: Int32
    private var isClosed = false

    public init(fd: Int32) { self.fd = fd }

    public func read(into buffer: UnsafeMutableRawBufferPointer) -> StreamIO {
        Self.read(fd: fd, into: buffer)
    }

    public func write(_ chunks: UnsafeBufferPointer<UnsafeRawBufferPointer>) -> StreamIO {
        Self.write(fd: fd, chunks)
    }

    // The I/O itself, also for an owner that keeps only the descriptor (a connection holding
    // no stream object for a plain socket saves that object's memory).

    /// One read from a plain non-blocking socket.
    public static func read(fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> StreamIO {
        let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
        if n > 0 { return .bytes(n) }
        if n == 0 { return .closed }
        switch errno {
        case EAGAIN, EWOULDBLOCK, EINTR: return .wouldBlockRead
        default: return .failed(errno)
        }
    }

    /// Writes as much of `chunks` as the kernel takes: `send` for one chunk, else `writev`.
    public static func write(fd: Int32, _ chunks: UnsafeBufferPointer<UnsafeRawBufferPointer>) -> StreamIO {
        // IOV_MAX is 1024 on Linux; callers pass at most that many.
        let count = min(chunks.count, 1024)
        let n: Int
        if count == 1 {
            // The common case of a fan-out (one frame per socket per turn): send() skips the
            // VFS layer of write/writev and costs ~7-12% less kernel CPU per call on loopback
            // (docs/BENCHMARKS.md, profile of load b).
            n = Glibc.send(fd, chunks[0].baseAddress, chunks[0].count, Int32(MSG_NOSIGNAL))
        } else {
            n = withUnsafeTemporaryAllocation(of: iovec.self, capacity: count) { iov in
                for i in 0..<count {
                    iov[i] = iovec(iov_base: UnsafeMutableRawPointer(mutating: chunks[i].baseAddress), iov_len: chunks[i].count)
                }
                return writev(fd, iov.baseAddress, Int32(count))
            }
        }
        if n >= 0 { return .bytes(n) }
        switch errno {
        case EAGAIN, EWOULDBLOCK, EINTR: return .wouldBlockWrite
        default: return .failed(errno)
        }
    }

    public var hasPendingInput: Bool { false }

    public func close() {
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(fd)
    }
}
