#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import OpenSSLKit

/// The HMAC key for tokens, kept in a file (docs/PROTOCOL.md §10: `--jwt-secret-file`, or generated
/// into the data folder on first start).
///
/// The key is the file's bytes with one trailing line ending removed, so `echo secret > f`
/// and `printf secret > f` give the same key. A generated file holds 64 hex characters
/// (32 random bytes) and a newline; the key is those 64 ASCII characters, exactly what
/// `load` later returns.
///
/// RFC 7518 §3.2 asks for HS256 keys of at least 32 bytes; shorter keys are accepted here
/// (operators may bring their own) and callers may warn using `recommendedMinimumLength`.
public enum SecretFile {
    /// A secret file larger than this is refused (a mistaken path like a log file or /dev/zero).
    public static let maxSize = 64 * 1024
    /// RFC 7518 §3.2: an HS256 key should be at least as long as the hash output.
    public static let recommendedMinimumLength = 32

    /// Reads the key from `path`.
    /// - Throws: `SecretFileError` if the file cannot be read, is not a regular file,
    ///   is larger than `maxSize`, or is empty after removing the trailing line ending.
    public static func load(path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SecretFileError.unreadable(path: path, reason: systemError()) }
        defer { close(fd) }

        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SecretFileError.unreadable(path: path, reason: systemError()) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw SecretFileError.notRegularFile(path: path) }

        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw SecretFileError.unreadable(path: path, reason: systemError())
            }
            bytes += chunk[..<n]
            guard bytes.count <= maxSize else { throw SecretFileError.tooLarge(path: path) }
        }

        if bytes.last == UInt8(ascii: "\n") {
            bytes.removeLast()
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        }
        guard !bytes.isEmpty else { throw SecretFileError.empty(path: path) }
        return bytes
    }

    /// Loads the key from `path`, or, if there is no file there, creates one first.
    ///
    /// A new file is created with `O_CREAT | O_EXCL` and mode 0600 in the same `open`, so it
    /// is never readable by others, not even briefly, and a file that appears concurrently is
    /// never overwritten (it is loaded instead). Missing parent directories are created
    /// with mode 0700.
    /// - Returns: the key, and whether this call created the file.
    /// - Throws: `SecretFileError`.
    public static func loadOrCreate(path: String) throws -> (key: [UInt8], created: Bool) {
        var info = stat()
        if stat(path, &info) == 0 || errno != ENOENT {
            return (try load(path: path), false)
        }
        try createParentDirectories(of: path)

        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode_t(0o600))
        if fd < 0 {
            if errno == EEXIST { return (try load(path: path), false) }  // lost a race: use theirs
            throw SecretFileError.cannotCreate(path: path, reason: systemError())
        }

        let key = Hex.encodeToBytes(Digest.randomBytes(32))
        do {
            try writeAll(fd, key + [UInt8(ascii: "\n")], path: path)
            guard fsync(fd) == 0 else { throw SecretFileError.cannotCreate(path: path, reason: systemError()) }
        } catch {
            close(fd)
            unlink(path)  // don't leave a half-written key that the next start would load
            throw error
        }
        guard close(fd) == 0 else {
            unlink(path)
            throw SecretFileError.cannotCreate(path: path, reason: systemError())
        }
        return (key, true)
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SecretFileError.cannotCreate(path: path, reason: systemError())
            }
            offset += n
        }
    }

    /// `mkdir -p` of everything before the last `/`, mode 0700 for what it creates.
    private static func createParentDirectories(of path: String) throws {
        let components = path.split(separator: "/", omittingEmptySubsequences: false).dropLast()
        var current = path.hasPrefix("/") ? "" : "."
        for component in components where !component.isEmpty && component != "." {
            current += "/" + component
            if mkdir(current, mode_t(0o700)) != 0 && errno != EEXIST {
                throw SecretFileError.cannotCreate(path: path, reason: "\(current): \(systemError())")
            }
        }
    }

    private static func systemError() -> String {
        String(cString: strerror(errno))
    }
}
