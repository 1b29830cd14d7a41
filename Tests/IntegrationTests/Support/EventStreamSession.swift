import Foundation

/// A client of `GET /api/events` (docs/PROTOCOL.md, Server-Sent Events) over a raw
/// `TestClient`: sends the request, then parses the `text/event-stream` body as a browser's
/// `EventSource` would (fields, comments, blank line ends an event).
final class EventStreamSession {
    struct Event {
        let id: String?
        let name: String
        let data: String
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] }
        var seq: Int? { json?["seq"] as? Int }
        var code: String? { json?["code"] as? String }
    }

    let client: TestClient
    /// The response head (its body is the stream, read with `next`).
    let response: TestClient.Response
    /// Heartbeat and other comment lines seen so far.
    private(set) var comments: [String] = []
    /// The server closed the stream (EOF), as opposed to a read timeout.
    private(set) var ended = false
    private var buffer: [UInt8] = []

    /// Opens the stream at `path` (query included) with `headers`; `response` holds the
    /// answer whatever its status.
    init(port: UInt16, path: String, headers: [String: String] = [:], timeoutSeconds: Int = 5,
         receiveBufferBytes: Int32? = nil) throws {
        client = try TestClient(port: port, timeoutSeconds: timeoutSeconds, receiveBufferBytes: receiveBufferBytes)
        var all = ["Accept": "text/event-stream"]
        for (k, v) in headers { all[k] = v }
        guard let response = client.request("GET", path, headers: all) else {
            throw TestFailure("no answer to GET \(path)")
        }
        self.response = response
    }

    /// The next event (comments are collected, not returned); nil on EOF, or when none came
    /// within `seconds` (heartbeats keep the socket busy, so its read timeout alone would not end
    /// the wait).
    func next(within seconds: TimeInterval = 5) -> Event? {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let event = parseOne() { return event }
            guard !ended, Date() < deadline else { return nil }
            guard let bytes = client.takeBytes() else {
                // EOF and timeout look alike through `takeBytes`; a zero-byte peek tells them apart.
                var probe: UInt8 = 0
                ended = recv(client.fd, &probe, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) == 0
                return nil
            }
            buffer += bytes
        }
    }

    /// Every event until the server ends the stream (or a read times out).
    func eventsUntilEnd(within seconds: TimeInterval = 5) -> [Event] {
        var events: [Event] = []
        while let event = next(within: seconds) { events.append(event) }
        return events
    }

    /// Parses one block ended by a blank line; comment-only blocks are recorded and skipped.
    private func parseOne() -> Event? {
        while let end = blockEnd() {
            let block = String(decoding: buffer[0..<end], as: UTF8.self)
            buffer.removeFirst(end + 2)
            var id: String?
            var name = "message"
            var data: [String] = []
            for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix(":") { comments.append(String(line.dropFirst().drop { $0 == " " })); continue }
                let colon = line.firstIndex(of: ":") ?? line.endIndex
                let field = line[..<colon]
                var value = colon < line.endIndex ? line[line.index(after: colon)...] : ""
                if value.hasPrefix(" ") { value = value.dropFirst() }
                switch field {
                case "id": id = String(value)
                case "event": name = String(value)
                case "data": data.append(String(value))
                default: break
                }
            }
            if !data.isEmpty { return Event(id: id, name: name, data: data.joined(separator: "\n")) }
        }
        return nil
    }

    private func blockEnd() -> Int? {
        guard buffer.count >= 2 else { return nil }
        for i in 0..<(buffer.count - 1) where buffer[i] == 0x0A && buffer[i + 1] == 0x0A { return i }
        return nil
    }
}
