import Glibc

/// Where the server under test listens. Only 127.0.0.0/8 is accepted: this tool sends
/// load, and load never leaves the machine.
struct Endpoint: Sendable {
    let host: String
    let port: UInt16
    let address: in_addr

    init(host: String, port: UInt16) throws(LoadError) {
        let name = host == "localhost" ? "127.0.0.1" : host
        var addr = in_addr()
        guard inet_pton(AF_INET, name, &addr) == 1 else { throw LoadError("not an IPv4 address: \(host)") }
        guard UInt32(bigEndian: addr.s_addr) >> 24 == 127 else {
            throw LoadError("refusing \(host): load goes only to 127.0.0.0/8")
        }
        self.host = name
        self.port = port
        self.address = addr
    }

    /// The `Host` header value.
    var authority: String { "\(host):\(port)" }
}

/// Source addresses for client sockets: connection i binds to 127.0.0.(first + i % count)
/// when count > 0, which is what lets more than ~28k connections reach one server port.
struct SourceAddresses: Sendable {
    let first: Int
    let count: Int

    func address(for index: Int) -> in_addr? {
        guard count > 0 else { return nil }
        let last = first + index % count
        return in_addr(s_addr: (UInt32(127) << 24 | UInt32(last & 0xff)).bigEndian)
    }
}

/// An error with a message meant for the person running the benchmark.
struct LoadError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
