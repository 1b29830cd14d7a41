import Testing
import TestSupport
import HTTP1


@Suite struct RandomInputTests {
    /// Mutated requests (bytes flipped, dropped, duplicated, framing bytes inserted) must
    /// never crash the parser, and must give the same outcome however they are cut.
    @Test func mutatedRequestsParseTheSameInAnyPieces() {
        var rng = SplitMix64(state: 0x5EED)
        let interesting = bytes("\r\n :;,0123456789aAfF%/?*-\t\u{0}\u{7F}")
        let limits = HTTPParserLimits(maxHeaderBytes: 256, maxBodyBytes: 64)
        for round in 0..<1500 {
            var input = bytes(feedingCorpus[round % feedingCorpus.count])
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let at = Int.random(in: 0..<input.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: input[at] = interesting.randomElement(using: &rng)!
                case 1: input.remove(at: at)
                case 2: input.insert(contentsOf: input[at..<min(input.count, at + 8)], at: at)
                default: input.insert(interesting.randomElement(using: &rng)!, at: at)
                }
                if input.isEmpty { input = bytes("x") }
            }
            let whole = parse(input, limits: limits)
            let pieces = parse(input, limits: limits, pieceSize: Int.random(in: 1...7, using: &rng))
            if pieces != whole {
                Issue.record("round \(round): \(String(decoding: input, as: UTF8.self).debugDescription)")
                return
            }
        }
    }

    @Test func randomBytesNeverCrashAndCutsDoNotMatter() {
        var rng = SplitMix64(state: 42)
        let limits = HTTPParserLimits(maxHeaderBytes: 128, maxBodyBytes: 64)
        for _ in 0..<300 {
            // Start like a request so the parser gets past the request line sometimes.
            var input = bytes(["GET / HTTP/1.1\r\n", "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", ""]
                .randomElement(using: &rng)!)
            input += (0..<Int.random(in: 1...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let whole = parse(input, limits: limits)
            #expect(parse(input, limits: limits, pieceSize: Int.random(in: 1...50, using: &rng)) == whole)
        }
    }
}
