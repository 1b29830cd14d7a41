import Foundation

/// A client of the `/ws` push protocol (docs/PROTOCOL.md §3) over a raw `TestClient`: sends the
/// JSON messages, reads the server's, answers pings.
final class PushSession {
    let client: TestClient
    /// The close frame the server sent, once one was read.
    private(set) var closeFrame: TestClient.Frame?

    /// Connects and upgrades, with the token in the `access_token` query parameter or,
    /// with `viaHeader`, in `Authorization: Bearer`.
    init(port: UInt16, token: String, viaHeader: Bool = false, timeoutSeconds: Int = 5,
         receiveBufferBytes: Int32? = nil) throws {
        client = try TestClient(port: port, timeoutSeconds: timeoutSeconds, receiveBufferBytes: receiveBufferBytes)
        let answer = viaHeader ? client.upgrade("/ws", headers: ["Authorization": "Bearer " + token])
                               : client.upgrade("/ws?access_token=" + token)
        guard let answer, answer.status == 101 else {
            throw TestFailure("upgrade refused: \(answer.map { "\($0.status) \($0.text)" } ?? "no answer")")
        }
    }

    func send(_ json: String) { client.sendText(json) }

    /// Sends `subscribe` (the answer is left to read).
    func subscribe(_ channel: String, since: Int? = nil, epoch: String? = nil) {
        var message = #"{"type":"subscribe","channel":\#(jsonString(channel))"#
        if let since { message += #","since":\#(since)"# }
        if let epoch { message += #","epoch":\#(jsonString(epoch))"# }
        send(message + "}")
    }

    /// Subscribes and returns the `subscribed` answer; throws on anything else.
    @discardableResult
    func subscribed(_ channel: String, since: Int? = nil, epoch: String? = nil) throws -> [String: Any] {
        subscribe(channel, since: since, epoch: epoch)
        guard let answer = next() else { throw TestFailure("no answer to subscribe \(channel)") }
        guard answer["type"] as? String == "subscribed", answer["channel"] as? String == channel else {
            throw TestFailure("subscribe \(channel) answered \(answer)")
        }
        return answer
    }

    /// The next JSON message, answering pings on the way; nil on timeout, EOF or close
    /// (then `closeFrame` holds the close, which has been answered).
    func next() -> [String: Any]? {
        while let frame = client.readFrame() {
            switch frame.opcode {
            case 0x9: client.send(TestClient.frame(opcode: 0xA, payload: frame.payload))
            case 0xA: continue
            case 0x8:
                // Answer the close, as a browser does, so the server need not wait for it.
                closeFrame = frame
                client.send(TestClient.frame(opcode: 0x8, payload: Array(frame.payload.prefix(2))))
                return nil
            default: return frame.json ?? ["unparsed": frame.text]
            }
        }
        return nil
    }

    /// The next message within `milliseconds` (the socket's timeout is restored after).
    func next(within milliseconds: Int, restoreSeconds: Int = 5) -> [String: Any]? {
        client.setReceiveTimeout(milliseconds: milliseconds)
        defer { client.setReceiveTimeout(milliseconds: restoreSeconds * 1000) }
        return next()
    }

    /// Reads messages until one satisfies `match`, skipping (and returning) the others;
    /// nil if none came within the timeout.
    func next(where match: ([String: Any]) -> Bool) -> (match: [String: Any], skipped: [[String: Any]])? {
        var skipped: [[String: Any]] = []
        while let message = next() {
            if match(message) { return (message, skipped) }
            skipped.append(message)
        }
        return nil
    }

    /// The next `kind` event for order `id` on `channel`, skipping any other message.
    func event(for id: String, kind: String, channel: String) -> [String: Any]? {
        next(where: { m in
            m["type"] as? String == "event" && m["channel"] as? String == channel && m["event"] as? String == kind
                && (m["order"] as? [String: Any])?["id"] as? String == id
        })?.match
    }

    /// Reads until the server closes; returns the events received before the close.
    func eventsUntilClose() -> [[String: Any]] {
        var events: [[String: Any]] = []
        while let message = next() { if message["type"] as? String == "event" { events.append(message) } }
        return events
    }
}

extension Dictionary where Key == String, Value == Any {
    var type: String? { self["type"] as? String }
    var seq: Int? { self["seq"] as? Int }
    var channel: String? { self["channel"] as? String }
    var code: String? { self["code"] as? String }
    var orderID: String? { (self["order"] as? [String: Any])?["id"] as? String }
}
