import Glibc
import OpenSSLKit
import Reactor

/// A TLS session on a non-blocking socket, driven by the same loop as plain sockets.
/// The handshake needs no separate state: OpenSSL finishes it inside the first reads.
final class TLSStream: ByteStream {
    let fd: Int32
    private let session: TLSSession
    private var isClosed = false

    init(fd: Int32, context: TLSContext) throws {
        self.fd = fd
        session = try TLSSession(context: context, fd: fd)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> StreamIO {
        map(session.read(into: buffer))
    }

    func write(_ chunks: UnsafeBufferPointer<UnsafeRawBufferPointer>) -> StreamIO {
        // One TLS record stream: write chunk after chunk until OpenSSL wants to wait.
        var total = 0
        for chunk in chunks {
            var offset = 0
            while offset < chunk.count {
                switch session.write(UnsafeRawBufferPointer(rebasing: chunk[offset...])) {
                case .bytes(let n):
                    offset += n
                    total += n
                case let other:
                    if total > 0 { return .bytes(total) }
                    return map(other)
                }
            }
        }
        return .bytes(total)
    }

    var hasPendingInput: Bool { session.hasBufferedPlaintext }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        session.shutdown()
        Glibc.close(fd)
    }

    private func map(_ result: TLSIOResult) -> StreamIO {
        switch result {
        case .bytes(let n): return .bytes(n)
        case .wantRead: return .wouldBlockRead
        case .wantWrite: return .wouldBlockWrite
        case .closed: return .closed
        case .failed: return .failed(EPROTO)
        }
    }
}
