import HTTP1
import Testing
@testable import OrderPushServer

/// The JSON error answers every refusal uses (docs/PROTOCOL.md §6).
@Suite struct ErrorResponseTests {
    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func errorResponseEscapesItsStrings() {
        let r = HTTPResponse.error(.badRequest, code: "bad_request", message: "field \"items\" is\nrequired \\ é \u{1}")
        #expect(r.status == .badRequest)
        #expect(r.headers["Content-Type"] == "application/json")
        #expect(text(r.body) == #"{"error":{"code":"bad_request","message":"field \"items\" is\nrequired \\ é \u0001"}}"#)
    }

    @Test func errorResponseForAParseError() {
        let r = HTTPResponse.error(HTTPParseError(status: .requestHeaderFieldsTooLarge, message: "too big"))
        #expect(r.status.code == 431)
        #expect(text(r.body) == #"{"error":{"code":"headers_too_large","message":"too big"}}"#)
        #expect(text(HTTPResponse.error(HTTPParseError(status: .contentTooLarge, message: "m")).body)
            == #"{"error":{"code":"content_too_large","message":"m"}}"#)
    }
}
