import HTTP1
import Logging
import Orders
import Reactor

/// Answers shared by the HTTP endpoints of the order API.
enum APIResponses {
    static func forbidden(_ message: String) -> HTTPResponse {
        .error(.forbidden, code: "forbidden", message: message)
    }

    static func cursorExpired(_ message: String) -> HTTPResponse {
        .error(.gone, code: "cursor_expired", message: message)
    }

    static func inputError(_ error: OrderInputError) -> HTTPResponse {
        switch error.kind {
        case .tooLarge: return .error(.contentTooLarge, code: "content_too_large", message: error.message)
        case .malformedJSON: return .error(.badRequest, code: "bad_json", message: error.message)
        case .invalidField: return .error(.badRequest, code: "bad_request", message: error.message)
        }
    }
}

/// Storage read failures as the request path reports them: a 503 with a generic message to
/// the client, and the database's reason to the log, at most one line per interval (a
/// client can make every request fail while the database is down).
final class ReadFailureLog {
    private let logger: Logger
    /// Per loop (owned by its thread), so no lock: with N loops, N lines per interval at most.
    private var throttle = LogThrottle()

    init(logger: Logger) { self.logger = logger }

    /// The answer of a read job: its response, or 503 with the reason logged.
    func response(_ result: Result<HTTPResponse, ReadFailure>) -> HTTPResponse {
        switch result {
        case .success(let response):
            return response
        case .failure(let failure):
            note("storage read failed: \(failure)", kind: "read")
            return .error(.serviceUnavailable, code: "storage_unavailable", message: "the database could not be read; retry")
        }
    }

    func note(_ line: String, kind: String) {
        guard let suppressed = throttle.admit(kind, nowMs: MonotonicClock.nowMilliseconds()) else { return }
        logger.error("\(line)\(LogThrottle.suffix(suppressed))")
    }
}
