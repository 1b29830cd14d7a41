/// The person delivering an order.
public struct DeliveryPartner: Sendable, Equatable {
    public var name: String
    public var phone: String

    public init(name: String, phone: String) {
        self.name = name
        self.phone = phone
    }
}
