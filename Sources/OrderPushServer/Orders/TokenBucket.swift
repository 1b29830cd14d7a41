/// A token bucket: `capacity` tokens at most, refilled at `ratePerSecond`; each write takes
/// one. Pure: the caller passes the time, so tests drive it directly.
struct TokenBucket: Sendable, Equatable {
    enum Decision: Equatable {
        case allowed
        /// Over the rate: retry after this many whole seconds (at least 1).
        case limited(retryAfterSeconds: Int)
    }

    let capacity: Double
    let ratePerSecond: Double
    private(set) var tokens: Double
    private(set) var lastMs: Int64

    /// A full bucket at `nowMs`.
    init(capacity: Double, ratePerSecond: Double, nowMs: Int64) {
        self.capacity = capacity
        self.ratePerSecond = ratePerSecond
        tokens = capacity
        lastMs = nowMs
    }

    /// Takes one token if there is one.
    mutating func take(nowMs: Int64) -> Decision {
        refill(nowMs: nowMs)
        if tokens >= 1 {
            tokens -= 1
            return .allowed
        }
        let wait = (1 - tokens) / ratePerSecond
        return .limited(retryAfterSeconds: max(1, Int(wait.rounded(.up))))
    }

    /// True once the bucket has refilled completely: forgetting it then changes nothing.
    func isFull(nowMs: Int64) -> Bool {
        var copy = self
        copy.refill(nowMs: nowMs)
        return copy.tokens >= capacity
    }

    private mutating func refill(nowMs: Int64) {
        // A clock that went backwards refills nothing (and never takes tokens away).
        let elapsedMs = max(0, nowMs - lastMs)
        tokens = min(capacity, tokens + Double(elapsedMs) * ratePerSecond / 1000)
        lastMs = max(lastMs, nowMs)
    }
}
