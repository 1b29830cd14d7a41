import JSON
import Orders

// Target `orders`: the order body parsers on arbitrary bytes — NewOrderInput.parse
// (POST /api/orders), TrackingInput.parse (PUT …/tracking), Order(json:) (the reader of
// the order JSON the server writes) and Timestamp.parseISO8601.
//
// Invariants:
// - none of them crashes;
// - an accepted NewOrderInput respects every InputLimits bound;
// - an accepted TrackingInput has at least one field, and a location within range;
// - an order built from accepted input (new order, or one with the update applied)
//   survives jsonBytes() -> Order(json:) unchanged;
// - an order Order(json:) accepts survives the same round trip;
// - parseISO8601 accepts only the canonical text: iso8601(parseISO8601(t)) == t.

private let nowMs: Int64 = 1_700_000_000_123

private func roundTrip(_ order: Order, _ what: String) {
    let bytes = order.jsonBytes()
    do {
        let back = try Order(json: JSONValue.parse(bytes))
        require(back == order, "\(what): \(order) came back as \(back)")
    } catch {
        require(false, "\(what): Order(json:) refused \(show(bytes)): \(error)")
    }
}

private func checkNewOrder(_ input: NewOrderInput) {
    require((1...InputLimits.maxItems).contains(input.items.count), "\(input.items.count) items accepted")
    for item in input.items {
        require(!item.productId.isEmpty && item.productId.count <= InputLimits.maxIdLength, "productId \(item.productId.debugDescription)")
        require(item.name.count <= InputLimits.maxNameLength, "name of \(item.name.count) characters")
        require((1...InputLimits.maxQuantity).contains(item.quantity), "quantity \(item.quantity)")
        require((0...InputLimits.maxPrice).contains(item.price), "price \(item.price)")
    }
    if let userId = input.userId {
        require(!userId.isEmpty && userId.count <= InputLimits.maxIdLength, "userId \(userId.debugDescription)")
    }
    require(input.shippingAddress.isNull || input.shippingAddress.isObject, "shippingAddress \(input.shippingAddress)")
    let order = Order(id: "ord_0123456789abcdef", userId: input.userId ?? "u1", input: input, nowMs: nowMs)
    require(order.total.isFinite && order.total >= 0, "total \(order.total)")
    roundTrip(order, "new order")
}

private func checkTracking(_ update: TrackingInput) {
    require(update.status != nil || update.location != nil || update.deliveryPartner != nil || update.note != nil,
            "empty tracking update accepted")
    if let location = update.location {
        require((-90...90).contains(location.lat) && (-180...180).contains(location.lng), "location \(location)")
    }
    if let note = update.note { require(note.count <= InputLimits.maxNoteLength, "note of \(note.count) characters") }
    let placed = Order(id: "ord_0123456789abcdef", userId: "u1",
                       input: NewOrderInput(items: [OrderItem(productId: "p", name: "n", quantity: 1, price: 1.5)],
                                            paymentMethod: .cashOnDelivery),
                       nowMs: nowMs)
    roundTrip(placed.applying(update, atMs: nowMs + 1), "tracked order")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOrders(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    if let order = try? NewOrderInput.parse(input) { checkNewOrder(order) }
    if let update = try? TrackingInput.parse(input) { checkTracking(update) }
    if let json = try? JSONValue.parse(input), let stored = try? Order(json: json) { roundTrip(stored, "stored order") }
    if input.count <= 32 {
        let text = String(decoding: input, as: UTF8.self)
        if let ms = Timestamp.parseISO8601(text) {
            require(Timestamp.iso8601(ms: ms) == text, "parseISO8601 accepted \(text.debugDescription) as \(ms)")
        }
    }
    return 0
}
