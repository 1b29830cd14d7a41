import Testing
@testable import HTTP1

/// Inputs found by the `http1` fuzz target (Fuzz/Harnesses/HTTP1Fuzz.swift), kept so the
/// bugs they showed stay fixed.
@Suite struct FuzzRegressionTests {
    /// A chunked-framing line (trailer or chunk size) longer than its limit, with a bare CR
    /// or LF beyond the limit: read all at once the parser used to scan past the limit and
    /// report the bare CR/LF (400), read in small pieces it reported the limit (431 for
    /// trailers). The verdict must not depend on how the bytes arrive.
    @Test func overlongTrailerWithBareCRFailsTheSameInAnyPieces() {
        let minimised: [UInt8] = [
            0x50, 0x20, 0x2F, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2F, 0x31, 0x2E, 0x31, 0x0A, 0x48, 0x6F, 0x73,
            0x74, 0x3A, 0x0A, 0x54, 0x72, 0x61, 0x6E, 0x73, 0x66, 0x65, 0x72, 0x2D, 0x45, 0x6E, 0x63, 0x6F,
            0x64, 0x69, 0x6E, 0x67, 0x3A, 0x63, 0x68, 0x75, 0x6E, 0x6B, 0x65, 0x64, 0x0A, 0x0A, 0x30, 0x0D,
            0x0A, 0xFF, 0xFF, 0xFF, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16,
            0x16, 0x16, 0x16, 0x16, 0x16, 0x60, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16,
            0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
            0xFF, 0xFF, 0x01, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xF5,
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
            0xFF, 0xFF, 0xFF, 0xF5, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x31, 0x2E, 0x31,
            0x0D, 0x2F,
        ]
        let limits = HTTPParserLimits(maxHeaderBytes: 96, maxBodyBytes: 16)
        let whole = parse(minimised, limits: limits)
        #expect(whole.error?.status == .requestHeaderFieldsTooLarge)
        for pieceSize in [1, 2, 7, 64] {
            #expect(parse(minimised, limits: limits, pieceSize: pieceSize) == whole, "pieces of \(pieceSize)")
        }
    }

    static let chunkedHead = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"

    /// The same, readable, for both line kinds and for a bare CR, a bare LF and a CR right
    /// at the limit.
    @Test(arguments: ["\rb\r\n\r\n", "\nb\r\n\r\n", "\r\n\r\n"])
    func overlongTrailerLineIs431HoweverItArrives(_ ending: String) {
        let limits = HTTPParserLimits(maxHeaderBytes: 128, maxBodyBytes: 16)
        let input = bytes(Self.chunkedHead + "0\r\nX-T: " + String(repeating: "a", count: 200) + ending)
        for pieceSize in [nil, 1, 5, 100] {
            let outcome = parse(input, limits: limits, pieceSize: pieceSize)
            #expect(outcome.error?.status == .requestHeaderFieldsTooLarge, "pieces of \(String(describing: pieceSize))")
            #expect(outcome.error?.message == "trailer section too large")
        }
    }

    @Test(arguments: ["\rx\r\n", "\nx\r\n", "\r\n"])
    func overlongChunkSizeLineIsRefusedTheSameHoweverItArrives(_ ending: String) {
        let extensionBytes = String(repeating: "e", count: HTTPRequestParser.maxChunkLineBytes)
        let input = bytes(Self.chunkedHead + "5;" + extensionBytes + ending + "hello\r\n0\r\n\r\n")
        for pieceSize in [nil, 1, 13, 1000] {
            let outcome = parse(input, pieceSize: pieceSize)
            #expect(outcome.error == .badRequest("chunk size line too long"), "pieces of \(String(describing: pieceSize))")
        }
    }

    /// A line that ends exactly at the limit is still accepted.
    @Test func trailerLineEndingExactlyAtTheLimitIsAccepted() throws {
        let limits = HTTPParserLimits(maxHeaderBytes: 64, maxBodyBytes: 16)
        // The allowance (maxHeaderBytes) covers every trailer line and the final empty
        // line, CRLFs included: 60 + 2 + 2 = 64 fits; one byte more does not.
        let line = "X: " + String(repeating: "v", count: 57)
        #expect(line.utf8.count == 60)
        let input = bytes(Self.chunkedHead + "0\r\n" + line + "\r\n\r\n")
        for pieceSize in [nil, 1, 3] {
            let outcome = parse(input, limits: limits, pieceSize: pieceSize)
            #expect(outcome.error == nil)
            #expect(outcome.requests.count == 1)
        }
        let tooLong = bytes(Self.chunkedHead + "0\r\n" + line + "v\r\n\r\n")
        #expect(parse(tooLong, limits: limits).error?.status == .requestHeaderFieldsTooLarge)
    }
}
