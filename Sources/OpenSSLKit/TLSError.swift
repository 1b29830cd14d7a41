import CSSL

/// A TLS setup failure (bad certificate or key file, OpenSSL refusing a setting), with
/// OpenSSL's own explanation.
public struct TLSError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// OpenSSL keeps errors in a per-thread queue; these helpers read it so the text reaches
/// our callers and leave it empty so a later `SSL_get_error` is not misled by stale entries.
enum OpenSSLErrorQueue {
    /// Drains the queue and returns its entries as text ("error:0A000086:SSL routines::
    /// certificate verify failed; ..."), or nil if it was empty.
    static func drain() -> String? {
        var entries: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            entries.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return entries.isEmpty ? nil : entries.joined(separator: "; ")
    }

    /// `what` followed by OpenSSL's reasons, for a `TLSError`.
    static func failure(_ what: String) -> TLSError {
        TLSError(drain().map { "\(what): \($0)" } ?? what)
    }
}
