import Foundation
import Testing

/// `--user-write-rate` (default 10 per second, bursts of 20): a user token's writes over the
/// rate are refused with 429 and Retry-After; other users and service callers are not
/// affected.
@Suite struct WriteRateLimitTests {
    @Test func aUserOverTheRateGets429WithRetryAfterAndNobodyElseDoes() throws {
        let server = try ServerProcess(arguments: ["--loops", "2"])
        defer { server.stop(); try? FileManager.default.removeItem(at: server.dataDir) }
        let tokens = try TokenFactory(server: server)
        let eager = tokens.token(sub: uniqueID("eager"), role: "user")
        // Two connections, so with two loops the writes most likely cross both: the limit
        // is per user, not per loop or connection.
        let clients = [try TestClient(port: server.port), try TestClient(port: server.port)]

        var statuses: [Int] = []
        var limited: TestClient.Response?
        for i in 0..<25 {
            guard let r = clients[i % 2].call("POST", "/api/orders", token: eager, json: OrderBody.simple()) else {
                throw TestFailure("no answer to POST \(i)")
            }
            statuses.append(r.status)
            if r.status == 429, limited == nil { limited = r }
        }
        // The burst is 20; a few tokens may come back while the 25 requests run, so a
        // slow machine may see one or two more accepted, never fewer.
        #expect(statuses.prefix(20).allSatisfy { $0 == 201 }, "\(statuses)")
        // Keep going until the limit shows (bounded: at 10/s refill a sequential client
        // that outpaces it will meet a 429).
        var extra = 0
        while limited == nil && extra < 200 {
            extra += 1
            guard let r = clients[0].call("POST", "/api/orders", token: eager, json: OrderBody.simple()) else { continue }
            statuses.append(r.status)
            if r.status == 429 { limited = r }
        }
        let refusal = try #require(limited, "no 429 after \(25 + extra) quick writes: \(statuses)")
        #expect(refusal.errorCode == "rate_limited")
        let retryAfter = try #require(refusal.header("Retry-After").flatMap { Int($0) }, "Retry-After missing or not an integer")
        #expect(retryAfter >= 1)

        // Another user has a full bucket of its own.
        let other = tokens.token(sub: uniqueID("other"), role: "user")
        #expect(clients[1].call("POST", "/api/orders", token: other, json: OrderBody.simple())?.status == 201)

        // Service (and admin) callers are not limited.
        let service = tokens.token(sub: "billing", role: "service")
        var serviceStatuses: [Int] = []
        for _ in 0..<25 {
            serviceStatuses.append(clients[0].call("POST", "/api/orders", token: service,
                                                   json: OrderBody.simple(userId: "someone"))?.status ?? 0)
        }
        #expect(serviceStatuses.allSatisfy { $0 == 201 }, "\(serviceStatuses)")

        // The refused writes changed nothing: the user has exactly the orders it was told of.
        let poll = try clients[0].poll(token: eager)
        #expect(poll.orders.count == statuses.filter { $0 == 201 }.count)
        #expect(Set(statuses).isSubset(of: [201, 429]), "\(statuses)")
    }
}
