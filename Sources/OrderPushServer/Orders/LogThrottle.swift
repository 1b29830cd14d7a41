/// At most one log line per `intervalMs` per kind of failure, with the count of the lines
/// held back since the last one: a client that can make a failure happen (a full disk, a
/// locked database, a stream of bad requests) cannot flood the log with it. Pure: the
/// caller passes the time.
struct LogThrottle: Sendable {
    let intervalMs: Int64
    private var kinds: [String: (nextMs: Int64, suppressed: Int)] = [:]

    init(intervalMs: Int64 = 10_000) { self.intervalMs = intervalMs }

    /// Whether to log a line of `kind` now: nil to stay silent (it is counted), else the
    /// number of lines of that kind suppressed since the last one logged.
    mutating func admit(_ kind: String, nowMs: Int64) -> Int? {
        if let entry = kinds[kind], nowMs < entry.nextMs {
            kinds[kind] = (entry.nextMs, entry.suppressed + 1)
            return nil
        }
        let suppressed = kinds[kind]?.suppressed ?? 0
        kinds[kind] = (nowMs + intervalMs, 0)
        return suppressed
    }

    /// The text to add to a line: "" or " (N similar lines suppressed)".
    static func suffix(_ suppressed: Int) -> String {
        suppressed == 0 ? "" : " (\(suppressed) similar suppressed in the last interval)"
    }
}
