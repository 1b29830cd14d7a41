import Foundation
import Testing

/// One refused request: what is sent, and the answer it must get.
struct BadRequestCase: Sendable, CustomStringConvertible {
    enum Caller: Sendable { case user, otherUser, admin, service }
    let description: String
    let method: String
    /// `{id}` is replaced by an existing order's id.
    let path: String
    let caller: Caller
    let body: String?
    var headers: [String: String] = [:]
    let status: Int
    let code: String
    /// A field the error message must name.
    var field: String?
}

/// "Bad input gets a clear 4xx and changes nothing" (docs/PROTOCOL.md §6): every refused create
/// and tracking request, each followed by a check that no order, event or history entry
/// appeared. Serialized on a server of its own, so "nothing changed" can be exact.
@Suite(.serialized, .sharedServer()) struct BadInputTests {
    static let item = #"{"productId":"p1","name":"Tea","quantity":1,"price":10}"#
    static func order(_ members: String) -> String { "{" + members + "}" }
    static func withItem(_ item: String) -> String { order(#""items":[\#(item)],"paymentMethod":"cod""#) }
    static let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)

    static let createCases: [BadRequestCase] = [
        .init(description: "truncated JSON", method: "POST", path: "/api/orders", caller: .user,
              body: #"{"items":"#, status: 400, code: "bad_json"),
        .init(description: "not JSON", method: "POST", path: "/api/orders", caller: .user,
              body: "items=tea&paymentMethod=cod", status: 400, code: "bad_json"),
        .init(description: "empty body", method: "POST", path: "/api/orders", caller: .user,
              body: nil, status: 400, code: "bad_json"),
        .init(description: "trailing garbage", method: "POST", path: "/api/orders", caller: .user,
              body: order(#""items":[\#(item)],"paymentMethod":"cod""#) + " x", status: 400, code: "bad_json"),
        .init(description: "duplicate key", method: "POST", path: "/api/orders", caller: .user,
              body: order(#""items":[\#(item)],"paymentMethod":"cod","paymentMethod":"razorpay""#), status: 400, code: "bad_json"),
        .init(description: "nesting too deep", method: "POST", path: "/api/orders", caller: .user,
              body: order(#""items":[\#(item)],"paymentMethod":"cod","metadata":\#(deep)"#), status: 400, code: "bad_json"),
        .init(description: "array body", method: "POST", path: "/api/orders", caller: .user,
              body: "[]", status: 400, code: "bad_request"),
        .init(description: "items missing", method: "POST", path: "/api/orders", caller: .user,
              body: order(#""paymentMethod":"cod""#), status: 400, code: "bad_request", field: "items"),
        .init(description: "items empty", method: "POST", path: "/api/orders", caller: .user,
              body: order(#""items":[],"paymentMethod":"cod""#), status: 400, code: "bad_request", field: "items"),
        .init(description: "items not an array", method: "POST", path: "/api/orders", caller: .user,
              body: order(#""items":{"p1":1},"paymentMethod":"cod""#), status: 400, code: "bad_request", field: "items"),
        .init(description: "quantity zero", method: "POST", path: "/api/orders", caller: .user,
              body: withItem(#"{"productId":"p1","name":"Tea","quantity":0,"price":10}"#), status: 400, code: "bad_request",
              field: "items[0].quantity"),
        .init(description: "fractional quantity", method: "POST", path: "/api/orders", caller: .user,
              body: withItem(#"{"productId":"p1","name":"Tea","quantity":1.5,"price":10}"#), status: 400, code: "bad_request",
              field: "items[0].quantity"),
        .init(description: "negative price", method: "POST", path: "/api/orders", caller: .user,
              body: withItem(#"{"productId":"p1","name":"Tea","quantity":1,"price":-1}"#), status: 400, code: "bad_request",
              field: "items[0].price"),
        .init(description: "price as a string", method: "POST", path: "/api/orders", caller: .user,
              body: withItem(#"{"productId":"p1","name":"Tea","quantity":1,"price":"10"}"#), status: 400, code: "bad_request",
              field: "items[0].price"),
        .init(description: "empty productId", method: "POST", path: "/api/orders", caller: .user,
              body: withItem(#"{"productId":"","name":"Tea","quantity":1,"price":10}"#), status: 400, code: "bad_request",
              field: "items[0].productId"),
        .init(description: "item without name", method: "POST", path: "/api/orders", caller: .user,
              body: withItem(#"{"productId":"p1","quantity":1,"price":10}"#), status: 400, code: "bad_request",
              field: "items[0].name"),
        .init(description: "unknown item field", method: "POST", path: "/api/orders", caller: .user,
              body: withItem(#"{"productId":"p1","name":"Tea","quantity":1,"price":10,"colour":"red"}"#), status: 400,
              code: "bad_request", field: "items[0].colour"),
        .init(description: "second item bad", method: "POST", path: "/api/orders", caller: .user,
              body: order(#""items":[\#(item),{"productId":"p2","name":"X","quantity":1}],"paymentMethod":"cod""#),
              status: 400, code: "bad_request", field: "items[1].price"),
        .init(description: "unknown payment method", method: "POST", path: "/api/orders", caller: .user,
              body: order(#""items":[\#(item)],"paymentMethod":"cash""#), status: 400, code: "bad_request", field: "paymentMethod"),
        .init(description: "payment method missing", method: "POST", path: "/api/orders", caller: .user,
              body: order(#""items":[\#(item)]"#), status: 400, code: "bad_request", field: "paymentMethod"),
        .init(description: "unknown top-level field", method: "POST", path: "/api/orders", caller: .user,
              body: order(#""items":[\#(item)],"paymentMethod":"cod","coupon":"FREE""#), status: 400, code: "bad_request",
              field: "coupon"),
        .init(description: "shippingAddress not an object", method: "POST", path: "/api/orders", caller: .user,
              body: order(#""items":[\#(item)],"paymentMethod":"cod","shippingAddress":"12 MG Road""#), status: 400,
              code: "bad_request", field: "shippingAddress"),
        .init(description: "userId empty", method: "POST", path: "/api/orders", caller: .admin,
              body: order(#""items":[\#(item)],"paymentMethod":"cod","userId":"""#), status: 400, code: "bad_request",
              field: "userId"),
        .init(description: "userId a number", method: "POST", path: "/api/orders", caller: .service,
              body: order(#""items":[\#(item)],"paymentMethod":"cod","userId":42"#), status: 400, code: "bad_request",
              field: "userId"),
        .init(description: "admin without userId", method: "POST", path: "/api/orders", caller: .admin,
              body: withItem(item), status: 400, code: "bad_request", field: "userId"),
        .init(description: "service without userId", method: "POST", path: "/api/orders", caller: .service,
              body: withItem(item), status: 400, code: "bad_request", field: "userId"),
        .init(description: "user naming another user", method: "POST", path: "/api/orders", caller: .user,
              body: order(#""items":[\#(item)],"paymentMethod":"cod","userId":"someone-else""#), status: 403, code: "forbidden"),
        .init(description: "bad Idempotency-Key", method: "POST", path: "/api/orders", caller: .user,
              body: withItem(item), headers: ["Idempotency-Key": "two words"], status: 400, code: "bad_request",
              field: "Idempotency-Key"),
    ]

    static let trackingCases: [BadRequestCase] = [
        .init(description: "truncated JSON", method: "PUT", path: "/api/orders/{id}/tracking", caller: .admin,
              body: #"{"status":"#, status: 400, code: "bad_json"),
        .init(description: "empty object", method: "PUT", path: "/api/orders/{id}/tracking", caller: .admin,
              body: "{}", status: 400, code: "bad_request"),
        .init(description: "array body", method: "PUT", path: "/api/orders/{id}/tracking", caller: .service,
              body: #"["shipped"]"#, status: 400, code: "bad_request"),
        .init(description: "unknown status", method: "PUT", path: "/api/orders/{id}/tracking", caller: .admin,
              body: #"{"status":"lost"}"#, status: 400, code: "bad_request", field: "status"),
        .init(description: "latitude out of range", method: "PUT", path: "/api/orders/{id}/tracking", caller: .admin,
              body: #"{"location":{"lat":91,"lng":77.6}}"#, status: 400, code: "bad_request", field: "location.lat"),
        .init(description: "longitude missing", method: "PUT", path: "/api/orders/{id}/tracking", caller: .admin,
              body: #"{"location":{"lat":12.9}}"#, status: 400, code: "bad_request", field: "location.lng"),
        .init(description: "partner without name", method: "PUT", path: "/api/orders/{id}/tracking", caller: .admin,
              body: #"{"deliveryPartner":{"phone":"+91"}}"#, status: 400, code: "bad_request", field: "deliveryPartner.name"),
        .init(description: "unknown field", method: "PUT", path: "/api/orders/{id}/tracking", caller: .admin,
              body: #"{"status":"shipped","eta":"soon"}"#, status: 400, code: "bad_request", field: "eta"),
        .init(description: "note too long", method: "PUT", path: "/api/orders/{id}/tracking", caller: .admin,
              body: #"{"note":"\#(String(repeating: "n", count: 1001))"}"#, status: 400, code: "bad_request", field: "note"),
        .init(description: "valid body, one bad field", method: "PUT", path: "/api/orders/{id}/tracking", caller: .admin,
              body: #"{"status":"shipped","location":{"lat":"north","lng":1}}"#, status: 400, code: "bad_request",
              field: "location.lat"),
        .init(description: "the owner", method: "PUT", path: "/api/orders/{id}/tracking", caller: .user,
              body: #"{"status":"delivered"}"#, status: 403, code: "forbidden"),
        .init(description: "another user", method: "PUT", path: "/api/orders/{id}/tracking", caller: .otherUser,
              body: #"{"status":"delivered"}"#, status: 403, code: "forbidden"),
        .init(description: "unknown order", method: "PUT", path: "/api/orders/ord_0123456789abcdef/tracking", caller: .admin,
              body: #"{"status":"shipped"}"#, status: 404, code: "not_found"),
    ]

    static let routingCases: [BadRequestCase] = [
        .init(description: "DELETE the collection", method: "DELETE", path: "/api/orders", caller: .admin,
              body: nil, status: 405, code: "method_not_allowed"),
        .init(description: "PUT the collection", method: "PUT", path: "/api/orders", caller: .admin,
              body: OrderBody.simple(userId: "u"), status: 405, code: "method_not_allowed"),
        .init(description: "POST an order", method: "POST", path: "/api/orders/{id}", caller: .admin,
              body: #"{"status":"shipped"}"#, status: 405, code: "method_not_allowed"),
        .init(description: "DELETE an order", method: "DELETE", path: "/api/orders/{id}", caller: .admin,
              body: nil, status: 405, code: "method_not_allowed"),
        .init(description: "POST tracking", method: "POST", path: "/api/orders/{id}/tracking", caller: .admin,
              body: #"{"status":"shipped"}"#, status: 405, code: "method_not_allowed"),
        .init(description: "POST the legacy list", method: "POST", path: "/api/orders/manage", caller: .admin,
              body: OrderBody.simple(userId: "u"), status: 405, code: "method_not_allowed"),
        .init(description: "a path under an order", method: "PUT", path: "/api/orders/{id}/status", caller: .admin,
              body: #"{"status":"shipped"}"#, status: 404, code: "not_found"),
        .init(description: "an id with bad characters", method: "PUT", path: "/api/orders/..%2f..%2fetc/tracking",
              caller: .admin, body: #"{"status":"shipped"}"#, status: 404, code: "not_found"),
    ]

    let server: ServerProcess
    let tokens: TokenFactory
    let client: TestClient
    let admin: String

    init() throws {
        server = try SharedServer.current()
        tokens = try TokenFactory(server: server)
        client = try TestClient(port: server.port)
        admin = tokens.token(sub: "ops", role: "admin")
    }

    /// Everything a change could touch: the log's head and every order as admin sees it.
    private func snapshot() throws -> (head: Int, orders: [[String: Any]]) {
        let state = try client.poll(token: admin)
        return (state.cursor, state.orders)
    }

    private func run(_ c: BadRequestCase) throws {
        let owner = "owner"
        let existing = try client.createOrder(token: admin, body: OrderBody.simple(userId: owner))
        let before = try snapshot()
        let token: String
        switch c.caller {
        case .user: token = tokens.token(sub: owner, role: "user")
        case .otherUser: token = tokens.token(sub: "intruder", role: "user")
        case .admin: token = admin
        case .service: token = tokens.token(sub: "billing", role: "service")
        }
        // A connection per case: some refusals close it.
        let fresh = try TestClient(port: server.port)
        let path = c.path.replacingOccurrences(of: "{id}", with: existing.id)
        let r = try #require(fresh.call(c.method, path, token: token, json: c.body, headers: c.headers))
        #expect(r.status == c.status, "\(r.text)")
        #expect(r.errorCode == c.code, "\(r.text)")
        #expect(r.header("Content-Type")?.hasPrefix("application/json") == true)
        if let field = c.field { #expect(r.errorMessage.contains(field), "message: \(r.errorMessage)") }
        if c.status == 405 { #expect(r.header("Allow") != nil) }

        let after = try snapshot()
        #expect(after.head == before.head, "an event was appended")
        #expect(jsonEqual(after.orders, before.orders), "an order changed")
    }

    @Test(arguments: createCases) func refusedCreate(_ c: BadRequestCase) throws { try run(c) }

    @Test(arguments: trackingCases) func refusedTrackingUpdate(_ c: BadRequestCase) throws { try run(c) }

    @Test(arguments: routingCases) func refusedRoute(_ c: BadRequestCase) throws { try run(c) }

    @Test func invalidUTF8IsBadJSON() throws {
        let before = try snapshot()
        var body = Array(OrderBody.simple(userId: "u").utf8)
        body.insert(contentsOf: [0xC3, 0x28], at: body.count - 30)   // a broken two-byte sequence inside a string
        let r = try #require(client.request("POST", "/api/orders", headers: ["Authorization": "Bearer " + admin], body: body))
        #expect(r.status == 400)
        #expect(r.errorCode == "bad_json")
        let after = try snapshot()
        #expect(after.head == before.head)
    }

    @Test func bodiesOverTheLimitGet413() throws {
        let before = try snapshot()
        // Valid JSON just over 1 MiB: the limit, not the parser, refuses it.
        let padding = String(repeating: "x", count: 1024 * 1024)
        let body = OrderBody.simple(userId: "u", extra: #""metadata":{"pad":"\#(padding)"}"#)
        let fresh = try TestClient(port: server.port)
        let r = try #require(fresh.call("POST", "/api/orders", token: admin, json: body))
        #expect(r.status == 413)
        #expect(r.json?["error"] != nil)
        let after = try snapshot()
        #expect(after.head == before.head)
        #expect(after.orders.count == before.orders.count)
    }
}
