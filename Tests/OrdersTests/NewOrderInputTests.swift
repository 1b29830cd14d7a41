import Testing
@testable import Orders

@Suite struct NewOrderInputTests {
    static func parse(_ text: String) throws(OrderInputError) -> NewOrderInput {
        try NewOrderInput.parse(Array(text.utf8))
    }

    @Test func acceptsAFullBody() throws {
        let input = try Self.parse("""
            {"items":[{"productId":"p1","name":"Tea","quantity":2,"price":120.0},
                      {"productId":"p2","name":"","quantity":10000,"price":0}],
             "paymentMethod":"razorpay","shippingAddress":{"city":"Pune","pin":"411001"},
             "userId":"u42","metadata":[1,{"k":"v"}]}
            """)
        #expect(input.items == [OrderItem(productId: "p1", name: "Tea", quantity: 2, price: 120),
                                OrderItem(productId: "p2", name: "", quantity: 10000, price: 0)])
        #expect(input.paymentMethod == .razorpay)
        #expect(input.shippingAddress == .object([("city", .string("Pune")), ("pin", .string("411001"))]))
        #expect(input.userId == "u42")
        #expect(input.metadata == .array([.number(1), .object([("k", .string("v"))])]))
    }

    @Test func optionalFieldsMayBeAbsentOrNull() throws {
        let minimal = try Self.parse(#"{"items":[{"productId":"p","name":"n","quantity":1,"price":1.5}],"paymentMethod":"cod"}"#)
        #expect(minimal.paymentMethod == .cashOnDelivery)
        #expect(minimal.shippingAddress == .null)
        #expect(minimal.userId == nil)
        #expect(minimal.metadata == .null)
        let nulls = try Self.parse(#"{"items":[{"productId":"p","name":"n","quantity":1.0,"price":1}],"paymentMethod":"cod","shippingAddress":null,"userId":null,"metadata":null}"#)
        #expect(nulls.items[0].quantity == 1)
        #expect(nulls.shippingAddress == .null && nulls.userId == nil && nulls.metadata == .null)
        // Scalars are metadata too.
        #expect(try Self.parse(#"{"items":[{"productId":"p","name":"n","quantity":1,"price":1}],"paymentMethod":"cod","metadata":"x"}"#).metadata == .string("x"))
    }

    static let item = #"{"productId":"p","name":"n","quantity":1,"price":1}"#
    static func body(items: String = "[\(item)]", extra: String = "") -> String {
        #"{"items":\#(items),"paymentMethod":"cod"\#(extra)}"#
    }

    static let refused: [(String, String?, String)] = [
        ("[]", nil, "body must be a JSON object"),
        ("\"x\"", nil, "body must be a JSON object"),
        (#"{"paymentMethod":"cod"}"#, "items", "items is required"),
        (body(items: "[]"), "items", "items must be a non-empty array"),
        (body(items: "{}"), "items", "items must be a non-empty array"),
        (body(items: "[1]"), "items[0]", "items[0] must be an object"),
        (body(items: "[\(item),{\"name\":\"n\",\"quantity\":1,\"price\":1}]"), "items[1].productId", "items[1].productId is required"),
        (body(items: "[{\"productId\":\"\",\"name\":\"n\",\"quantity\":1,\"price\":1}]"), "items[0].productId", "items[0].productId must be a non-empty string"),
        (body(items: "[{\"productId\":7,\"name\":\"n\",\"quantity\":1,\"price\":1}]"), "items[0].productId", "items[0].productId must be a non-empty string"),
        (body(items: "[{\"productId\":\"\(String(repeating: "x", count: 201))\",\"name\":\"n\",\"quantity\":1,\"price\":1}]"), "items[0].productId", "items[0].productId must be at most 200 characters"),
        (body(items: "[{\"productId\":\"p\",\"quantity\":1,\"price\":1}]"), "items[0].name", "items[0].name is required"),
        (body(items: "[{\"productId\":\"p\",\"name\":false,\"quantity\":1,\"price\":1}]"), "items[0].name", "items[0].name must be a string"),
        (body(items: "[{\"productId\":\"p\",\"name\":\"\(String(repeating: "é", count: 501))\",\"quantity\":1,\"price\":1}]"), "items[0].name", "items[0].name must be at most 500 characters"),
        (body(items: "[\(item),{\"productId\":\"p\",\"name\":\"n\",\"price\":1}]"), "items[1].quantity", "items[1].quantity is required"),
        (body(items: "[\(item),{\"productId\":\"p\",\"name\":\"n\",\"quantity\":0,\"price\":1}]"), "items[1].quantity", "items[1].quantity must be an integer from 1 to 10000"),
        (body(items: "[{\"productId\":\"p\",\"name\":\"n\",\"quantity\":-2,\"price\":1}]"), "items[0].quantity", "items[0].quantity must be an integer from 1 to 10000"),
        (body(items: "[{\"productId\":\"p\",\"name\":\"n\",\"quantity\":1.5,\"price\":1}]"), "items[0].quantity", "items[0].quantity must be an integer from 1 to 10000"),
        (body(items: "[{\"productId\":\"p\",\"name\":\"n\",\"quantity\":10001,\"price\":1}]"), "items[0].quantity", "items[0].quantity must be an integer from 1 to 10000"),
        (body(items: "[{\"productId\":\"p\",\"name\":\"n\",\"quantity\":\"2\",\"price\":1}]"), "items[0].quantity", "items[0].quantity must be an integer from 1 to 10000"),
        (body(items: "[{\"productId\":\"p\",\"name\":\"n\",\"quantity\":1}]"), "items[0].price", "items[0].price is required"),
        (body(items: "[{\"productId\":\"p\",\"name\":\"n\",\"quantity\":1,\"price\":-0.01}]"), "items[0].price", "items[0].price must be a number from 0 to 1000000000"),
        (body(items: "[{\"productId\":\"p\",\"name\":\"n\",\"quantity\":1,\"price\":1e10}]"), "items[0].price", "items[0].price must be a number from 0 to 1000000000"),
        (body(items: "[{\"productId\":\"p\",\"name\":\"n\",\"quantity\":1,\"price\":\"1\"}]"), "items[0].price", "items[0].price must be a number from 0 to 1000000000"),
        (body(items: "[{\"productId\":\"p\",\"name\":\"n\",\"quantity\":1,\"price\":1,\"sku\":\"x\"}]"), "items[0].sku", "items[0].sku is not a known field"),
        (#"{"items":[\#(item)]}"#, "paymentMethod", "paymentMethod is required"),
        (#"{"items":[\#(item)],"paymentMethod":"card"}"#, "paymentMethod", #"paymentMethod must be one of "cod", "razorpay""#),
        (#"{"items":[\#(item)],"paymentMethod":1}"#, "paymentMethod", #"paymentMethod must be one of "cod", "razorpay""#),
        (body(extra: #","shippingAddress":"Main St""#), "shippingAddress", "shippingAddress must be an object"),
        (body(extra: #","shippingAddress":[]"#), "shippingAddress", "shippingAddress must be an object"),
        (body(extra: #","userId":"""#), "userId", "userId must be a non-empty string"),
        (body(extra: #","userId":42"#), "userId", "userId must be a non-empty string"),
        (body(extra: #","status":"delivered""#), "status", "status is not a known field"),
    ]

    @Test(arguments: refused)
    func refusesBadFields(_ text: String, _ field: String?, _ message: String) {
        #expect(throws: OrderInputError(kind: .invalidField, field: field, message: message)) { try Self.parse(text) }
    }

    @Test func refusesTooManyItems() {
        let items = "[" + Array(repeating: Self.item, count: 1001).joined(separator: ",") + "]"
        #expect(throws: OrderInputError(kind: .invalidField, field: "items", message: "items must have at most 1000 entries")) {
            try Self.parse(Self.body(items: items))
        }
        let maxItems = "[" + Array(repeating: Self.item, count: 1000).joined(separator: ",") + "]"
        #expect((try? Self.parse(Self.body(items: maxItems)))?.items.count == 1000)
    }

    @Test func refusesMalformedAndOversizedBodies() {
        do {
            _ = try Self.parse(#"{"items":[}"#)
            Issue.record("accepted bad JSON")
        } catch {
            #expect(error.kind == .malformedJSON)
            #expect(error.field == nil)
            #expect(error.message.hasPrefix("body is not valid JSON: unexpected character '}'"))
        }
        let deep = String(repeating: "[", count: 70) + String(repeating: "]", count: 70)
        #expect(throws: OrderInputError.self) { try Self.parse(Self.body(extra: ",\"metadata\":\(deep)")) }
        do { _ = try Self.parse(Self.body(extra: ",\"metadata\":\(deep)")) } catch { #expect(error.kind == .malformedJSON) }

        let padding = String(repeating: " ", count: InputLimits.maxBodyBytes)
        #expect(throws: OrderInputError(kind: .tooLarge, field: nil, message: "body must be at most 1048576 bytes")) {
            try Self.parse(Self.body() + padding)
        }
    }
}
