import CSSL

/// TLS protocol versions this package speaks (1.2 is the floor everywhere).
public enum TLSVersion: Sendable {
    case tls12
    case tls13

    var openSSLValue: Int32 {
        switch self {
        case .tls12: return TLS1_2_VERSION
        case .tls13: return TLS1_3_VERSION
        }
    }
}
