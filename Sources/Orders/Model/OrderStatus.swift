/// Where an order is in its life. The raw values are the contract's JSON strings.
public enum OrderStatus: String, Sendable, CaseIterable {
    case placed
    case confirmed
    case packed
    case shipped
    case outForDelivery = "out_for_delivery"
    case delivered
    case cancelled
}
