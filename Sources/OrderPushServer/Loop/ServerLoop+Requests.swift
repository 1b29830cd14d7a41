import HTTP1
import JSON
import Reactor
import WebSocket

extension ServerLoop {
    /// Routes one HTTP request. Runs on the loop thread.
    func handleRequest(_ request: HTTPRequest, on connection: Connection) -> RequestOutcome {
        guard let route = Route.match(path: request.path, echoEnabled: config.enableEcho, benchEnabled: config.enableBench) else {
            return .respond(.error(.notFound, code: "not_found", message: "no route for \(request.path)"))
        }
        guard route.allowedMethods.contains(request.method) else {
            var response = HTTPResponse.error(.methodNotAllowed, code: "method_not_allowed",
                                              message: "\(request.method) is not allowed on \(request.path)")
            response.headers.add("Allow", route.allowedMethods.joined(separator: ", "))
            return .respond(response)
        }
        switch route {
        case .healthz:
            return .respond(healthResponse())
        case .page(let file):
            return .respond(staticFiles.response(for: file, method: request.method,
                                                 ifNoneMatch: request.headers["If-None-Match"],
                                                 ifModifiedSince: request.headers["If-Modified-Since"]))
        case .echo:
            return upgrade(request, to: .echo, maxMessageBytes: config.maxEchoMessageBytes,
                           maxOutputBytes: config.maxEchoOutputBytes)
        case .broadcast:
            return upgrade(request, to: .broadcast, maxMessageBytes: config.maxMessageBytes,
                           maxOutputBytes: config.maxOutputBytes)
        case .publish:
            var validator = UTF8Validator()
            let valid = request.body.withUnsafeBytes { validator.feed($0) } && validator.isComplete
            guard valid else {
                return .respond(.error(.badRequest, code: "bad_request", message: "the body must be UTF-8 text"))
            }
            group.postToAll(.broadcast(request.body))
            return .respond(.json(.accepted, Array(#"{"published":true}"#.utf8)))
        case .metrics, .push, .events, .orders, .ordersManage, .ordersSearch, .order, .orderTracking:
            guard let services else {
                return .respond(.error(.serviceUnavailable, code: "unavailable", message: "the order service is not running"))
            }
            return services.handle(route, request, on: connection)
        }
    }

    /// `/healthz`: 200 while the node can serve, 503 with the reason while its database is
    /// unreachable (a balancer then sends new clients elsewhere); names the node either way.
    func healthResponse() -> HTTPResponse {
        let node = metrics.node
        let database = node.database
        var w = JSONWriter()
        w.appendRaw(database.up ? #"{"status":"ok","node":"# : #"{"status":"unavailable","node":"#)
        w.writeString(node.name)
        w.appendRaw(#","database":{"backend":"#)
        w.writeString(database.backend)
        w.appendRaw(database.up ? #","up":true}"# : #","up":false,"reason":"#)
        if !database.up {
            w.writeString(database.reason ?? "unknown")
            w.append(UInt8(ascii: "}"))
        }
        w.append(UInt8(ascii: "}"))
        var response = HTTPResponse.json(database.up ? .ok : .serviceUnavailable, w.bytes)
        response.headers.add("Cache-Control", "no-store")
        return response
    }

    /// Validates the handshake and builds the upgrade outcome for an endpoint.
    func upgrade(_ request: HTTPRequest, to endpoint: WebSocketSession.Endpoint,
                 maxMessageBytes: Int, maxOutputBytes: Int) -> RequestOutcome {
        switch WebSocketUpgrade.validate(request, negotiateDeflate: config.enableDeflate) {
        case .failure(let error):
            return .respond(error.response)
        case .success(let accepted):
            // Only /ws is rate limited: echo and broadcast serve conformance suites and
            // benchmarks, which send thousands of messages at once by design.
            var rate: MessageRateLimit?
            if case .push = endpoint, config.webSocketMessageRate > 0 {
                rate = MessageRateLimit(perSecond: config.webSocketMessageRate, burst: 2 * config.webSocketMessageRate)
            }
            let session = WebSocketSession(endpoint: endpoint, maxMessageBytes: maxMessageBytes,
                                           maxOutputBytes: maxOutputBytes, messageRate: rate, deflate: accepted.deflate)
            return .upgrade(accepted.response, session)
        }
    }

    /// A complete text or binary message from a WebSocket client.
    func handleMessage(_ message: WebSocketInbound, on connection: Connection) {
        guard let endpoint = connection.webSocket?.endpoint else { return }
        switch (endpoint, message) {
        case (.echo, .text(let bytes)):
            connection.sendMessage(.text, bytes)
        case (.echo, .binary(let bytes)):
            connection.sendMessage(.binary, bytes)
        case (.broadcast, .text(let bytes)):
            group.postToAll(.broadcast(bytes))
        case (.push, _):
            services?.webSocketMessage(message, on: connection)
        default:
            break
        }
    }
}
