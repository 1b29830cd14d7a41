import Synchronization

/// Counters for `/metrics`, shared by every loop thread: atomics for the hot counters,
/// a mutex for the by-status request table (requests are far rarer than deliveries).
public final class ServerMetrics: Sendable {
    public let connectionsOpen = Atomic<Int>(0)
    public let webSocketsOpen = Atomic<Int>(0)
    public let eventStreamsOpen = Atomic<Int>(0)
    public let adminSubscriptions = Atomic<Int>(0)
    public let userSubscriptions = Atomic<Int>(0)
    public let eventsAppended = Atomic<Int>(0)
    public let messagesDelivered = Atomic<Int>(0)
    public let slowConsumersClosed = Atomic<Int>(0)
    public let connectionsRefused = Atomic<Int>(0)
    /// WebSockets closed with 1013 because the process's queued output passed its budget.
    public let outputBudgetClosed = Atomic<Int>(0)
    /// Reads waiting for a `DatabaseReader` thread (set under the reader's queue lock).
    public let readsQueued = Atomic<Int>(0)
    /// Reads the reader refused because `--max-queued-reads` were already waiting.
    public let readsRefused = Atomic<Int>(0)
    private let requestsByStatus = Mutex<[Int: Int]>([:])
    /// The node's name and database reachability (also what `/healthz` answers).
    public let node = NodeStatus()

    public init() {}

    public func countRequest(status: Int) {
        requestsByStatus.withLock { $0[status, default: 0] += 1 }
    }

    /// Prometheus text exposition format 0.0.4.
    /// - Parameter queuedOutputBytes: the process's queued output (`OutputBudget`), when known.
    public func render(queuedOutputBytes: Int? = nil) -> String {
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, Int)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, value) in samples { out += "\(name)\(labels) \(value)\n" }
        }
        metric("orderpush_connections", "gauge", "Open TCP connections.",
               [("", connectionsOpen.load(ordering: .relaxed))])
        metric("orderpush_websockets", "gauge", "Open WebSocket connections.",
               [("", webSocketsOpen.load(ordering: .relaxed))])
        metric("orderpush_event_streams", "gauge", "Open Server-Sent Events streams (GET /api/events).",
               [("", eventStreamsOpen.load(ordering: .relaxed))])
        metric("orderpush_subscriptions", "gauge", "Channel subscriptions by channel kind.",
               [("{kind=\"admin\"}", adminSubscriptions.load(ordering: .relaxed)),
                ("{kind=\"user\"}", userSubscriptions.load(ordering: .relaxed))])
        metric("orderpush_events_appended_total", "counter", "Events committed to the event log.",
               [("", eventsAppended.load(ordering: .relaxed))])
        metric("orderpush_messages_delivered_total", "counter", "Event messages queued to subscribers (WebSocket and Server-Sent Events).",
               [("", messagesDelivered.load(ordering: .relaxed))])
        metric("orderpush_slow_consumers_closed_total", "counter", "Subscribers closed because their output passed the cap (WebSocket 1013, or the event stream ended).",
               [("", slowConsumersClosed.load(ordering: .relaxed))])
        metric("orderpush_connections_refused_total", "counter", "Connections refused at the connection limit.",
               [("", connectionsRefused.load(ordering: .relaxed))])
        metric("orderpush_output_budget_closed_total", "counter", "WebSockets closed with 1013 because all connections together held more than --max-total-output-bytes.",
               [("", outputBudgetClosed.load(ordering: .relaxed))])
        metric("orderpush_reads_queued", "gauge", "Reads waiting for a database reader thread (at most --max-queued-reads).",
               [("", readsQueued.load(ordering: .relaxed))])
        metric("orderpush_reads_refused_total", "counter", "Reads refused because --max-queued-reads were waiting (503 storage_busy, a subscribe's unavailable, a replay page retried on the tick).",
               [("", readsRefused.load(ordering: .relaxed))])
        if let queuedOutputBytes {
            metric("orderpush_output_queued_bytes", "gauge", "Bytes queued for all connections together (as of each loop's last turn).",
                   [("", queuedOutputBytes)])
        }
        let status = node.database
        let nodeLabel = "{node=\"\(Self.labelValue(node.name))\",backend=\"\(status.backend)\"}"
        metric("orderpush_node_info", "gauge", "This node: its name (--node-name) and storage backend.", [(nodeLabel, 1)])
        metric("orderpush_database_up", "gauge", "1 when the node's database connection is up, else 0.",
               [("", status.up ? 1 : 0)])
        let statuses = requestsByStatus.withLock { $0 }.sorted { $0.key < $1.key }
        metric("orderpush_http_requests_total", "counter", "HTTP requests answered, by status.",
               statuses.map { ("{status=\"\($0.key)\"}", $0.value) })
        return out
    }

    /// A label value escaped as the exposition format wants (backslash, quote, newline).
    static func labelValue(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}
