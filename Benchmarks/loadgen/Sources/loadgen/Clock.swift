import Glibc

/// CLOCK_MONOTONIC in nanoseconds. The server and every client on this machine read the
/// same clock, so a stamp written by the publisher can be subtracted in a subscriber.
enum Clock {
    static func nowNs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
