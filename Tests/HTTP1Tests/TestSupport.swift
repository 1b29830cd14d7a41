@testable import HTTP1

/// A comparable picture of a request, so tests can check equality of parse results.
struct RequestSnapshot: Equatable, CustomStringConvertible {
    var method: String
    var target: String
    var path: String
    var rawQuery: String?
    var version: HTTPVersion
    var headers: [String]
    var body: [UInt8]
    var keepAlive: Bool

    init(_ r: HTTPRequest) {
        method = r.method
        target = r.target
        path = r.path
        rawQuery = r.rawQuery
        version = r.version
        headers = r.headers.map { "\($0.name): \($0.value)" }
        body = r.body
        keepAlive = r.keepAlive
    }

    var description: String {
        "\(method) \(target) \(version) \(headers) body=\(String(decoding: body, as: UTF8.self)) keepAlive=\(keepAlive)"
    }
}

enum EventSnapshot: Equatable {
    case request(RequestSnapshot)
    case expectContinue

    init(_ event: HTTPParserEvent) {
        switch event {
        case .request(let r): self = .request(RequestSnapshot(r))
        case .expectContinue: self = .expectContinue
        }
    }
}

/// Everything a parser produced from some input: the events, and the error that stopped it.
struct ParseOutcome: Equatable {
    var events: [EventSnapshot] = []
    var error: HTTPParseError?

    var requests: [RequestSnapshot] {
        events.compactMap { if case .request(let r) = $0 { r } else { nil } }
    }
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Feeds `input` in pieces of `pieceSize` bytes (all at once when nil), draining events
/// after every piece, the way a connection would.
func parse(_ input: [UInt8], limits: HTTPParserLimits = .init(), pieceSize: Int? = nil) -> ParseOutcome {
    var parser = HTTPRequestParser(limits: limits)
    var outcome = ParseOutcome()
    let size = max(1, pieceSize ?? input.count)
    var offset = 0
    repeat {
        let end = min(input.count, offset + size)
        parser.feed(Array(input[offset..<end]))
        offset = end
        do {
            while let event = try parser.next() { outcome.events.append(EventSnapshot(event)) }
        } catch {
            outcome.error = error
            return outcome
        }
    } while offset < input.count
    return outcome
}

func parse(_ input: String, limits: HTTPParserLimits = .init(), pieceSize: Int? = nil) -> ParseOutcome {
    parse(bytes(input), limits: limits, pieceSize: pieceSize)
}

/// The single request `input` holds; nil if it gave anything else.
func parseOne(_ input: String, limits: HTTPParserLimits = .init()) -> HTTPRequest? {
    var parser = HTTPRequestParser(limits: limits)
    parser.feed(bytes(input))
    guard case .request(let request)? = try? parser.next(), (try? parser.next()) == nil else { return nil }
    return request
}

/// The status code of the error `input` provokes, or nil when it parses (or is incomplete).
func errorStatus(_ input: String, limits: HTTPParserLimits = .init()) -> Int? {
    parse(input, limits: limits).error?.status.code
}

extension HTTPParserEvent {
    var isExpectContinue: Bool { if case .expectContinue = self { true } else { false } }
}
