import Foundation
import OpenSSLKit

/// A blocking TCP client with a receive timeout, speaking raw HTTP/1.1 and WebSocket
/// (client side: masked frames) so tests control every byte, including bad ones.
final class TestClient {
    let fd: Int32
    private var inbox: [UInt8] = []

    /// - Parameters:
    ///   - host: an IPv4 address (a non-loopback one to test what only loopback may do).
    ///   - receiveBufferBytes: a small `SO_RCVBUF`, set before connecting, makes a client
    ///     that does not read fill up quickly (slow-consumer tests).
    init(port: UInt16, host: String = "127.0.0.1", timeoutSeconds: Int = 5, receiveBufferBytes: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket failed") }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        if var size = receiveBufferBytes {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr(host)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { close(fd); throw TestFailure("connect to \(port) failed: errno \(errno)") }
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    func send(_ text: String) { send(Array(text.utf8)) }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Reads more bytes into the inbox; false on EOF, error or timeout.
    @discardableResult
    private func fill() -> Bool {
        var buf = [UInt8](repeating: 0, count: 65536)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return false }
        inbox.append(contentsOf: buf[0..<n])
        return true
    }

    /// True when the server closed the connection (EOF or reset) within the timeout.
    func waitForEOF() -> Bool {
        while true {
            var buf = [UInt8](repeating: 0, count: 65536)
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
            inbox.append(contentsOf: buf[0..<n])
        }
    }

    /// What is buffered past the last parsed response, or else the next bytes read; nil on
    /// EOF, error or timeout with nothing buffered. For bodies read as a stream (event streams).
    func takeBytes() -> [UInt8]? {
        if inbox.isEmpty && !fill() { return nil }
        defer { inbox.removeAll() }
        return inbox
    }

    // MARK: HTTP

    struct Response {
        let status: Int
        let headers: [(String, String)]
        let body: [UInt8]
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] }
        var errorCode: String? { (json?["error"] as? [String: Any])?["code"] as? String }
    }

    /// Reads one response (Content-Length or no body); nil on EOF/timeout before a full one.
    func readResponse(headRequest: Bool = false) -> Response? {
        while true {
            if let end = find([13, 10, 13, 10]) {
                let head = String(decoding: inbox[0..<end], as: UTF8.self)
                var lines = head.components(separatedBy: "\r\n")
                let statusLine = lines.removeFirst().split(separator: " ")
                guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
                let headers = lines.compactMap { line -> (String, String)? in
                    guard let c = line.firstIndex(of: ":") else { return nil }
                    return (String(line[..<c]), line[line.index(after: c)...].trimmingCharacters(in: .whitespaces))
                }
                let length = headRequest || status == 304 || status == 204 || status == 101 ? 0
                    : Int(headers.first { $0.0.lowercased() == "content-length" }?.1 ?? "0") ?? 0
                while inbox.count < end + 4 + length { if !fill() { return nil } }
                let body = Array(inbox[(end + 4)..<(end + 4 + length)])
                inbox.removeFirst(end + 4 + length)
                return Response(status: status, headers: headers, body: body)
            }
            if !fill() { return nil }
        }
    }

    func request(_ method: String, _ path: String, headers: [String: String] = [:], body: [UInt8] = []) -> Response? {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (k, v) in headers { text += "\(k): \(v)\r\n" }
        if !body.isEmpty || method == "POST" || method == "PUT" { text += "Content-Length: \(body.count)\r\n" }
        text += "\r\n"
        send(Array(text.utf8) + body)
        return readResponse(headRequest: method == "HEAD")
    }

    private func find(_ needle: [UInt8]) -> Int? {
        guard inbox.count >= needle.count else { return nil }
        for i in 0...(inbox.count - needle.count) where inbox[i] == needle[0] {
            if Array(inbox[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }

    // MARK: WebSocket

    /// Sends a valid handshake for `path` (plus extra headers) and returns the server's answer.
    func upgrade(_ path: String, headers: [String: String] = [:]) -> Response? {
        var h = ["Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                 "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="]
        for (k, v) in headers { h[k] = v }
        return request("GET", path, headers: h)
    }

    /// A client frame; `mask: false` breaks the rule that clients mask.
    static func frame(opcode: UInt8, payload: [UInt8], fin: Bool = true, mask: Bool = true, rsv: UInt8 = 0) -> [UInt8] {
        var out: [UInt8] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode]
        let maskBit: UInt8 = mask ? 0x80 : 0
        if payload.count < 126 {
            out.append(maskBit | UInt8(payload.count))
        } else if payload.count < 65536 {
            out.append(maskBit | 126)
            out += [UInt8(payload.count >> 8), UInt8(payload.count & 0xff)]
        } else {
            out.append(maskBit | 127)
            for i in (0..<8).reversed() { out.append(UInt8((payload.count >> (8 * i)) & 0xff)) }
        }
        if mask {
            let key: [UInt8] = [0x37, 0xfa, 0x21, 0x3d]
            out += key
            for (i, b) in payload.enumerated() { out.append(b ^ key[i % 4]) }
        } else {
            out += payload
        }
        return out
    }

    func sendText(_ text: String) { send(Self.frame(opcode: 1, payload: Array(text.utf8))) }

    struct Frame {
        let fin: Bool
        let opcode: UInt8
        let payload: [UInt8]
        /// RSV1: a permessage-deflate message (its payload is deflate data).
        var compressed = false
        var text: String { String(decoding: payload, as: UTF8.self) }
        var closeCode: UInt16? { payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil }
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(payload))) as? [String: Any] }
    }

    /// Reads one server frame (server frames are never masked); nil on EOF/timeout.
    func readFrame() -> Frame? {
        while true {
            if inbox.count >= 2 {
                let b0 = inbox[0], b1 = inbox[1]
                var length = Int(b1 & 0x7f)
                var offset = 2
                if length == 126 {
                    guard inbox.count >= 4 else { if !fill() { return nil }; continue }
                    length = Int(inbox[2]) << 8 | Int(inbox[3])
                    offset = 4
                } else if length == 127 {
                    guard inbox.count >= 10 else { if !fill() { return nil }; continue }
                    length = inbox[2..<10].reduce(0) { $0 << 8 | Int($1) }
                    offset = 10
                }
                if inbox.count >= offset + length {
                    let frame = Frame(fin: b0 & 0x80 != 0, opcode: b0 & 0x0f, payload: Array(inbox[offset..<(offset + length)]),
                                      compressed: b0 & 0x40 != 0)
                    inbox.removeFirst(offset + length)
                    return frame
                }
            }
            if !fill() { return nil }
        }
    }

    /// The next frame that is not a ping (answering nothing), for tests that do not care about liveness.
    func readDataOrClose() -> Frame? {
        while let f = readFrame() {
            if f.opcode == 9 || f.opcode == 10 { continue }
            return f
        }
        return nil
    }
}

extension TestClient {
    /// The value of a `/metrics` sample without labels (`name value`), read with a
    /// `GET /metrics` on this connection; nil when the answer or the line is missing.
    func metric(_ name: String) -> Int? {
        guard let text = request("GET", "/metrics")?.text else { return nil }
        return Self.metric(name, in: text)
    }

    /// The value of the sample `name` (without labels) in a `/metrics` text.
    static func metric(_ name: String, in text: String) -> Int? {
        let line = text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return line.flatMap { Int($0.split(separator: " ")[1]) }
    }
}
