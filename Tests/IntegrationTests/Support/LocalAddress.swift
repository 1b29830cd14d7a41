import Foundation

/// This machine's first IPv4 address that is not loopback, if it has one: connecting to
/// it (on a server bound to 0.0.0.0) makes a client the server does not see as local.
func nonLoopbackIPv4Address() -> String? {
    var list: UnsafeMutablePointer<ifaddrs>?
    guard getifaddrs(&list) == 0, let first = list else { return nil }
    defer { freeifaddrs(list) }
    var entry: UnsafeMutablePointer<ifaddrs>? = first
    while let e = entry {
        defer { entry = e.pointee.ifa_next }
        guard let addr = e.pointee.ifa_addr, addr.pointee.sa_family == sa_family_t(AF_INET) else { continue }
        let ip = addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
        guard UInt32(bigEndian: ip.s_addr) >> 24 != 127 else { continue }
        return String(cString: inet_ntoa(ip))
    }
    return nil
}
