import Foundation
import Testing

/// The polling fallback `GET /api/orders[?since=N&epoch=E&limit=L]` (docs/PROTOCOL.md §5):
/// shapes, cursor, visibility per role, paging, ETag/304 and refusals.
@Suite(.sharedServer()) struct PollingTests {
    let server: ServerProcess
    let tokens: TokenFactory
    let client: TestClient
    let adminToken: String
    let serviceToken: String

    init() throws {
        server = try SharedServer.current()
        tokens = try TokenFactory(server: server)
        client = try TestClient(port: server.port)
        adminToken = tokens.token(sub: "ops", role: "admin")
        serviceToken = tokens.token(sub: "billing", role: "service")
    }

    private func user(_ sub: String) -> String { tokens.token(sub: sub, role: "user") }

    @Test func withoutSinceTheCallersOrdersNewestFirstAndTheHead() throws {
        let me = uniqueID("lister"), other = uniqueID("other")
        let first = try client.createOrder(token: user(me))
        let theirs = try client.createOrder(token: user(other))
        let second = try client.createOrder(token: user(me))

        let r = try #require(client.call("GET", "/api/orders", token: user(me)))
        #expect(r.status == 200)
        #expect(r.header("Content-Type")?.hasPrefix("application/json") == true)
        #expect(r.header("ETag") != nil)
        let answer = PollAnswer(json: try #require(r.json), etag: r.header("ETag"))
        #expect(Set(answer.json.keys) == ["orders", "events", "cursor", "epoch", "pollIntervalMs"])
        #expect(answer.orders.compactMap { $0["id"] as? String } == [second.id, first.id])
        #expect(answer.events.isEmpty)
        #expect(answer.cursor >= second.seq)
        #expect(answer.json["pollIntervalMs"] as? Int == 5000)
        #expect(answer.epoch?.isEmpty == false)

        let all = try client.poll(token: adminToken)
        let ids = all.orders.compactMap { $0["id"] as? String }
        #expect(Set([first.id, second.id, theirs.id]).isSubset(of: Set(ids)))
        #expect(all.cursor >= second.seq)
        #expect(all.epoch == answer.epoch)
    }

    @Test func sinceGivesTheCallersEventsOldestFirstWithTheOrdersCurrentState() throws {
        let me = uniqueID("poller"), other = uniqueID("other")
        let a = try client.createOrder(token: user(me))
        _ = try client.createOrder(token: user(other))
        let b = try client.createOrder(token: user(me))
        let update = try client.updateTracking(a.id, token: adminToken, body: #"{"status":"packed","note":"boxed"}"#)

        let answer = try client.poll(token: user(me), query: "since=0")
        #expect(answer.seqs == [a.seq, b.seq, update.seq])
        #expect(answer.events.map { $0["event"] as? String } == ["order.created", "order.created", "tracking.updated"])
        #expect(answer.events.allSatisfy { $0.type == "event" && $0.channel == "user:\(me)" })
        // Each event carries the order as it was right after that change...
        #expect(jsonEqual(answer.events[0]["order"], a.order))
        #expect(jsonEqual(answer.events[2]["order"], update.order))
        // ...and `orders` the current state of each order touched, once.
        #expect(answer.orders.count == 2)
        let currentA = answer.orders.first { $0["id"] as? String == a.id }
        #expect(currentA?["status"] as? String == "packed")
        #expect(Set(answer.orders.compactMap { $0["id"] as? String }) == [a.id, b.id])
        #expect(answer.cursor == update.seq)

        // Polling again from the cursor: nothing new, the cursor stays.
        let again = try client.poll(token: user(me), query: "since=\(answer.cursor)")
        #expect(again.events.isEmpty)
        #expect(again.orders.isEmpty)
        #expect(again.cursor == answer.cursor)
        // From the middle: only what came after.
        #expect(try client.poll(token: user(me), query: "since=\(a.seq)").seqs == [b.seq, update.seq])
    }

    @Test(arguments: ["admin", "service"])
    func adminAndServiceReadTheAdminChannel(role: String) throws {
        let token = role == "admin" ? adminToken : serviceToken
        let x = uniqueID("x"), y = uniqueID("y")
        let first = try client.createOrder(token: user(x))
        let second = try client.createOrder(token: user(y))
        let answer = try client.poll(token: token, query: "since=\(first.seq - 1)")
        #expect(answer.events.allSatisfy { $0.channel == "admin" })
        #expect(Set([first.seq, second.seq]).isSubset(of: Set(answer.seqs)))
        #expect(answer.seqs == answer.seqs.sorted())
        #expect(answer.seqs.first == first.seq)
        #expect(answer.cursor == answer.seqs.last)
    }

    @Test func polledEventsAreTheWebSocketEvents() throws {
        let me = uniqueID("same")
        let s = try PushSession(port: server.port, token: user(me))
        try s.subscribed("user:\(me)")
        let created = try client.createOrder(token: user(me))
        _ = try client.updateTracking(created.id, token: adminToken, body: #"{"location":{"lat":1.5,"lng":2.5}}"#)
        let pushed = [s.next(), s.next()]
        let polled = try client.poll(token: user(me), query: "since=0").events
        #expect(polled.count == 2)
        for (p, w) in zip(polled, pushed) { #expect(jsonEqual(p, w)) }
    }

    @Test func limitPagesThroughTheEvents() throws {
        let me = uniqueID("pager")
        var seqs: [Int] = []
        for _ in 0..<5 { seqs.append(try client.createOrder(token: user(me)).seq) }
        var pages: [[Int]] = []
        var cursor = 0
        while true {
            let page = try client.poll(token: user(me), query: "since=\(cursor)&limit=2")
            #expect(page.events.count <= 2)
            #expect(page.orders.count == page.events.count)
            if page.events.isEmpty {
                #expect(page.cursor == cursor)
                break
            }
            pages.append(page.seqs)
            #expect(page.cursor == page.seqs.last)
            cursor = page.cursor
        }
        #expect(pages == [[seqs[0], seqs[1]], [seqs[2], seqs[3]], [seqs[4]]])
    }

    @Test func anUnchangedAnswerIs304AndAChangeIsNot() throws {
        let me = uniqueID("etag")
        _ = try client.createOrder(token: user(me))
        let path = "/api/orders?since=0"
        let first = try #require(client.call("GET", path, token: user(me)))
        let etag = try #require(first.header("ETag"))

        for match in [etag, "W/" + etag, "\"stale\", " + etag] {
            let cached = try #require(client.call("GET", path, token: user(me), headers: ["If-None-Match": match]))
            #expect(cached.status == 304, "\(match)")
            #expect(cached.body.isEmpty)
            #expect(cached.header("ETag") == etag)
        }
        let stale = try #require(client.call("GET", path, token: user(me), headers: ["If-None-Match": "\"stale\""]))
        #expect(stale.status == 200)
        #expect(stale.header("ETag") == etag)

        // Another user's writes do not change this user's answer...
        _ = try client.createOrder(token: user(uniqueID("someone")))
        #expect(client.call("GET", path, token: user(me), headers: ["If-None-Match": etag])?.status == 304)
        // ...its own do.
        let next = try client.createOrder(token: user(me))
        let changed = try #require(client.call("GET", path, token: user(me), headers: ["If-None-Match": etag]))
        #expect(changed.status == 200)
        #expect(changed.header("ETag") != etag)
        #expect(PollAnswer(json: changed.json ?? [:], etag: nil).seqs.last == next.seq)
    }

    /// The ETag is answered from the server's memory of each channel's newest seq: a 304
    /// must never hide an event of the caller's channel, and an event of another channel
    /// must not cost the caller a full answer. Each request on a new connection, so they
    /// land on any loop.
    @Test func a304NeverHidesANewEventOfTheCallersChannel() throws {
        let me = uniqueID("fresh"), other = uniqueID("fresh-other")
        _ = try client.createOrder(token: user(me))
        func get(_ path: String, _ token: String, etag: String? = nil) throws -> TestClient.Response {
            let fresh = try TestClient(port: server.port)
            return try #require(fresh.call("GET", path, token: token, headers: etag.map { ["If-None-Match": $0] } ?? [:]))
        }
        let start = try client.poll(token: user(me))
        let mine = "/api/orders?since=\(start.cursor)"
        let myETag = try #require(try get(mine, user(me)).header("ETag"))
        #expect(try get(mine, user(me), etag: myETag).status == 304)
        let adminStart = try client.poll(token: adminToken)
        let everything = "/api/orders?since=\(adminStart.cursor)&limit=500"
        var adminETag = try #require(try get(everything, adminToken).header("ETag"))

        // Another user's order: still 304 for me; the admin, who sees everything, gets it.
        let theirs = try client.createOrder(token: user(other))
        #expect(try get(mine, user(me), etag: myETag).status == 304)
        let adminAnswer = try get(everything, adminToken, etag: adminETag)
        #expect(adminAnswer.status == 200)
        #expect(PollAnswer(json: adminAnswer.json ?? [:], etag: nil).seqs.contains(theirs.seq))
        adminETag = try #require(adminAnswer.header("ETag"))

        // My own order, polled right after its 201 on another connection: never a 304.
        let next = try client.createOrder(token: user(me))
        let changed = try get(mine, user(me), etag: myETag)
        #expect(changed.status == 200)
        let answer = PollAnswer(json: changed.json ?? [:], etag: changed.header("ETag"))
        #expect(answer.seqs == [next.seq])
        #expect(answer.orders.compactMap { $0["id"] as? String } == [next.id])
        // ...and the admin's too.
        #expect(try get(everything, adminToken, etag: adminETag).status == 200)

        // A tracking update changes the order but adds no new order: still seen.
        let newETag = try #require(answer.etag)
        let next2 = "/api/orders?since=\(answer.cursor)"
        let quiet = try #require(try get(next2, user(me)).header("ETag"))
        #expect(try get(next2, user(me), etag: quiet).status == 304)
        let tracked = try client.updateTracking(next.id, token: adminToken, body: #"{"status":"packed"}"#)
        let afterUpdate = try get(next2, user(me), etag: quiet)
        #expect(afterUpdate.status == 200)
        #expect(PollAnswer(json: afterUpdate.json ?? [:], etag: nil).seqs == [tracked.seq])
        // The old page's ETag (since=start.cursor) is stale too: its order changed.
        #expect(try get(mine, user(me), etag: newETag).status == 200)
    }

    @Test func theListWithoutSinceAlsoAnswers304WhenUnchanged() throws {
        let me = uniqueID("etag-list")
        _ = try client.createOrder(token: user(me))
        // Nobody else writes to a server between two requests of this test only in a
        // quiet moment; retry a few times so other tests' writes cannot make it flaky.
        var statuses: [Int] = []
        for _ in 0..<5 {
            let first = try #require(client.call("GET", "/api/orders", token: user(me)))
            let etag = try #require(first.header("ETag"))
            let cached = try #require(client.call("GET", "/api/orders", token: user(me), headers: ["If-None-Match": etag]))
            statuses.append(cached.status)
            if cached.status == 304 {
                #expect(cached.body.isEmpty)
                break
            }
        }
        #expect(statuses.last == 304, "If-None-Match with the current ETag answered \(statuses)")
    }

    @Test func twoUsersNeverShareAnETagForDifferentLists() throws {
        // Same URL, same head, same number of orders, different orders: a browser cache
        // that revalidated one user's list with the other's ETag would show the wrong orders.
        let a = uniqueID("etag-a"), b = uniqueID("etag-b")
        _ = try client.createOrder(token: user(a))
        _ = try client.createOrder(token: user(b))
        var pair: (PollAnswer, PollAnswer)?
        for _ in 0..<20 where pair == nil {
            let first = try client.poll(token: user(a)), second = try client.poll(token: user(b))
            if first.cursor == second.cursor { pair = (first, second) }
        }
        let (first, second) = try #require(pair)
        #expect(first.orders.count == second.orders.count)
        #expect(first.etag != nil && first.etag != second.etag)
    }

    @Test(arguments: ["since=-1", "since=abc", "since=1.5", "since=", "since=0x10", "since=99999999999999999999",
                      "since=0&limit=0", "since=0&limit=501", "since=0&limit=abc", "since=0&limit=-3", "limit=0"])
    func badQueryValuesAre400(query: String) throws {
        let r = try #require(client.call("GET", "/api/orders?" + query, token: adminToken))
        #expect(r.status == 400, "\(r.text)")
        #expect(r.errorCode == "bad_request")
    }

    @Test func aCursorFromTheFutureOrAnotherHistoryIsGone() throws {
        let me = uniqueID("gone")
        let created = try client.createOrder(token: user(me))
        let state = try client.poll(token: adminToken)
        let epoch = try #require(state.epoch)
        for query in ["since=\(state.cursor + 1_000_000)", "since=0&epoch=0000000000000000000000000000beef",
                      "since=0&epoch=", "since=\(state.cursor + 1_000_000)&epoch=\(epoch)"] {
            for token in [adminToken, user(me)] {
                let r = try #require(client.call("GET", "/api/orders?" + query, token: token))
                #expect(r.status == 410, "\(query): \(r.status)")
                #expect(r.errorCode == "cursor_expired", "\(query)")
            }
        }
        // The right epoch is accepted, and without since an epoch is not a cursor at all.
        #expect(try client.poll(token: user(me), query: "since=0&epoch=\(epoch)").seqs == [created.seq])
        #expect(client.call("GET", "/api/orders?epoch=somethingelse", token: user(me))?.status == 200)
    }
}
