import Glibc
import OpenSSLKit

/// `--tls-ticket-key-file` (docs/PROTOCOL.md §10, docs/DEPLOYMENT.md): the session-ticket key,
/// kept in a file so that tickets survive a restart and nodes given the same file resume
/// each other's sessions.
///
/// Format: 80 random bytes as 160 hex characters on one line (a trailing line ending is
/// allowed): `(umask 077; openssl rand -hex 80 > ticket.key)`. The file must be a regular
/// file with no permission bits for group or others (mode 0600 or 0400): the key decrypts
/// the session keys of every resumed connection.
public enum TLSTicketKeyFile {
    /// Reads the key from `path`.
    /// - Throws: `TLSTicketKeyFileError` saying what is wrong and how to fix it.
    public static func load(path: String) throws(TLSTicketKeyFileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .notRegularFile(path: path) }
        guard info.st_mode & 0o077 == 0 else { throw .tooOpen(path: path, mode: info.st_mode & 0o777) }

        // 160 hex characters and a line ending; anything much longer is the wrong file.
        let limit = 2 * TLSTicketKeys.keyLength + 2
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 512)
        while bytes.count <= limit {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable(path: path, reason: String(cString: strerror(errno)))
            }
            bytes += chunk[..<n]
        }
        if bytes.last == UInt8(ascii: "\n") {
            bytes.removeLast()
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        }
        guard bytes.count == 2 * TLSTicketKeys.keyLength, let key = decodeHex(bytes) else {
            throw .badFormat(path: path)
        }
        return key
    }

    private static func decodeHex(_ text: [UInt8]) -> [UInt8]? {
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var key: [UInt8] = []
        key.reserveCapacity(text.count / 2)
        var index = 0
        while index + 1 < text.count {
            guard let high = nibble(text[index]), let low = nibble(text[index + 1]) else { return nil }
            key.append(high << 4 | low)
            index += 2
        }
        return key
    }
}

public enum TLSTicketKeyFileError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case notRegularFile(path: String)
    case tooOpen(path: String, mode: mode_t)
    case badFormat(path: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "cannot read TLS ticket key file \(path): \(reason)"
        case .notRegularFile(let path):
            return "TLS ticket key file \(path) is not a regular file"
        case .tooOpen(let path, let mode):
            return "TLS ticket key file \(path) is accessible by group or others (mode \(String(mode, radix: 8))): it is a secret, run chmod 600 \(path)"
        case .badFormat(let path):
            return "TLS ticket key file \(path) must hold 160 hex characters (80 random bytes) on one line; make one with: (umask 077; openssl rand -hex 80 > \(path))"
        }
    }
}
