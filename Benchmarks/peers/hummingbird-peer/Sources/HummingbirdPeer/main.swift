import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import Synchronization

/// Everyone on /ws/broadcast. Each connection drains its own unbounded stream, so a
/// broadcast never waits on a slow socket (the idiomatic Hummingbird fan-out).
final class Hub: Sendable {
    private let clients = Mutex<[Int: AsyncStream<String>.Continuation]>([:])
    private let nextID = Atomic<Int>(0)

    func join() -> (Int, AsyncStream<String>) {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream<String>.makeStream()
        clients.withLock { $0[id] = continuation }
        return (id, stream)
    }

    func leave(_ id: Int) {
        _ = clients.withLock { $0.removeValue(forKey: id) }?.finish()
    }

    func broadcast(_ text: String) {
        clients.withLock { for continuation in $0.values { continuation.yield(text) } }
    }
}

let port = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 9002 : 9002
let hub = Hub()
var logger = Logger(label: "hummingbird-peer")
logger.logLevel = .warning

let router = Router()
router.post("/publish") { request, _ -> HTTPResponse.Status in
    let body = try await request.body.collect(upTo: 1 << 20)
    hub.broadcast(String(buffer: body))
    return .ok
}

let app = Application(
    router: router,
    server: .http1WebSocketUpgrade(configuration: .init(autoPing: .disabled)) { request, _, _ in
        guard request.path == "/ws/broadcast" else { return .dontUpgrade }
        return .upgrade([:]) { inbound, outbound, _ in
            let (id, stream) = hub.join()
            defer { hub.leave(id) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await text in stream { try await outbound.write(.text(text)) }
                }
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    if case .text(let text) = message { hub.broadcast(text) }
                }
                group.cancelAll()
            }
        }
    },
    configuration: .init(address: .hostname("127.0.0.1", port: port), backlog: 4096),
    logger: logger
)
try await app.runService()
