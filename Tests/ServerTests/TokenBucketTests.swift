import Testing
@testable import OrderPushServer

@Suite struct TokenBucketTests {
    @Test func aFullBucketAllowsItsBurstThenLimits() {
        var bucket = TokenBucket(capacity: 20, ratePerSecond: 10, nowMs: 1_000)
        for i in 0..<20 { #expect(bucket.take(nowMs: 1_000) == .allowed, "take \(i)") }
        #expect(bucket.take(nowMs: 1_000) == .limited(retryAfterSeconds: 1))
    }

    @Test func tokensComeBackAtTheRate() {
        var bucket = TokenBucket(capacity: 2, ratePerSecond: 10, nowMs: 0)
        #expect(bucket.take(nowMs: 0) == .allowed)
        #expect(bucket.take(nowMs: 0) == .allowed)
        #expect(bucket.take(nowMs: 50) != .allowed)   // half a token
        #expect(bucket.take(nowMs: 100) == .allowed)  // one token after 100 ms
        #expect(bucket.take(nowMs: 100) != .allowed)
        // Never more than the capacity, however long the bucket was idle.
        #expect(bucket.take(nowMs: 1_000_000) == .allowed)
        #expect(bucket.take(nowMs: 1_000_000) == .allowed)
        #expect(bucket.take(nowMs: 1_000_000) != .allowed)
    }

    @Test func retryAfterIsWholeSecondsAtLeastOne() {
        var slow = TokenBucket(capacity: 1, ratePerSecond: 0.25, nowMs: 0)
        #expect(slow.take(nowMs: 0) == .allowed)
        #expect(slow.take(nowMs: 0) == .limited(retryAfterSeconds: 4))
        #expect(slow.take(nowMs: 2_500) == .limited(retryAfterSeconds: 2))   // 0.625 of a token: 1.5 s more
        var fast = TokenBucket(capacity: 1, ratePerSecond: 1000, nowMs: 0)
        #expect(fast.take(nowMs: 0) == .allowed)
        #expect(fast.take(nowMs: 0) == .limited(retryAfterSeconds: 1))
    }

    @Test func aClockGoingBackwardsNeitherRefillsNorTakes() {
        var bucket = TokenBucket(capacity: 1, ratePerSecond: 1, nowMs: 10_000)
        #expect(bucket.take(nowMs: 10_000) == .allowed)
        #expect(bucket.take(nowMs: 5_000) != .allowed)
        #expect(bucket.take(nowMs: 11_000) == .allowed)
    }

    @Test func fullAgainOnceIdleLongEnough() {
        var bucket = TokenBucket(capacity: 20, ratePerSecond: 10, nowMs: 0)
        _ = bucket.take(nowMs: 0)
        #expect(!bucket.isFull(nowMs: 50))
        #expect(bucket.isFull(nowMs: 100))
    }
}

@Suite struct UserWriteLimiterTests {
    @Test func eachSubHasItsOwnBucket() {
        let limiter = UserWriteLimiter(ratePerSecond: 1, burst: 2)
        #expect(limiter.take(sub: "a", nowMs: 0) == .allowed)
        #expect(limiter.take(sub: "a", nowMs: 0) == .allowed)
        #expect(limiter.take(sub: "a", nowMs: 0) == .limited(retryAfterSeconds: 1))
        #expect(limiter.take(sub: "b", nowMs: 0) == .allowed)
    }

    @Test func rateZeroTurnsTheLimitOff() {
        let limiter = UserWriteLimiter(ratePerSecond: 0, burst: 0)
        for _ in 0..<100 { #expect(limiter.take(sub: "a", nowMs: 0) == .allowed) }
        #expect(limiter.bucketCount == 0)
    }

    @Test func idleBucketsAreForgotten() {
        let limiter = UserWriteLimiter(ratePerSecond: 10, burst: 20)
        let n = UserWriteLimiter.minimumSweepSize
        for i in 0..<n { _ = limiter.take(sub: "u\(i)", nowMs: 0) }
        #expect(limiter.bucketCount == n)
        // Two seconds later every one of them has refilled: the next write sweeps them.
        _ = limiter.take(sub: "late", nowMs: 2_000)
        #expect(limiter.bucketCount == 1)
    }

    @Test func busyBucketsSurviveASweep() {
        let limiter = UserWriteLimiter(ratePerSecond: 10, burst: 20)
        for _ in 0..<20 { _ = limiter.take(sub: "busy", nowMs: 0) }
        for i in 0..<(UserWriteLimiter.minimumSweepSize - 1) { _ = limiter.take(sub: "u\(i)", nowMs: 0) }
        // 1 s later: the idle ones have refilled (1 token used of 20), "busy" has not.
        #expect(limiter.take(sub: "busy", nowMs: 1_000) == .allowed)
        #expect(limiter.bucketCount == 1)
    }
}

@Suite struct LogThrottleTests {
    @Test func oneLinePerIntervalPerKindWithTheSuppressedCount() {
        var throttle = LogThrottle(intervalMs: 10_000)
        #expect(throttle.admit("commit", nowMs: 0) == 0)
        #expect(throttle.admit("commit", nowMs: 1) == nil)
        #expect(throttle.admit("commit", nowMs: 9_999) == nil)
        #expect(throttle.admit("read", nowMs: 5_000) == 0)   // another kind has its own budget
        #expect(throttle.admit("commit", nowMs: 10_000) == 2)
        #expect(throttle.admit("commit", nowMs: 20_000) == 0)
    }

    @Test func suffixSaysHowManyWereHeldBack() {
        #expect(LogThrottle.suffix(0) == "")
        #expect(LogThrottle.suffix(3).contains("3"))
    }
}
