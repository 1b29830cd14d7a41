/// Inbound state machine for a server: raw client bytes -> frames -> messages (RFC 6455 §5).
///
/// Feed bytes as they arrive, then call `next()` until it returns nil. Payload bytes are
/// unmasked straight into the message being assembled as soon as they arrive, so text is
/// UTF-8-checked incrementally (fail fast with 1007, Autobahn 6.4.*) and the raw buffer
/// only ever holds an incomplete header or bytes the caller has not pulled yet.
///
/// With permessage-deflate negotiated (RFC 7692), RSV1 on the first frame of a data message
/// marks it compressed: its payload is inflated as it arrives, in bounded steps, and the
/// inflated size is what counts against the message limit, so a small compressed bomb is
/// closed with 1009 before it can grow memory. The inflater exists only from the first
/// compressed message on (and only for that message when the client resets its context).
///
/// After `.violation` or `.close` the reader is stopped: it drops further input and
/// `next()` returns nil forever.
public struct WebSocketReader: Sendable {
    private enum Phase {
        case header
        case payload
        case stopped
    }

    private enum HeaderResult {
        case needMore
        case ready
        case violation(WebSocketInbound)
    }

    private let maxMessageBytes: Int
    /// nil: permessage-deflate was not negotiated, so RSV1 is a protocol error.
    private let inflation: InflateSettings?
    private var phase = Phase.header

    // Raw bytes not consumed yet: buffer[readIndex...].
    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// A violation found in `feed` (fast path), handed out by the next `next()`.
    private var pendingViolation: WebSocketInbound?

    // The frame being read.
    private var frameOpcode = WebSocketOpcode.continuation
    private var frameFin = false
    private var frameRemaining = 0
    private var maskKey: UInt32 = 0
    /// Payload offset mod 4 of the next byte, so the mask lines up across chunks.
    private var maskPhase = 0

    // The data message being assembled; `messageOpcode` is nil when none is open.
    private var messageOpcode: WebSocketOpcode?
    private var message: [UInt8] = []
    /// The open message came with RSV1: its payload is deflate data.
    private var messageCompressed = false
    /// Payload bytes of the open message as sent (compressed ones for a compressed message).
    private var messageWireBytes = 0
    /// Kept between messages while the client keeps its context (context takeover).
    private var inflater: MessageInflater?
    private var textValidator = UTF8Validator()
    // Payload of the control frame being read (kept apart: control frames may sit between fragments).
    private var control: [UInt8] = []

    /// Raw buffer capacity kept across messages; a larger one (after a big burst) is released.
    private static let retainedBufferCapacity = 64 * 1024
    private static let maxUpfrontReservation = 1 << 20

    /// - Parameters:
    ///   - maxMessageBytes: largest message (sum of its fragments, after inflating) accepted;
    ///     a frame header that would take a message past it is answered with 1009 before any
    ///     payload is buffered, and so is inflated output that would.
    ///   - inflation: how to inflate compressed messages when permessage-deflate was
    ///     negotiated; nil otherwise.
    public init(maxMessageBytes: Int, inflation: InflateSettings? = nil) {
        precondition(maxMessageBytes >= 0, "BUG DETECTED: negative WebSocket message limit")
        self.maxMessageBytes = maxMessageBytes
        self.inflation = inflation
    }

    /// Whether an inflater is held (kept between messages only with context takeover).
    public var holdsInflater: Bool { inflater != nil }

    /// True once a `.close` or `.violation` was produced (or is about to be): nothing more will be read.
    public var isStopped: Bool { phase == .stopped }

    /// Holds nothing: between frames, no message open, no input buffered, no inflater kept,
    /// nothing pending, not stopped. A new reader with the same settings reads what comes
    /// next exactly as this one would, so an owner may drop this one until more bytes come.
    public var isAtRest: Bool {
        phase == .header && readIndex == buffer.count && messageOpcode == nil && inflater == nil && pendingViolation == nil
    }

    /// Bytes held for this connection: unconsumed raw input plus the partial message and
    /// control payload assembled so far.
    public var bufferedByteCount: Int {
        buffer.count - readIndex + message.count + control.count
    }

    /// Adds bytes received from the client. Cheap: at most one copy; when a payload is in
    /// progress and nothing else is pending, the bytes go straight into the message.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        guard phase != .stopped, !bytes.isEmpty else { return }
        var rest = bytes
        if phase == .payload && frameRemaining > 0 && readIndex == buffer.count {
            let (consumed, violation) = consumePayload(bytes)
            if let violation {
                pendingViolation = violation
                stop()
                return
            }
            rest = UnsafeRawBufferPointer(rebasing: bytes[consumed...])
        }
        if !rest.isEmpty {
            buffer.append(contentsOf: rest)
        }
    }

    /// Adds bytes received from the client.
    public mutating func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// The next complete item, or nil when more bytes are needed (or the reader is stopped).
    public mutating func next() -> WebSocketInbound? {
        if let violation = pendingViolation {
            pendingViolation = nil
            return violation
        }
        while true {
            switch phase {
            case .stopped:
                return nil
            case .header:
                switch parseHeader() {
                case .needMore:
                    compact()
                    return nil
                case .violation(let item):
                    stop()
                    return item
                case .ready:
                    phase = .payload
                }
            case .payload:
                if frameRemaining > 0 {
                    guard readIndex < buffer.count else {
                        compact()
                        return nil
                    }
                    let pending = buffer   // a second reference, so reading it while self mutates is safe
                    let start = readIndex
                    let (consumed, violation) = pending.withUnsafeBytes {
                        consumePayload(UnsafeRawBufferPointer(rebasing: $0[start...]))
                    }
                    readIndex += consumed
                    if let violation {
                        stop()
                        return violation
                    }
                    if frameRemaining > 0 {
                        compact()
                        return nil
                    }
                }
                phase = .header
                if let item = completeFrame() {
                    switch item {
                    case .close, .violation: stop()
                    default: break
                    }
                    return item
                }
            }
        }
    }

    // MARK: - Header

    private mutating func parseHeader() -> HeaderResult {
        let available = buffer.count - readIndex
        guard available >= 2 else { return .needMore }
        let first = buffer[readIndex]
        let second = buffer[readIndex + 1]
        let fin = first & 0x80 != 0

        // Checks that need only the first two bytes come first, so a bad frame fails at once.
        let compressedBit = first & 0x40 != 0
        if first & 0x30 != 0 || (compressedBit && inflation == nil) {
            return .violation(.violation(code: CloseCode.protocolError, reason: "reserved bits set without an extension"))
        }
        guard let opcode = WebSocketOpcode(rawValue: first & 0x0F) else {
            return .violation(.violation(code: CloseCode.protocolError, reason: "reserved opcode"))
        }
        // RFC 7692 §6.1: RSV1 only on the first frame of a data message.
        if compressedBit && (opcode.isControl || opcode == .continuation) {
            return .violation(.violation(code: CloseCode.protocolError, reason: "RSV1 set on a control or continuation frame"))
        }
        if second & 0x80 == 0 {
            return .violation(.violation(code: CloseCode.protocolError, reason: "client frame not masked"))
        }
        let shortLength = Int(second & 0x7F)
        if opcode.isControl {
            if !fin {
                return .violation(.violation(code: CloseCode.protocolError, reason: "fragmented control frame"))
            }
            if shortLength > 125 {
                return .violation(.violation(code: CloseCode.protocolError, reason: "control frame payload over 125 bytes"))
            }
        } else if opcode == .continuation {
            if messageOpcode == nil {
                return .violation(.violation(code: CloseCode.protocolError, reason: "continuation frame without a message"))
            }
        } else if messageOpcode != nil {
            return .violation(.violation(code: CloseCode.protocolError, reason: "new message before the fragmented one ended"))
        }

        let lengthBytes = shortLength == 126 ? 2 : shortLength == 127 ? 8 : 0
        guard available >= 2 + lengthBytes else { return .needMore }
        var length = shortLength
        if lengthBytes > 0 {
            var value: UInt64 = 0
            for offset in 0..<lengthBytes {
                value = value << 8 | UInt64(buffer[readIndex + 2 + offset])
            }
            // §5.2: the most significant bit of a 64-bit length must be 0. Non-minimal
            // encodings are not forbidden, so they are accepted.
            if value & (1 << 63) != 0 {
                return .violation(.violation(code: CloseCode.protocolError, reason: "64-bit length with the top bit set"))
            }
            length = Int(value)
        }
        // A compressed message's wire size is checked here too (its inflated size as it
        // inflates); stored deflate blocks make incompressible data a little larger, hence
        // the slack.
        let startsCompressed = compressedBit || (opcode == .continuation && messageCompressed)
        let wireLimit = startsCompressed ? maxMessageBytes + maxMessageBytes / 512 + 64 : maxMessageBytes
        let wireSoFar = opcode == .continuation ? messageWireBytes : 0
        if !opcode.isControl && length > wireLimit - wireSoFar {
            return .violation(.violation(code: CloseCode.messageTooBig,
                                         reason: "message over \(maxMessageBytes) bytes"))
        }

        let headerLength = 2 + lengthBytes + 4
        guard available >= headerLength else { return .needMore }
        let keyStart = readIndex + 2 + lengthBytes
        maskKey = UInt32(buffer[keyStart]) | UInt32(buffer[keyStart + 1]) << 8
            | UInt32(buffer[keyStart + 2]) << 16 | UInt32(buffer[keyStart + 3]) << 24
        maskPhase = 0
        readIndex += headerLength

        frameOpcode = opcode
        frameFin = fin
        frameRemaining = length
        if opcode.isControl {
            control = []
            control.reserveCapacity(length)
        } else {
            if opcode != .continuation {
                messageOpcode = opcode
                messageCompressed = compressedBit
                messageWireBytes = 0
                textValidator.reset()
                // Reserving the first frame up front avoids regrowing a big single-frame message;
                // capped so a header alone cannot pin much memory (appends grow geometrically).
                // A compressed message grows as it inflates.
                if !compressedBit { message.reserveCapacity(min(length, Self.maxUpfrontReservation)) }
            }
            messageWireBytes += length
        }
        return .ready
    }

    // MARK: - Payload

    /// Unmasks up to `frameRemaining` bytes of `chunk` into the current message (inflating
    /// it if compressed) or control payload. Returns how many bytes were taken and the
    /// violation found (text no longer valid UTF-8, inflated message too big, bad deflate data).
    private mutating func consumePayload(_ chunk: UnsafeRawBufferPointer) -> (consumed: Int, violation: WebSocketInbound?) {
        let count = min(chunk.count, frameRemaining)
        guard count > 0 else { return (0, nil) }
        let part = UnsafeRawBufferPointer(rebasing: chunk[..<count])
        var valid = true
        if frameOpcode.isControl {
            Self.appendUnmasked(part, to: &control, key: maskKey, phase: maskPhase)
        } else if messageCompressed {
            var compressed: [UInt8] = []
            compressed.reserveCapacity(count)
            Self.appendUnmasked(part, to: &compressed, key: maskKey, phase: maskPhase)
            maskPhase = (maskPhase + count) & 3
            frameRemaining -= count
            let violation = compressed.withUnsafeBytes { inflate($0) }
            return (count, violation)
        } else {
            let start = message.count
            Self.appendUnmasked(part, to: &message, key: maskKey, phase: maskPhase)
            if messageOpcode == .text {
                var validator = textValidator
                valid = message.withUnsafeBytes { validator.feed(UnsafeRawBufferPointer(rebasing: $0[start...])) }
                textValidator = validator
            }
        }
        maskPhase = (maskPhase + count) & 3
        frameRemaining -= count
        return (count, valid ? nil : Self.invalidText)
    }

    /// Inflates deflate data of the open compressed message into `message`, creating the
    /// inflater on first use; checks the output's size and (for text) its UTF-8 as it grows.
    private mutating func inflate(_ data: UnsafeRawBufferPointer) -> WebSocketInbound? {
        guard let inflation else { return Self.corruptData }
        if inflater == nil {
            inflater = MessageInflater(windowBits: inflation.windowBits)
            guard inflater != nil else {
                return .violation(code: CloseCode.internalError, reason: "cannot allocate an inflater")
            }
        }
        // Moved out for the call, so the closure can check text without overlapping access to self.
        var output: [UInt8] = []
        swap(&output, &message)
        var validator = textValidator
        let isText = messageOpcode == .text
        let outcome = inflater!.inflate(data, into: &output, limit: maxMessageBytes) { bytes, start in
            guard isText else { return true }
            return bytes.withUnsafeBytes { validator.feed(UnsafeRawBufferPointer(rebasing: $0[start...])) }
        }
        swap(&output, &message)
        textValidator = validator
        switch outcome {
        case .ok: return nil
        case .rejected: return Self.invalidText
        case .tooBig: return .violation(code: CloseCode.messageTooBig, reason: "message over \(maxMessageBytes) bytes once inflated")
        case .corrupt: return Self.corruptData
        }
    }

    private static func appendUnmasked(_ part: UnsafeRawBufferPointer, to target: inout [UInt8], key: UInt32, phase: Int) {
        let start = target.count
        target.append(contentsOf: part)
        target.withUnsafeMutableBytes { Masking.unmask(UnsafeMutableRawBufferPointer(rebasing: $0[start...]), key: key, phase: phase) }
    }

    /// Called when the current frame's payload is complete: the item it finishes, if any.
    private mutating func completeFrame() -> WebSocketInbound? {
        switch frameOpcode {
        case .ping:
            return .ping(takeControl())
        case .pong:
            return .pong(takeControl())
        case .close:
            return closeItem(takeControl())
        case .text, .binary, .continuation:
            guard frameFin, let opcode = messageOpcode else { return nil }
            if messageCompressed {
                // §7.2.2: the stripped sync-flush tail goes back before the message ends.
                let violation = syncFlushTail.withUnsafeBytes { inflate($0) }
                if inflation?.noContextTakeover == true {
                    inflater = nil   // the next message starts afresh: free the window now
                } else {
                    inflater?.messageEnded()
                }
                messageCompressed = false
                if let violation { return violation }
            }
            messageOpcode = nil
            var payload: [UInt8] = []
            swap(&payload, &message)
            if opcode == .text {
                guard textValidator.isComplete else { return Self.invalidText }
                return .text(payload)
            }
            return .binary(payload)
        }
    }

    private mutating func takeControl() -> [UInt8] {
        var payload: [UInt8] = []
        swap(&payload, &control)
        return payload
    }

    /// §5.5.1 and §7.1.5-7.1.6: empty, or a valid code plus an optional UTF-8 reason.
    private func closeItem(_ payload: [UInt8]) -> WebSocketInbound {
        if payload.isEmpty { return .close(code: nil, reason: []) }
        if payload.count == 1 {
            return .violation(code: CloseCode.protocolError, reason: "close payload of one byte")
        }
        let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
        guard CloseCode.isValidReceived(code) else {
            return .violation(code: CloseCode.protocolError, reason: "invalid close code \(code)")
        }
        let reason = Array(payload[2...])
        guard UTF8Validator.isValid(reason) else {
            return .violation(code: CloseCode.invalidPayload, reason: "close reason is not UTF-8")
        }
        return .close(code: code, reason: reason)
    }

    // MARK: - Housekeeping

    private static let invalidText = WebSocketInbound.violation(code: CloseCode.invalidPayload,
                                                                reason: "text is not valid UTF-8")
    private static let corruptData = WebSocketInbound.violation(code: CloseCode.invalidPayload,
                                                                reason: "compressed message is not valid deflate data")

    /// Drops consumed bytes. Called only when `next()` is about to return nil, when at most
    /// an incomplete header (< 14 bytes) is left, so the move is cheap.
    private mutating func compact() {
        guard readIndex > 0 else { return }
        if readIndex == buffer.count {
            if buffer.capacity > Self.retainedBufferCapacity {
                buffer = []
            } else {
                buffer.removeAll(keepingCapacity: true)
            }
        } else {
            buffer.removeSubrange(0..<readIndex)
        }
        readIndex = 0
    }

    /// Stops reading for good and frees what was buffered.
    private mutating func stop() {
        phase = .stopped
        buffer = []
        readIndex = 0
        message = []
        control = []
        messageOpcode = nil
        messageCompressed = false
        inflater = nil
    }
}
