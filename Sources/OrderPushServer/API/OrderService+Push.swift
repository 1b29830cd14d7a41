import JSON
import Auth
import Orders
import Storage
import WebSocket

/// The `/ws` protocol of CONTRACT.md §3: subscribe (with replay from `since`), unsubscribe.
extension OrderService {
    /// Events read from the log per query while replaying.
    private static let replayPage = 200

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
                cancel(channel, of: connection, client: client)
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
        // As long as any `sub` a token can carry (tokens are at most 8 KiB).
        return !id.isEmpty && id.count <= 8192 && id.allSatisfy { $0 >= 0x20 && $0 != 0x7f }
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
            guard let n = raw.int64Value, n >= 0 else {
                return sendError(code: "bad_request", message: "since must be a non-negative integer", channel: channel,
                                 client: client, on: connection)
            }
            since = n
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
        cancel(channel, of: connection, client: client)
        if let since, since > lastDeliveredSeq {
            // Nothing to replay; the events up to `since` are on their way to this loop and
            // the client has them already.
            skipThrough[connection.serial, default: [:]][channel] = since
        }
        let head = max(lastDeliveredSeq, since ?? 0)
        connection.sendFrame(FrameEncoder.frame(opcode: .text,
                                                payload: PushMessage.subscribed(channel: channel, head: head, epoch: epoch)))
        if let since, since < lastDeliveredSeq {
            replays[connection.serial, default: [:]][channel] = since
            connection.notifiesWhenDrained = true
            continueReplays(on: connection, client: client)
        } else {
            follow(channel, connection: connection, client: client)
        }
    }

    /// Ends a subscription or a replay in progress on `channel`.
    func cancel(_ channel: String, of connection: Connection, client: PushClient) {
        loop.unsubscribe(connection, client: client, from: channel)
        skipThrough[connection.serial]?[channel] = nil
        replays[connection.serial]?[channel] = nil
    }

    /// Live delivery from now on: the replay (if any) has reached `lastDeliveredSeq`.
    private func follow(_ channel: String, connection: Connection, client: PushClient) {
        client.channels.append(channel)
        _ = loop.registry.add(connection, to: channel)
        if channel == "admin" {
            metrics.adminSubscriptions.add(1, ordering: .relaxed)
        } else {
            metrics.userSubscriptions.add(1, ordering: .relaxed)
        }
    }

    /// Replays stored events while the connection's queue stays under half its cap, and
    /// continues when the queue has drained (`outputDrained`). A long backlog therefore
    /// flows at the client's pace instead of tripping the slow-consumer limit. The target is
    /// `lastDeliveredSeq` as it moves: events that arrive meanwhile are read from the log
    /// too, and the subscription goes live only once the replay has caught up, so there is
    /// no gap and no duplicate at the seam.
    func continueReplays(on connection: Connection, client: PushClient) {
        guard let pending = replays[connection.serial] else {
            connection.notifiesWhenDrained = false
            return
        }
        let budget = connection.outputCapacity / 2
        for (channel, start) in pending {
            var cursor = start
            let userScope = channel == "admin" ? nil : String(channel.dropFirst(5))
            while cursor < lastDeliveredSeq, connection.queuedOutputBytes < budget {
                let page: [StoredEvent]
                do {
                    page = try store.events(after: cursor, userId: userScope, limit: Self.replayPage)
                } catch {
                    replays[connection.serial] = nil
                    return connection.startClose(code: CloseCode.internalError, reason: "event log unreadable; resume with since")
                }
                var sentAll = true
                for event in page where event.seq <= lastDeliveredSeq {
                    guard connection.queuedOutputBytes < budget else { sentAll = false; break }
                    connection.sendFrame(FrameEncoder.frame(opcode: .text, payload: PushMessage.event(event, channel: channel)))
                    cursor = event.seq
                }
                guard connection.webSocket?.closeSent == false else { return }
                // A page sent whole that was short, or that reached past what this loop has
                // delivered, means the channel has nothing more up to `lastDeliveredSeq`.
                if sentAll && (page.count < Self.replayPage || (page.last?.seq ?? 0) >= lastDeliveredSeq) {
                    cursor = lastDeliveredSeq
                }
            }
            if cursor >= lastDeliveredSeq {
                replays[connection.serial]?[channel] = nil
                follow(channel, connection: connection, client: client)
            } else {
                replays[connection.serial]?[channel] = cursor
            }
        }
        if replays[connection.serial]?.isEmpty ?? true {
            replays[connection.serial] = nil
            connection.notifiesWhenDrained = false
        }
    }
}
