import Glibc

/// Milliseconds and nanoseconds on CLOCK_MONOTONIC: immune to wall-clock jumps, so deadlines
/// and ping intervals never fire early or late when NTP adjusts the time.
public enum MonotonicClock {
    public static func nowNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    public static func nowMilliseconds() -> Int64 { Int64(nowNanoseconds() / 1_000_000) }
}

/// Wall-clock time, for timestamps that leave the process (JWT `exp`, `createdAt`).
public enum WallClock {
    public static func nowMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    public static func nowSeconds() -> Int64 { nowMilliseconds() / 1000 }
}
