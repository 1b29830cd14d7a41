/// Why a JWT secret file could not be used. `description` names the file and the cause,
/// never the secret.
public enum SecretFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// open/read/fstat failed; `reason` is the system's error text.
    case unreadable(path: String, reason: String)
    /// Not a regular file (a directory, a FIFO, a device...).
    case notRegularFile(path: String)
    /// Zero bytes, or only a line ending.
    case empty(path: String)
    /// Larger than `SecretFile.maxSize`.
    case tooLarge(path: String)
    /// Creating the file or a parent directory failed.
    case cannotCreate(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read JWT secret file \(path): \(reason)"
        case .notRegularFile(let path): return "JWT secret file \(path) is not a regular file"
        case .empty(let path): return "JWT secret file \(path) is empty"
        case .tooLarge(let path): return "JWT secret file \(path) is larger than \(SecretFile.maxSize) bytes"
        case .cannotCreate(let path, let reason): return "cannot create JWT secret file \(path): \(reason)"
        }
    }
}
