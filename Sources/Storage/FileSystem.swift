#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum FileSystem {
    /// Creates the missing directories above `path` (like `mkdir -p` of its parent),
    /// private to the owner: the data folder also holds the signing secret.
    static func createParentDirectories(of path: String) throws(StorageError) {
        var components = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        components.removeLast()
        var current = path.hasPrefix("/") ? "" : "."
        for component in components where !component.isEmpty && component != "." {
            current += "/" + component
            if mkdir(current, 0o700) != 0 && errno != EEXIST {
                throw StorageError(code: nil, message: "cannot create directory \(current): \(String(cString: strerror(errno)))")
            }
        }
    }
}
