import Foundation
import Testing

/// "A 2xx answer to POST/PUT means the change is durable before the answer is sent; it
/// survives kill -9 right after" (docs/PROTOCOL.md §4): writers on several threads, SIGKILL the
/// moment the 200th write is acknowledged (others still in flight), restart on the same
/// data folder, and find every acknowledged write, in order.
@Suite struct CrashRecoveryTests {
    struct Ack: Sendable {
        let thread: Int
        let seq: Int
        let orderID: String
        let kind: String
        let status: String
    }

    @Test func everyAcknowledgedWriteSurvivesSIGKILL() throws {
        let target = 200
        let server = try ServerProcess()
        defer { server.stop() }
        let tokens = try TokenFactory(server: server)
        let admin = tokens.token(sub: "ops", role: "admin")
        let port = server.port
        let acks = Locked<[Ack]>([])
        let keyed = Locked<[(key: String, ack: Ack)]>([])

        concurrently(4) { thread in
            guard let c = try? TestClient(port: port, timeoutSeconds: 10) else { return }
            var round = 0
            var lastID: String?
            while acks.current.count < target {
                let ack: Ack
                var key: String?
                if round % 5 == 4, let id = lastID {
                    guard let update = try? c.updateTracking(id, token: admin, body: #"{"status":"confirmed"}"#) else { return }
                    ack = Ack(thread: thread, seq: update.seq, orderID: id, kind: "tracking.updated", status: "confirmed")
                } else {
                    // Some creates carry an Idempotency-Key, to retry them after the restart.
                    key = round % 3 == 0 ? "crash-\(thread)-\(round)" : nil
                    guard let created = try? c.createOrder(token: admin, body: OrderBody.simple(userId: "buyer-\(thread)"),
                                                           headers: key.map { ["Idempotency-Key": $0] } ?? [:]) else { return }
                    lastID = created.id
                    ack = Ack(thread: thread, seq: created.seq, orderID: created.id, kind: "order.created", status: "placed")
                }
                let count = acks.withLock { list -> Int in
                    list.append(ack)
                    return list.count
                }
                if let key { keyed.withLock { $0.append((key, ack)) } }
                // The moment the target is acknowledged; the other threads are mid-request.
                if count == target { server.signal(SIGKILL) }
                round += 1
            }
        }
        #expect(server.waitForExit(timeout: 10) != nil)
        let acknowledged = acks.current
        #expect(acknowledged.count >= target)

        let restarted = try ServerProcess(dataFolder: server.dataFolder)
        defer { restarted.stop() }
        let client = try TestClient(port: restarted.port, timeoutSeconds: 10)
        let events = try client.pollAll(token: admin, since: 0, limit: 50)
        let seqs = events.compactMap(\.seq)
        // The log is one contiguous run from 1 (writes committed but not acknowledged may
        // be there too, after nothing lost).
        #expect(seqs == Array(1...(seqs.last ?? 0)))
        let bySeq = Dictionary(uniqueKeysWithValues: zip(seqs, events))
        for ack in acknowledged {
            let event = try #require(bySeq[ack.seq], "acknowledged seq \(ack.seq) is missing")
            #expect(event["event"] as? String == ack.kind, "seq \(ack.seq)")
            #expect(event.orderID == ack.orderID, "seq \(ack.seq)")
            #expect((event["order"] as? [String: Any])?["status"] as? String == ack.status, "seq \(ack.seq)")
        }
        // One thread's writes were sequential, so their seqs increase in the order acknowledged.
        for thread in 0..<4 {
            let mine = acknowledged.filter { $0.thread == thread }.map(\.seq)
            #expect(mine == mine.sorted() && Set(mine).count == mine.count, "thread \(thread): \(mine)")
        }
        #expect(Set(acknowledged.map(\.seq)).count == acknowledged.count)
        let createdIDs = Set(acknowledged.filter { $0.kind == "order.created" }.map(\.orderID))
        let listed = try #require(client.call("GET", "/api/orders/manage", token: admin)?.json?["orders"] as? [[String: Any]])
        #expect(createdIDs.isSubset(of: Set(listed.compactMap { $0["id"] as? String })))
        for id in createdIDs.prefix(20) {
            #expect(client.call("GET", "/api/orders/\(id)", token: admin)?.status == 200)
        }
        // Idempotency keys survived too: a retry replays, adding nothing.
        let head = seqs.last ?? 0
        for (key, ack) in keyed.current.prefix(10) {
            let thread = key.split(separator: "-")[1]
            let retry = try client.createOrder(token: admin, body: OrderBody.simple(userId: "buyer-\(thread)"),
                                               headers: ["Idempotency-Key": key])
            #expect(retry.response.header("Idempotent-Replayed") == "true")
            #expect(retry.seq == ack.seq)
            #expect(retry.id == ack.orderID)
        }
        #expect(try client.head(adminToken: admin) == head)
        // And the log continues after the highest seq ever used.
        let next = try client.createOrder(token: admin, body: OrderBody.simple(userId: "after"))
        #expect(next.seq == head + 1)
    }
}
