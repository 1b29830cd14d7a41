import JSON
import Auth
import Orders
import Storage
import WebSocket

/// The `/ws` protocol of CONTRACT.md §3: subscribe (with replay from `since`), unsubscribe.
extension OrderService {
    /// Events read from the log per query while replaying.
    private static let replayPage = 500

    func handlePushMessage(_ bytes: [UInt8], client: PushClient, on connection: Connection) {
        let message: JSONValue
        do {
            message = try JSONValue.parse(bytes, maxDepth: 8)
        } catch {
            return sendError(code: "bad_request", message: "messages must be JSON objects: \(error)", channel: nil,
                             client: client, on: connection)
        }
        guard message.isObject, let type = message["type"]?.stringValue else {
            return sendError(code: "bad_request", message: "a message needs a string \"type\"", channel: nil,
                             client: client, on: connection)
        }
        switch type {
        case "subscribe", "unsubscribe":
            guard let channel = message["channel"]?.stringValue else {
                return sendError(code: "bad_request", message: "\(type) needs a string \"channel\"", channel: nil,
                                 client: client, on: connection)
            }
            guard Self.isValidChannel(channel) else {
                return sendError(code: "bad_request", message: "unknown channel; use \"admin\" or \"user:<id>\"",
                                 channel: channel, client: client, on: connection)
            }
            if type == "unsubscribe" {
                loop.unsubscribe(connection, client: client, from: channel)
                connection.sendFrame(FrameEncoder.frame(opcode: .text, payload: PushMessage.unsubscribed(channel: channel)))
            } else {
                subscribe(message, channel: channel, client: client, on: connection)
            }
        default:
            sendError(code: "bad_request", message: "unknown message type \"\(type)\"", channel: nil, client: client, on: connection)
        }
    }

    func sendError(code: String, message: String, channel: String?, client: PushClient, on connection: Connection) {
        connection.sendFrame(FrameEncoder.frame(opcode: .text, payload: PushMessage.error(code: code, message: message, channel: channel)))
    }

    static func isValidChannel(_ channel: String) -> Bool {
        if channel == "admin" { return true }
        guard channel.hasPrefix("user:") else { return false }
        let id = channel.utf8.dropFirst(5)
        return !id.isEmpty && id.count <= 256 && id.allSatisfy { $0 >= 0x20 && $0 != 0x7f }
    }

    static func mayFollow(_ channel: String, _ claims: Claims) -> Bool {
        switch claims.role {
        case .admin, .service: return true
        case .user: return channel == "user:" + claims.sub
        }
    }

    private func subscribe(_ message: JSONValue, channel: String, client: PushClient, on connection: Connection) {
        guard Self.mayFollow(channel, client.claims) else {
            return sendError(code: "forbidden", message: "role \(client.claims.role.rawValue) may not follow \(channel)",
                             channel: channel, client: client, on: connection)
        }
        var since: Int64?
        if let raw = message["since"], !raw.isNull {
            guard let n = raw.numberValue, n >= 0, n == n.rounded(), n < 9.0e15 else {
                return sendError(code: "bad_request", message: "since must be a non-negative integer", channel: channel,
                                 client: client, on: connection)
            }
            since = Int64(n)
        }
        var clientEpoch: String?
        if let raw = message["epoch"], !raw.isNull {
            guard let e = raw.stringValue else {
                return sendError(code: "bad_request", message: "epoch must be a string", channel: channel, client: client, on: connection)
            }
            clientEpoch = e
        }
        // Take in every event already handed to this loop, so the replay reads up to the
        // newest seq and live delivery continues right after it.
        loop.drainMailbox()
        guard connection.webSocket?.closeSent == false else { return }
        if let since {
            if let clientEpoch, clientEpoch != epoch {
                return sendError(code: "cursor_expired", message: "this cursor belongs to another event history; reload over HTTP",
                                 channel: channel, client: client, on: connection)
            }
            let floor: Int64
            do { floor = try store.retainedFloor() } catch {
                return sendError(code: "unavailable", message: "the event log could not be read; retry", channel: channel,
                                 client: client, on: connection)
            }
            // With several loops, another loop may already have delivered `since`: it is
            // committed, only not yet in this loop's mailbox. The log's head tells.
            var head = lastDeliveredSeq
            if since > head, let committed = try? store.head() { head = committed }
            if since < floor || since > head {
                return sendError(code: "cursor_expired",
                                 message: since < floor ? "events after \(since) are no longer retained; reload over HTTP"
                                                        : "seq \(since) is not in this history; reload over HTTP",
                                 channel: channel, client: client, on: connection)
            }
        }
        // A repeated subscribe starts over: the client asked for this replay explicitly.
        loop.unsubscribe(connection, client: client, from: channel)
        skipThrough[connection.serial]?[channel] = nil
        if let since, since > lastDeliveredSeq {
            // Nothing to replay; the events up to `since` are on their way to this loop and
            // the client has them already.
            skipThrough[connection.serial, default: [:]][channel] = since
        }
        let head = max(lastDeliveredSeq, since ?? 0)
        connection.sendFrame(FrameEncoder.frame(opcode: .text,
                                                payload: PushMessage.subscribed(channel: channel, head: head, epoch: epoch)))
        if var cursor = since {
            let userScope = channel == "admin" ? nil : String(channel.dropFirst(5))
            while cursor < lastDeliveredSeq, connection.webSocket?.closeSent == false {
                let page: [StoredEvent]
                do {
                    page = try store.events(after: cursor, userId: userScope, limit: Self.replayPage)
                } catch {
                    return connection.startClose(code: CloseCode.internalError, reason: "event log unreadable; resume with since")
                }
                for event in page where event.seq <= lastDeliveredSeq {
                    connection.sendFrame(FrameEncoder.frame(opcode: .text, payload: PushMessage.event(event, channel: channel)))
                }
                guard let last = page.last, page.count == Self.replayPage else { break }
                cursor = last.seq
            }
            // A replay that overflowed the output cap closed the connection with 1013.
            guard connection.webSocket?.closeSent == false else { return }
        }
        client.channels.append(channel)
        _ = loop.registry.add(connection, to: channel)
        if channel == "admin" {
            metrics.adminSubscriptions.add(1, ordering: .relaxed)
        } else {
            metrics.userSubscriptions.add(1, ordering: .relaxed)
        }
    }
}
