import HTTP1

// Target `http1`: HTTPRequestParser on arbitrary bytes.
//
// The input is fed three ways: all at once, in pieces whose sizes are derived from the
// input, and one byte at a time, calling next() after every feed until nil or an error.
// Invariants:
// - no crash, no sanitizer report;
// - the three feedings give the same sequence of events and the same final error;
// - every request's body is within maxBodyBytes;
// - after an error the parser keeps throwing the same error and ignores further input;
// - isIdle agrees between the feedings at the end.
// Each input is parsed under two sets of small limits, so that the 413/414/431 paths
// (in the head, a body or the trailers) are reachable with short inputs: one roomy enough
// for the seeds' heads, one that a chunked head barely fits.

private let limitSets = [
    HTTPParserLimits(maxHeaderBytes: 512, maxBodyBytes: 128),
    HTTPParserLimits(maxHeaderBytes: 96, maxBodyBytes: 16),
]

private struct RequestPicture: Equatable {
    var method: String
    var target: String
    var path: String
    var rawQuery: String?
    var version: HTTPVersion
    var headers: HTTPHeaders
    var body: [UInt8]
    var keepAlive: Bool

    init(_ r: HTTPRequest) {
        method = r.method
        target = r.target
        path = r.path
        rawQuery = r.rawQuery
        version = r.version
        headers = r.headers
        body = r.body
        keepAlive = r.keepAlive
    }
}

private enum EventPicture: Equatable {
    case request(RequestPicture)
    case expectContinue
}

private struct Outcome: Equatable {
    var events: [EventPicture] = []
    var error: HTTPParseError?
    var idleAtEnd = false
}

private func run(_ input: [UInt8], limits: HTTPParserLimits, cuts: [Range<Int>], rawFeed: Bool) -> Outcome {
    var parser = HTTPRequestParser(limits: limits)
    var outcome = Outcome()
    for cut in cuts {
        if rawFeed {
            input.withUnsafeBytes { parser.feed(UnsafeRawBufferPointer(rebasing: $0[cut])) }
        } else {
            parser.feed(Array(input[cut]))
        }
        do {
            while let event = try parser.next() {
                switch event {
                case .request(let request):
                    require(request.body.count <= limits.maxBodyBytes,
                            "body of \(request.body.count) bytes passed the \(limits.maxBodyBytes)-byte limit")
                    // Query decoding is a parser too: exercise it on whatever got through.
                    _ = request.queryValue("a")
                    outcome.events.append(.request(RequestPicture(request)))
                case .expectContinue:
                    outcome.events.append(.expectContinue)
                }
            }
        } catch {
            outcome.error = error
            // A failed parser is dead: it ignores input and rethrows the same error.
            parser.feed(Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
            do {
                _ = try parser.next()
                require(false, "parser produced an event after failing with \(error)")
            } catch let again {
                require(again == error, "parser rethrew \(again) after \(error)")
            }
            return outcome
        }
    }
    outcome.idleAtEnd = parser.isIdle
    return outcome
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP1(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    for limits in limitSets {
        let whole = run(input, limits: limits, cuts: input.isEmpty ? [] : [0..<input.count], rawFeed: false)
        let chunked = run(input, limits: limits, cuts: pieces(count: input.count, seed: fnv1a(input)), rawFeed: true)
        require(chunked == whole, "pieces gave \(chunked), all at once gave \(whole) for \(show(input)) with \(limits)")
        let bytewise = run(input, limits: limits, cuts: singleBytes(count: input.count), rawFeed: false)
        require(bytewise == whole, "byte at a time gave \(bytewise), all at once gave \(whole) for \(show(input)) with \(limits)")
    }
    return 0
}
