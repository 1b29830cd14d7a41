/// Close status codes (RFC 6455 §7.4 and the IANA "WebSocket Close Code Number" registry).
public enum CloseCode {
    public static let normal: UInt16 = 1000
    public static let goingAway: UInt16 = 1001
    public static let protocolError: UInt16 = 1002
    public static let unsupportedData: UInt16 = 1003
    public static let invalidPayload: UInt16 = 1007
    public static let policyViolation: UInt16 = 1008
    public static let messageTooBig: UInt16 = 1009
    public static let internalError: UInt16 = 1011
    public static let tryAgainLater: UInt16 = 1013

    /// Whether a peer may put `code` in a close frame.
    ///
    /// Valid: 1000-1003, 1007-1011, the IANA-registered 1012-1014 (service restart, try again
    /// later, bad gateway) and the application/private range 3000-4999. Invalid: below 1000,
    /// 1004 (reserved), 1005/1006/1015 (only for reporting, never on the wire), the unassigned
    /// rest of 1016-2999, and 5000 and above.
    public static func isValidReceived(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: return true
        default: return false
        }
    }
}
