import Glibc

/// A failed system call with its errno, e.g. `bind: Address already in use (errno 98)`.
public struct SystemError: Error, CustomStringConvertible, Sendable {
    public let call: String
    public let errnoCode: Int32

    public init(_ call: String, errno code: Int32 = Glibc.errno) {
        self.call = call
        self.errnoCode = code
    }

    public var description: String {
        "\(call): \(String(cString: strerror(errnoCode))) (errno \(errnoCode))"
    }
}
