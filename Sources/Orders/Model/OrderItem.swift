/// One line of an order.
public struct OrderItem: Sendable, Equatable {
    public var productId: String
    public var name: String
    /// At least 1.
    public var quantity: Int
    /// Unit price, finite and not negative.
    public var price: Double

    public init(productId: String, name: String, quantity: Int, price: Double) {
        self.productId = productId
        self.name = name
        self.quantity = quantity
        self.price = price
    }
}
