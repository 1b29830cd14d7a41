import JSON
import Testing
import TestSupport
@testable import Orders

@Suite struct OrderTests {
    static let createdMs: Int64 = 1_795_689_169_123   // 2026-11-26T10:32:49.123Z

    static func sampleInput() throws -> NewOrderInput {
        try NewOrderInput.parse(Array("""
            {"items":[{"productId":"p1","name":"Tea \\"Assam\\"","quantity":3,"price":0.1},
                      {"productId":"p2","name":"Cup","quantity":2,"price":120.005}],
             "paymentMethod":"cod","shippingAddress":{"line1":"12 MG Rd","city":"Bengaluru"},
             "metadata":{"coupon":"X1","tags":["gift",true,null,1.25]}}
            """.utf8))
    }

    @Test func computesTotalsRoundedToCents() {
        func total(_ lines: [(Int, Double)]) -> Double {
            Order.total(of: lines.map { OrderItem(productId: "p", name: "n", quantity: $0.0, price: $0.1) })
        }
        #expect(total([(2, 120.0)]) == 240)
        #expect(total([(3, 0.1)]) == 0.3)                 // 0.30000000000000004 before rounding
        #expect(total([(1, 0.1), (1, 0.2)]) == 0.3)
        #expect(total([(2, 120.005)]) == 240.01)
        #expect(total([(1, 0.004)]) == 0)
        #expect(total([(1, 0.005)]) == 0.01)              // half away from zero
        #expect(total([(10_000, 1_000_000_000)]) == 10_000_000_000_000)
        #expect(total([(7, 0)]) == 0)
    }

    @Test func createsAPlacedOrder() throws {
        let order = Order(id: "ord_0123456789abcdef", userId: "u42", input: try Self.sampleInput(), nowMs: Self.createdMs)
        #expect(order.status == .placed)
        #expect(order.total == 240.31)
        #expect(order.createdAtMs == Self.createdMs && order.updatedAtMs == Self.createdMs)
        #expect(order.tracking == Tracking(history: [TrackingEntry(status: .placed, note: nil, location: nil, atMs: Self.createdMs)]))
    }

    @Test func appliesTrackingUpdates() throws {
        let placed = Order(id: "ord_0123456789abcdef", userId: "u42", input: try Self.sampleInput(), nowMs: Self.createdMs)
        let moved = placed.applying(TrackingInput(location: GeoPoint(lat: 1, lng: 2), note: "at hub"), atMs: Self.createdMs + 5)
        #expect(moved.status == .placed)
        #expect(moved.tracking.location == GeoPoint(lat: 1, lng: 2))
        #expect(moved.tracking.history.last == TrackingEntry(status: .placed, note: "at hub", location: GeoPoint(lat: 1, lng: 2), atMs: Self.createdMs + 5))
        #expect(moved.updatedAtMs == Self.createdMs + 5 && moved.createdAtMs == Self.createdMs)

        let shipped = moved.applying(TrackingInput(status: .shipped, deliveryPartner: DeliveryPartner(name: "Ravi", phone: "+91")), atMs: Self.createdMs + 9)
        #expect(shipped.status == .shipped)
        #expect(shipped.tracking.location == GeoPoint(lat: 1, lng: 2))     // kept
        #expect(shipped.tracking.deliveryPartner == DeliveryPartner(name: "Ravi", phone: "+91"))
        #expect(shipped.tracking.history.count == 3)
        #expect(shipped.tracking.history[2] == TrackingEntry(status: .shipped, note: nil, location: nil, atMs: Self.createdMs + 9))
    }

    @Test func encodesTheContractShape() throws {
        let order = Order(id: "ord_0123456789abcdef", userId: "u42", input: try Self.sampleInput(), nowMs: Self.createdMs)
            .applying(TrackingInput(status: .confirmed, location: GeoPoint(lat: 12.97, lng: 77.59), note: "ok"), atMs: Self.createdMs + 1000)
        let bytes = order.jsonBytes()
        let json = try JSONValue.parse(bytes)
        guard case .object(let members) = json else { Issue.record("not an object"); return }
        #expect(members.map(\.key) == ["id", "userId", "items", "total", "paymentMethod", "status", "shippingAddress",
                                       "tracking", "metadata", "createdAt", "updatedAt"])
        #expect(json["id"] == .string("ord_0123456789abcdef"))
        #expect(json["userId"] == .string("u42"))
        #expect(json["items"] == .array([
            .object([("productId", .string("p1")), ("name", .string("Tea \"Assam\"")), ("quantity", .number(3)), ("price", .number(0.1))]),
            .object([("productId", .string("p2")), ("name", .string("Cup")), ("quantity", .number(2)), ("price", .number(120.005))]),
        ]))
        #expect(json["total"] == .number(240.31))
        #expect(json["paymentMethod"] == .string("cod"))
        #expect(json["status"] == .string("confirmed"))
        #expect(json["shippingAddress"] == .object([("line1", .string("12 MG Rd")), ("city", .string("Bengaluru"))]))
        #expect(json["metadata"] == .object([("coupon", .string("X1")), ("tags", .array([.string("gift"), .bool(true), .null, .number(1.25)]))]))
        #expect(json["createdAt"] == .string("2026-11-26T10:32:49.123Z"))
        #expect(json["updatedAt"] == .string("2026-11-26T10:32:50.123Z"))
        let location = JSONValue.object([("lat", .number(12.97)), ("lng", .number(77.59))])
        #expect(json["tracking"] == .object([
            ("status", .string("confirmed")),
            ("location", location),
            ("deliveryPartner", .null),
            ("history", .array([
                .object([("status", .string("placed")), ("note", .null), ("location", .null), ("at", .string("2026-11-26T10:32:49.123Z"))]),
                .object([("status", .string("confirmed")), ("note", .string("ok")), ("location", location), ("at", .string("2026-11-26T10:32:50.123Z"))]),
            ])),
        ]))
        // Integral numbers have no ".0"; the text is compact.
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains(#""quantity":3,"price":0.1}"#))
        #expect(!text.contains(": ") && !text.contains(", "))
        #expect(try Order(json: JSONValue.parse(bytes)) == order)
    }

    @Test func encodesNullsAndPartner() throws {
        let input = NewOrderInput(items: [OrderItem(productId: "p", name: "n\u{1}", quantity: 1, price: 5)], paymentMethod: .razorpay)
        let order = Order(id: "ord_ffffffffffffffff", userId: "üser", input: input, nowMs: 0)
            .applying(TrackingInput(deliveryPartner: DeliveryPartner(name: "Ravi", phone: "+91 1")), atMs: 1)
        let text = String(decoding: order.jsonBytes(), as: UTF8.self)
        #expect(text == #"{"id":"ord_ffffffffffffffff","userId":"üser","items":[{"productId":"p","name":"n\u0001","quantity":1,"price":5}],"total":5,"paymentMethod":"razorpay","status":"placed","shippingAddress":null,"tracking":{"status":"placed","location":null,"deliveryPartner":{"name":"Ravi","phone":"+91 1"},"history":[{"status":"placed","note":null,"location":null,"at":"1970-01-01T00:00:00.000Z"},{"status":"placed","note":null,"location":null,"at":"1970-01-01T00:00:00.001Z"}]},"metadata":null,"createdAt":"1970-01-01T00:00:00.000Z","updatedAt":"1970-01-01T00:00:00.001Z"}"#)
        #expect(try Order(json: JSONValue.parse(order.jsonBytes())) == order)
    }

    @Test func decodingRefusesOtherShapes() throws {
        let good = try JSONValue.parse(Order(id: "ord_0123456789abcdef", userId: "u", input: try Self.sampleInput(), nowMs: 5).jsonBytes())
        guard case .object(let members) = good else { return }
        func without(_ key: String) -> JSONValue { .object(members.filter { $0.key != key }) }
        func replacing(_ key: String, _ value: JSONValue) -> JSONValue {
            .object(members.map { $0.key == key ? (key, value) : $0 })
        }
        #expect(throws: OrderDecodingError("order.id is required")) { try Order(json: without("id")) }
        #expect(throws: OrderDecodingError("order.status must be a known status value")) { try Order(json: replacing("status", .string("lost"))) }
        #expect(throws: OrderDecodingError("order.tracking.status must equal order.status")) { try Order(json: replacing("status", .string("packed"))) }
        #expect(throws: OrderDecodingError("order.createdAt must be an ISO-8601 UTC timestamp with milliseconds")) {
            try Order(json: replacing("createdAt", .string("2026-11-26T10:32:49Z")))
        }
        #expect(throws: OrderDecodingError("order.shippingAddress must be an object or null")) { try Order(json: replacing("shippingAddress", .number(1))) }
        #expect(throws: OrderDecodingError("order.items must be an array")) { try Order(json: replacing("items", .string("x"))) }
        #expect(throws: OrderDecodingError("order must be an object")) { try Order(json: .array([])) }
        #expect(throws: OrderDecodingError("items[0] must be an object")) { try OrderItem.decodeList(.array([.null])) }
    }

    @Test func formatsAndParsesTimestamps() {
        let cases: [(Int64, String)] = [
            (0, "1970-01-01T00:00:00.000Z"),
            (Self.createdMs, "2026-11-26T10:32:49.123Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
            (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
        ]
        for (ms, text) in cases {
            #expect(Timestamp.iso8601(ms: ms) == text)
            #expect(Timestamp.parseISO8601(text) == ms)
        }
        #expect(Timestamp.iso8601(ms: .max) == "9999-12-31T23:59:59.999Z")
        for bad in ["2026-11-26T10:32:49Z", "2026-13-01T00:00:00.000Z", "2025-02-29T00:00:00.000Z", "2026-11-26 10:32:49.123Z",
                    "2026-11-26T24:00:00.000Z", "2026-11-26T10:32:49.12aZ", ""] {
            #expect(Timestamp.parseISO8601(bad) == nil, "\(bad)")
        }
    }

    @Test func makesWellFormedIDs() {
        var rng = SplitMix64(seed: 7)
        var seen: Set<String> = []
        for _ in 0..<1000 {
            let id = Order.makeID(using: &rng)
            #expect(Order.isWellFormedID(id), "\(id)")
            seen.insert(id)
        }
        #expect(seen.count == 1000)
        #expect(Order.isWellFormedID(Order.makeID()))
        var zero = ZeroGenerator()
        #expect(Order.makeID(using: &zero) == "ord_0000000000000000")
        for bad in ["ord_0123", "ord_0123456789ABCDEF", "abc_0123456789abcdef", "ord_0123456789abcdeg"] {
            #expect(!Order.isWellFormedID(bad))
        }
    }
}

struct ZeroGenerator: RandomNumberGenerator {
    mutating func next() -> UInt64 { 0 }
}
