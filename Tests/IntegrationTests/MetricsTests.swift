import Foundation
import Testing

/// `GET /metrics` (docs/PROTOCOL.md §4): Prometheus text for loopback callers without a token and
/// for admins from elsewhere, with the counters the issue asks for.
@Suite(.serialized, .sharedServer(["--host", "0.0.0.0"])) struct MetricsTests {
    /// The sample lines, name (with labels) → value.
    private func samples(_ text: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let v = Double(parts[1]) { out[String(parts[0])] = v }
        }
        return out
    }

    private func scrape(_ server: ServerProcess) throws -> [String: Double] {
        let client = try TestClient(port: server.port)
        let r = try #require(client.request("GET", "/metrics"))
        #expect(r.status == 200)
        #expect(r.header("Content-Type")?.hasPrefix("text/plain") == true)
        return samples(r.text)
    }

    @Test func loopbackGetsEveryMetricWithoutAToken() throws {
        let server = try SharedServer.current()
        let client = try TestClient(port: server.port)
        let r = try #require(client.request("GET", "/metrics"))
        #expect(r.status == 200)
        #expect(r.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        for name in ["orderpush_connections", "orderpush_subscriptions", "orderpush_events_appended_total",
                     "orderpush_messages_delivered_total", "orderpush_slow_consumers_closed_total",
                     "orderpush_http_requests_total"] {
            #expect(r.text.contains("# TYPE \(name) "), "\(name)")
        }
        let s = samples(r.text)
        #expect(s["orderpush_connections"].map { $0 >= 1 } == true)
        #expect(s[#"orderpush_subscriptions{kind="admin"}"#] != nil)
        #expect(s[#"orderpush_subscriptions{kind="user"}"#] != nil)
    }

    @Test func countersFollowWhatHappens() throws {
        let server = try SharedServer.current()
        let tokens = try TokenFactory(server: server)
        let before = try scrape(server)

        do {
            let admin = try PushSession(port: server.port, token: tokens.token(sub: "ops", role: "admin"))
            try admin.subscribed("admin")
            let user = try PushSession(port: server.port, token: tokens.token(sub: "m-user", role: "user"))
            try user.subscribed("user:m-user")
            let client = try TestClient(port: server.port)
            let order = try client.createOrder(token: tokens.token(sub: "m-user", role: "user"))
            #expect(admin.event(for: order.id, kind: "order.created", channel: "admin") != nil)
            #expect(user.event(for: order.id, kind: "order.created", channel: "user:m-user") != nil)
            #expect(client.call("GET", "/api/orders/ord_missing", token: tokens.token(sub: "ops", role: "admin"))?.status == 404)

            let after = try scrape(server)
            func delta(_ name: String) -> Double { (after[name] ?? 0) - (before[name] ?? 0) }
            #expect(delta("orderpush_events_appended_total") == 1)
            #expect(delta("orderpush_messages_delivered_total") == 2)
            #expect(delta(#"orderpush_subscriptions{kind="admin"}"#) == 1)
            #expect(delta(#"orderpush_subscriptions{kind="user"}"#) == 1)
            #expect(delta(#"orderpush_http_requests_total{status="201"}"#) == 1)
            #expect(delta(#"orderpush_http_requests_total{status="404"}"#) == 1)
            #expect(delta("orderpush_connections") >= 3)
        }
        // The sockets are closed: the gauges come back down.
        var settled = false
        for _ in 0..<50 where !settled {
            let now = try scrape(server)
            settled = now[#"orderpush_subscriptions{kind="admin"}"#] == before[#"orderpush_subscriptions{kind="admin"}"#]
                && now[#"orderpush_subscriptions{kind="user"}"#] == before[#"orderpush_subscriptions{kind="user"}"#]
                && now["orderpush_connections"] == before["orderpush_connections"]
            if !settled { usleep(50_000) }
        }
        #expect(settled, "subscription and connection gauges did not return to their earlier values")
    }

    @Test(.enabled(if: nonLoopbackIPv4Address() != nil, "no non-loopback IPv4 address"))
    func fromElsewhereOnlyAdminsMayRead() throws {
        let server = try SharedServer.current()
        let tokens = try TokenFactory(server: server)
        let host = try #require(nonLoopbackIPv4Address())
        let client = try TestClient(port: server.port, host: host)
        let anonymous = try #require(client.request("GET", "/metrics"))
        #expect(anonymous.status == 401)
        #expect(anonymous.errorCode == "unauthorized")
        let user = try #require(client.call("GET", "/metrics", token: tokens.token(sub: "m-remote", role: "user")))
        #expect(user.status == 403)
        #expect(user.errorCode == "forbidden")
        let service = try #require(client.call("GET", "/metrics", token: tokens.token(sub: "m-svc", role: "service")))
        #expect(service.status == 403)
        let admin = try #require(client.call("GET", "/metrics", token: tokens.token(sub: "ops", role: "admin")))
        #expect(admin.status == 200)
        #expect(admin.text.contains("orderpush_events_appended_total"))
    }
}
