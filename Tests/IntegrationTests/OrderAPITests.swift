import Foundation
import Testing

/// The order routes of docs/PROTOCOL.md §4: who may create, read
/// and update what, the order object, tracking history and the legacy list. Every test
/// uses its own user ids, so they share one server.
@Suite(.sharedServer()) struct OrderAPITests {
    let server: ServerProcess
    let tokens: TokenFactory
    let client: TestClient
    let admin: String
    let service: String

    init() throws {
        server = try SharedServer.current()
        tokens = try TokenFactory(server: server)
        client = try TestClient(port: server.port)
        admin = tokens.token(sub: "ops", role: "admin")
        service = tokens.token(sub: "billing", role: "service")
    }

    private func user(_ sub: String) -> String { tokens.token(sub: sub, role: "user") }

    @Test func aUserCreatesItsOwnOrderWithEveryField() throws {
        let sub = uniqueID("alice")
        let body = #"""
            {"items":[{"productId":"p1","name":"Tea","quantity":2,"price":120.5},
                      {"productId":"p2","name":"Biscuits ü","quantity":3,"price":0.25}],
             "paymentMethod":"razorpay",
             "shippingAddress":{"line1":"12 MG Road","city":"Bengaluru","pin":"560001"},
             "metadata":{"source":"app","tags":["gift",1,true,null],"nested":{"x":1.5}}}
            """#
        let created = try client.createOrder(token: user(sub), body: body)
        #expect(created.response.header("Content-Type")?.hasPrefix("application/json") == true)
        #expect(created.response.header("Idempotent-Replayed") == nil)
        let order = created.order
        #expect(created.id.isEmpty == false)
        #expect(created.seq > 0)
        #expect(order["userId"] as? String == sub)
        #expect(order["paymentMethod"] as? String == "razorpay")
        #expect(order["status"] as? String == "placed")
        let total = try #require(order["total"] as? Double)
        #expect(abs(total - (2 * 120.5 + 3 * 0.25)) < 1e-9)
        let sent = try #require(decodeJSON(body) as? [String: Any])
        #expect(jsonEqual(order["metadata"], sent["metadata"]))
        #expect(jsonEqual(order["shippingAddress"], sent["shippingAddress"]))
        let items = try #require(order["items"] as? [[String: Any]])
        #expect(items.count == 2)
        #expect(items.first?["productId"] as? String == "p1")
        #expect(items.last?["name"] as? String == "Biscuits ü")
        #expect(items.last?["quantity"] as? Int == 3)
        let tracking = try #require(order["tracking"] as? [String: Any])
        #expect(tracking["status"] as? String == "placed")
        #expect(tracking.keys.contains("location") && tracking.keys.contains("deliveryPartner"))
        let history = try #require(tracking["history"] as? [[String: Any]])
        #expect(history.count == 1)
        #expect(history.first?["status"] as? String == "placed")
        let createdAt = try #require(order["createdAt"] as? String)
        #expect(order["updatedAt"] as? String == createdAt)
        #expect(ISO8601DateFormatter.withFractions.date(from: createdAt) != nil, "\(createdAt)")

        // The stored order reads back the same.
        let read = try #require(client.call("GET", "/api/orders/\(created.id)", token: user(sub)))
        #expect(read.status == 200)
        #expect(jsonEqual(read.json?["order"], order))
    }

    @Test func aUserMayNameItselfButNotAnotherUser() throws {
        let sub = uniqueID("bob"), victim = uniqueID("victim")
        let own = try client.createOrder(token: user(sub), body: OrderBody.simple(userId: sub))
        #expect(own.order["userId"] as? String == sub)

        let r = try #require(client.call("POST", "/api/orders", token: user(sub), json: OrderBody.simple(userId: victim)))
        #expect(r.status == 403)
        #expect(r.errorCode == "forbidden")
        // Nothing was created for either of them by the refused request.
        #expect(try client.poll(token: user(victim), query: "since=0").events.isEmpty)
        #expect(try client.poll(token: user(sub), query: "since=0").seqs == [own.seq])
    }

    @Test(arguments: ["admin", "service"])
    func adminAndServiceMustNameTheOwner(role: String) throws {
        let token = role == "admin" ? admin : service
        let owner = uniqueID("carol")
        let r = try #require(client.call("POST", "/api/orders", token: token, json: OrderBody.simple()))
        #expect(r.status == 400)
        #expect(r.errorCode == "bad_request")
        #expect(r.errorMessage.contains("userId"))

        let created = try client.createOrder(token: token, body: OrderBody.simple(userId: owner))
        #expect(created.order["userId"] as? String == owner)
        // The owner sees it as its own.
        let mine = try #require(client.call("GET", "/api/orders/\(created.id)", token: user(owner)))
        #expect(mine.status == 200)
        #expect(try client.poll(token: user(owner), query: "since=0").seqs == [created.seq])
    }

    @Test func readingAnOrderIsForItsOwnerAdminAndService() throws {
        let owner = uniqueID("dave"), other = uniqueID("eve")
        let created = try client.createOrder(token: user(owner))
        let path = "/api/orders/\(created.id)"
        for (who, token) in [("owner", user(owner)), ("admin", admin), ("service", service)] {
            let r = try #require(client.call("GET", path, token: token))
            #expect(r.status == 200, "\(who)")
            #expect((r.json?["order"] as? [String: Any])?["id"] as? String == created.id, "\(who)")
        }
        let refused = try #require(client.call("GET", path, token: user(other)))
        #expect(refused.status == 403)
        #expect(refused.errorCode == "forbidden")
        #expect(!refused.text.contains(owner))

        for token in [admin, user(owner)] {
            let missing = try #require(client.call("GET", "/api/orders/ord_doesnotexist", token: token))
            #expect(missing.status == 404)
            #expect(missing.errorCode == "not_found")
        }
    }

    @Test(arguments: ["admin", "service"])
    func trackingUpdatesAppendToTheHistory(role: String) throws {
        let token = role == "admin" ? admin : service
        let owner = uniqueID("frank")
        let created = try client.createOrder(token: user(owner))

        let first = try client.updateTracking(created.id, token: token, body: #"""
            {"status":"confirmed","note":"packed with care","location":{"lat":12.97,"lng":77.59},
             "deliveryPartner":{"name":"Ravi","phone":"+91 98450 00000"}}
            """#)
        #expect(first.seq > created.seq)
        #expect(first.order["id"] as? String == created.id)
        #expect(first.order["status"] as? String == "confirmed")
        let tracking = try #require(first.order["tracking"] as? [String: Any])
        #expect(tracking["status"] as? String == "confirmed")
        #expect(jsonEqual(tracking["location"], ["lat": 12.97, "lng": 77.59]))
        #expect(jsonEqual(tracking["deliveryPartner"], ["name": "Ravi", "phone": "+91 98450 00000"]))
        let history = try #require(tracking["history"] as? [[String: Any]])
        #expect(history.count == 2)
        let entry = try #require(history.last)
        #expect(entry["status"] as? String == "confirmed")
        #expect(entry["note"] as? String == "packed with care")
        #expect(jsonEqual(entry["location"], ["lat": 12.97, "lng": 77.59]))
        #expect(entry["at"] as? String != nil)

        // A location-only update keeps the status and still adds an entry.
        let second = try client.updateTracking(created.id, token: token, body: #"{"location":{"lat":13.0,"lng":77.6}}"#)
        #expect(second.seq > first.seq)
        #expect(second.order["status"] as? String == "confirmed")
        let history2 = try #require((second.order["tracking"] as? [String: Any])?["history"] as? [[String: Any]])
        #expect(history2.count == 3)
        #expect(history2.last?["status"] as? String == "confirmed")

        // Every status of the contract is accepted.
        for status in ["packed", "shipped", "out_for_delivery", "delivered", "cancelled"] {
            let update = try client.updateTracking(created.id, token: token, body: #"{"status":"\#(status)"}"#)
            #expect(update.order["status"] as? String == status)
        }
        let final = try #require(client.call("GET", "/api/orders/\(created.id)", token: user(owner))?.json?["order"] as? [String: Any])
        let finalHistory = try #require((final["tracking"] as? [String: Any])?["history"] as? [[String: Any]])
        #expect(finalHistory.map { $0["status"] as? String } ==
                ["placed", "confirmed", "confirmed", "packed", "shipped", "out_for_delivery", "delivered", "cancelled"])
        #expect(final["updatedAt"] as? String == finalHistory.last?["at"] as? String)
    }

    @Test func usersCannotUpdateTrackingEvenOfTheirOwnOrders() throws {
        let owner = uniqueID("grace")
        let created = try client.createOrder(token: user(owner))
        let r = try #require(client.call("PUT", "/api/orders/\(created.id)/tracking", token: user(owner),
                                         json: #"{"status":"delivered"}"#))
        #expect(r.status == 403)
        #expect(r.errorCode == "forbidden")
        let after = try #require(client.call("GET", "/api/orders/\(created.id)", token: user(owner))?.json?["order"] as? [String: Any])
        #expect(after["status"] as? String == "placed")
        #expect(try client.poll(token: user(owner), query: "since=0").seqs == [created.seq])
    }

    @Test func trackingAnUnknownOrderIs404() throws {
        let r = try #require(client.call("PUT", "/api/orders/ord_doesnotexist/tracking", token: admin,
                                         json: #"{"status":"shipped"}"#))
        #expect(r.status == 404)
        #expect(r.errorCode == "not_found")
    }

    @Test func theLegacyListIsNewestFirstAndAUserSeesOnlyItsOwn() throws {
        let owner = uniqueID("heidi"), other = uniqueID("ivan")
        var ids: [String] = []
        for _ in 0..<3 { ids.append(try client.createOrder(token: user(owner)).id) }
        let otherID = try client.createOrder(token: user(other)).id

        let mine = try #require(client.call("GET", "/api/orders/manage", token: user(owner)))
        #expect(mine.status == 200)
        #expect(mine.json.map { Array($0.keys) } == ["orders"])
        let listed = (mine.json?["orders"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
        #expect(listed == ids.reversed())

        let all = try #require(client.call("GET", "/api/orders/manage", token: admin)?.json?["orders"] as? [[String: Any]])
        let allIDs = all.compactMap { $0["id"] as? String }
        #expect(allIDs.contains(otherID))
        let positions = ids.compactMap { allIDs.firstIndex(of: $0) }
        #expect(positions.count == 3 && positions == positions.sorted(by: >))
        let serviceIDs = try #require(client.call("GET", "/api/orders/manage", token: service)?.json?["orders"] as? [[String: Any]])
        #expect(Set(serviceIDs.compactMap { $0["id"] as? String }).isSuperset(of: ids + [otherID]))
        // Full order objects, the same as GET /api/orders/{id}.
        let one = try #require(client.call("GET", "/api/orders/\(ids[0])", token: admin)?.json?["order"])
        #expect(jsonEqual(all.first { $0["id"] as? String == ids[0] }, one))
    }
}

extension ISO8601DateFormatter {
    /// `2026-11-26T10:49:50.570Z`.
    static var withFractions: ISO8601DateFormatter {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }
}
