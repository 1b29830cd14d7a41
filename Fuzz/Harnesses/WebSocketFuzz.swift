import WebSocket

// Target `websocket`: WebSocketReader on arbitrary client bytes, with a small message limit.
//
// Each input is read twice: by a reader without permessage-deflate (RSV1 is a protocol
// error) and by one that negotiated it (RSV1 marks a compressed message, inflated against
// the same limit), with the window size and context takeover taken from the input's hash.
// Each time the input is fed all at once, in pieces derived from the input, and one byte at
// a time, draining next() after every feed. Invariants:
// - no crash, no sanitizer report;
// - the three feedings produce the same items;
// - text messages are valid UTF-8 (String(validating:) agrees) and a close reason too;
// - data messages fit maxMessageBytes (inflated size when compressed), control payloads fit
//   125 bytes;
// - after .close or .violation nothing more comes, isStopped is true and nothing is buffered;
// - bufferedByteCount never exceeds what was fed (plus maxMessageBytes of inflated output).
// Seeds mostly use the mask key 00 00 00 00, so that payload bytes are what the fuzzer wrote.

private let maxMessageBytes = 64

private struct Outcome: Equatable {
    var items: [WebSocketInbound] = []
    var stopped = false
}

private func run(_ input: [UInt8], cuts: [Range<Int>], rawFeed: Bool, inflation: InflateSettings?) -> Outcome {
    var reader = WebSocketReader(maxMessageBytes: maxMessageBytes, inflation: inflation)
    var outcome = Outcome()
    var fed = 0
    for cut in cuts {
        if rawFeed {
            input.withUnsafeBytes { reader.feed(UnsafeRawBufferPointer(rebasing: $0[cut])) }
        } else {
            reader.feed(Array(input[cut]))
        }
        fed += cut.count
        // Inflated bytes of a compressed message may outnumber the wire bytes, but never
        // past the message limit.
        let bound = inflation == nil ? fed : fed + maxMessageBytes
        require(reader.bufferedByteCount <= bound, "reader holds \(reader.bufferedByteCount) bytes after \(fed) fed")
        while let item = reader.next() {
            require(!outcome.stopped, "item \(item) after the reader stopped")
            check(item)
            outcome.items.append(item)
            switch item {
            case .close, .violation:
                outcome.stopped = true
                require(reader.isStopped, "reader not stopped after \(item)")
                require(reader.bufferedByteCount == 0, "stopped reader still holds \(reader.bufferedByteCount) bytes")
            default:
                break
            }
        }
    }
    require(outcome.stopped == reader.isStopped, "isStopped is \(reader.isStopped) but the items say \(outcome.stopped)")
    return outcome
}

private func check(_ item: WebSocketInbound) {
    switch item {
    case .text(let payload):
        require(payload.count <= maxMessageBytes, "text message of \(payload.count) bytes")
        require(String(validating: payload, as: UTF8.self) != nil, "text message is not UTF-8: \(payload)")
    case .binary(let payload):
        require(payload.count <= maxMessageBytes, "binary message of \(payload.count) bytes")
    case .ping(let payload), .pong(let payload):
        require(payload.count <= 125, "control payload of \(payload.count) bytes")
    case .close(let code, let reason):
        require(reason.count <= 123, "close reason of \(reason.count) bytes")
        require(code != nil || reason.isEmpty, "close reason without a code")
        if let code { require(CloseCode.isValidReceived(code), "close code \(code) accepted") }
        require(String(validating: reason, as: UTF8.self) != nil, "close reason is not UTF-8: \(reason)")
    case .violation(let code, _):
        require([CloseCode.protocolError, CloseCode.invalidPayload, CloseCode.messageTooBig].contains(code),
                "violation with close code \(code)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebSocket(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    let hash = fnv1a(input)
    // windowBits 8...15 as a client may announce them; context takeover on or off.
    let deflate = InflateSettings(windowBits: 8 + Int(hash % 8), noContextTakeover: (hash >> 3) & 1 == 1)
    for inflation in [nil, deflate] {
        let whole = run(input, cuts: input.isEmpty ? [] : [0..<input.count], rawFeed: true, inflation: inflation)
        let chunked = run(input, cuts: pieces(count: input.count, seed: hash), rawFeed: true, inflation: inflation)
        require(chunked == whole, "pieces gave \(chunked.items), all at once gave \(whole.items)")
        let bytewise = run(input, cuts: singleBytes(count: input.count), rawFeed: false, inflation: inflation)
        require(bytewise == whole, "byte at a time gave \(bytewise.items), all at once gave \(whole.items)")
    }
    return 0
}
