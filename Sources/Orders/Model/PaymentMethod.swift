/// How an order is paid. The raw values are the contract's JSON strings.
public enum PaymentMethod: String, Sendable, CaseIterable {
    case cashOnDelivery = "cod"
    case razorpay
}
