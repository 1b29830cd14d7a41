import Foundation
import Testing

/// `GET /api/orders/search` (docs/PROTOCOL.md §4) against the real binary: filters, text
/// by id prefix / customer / item name, keyset pages that neither repeat nor skip while
/// orders arrive, limit bounds, what a user may see, refusals. Tests share a server, so
/// each works on its own users and item words.
@Suite(.sharedServer()) struct SearchTests {
    let server: ServerProcess
    let tokens: TokenFactory
    let client: TestClient
    let adminToken: String

    init() throws {
        server = try SharedServer.current()
        tokens = try TokenFactory(server: server)
        client = try TestClient(port: server.port)
        adminToken = tokens.token(sub: "ops", role: "admin")
    }

    private func user(_ sub: String) -> String { tokens.token(sub: sub, role: "user") }

    /// A word no other test uses, letters only (so it cannot be read as an id's hex digits).
    private func uniqueWord() -> String {
        "w" + String(UUID().uuidString.lowercased().unicodeScalars.filter { $0 != "-" }.prefix(12).map {
            Character(UnicodeScalar(($0.value % 26) + 0x61)!)
        })
    }

    private func body(item: String, userId: String? = nil) -> String {
        let owner = userId.map { #","userId":"\#($0)""# } ?? ""
        return #"{"items":[{"productId":"p1","name":"\#(item)","quantity":1,"price":5.0}],"paymentMethod":"cod"\#(owner)}"#
    }

    private func search(_ query: String, token: String) throws -> (ids: [String], next: String?, json: [String: Any]) {
        let r = try #require(client.call("GET", "/api/orders/search?" + query, token: token))
        guard r.status == 200, let json = r.json else { throw TestFailure("search \(query) gave \(r.status): \(r.text)") }
        let orders = json["orders"] as? [[String: Any]] ?? []
        return (orders.compactMap { $0["id"] as? String }, json["next"] as? String, json)
    }

    private func status(_ query: String, token: String?) throws -> TestClient.Response {
        try #require(client.call("GET", "/api/orders/search?" + query, token: token))
    }

    @Test func filtersByStatusOwnerAndText() throws {
        let alice = uniqueID("alice"), bob = uniqueID("bob")
        let chai = uniqueWord(), coffee = uniqueWord()
        let a = try client.createOrder(token: user(alice), body: body(item: "Masala \(chai)"))
        let b = try client.createOrder(token: user(bob), body: body(item: "\(chai) Green"))
        let c = try client.createOrder(token: user(alice), body: body(item: "Filter \(coffee)"))
        _ = try client.updateTracking(b.id, token: adminToken, body: #"{"status":"shipped"}"#)

        let answer = try search("q=\(chai)", token: adminToken)
        #expect(answer.ids == [b.id, a.id])
        #expect(answer.next == nil)
        #expect(Set(answer.json.keys) == ["orders", "next"])
        // The orders are the full current orders.
        let first = try #require((answer.json["orders"] as? [[String: Any]])?.first)
        #expect(first["status"] as? String == "shipped")
        #expect(((first["tracking"] as? [String: Any])?["history"] as? [Any])?.count == 2)

        #expect(try search("q=\(chai.uppercased())&status=shipped", token: adminToken).ids == [b.id])
        #expect(try search("q=\(chai)&status=placed", token: adminToken).ids == [a.id])
        #expect(try search("q=masala%20\(chai.prefix(5))", token: adminToken).ids == [a.id])
        // A customer id, exactly.
        #expect(try search("q=\(alice)", token: adminToken).ids == [c.id, a.id])
        #expect(try search("q=\(alice.prefix(7))", token: adminToken).ids.contains(a.id) == false)
        #expect(try search("userId=\(alice)", token: adminToken).ids == [c.id, a.id])
        #expect(try search("userId=\(alice)&status=placed&q=\(coffee)", token: adminToken).ids == [c.id])
        #expect(try search("userId=\(bob)&q=\(coffee)", token: adminToken).ids.isEmpty)
        // An order id, whole or a prefix of it (with or without ord_).
        #expect(try search("q=\(b.id)", token: adminToken).ids == [b.id])
        #expect(try search("q=\(b.id.prefix(14))", token: adminToken).ids.contains(b.id))
        #expect(try search("q=\(b.id.dropFirst(4).prefix(10))", token: adminToken).ids.contains(b.id))
        #expect(try search("q=\(b.id.prefix(19))&userId=\(alice)", token: adminToken).ids.isEmpty)
    }

    @Test func pagesNeitherRepeatNorSkipWhileOrdersArrive() throws {
        let shopper = uniqueID("pager")
        let word = uniqueWord()
        // Created by the shop's service (user tokens are rate limited), for that customer.
        let service = tokens.token(sub: "shop", role: "service")
        for _ in 0..<30 { _ = try client.createOrder(token: service, body: body(item: word, userId: shopper)) }
        // Orders of the same customer keep arriving while the pages are read.
        let port = server.port
        let itemBody = body(item: word, userId: shopper)
        let arrived = Locked(0)
        let arrivals = BackgroundLoop { shouldStop in
            guard let writer = try? TestClient(port: port) else { return }
            while !shouldStop() {
                if (try? writer.createOrder(token: service, body: itemBody)) != nil { arrived.withLock { $0 += 1 } }
            }
        }
        // After each walk's first page, wait until an order has arrived since the walk began,
        // so every walk really reads while orders arrive (on a busy machine the writer could
        // otherwise not get one in before the short walk ends).
        func waitForAnArrival(after mark: Int) {
            let deadline = Date().addingTimeInterval(30)
            while arrived.current <= mark && Date() < deadline { usleep(5_000) }
        }
        var byOwner: [String] = [], byWord: [String] = []
        var before: String? = nil
        var mark = arrived.current
        repeat {
            let page = try search("userId=\(shopper)&limit=7" + (before.map { "&before=\($0)" } ?? ""), token: adminToken)
            #expect(page.ids.count <= 7)
            if byOwner.isEmpty { waitForAnArrival(after: mark) }
            byOwner += page.ids
            before = page.next
        } while before != nil
        let arrivedDuringFirstWalk = arrived.current > mark
        mark = arrived.current
        repeat {
            let page = try search("q=\(word)&limit=6" + (before.map { "&before=\($0)" } ?? ""), token: adminToken)
            if byWord.isEmpty { waitForAnArrival(after: mark) }
            byWord += page.ids
            before = page.next
        } while before != nil
        let arrivedDuringSecondWalk = arrived.current > mark
        arrivals.stopAndJoin()
        #expect(arrivedDuringFirstWalk && arrivedDuringSecondWalk)

        // Now that nothing arrives: every order of the customer, newest first, in pages of 200.
        let all = try search("userId=\(shopper)&limit=200", token: adminToken)
        #expect(all.next == nil)
        #expect(Set(all.ids).count == all.ids.count)
        // Each paged walk is exactly the tail of that list from where it started: no order
        // repeated, none skipped, none of the later arrivals slipped in.
        for walk in [byOwner, byWord] {
            let top = try #require(walk.first)
            let start = try #require(all.ids.firstIndex(of: top))
            #expect(walk == Array(all.ids[start...]))
            #expect(walk.count >= 30)
        }
    }

    @Test func limitDefaultsTo50AndIsBounded() throws {
        let shopper = uniqueID("many")
        for _ in 0..<52 { _ = try client.createOrder(token: adminToken, body: OrderBody.simple(userId: shopper)) }
        let page = try search("userId=\(shopper)", token: adminToken)
        #expect(page.ids.count == 50)
        let rest = try search("userId=\(shopper)&before=\(try #require(page.next))", token: adminToken)
        #expect(rest.ids.count == 2)
        #expect(rest.next == nil)
        #expect(Set(page.ids + rest.ids).count == 52)
        #expect(try search("userId=\(shopper)&limit=200", token: adminToken).ids.count == 52)
        #expect(try search("userId=\(shopper)&limit=1", token: adminToken).ids == [page.ids[0]])
        for bad in ["limit=0", "limit=201", "limit=-1", "limit=ten", "limit="] {
            let r = try status(bad, token: adminToken)
            #expect(r.status == 400, "\(bad)")
            #expect(r.errorCode == "bad_request")
            #expect(r.errorMessage.contains("limit"))
        }
    }

    @Test func aUserSeesOnlyItsOwnOrders() throws {
        let me = uniqueID("me"), other = uniqueID("other")
        let word = uniqueWord()
        let mine = try client.createOrder(token: user(me), body: body(item: word))
        let theirs = try client.createOrder(token: user(other), body: body(item: word))
        #expect(try search("", token: user(me)).ids == [mine.id])
        #expect(try search("q=\(word)", token: user(me)).ids == [mine.id])
        #expect(try search("q=\(theirs.id)", token: user(me)).ids.isEmpty)
        #expect(try search("q=\(other)", token: user(me)).ids.isEmpty)
        #expect(try search("userId=\(me)", token: user(me)).ids == [mine.id])
        // Naming another user is refused, not answered with the caller's own orders.
        let refused = try status("userId=\(other)", token: user(me))
        #expect(refused.status == 403)
        #expect(refused.errorCode == "forbidden")
        // Admin and service see everyone's.
        let service = tokens.token(sub: "billing", role: "service")
        #expect(try search("q=\(word)", token: service).ids == [theirs.id, mine.id])
        // No token: 401.
        #expect(try status("", token: nil).status == 401)
    }

    @Test func countsPerStatusWhenAsked() throws {
        let shopper = uniqueID("counted")
        let a = try client.createOrder(token: user(shopper))
        _ = try client.createOrder(token: user(shopper))
        _ = try client.createOrder(token: user(shopper))
        _ = try client.updateTracking(a.id, token: adminToken, body: #"{"status":"out_for_delivery"}"#)
        let own = try search("counts=1", token: user(shopper))
        let counts = try #require(own.json["counts"] as? [String: Int])
        #expect(counts == ["placed": 2, "confirmed": 0, "packed": 0, "shipped": 0, "out_for_delivery": 1,
                           "delivered": 0, "cancelled": 0])
        // With the event cursor the counts are valid at, to subscribe from.
        #expect(Set(own.json.keys) == ["orders", "next", "counts", "cursor", "epoch"])
        let poll = try client.poll(token: user(shopper))
        #expect(own.json["epoch"] as? String == poll.epoch)
        let cursor = try #require(own.json["cursor"] as? Int)
        let since = try client.poll(token: user(shopper), query: "since=\(cursor)")
        #expect(since.events.isEmpty, "the counts already include every event up to the cursor")
        // Admin: every order; the sum is at least what this test made, and it follows changes.
        let before = try #require(try search("counts=1&limit=1", token: adminToken).json["counts"] as? [String: Int])
        _ = try client.updateTracking(a.id, token: adminToken, body: #"{"status":"delivered"}"#)
        let after = try #require(try search("counts=1&limit=1", token: adminToken).json["counts"] as? [String: Int])
        #expect(after["delivered"]! >= before["delivered"]! + 1)
        #expect(try search("counts=0", token: adminToken).json["counts"] == nil)
    }

    @Test func badParametersAre400AndNameTheParameter() throws {
        let cases: [(String, String)] = [
            ("status=lost", "status"), ("status=PLACED", "status"),
            ("before=abc", "before"), ("before=-5", "before"), ("before=0", "before"),
            ("before=99999999999999999999", "before"),
            ("q=" + String(repeating: "x", count: 257), "q"),
            ("counts=maybe", "counts"),
        ]
        for (query, parameter) in cases {
            let r = try status(query, token: adminToken)
            #expect(r.status == 400, "\(query)")
            #expect(r.errorCode == "bad_request", "\(query)")
            #expect(r.errorMessage.hasPrefix(parameter), "\(query): \(r.errorMessage)")
        }
        // Each valid status is accepted.
        for s in ["placed", "confirmed", "packed", "shipped", "out_for_delivery", "delivered", "cancelled"] {
            #expect(try status("status=\(s)&limit=1", token: adminToken).status == 200)
        }
        // Only GET and HEAD.
        let post = try #require(client.call("POST", "/api/orders/search", token: adminToken, json: "{}"))
        #expect(post.status == 405)
    }
}
