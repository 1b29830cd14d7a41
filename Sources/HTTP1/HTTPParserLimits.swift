/// Size limits the parser enforces while bytes arrive, so that no client can make it
/// buffer more than these amounts per request.
public struct HTTPParserLimits: Sendable {
    /// Request line plus header fields plus the terminating empty line. Exceeding it gives
    /// 431, or 414 when the request line alone does not fit.
    public var maxHeaderBytes: Int = 16 * 1024
    /// Decoded body size. Exceeding it gives 413.
    public var maxBodyBytes: Int = 1024 * 1024

    public init(maxHeaderBytes: Int = 16 * 1024, maxBodyBytes: Int = 1024 * 1024) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
    }
}
