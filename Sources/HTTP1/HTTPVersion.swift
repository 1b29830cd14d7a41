/// The protocol version of a request line, `HTTP/major.minor`.
public struct HTTPVersion: Equatable, Hashable, Sendable {
    public let major: Int
    public let minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public static let http10 = HTTPVersion(major: 1, minor: 0)
    public static let http11 = HTTPVersion(major: 1, minor: 1)
}

extension HTTPVersion: CustomStringConvertible {
    /// `HTTP/1.1` form.
    public var description: String { "HTTP/\(major).\(minor)" }
}
