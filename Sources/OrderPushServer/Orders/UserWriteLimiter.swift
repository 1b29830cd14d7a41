import Synchronization

/// The write rate of `user` tokens, per `sub`, across the whole process.
///
/// Shared mutable state behind a Mutex, on purpose: a user's connections land on any loop
/// (SO_REUSEPORT picks), so a per-loop bucket would let a user with N connections write N
/// times the rate. The lock is held for one dictionary lookup per write; writes are far
/// rarer than reads, and each is already an fsync away from its answer.
///
/// Memory stays bounded: a bucket that has refilled completely is the same as no bucket,
/// so idle ones are dropped by a sweep that runs whenever the table has doubled since the
/// last sweep (amortised O(1) per write). What remains is the subs that wrote within the
/// last `capacity / rate` seconds, each of which needed a token this server signed.
final class UserWriteLimiter: Sendable {
    private struct State {
        var buckets: [String: TokenBucket] = [:]
        var sweepAt = UserWriteLimiter.minimumSweepSize
    }

    static let minimumSweepSize = 1024
    let ratePerSecond: Double
    let burst: Double
    private let state = Mutex(State())

    /// `ratePerSecond` 0 (or less) disables the limit.
    init(ratePerSecond: Double, burst: Double) {
        self.ratePerSecond = ratePerSecond
        self.burst = max(1, burst)
    }

    var isEnabled: Bool { ratePerSecond > 0 }

    func take(sub: String, nowMs: Int64) -> TokenBucket.Decision {
        guard isEnabled else { return .allowed }
        return state.withLock { s in
            if s.buckets.count >= s.sweepAt {
                s.buckets = s.buckets.filter { !$0.value.isFull(nowMs: nowMs) }
                s.sweepAt = max(Self.minimumSweepSize, s.buckets.count * 2)
            }
            var bucket = s.buckets[sub] ?? TokenBucket(capacity: burst, ratePerSecond: ratePerSecond, nowMs: nowMs)
            let decision = bucket.take(nowMs: nowMs)
            s.buckets[sub] = bucket
            return decision
        }
    }

    /// Buckets kept right now (for tests).
    var bucketCount: Int { state.withLock { $0.buckets.count } }
}
