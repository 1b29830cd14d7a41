import Foundation
import Testing

/// `Idempotency-Key` on `POST /api/orders` (docs/PROTOCOL.md §4): a retry
/// with the same key, sub and body replays the first answer and adds nothing; the key is
/// scoped to the caller's `sub`; a reused key with another body is 422.
@Suite(.sharedServer()) struct IdempotencyTests {
    let server: ServerProcess
    let tokens: TokenFactory
    let client: TestClient

    init() throws {
        server = try SharedServer.current()
        tokens = try TokenFactory(server: server)
        client = try TestClient(port: server.port)
    }

    private func user(_ sub: String) -> String { tokens.token(sub: sub, role: "user") }

    @Test func aRetryReplaysTheSameOrderAndSeqWithoutASecondEvent() throws {
        let sub = uniqueID("retry")
        let key = uniqueID("key")
        let body = OrderBody.simple(note: "first")
        let first = try client.createOrder(token: user(sub), body: body, headers: ["Idempotency-Key": key])
        #expect(first.response.header("Idempotent-Replayed") == nil)

        // Again, on a fresh connection with a freshly minted token, as a real retry would.
        let other = try TestClient(port: server.port)
        let retry = try other.createOrder(token: user(sub), body: body, headers: ["Idempotency-Key": key])
        #expect(retry.response.status == 201)
        #expect(retry.response.header("Idempotent-Replayed") == "true")
        #expect(retry.id == first.id)
        #expect(retry.seq == first.seq)
        #expect(jsonEqual(retry.order, first.order))

        let log = try client.poll(token: user(sub), query: "since=0")
        #expect(log.seqs == [first.seq])
        #expect(log.orders.count == 1)
        let list = try #require(client.call("GET", "/api/orders/manage", token: user(sub))?.json?["orders"] as? [Any])
        #expect(list.count == 1)
    }

    @Test func theSameKeyWithAnotherBodyIs422AndChangesNothing() throws {
        let sub = uniqueID("conflict")
        let key = uniqueID("key")
        let first = try client.createOrder(token: user(sub), body: OrderBody.simple(note: "one"), headers: ["Idempotency-Key": key])
        let r = try #require(client.call("POST", "/api/orders", token: user(sub), json: OrderBody.simple(note: "two"),
                                         headers: ["Idempotency-Key": key]))
        #expect(r.status == 422)
        #expect(r.errorCode == "idempotency_conflict")
        #expect(try client.poll(token: user(sub), query: "since=0").seqs == [first.seq])
        // The original body still replays.
        let again = try client.createOrder(token: user(sub), body: OrderBody.simple(note: "one"), headers: ["Idempotency-Key": key])
        #expect(again.id == first.id)
    }

    @Test func theKeyBelongsToTheCallersSub() throws {
        let a = uniqueID("a"), b = uniqueID("b")
        let key = uniqueID("shared-key")
        let body = OrderBody.simple()
        let fromA = try client.createOrder(token: user(a), body: body, headers: ["Idempotency-Key": key])
        let fromB = try client.createOrder(token: user(b), body: body, headers: ["Idempotency-Key": key])
        #expect(fromB.response.header("Idempotent-Replayed") == nil)
        #expect(fromA.id != fromB.id)
        #expect(fromA.seq != fromB.seq)
        #expect(fromB.order["userId"] as? String == b)
        // An admin using the same key for user a is yet another caller.
        let byAdmin = try client.createOrder(token: tokens.token(sub: "ops", role: "admin"), body: OrderBody.simple(userId: a),
                                             headers: ["Idempotency-Key": key])
        #expect(byAdmin.id != fromA.id)
        #expect(try client.poll(token: user(a), query: "since=0").seqs == [fromA.seq, byAdmin.seq])
    }

    @Test func concurrentRetriesCreateOneOrder() throws {
        let sub = uniqueID("racer")
        let key = uniqueID("key")
        let token = user(sub)
        let port = server.port
        let answers = Locked<[(status: Int, id: String?, seq: Int?)]>([])
        concurrently(8) { _ in
            guard let c = try? TestClient(port: port),
                  let r = c.call("POST", "/api/orders", token: token, json: OrderBody.simple(), headers: ["Idempotency-Key": key]) else {
                answers.withLock { $0.append((0, nil, nil)) }
                return
            }
            let order = r.json?["order"] as? [String: Any]
            answers.withLock { $0.append((r.status, order?["id"] as? String, r.json?["seq"] as? Int)) }
        }
        let all = answers.current
        #expect(all.count == 8)
        #expect(all.allSatisfy { $0.status == 201 }, "\(all)")
        #expect(Set(all.compactMap(\.id)).count == 1)
        #expect(Set(all.compactMap(\.seq)).count == 1)
        let log = try client.poll(token: token, query: "since=0")
        #expect(log.events.count == 1)
        #expect(log.seqs.first == all.first?.seq)
    }

    @Test func keysMustBe1To255VisibleASCIICharacters() throws {
        let sub = uniqueID("keys")
        let bad = ["", String(repeating: "k", count: 256), "has space", "tab\there", "ключ"]
        for key in bad {
            let r = try #require(client.call("POST", "/api/orders", token: user(sub), json: OrderBody.simple(),
                                             headers: ["Idempotency-Key": key]))
            #expect(r.status == 400, "key \(key.debugDescription): \(r.status)")
            #expect(r.errorCode == "bad_request")
            #expect(r.errorMessage.contains("Idempotency-Key"))
        }
        #expect(try client.poll(token: user(sub), query: "since=0").events.isEmpty)

        let longest = String(repeating: "~", count: 254) + "!"
        let first = try client.createOrder(token: user(sub), headers: ["Idempotency-Key": longest])
        let retry = try client.createOrder(token: user(sub), headers: ["Idempotency-Key": longest])
        #expect(retry.response.header("Idempotent-Replayed") == "true")
        #expect(retry.seq == first.seq)
    }
}
