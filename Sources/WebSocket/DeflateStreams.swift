import CZlib

/// The four bytes `deflate(Z_SYNC_FLUSH)` ends with; RFC 7692 §7.2.1 strips them from every
/// compressed message and the receiver appends them again before inflating (§7.2.2).
let syncFlushTail: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]

/// A raw-deflate compressor for whole messages, reset before each one (no context kept
/// between messages, matching `server_no_context_takeover`). A deflater holds ~140 KiB
/// (window 15, memLevel 4), so the server keeps one per event loop, never one per connection.
///
/// memLevel 4, not zlib's default 8: every reset clears the hash table, 2^(memLevel+7)
/// entries, and with 8 that 64 KiB memset was most of the cost of compressing an event
/// (callgrind, docs/BENCHMARKS.md); events of a few hundred bytes compress to the same size
/// with 4 (measured: 473 → 270 bytes with 4, 6 and 8).
///
/// Not thread-safe: the `z_stream` is mutated by every call; one owner (a loop) uses it.
public final class MessageDeflater {
    public let windowBits: Int
    static let memoryLevel: Int32 = 4
    // Heap-allocated: zlib's internal state points back at its z_stream, so it must not move.
    private let stream: UnsafeMutablePointer<z_stream>

    /// - Parameter windowBits: 9...15 (zlib's raw deflate has no 8-bit window).
    public init(windowBits: Int = 15) {
        precondition((9...15).contains(windowBits), "BUG DETECTED: raw deflate window must be 9...15")
        self.windowBits = windowBits
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = czlib_deflate_init_raw(stream, Z_DEFAULT_COMPRESSION, Int32(windowBits), Self.memoryLevel)
        precondition(status == Z_OK, "deflateInit2 failed (\(status)): out of memory")
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// The compressed payload of one message, with the sync-flush tail stripped (§7.2.1).
    public func compress(_ payload: UnsafeRawBufferPointer) -> [UInt8] {
        deflateReset(stream)
        // deflateBound covers a single Z_FINISH; a sync flush adds at most a few bytes more.
        var capacity = Int(deflateBound(stream, uLong(payload.count))) + 16
        var out = [UInt8](repeating: 0, count: capacity)
        var produced = 0
        stream.pointee.next_in = UnsafeMutablePointer(mutating: payload.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(payload.count)
        while true {
            let status = out.withUnsafeMutableBytes { buffer -> Int32 in
                stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self) + produced
                stream.pointee.avail_out = uInt(capacity - produced)
                let status = deflate(stream, Z_SYNC_FLUSH)
                produced = capacity - Int(stream.pointee.avail_out)
                return status
            }
            precondition(status == Z_OK || status == Z_BUF_ERROR, "BUG DETECTED: deflate returned \(status)")
            // Done once everything is consumed and the flush fit (output space left over).
            if stream.pointee.avail_in == 0 && produced < capacity { break }
            capacity *= 2
            out.append(contentsOf: repeatElement(0, count: capacity - out.count))
        }
        stream.pointee.next_in = nil
        out.removeSubrange(produced...)
        if out.count >= 4 && Array(out.suffix(4)) == syncFlushTail { out.removeLast(4) }
        return out
    }

    public func compress(_ payload: [UInt8]) -> [UInt8] {
        payload.withUnsafeBytes { compress($0) }
    }
}

/// How inbound compressed messages are inflated: the window the client compresses with,
/// and whether it resets between messages.
public struct InflateSettings: Equatable, Sendable {
    public var windowBits: Int
    public var noContextTakeover: Bool

    public init(windowBits: Int = 15, noContextTakeover: Bool = false) {
        self.windowBits = windowBits
        self.noContextTakeover = noContextTakeover
    }
}

/// Inflates one client's compressed messages, in bounded steps so the output can be
/// checked against the message limit before it grows further (an inflate bomb stops at the
/// limit plus one step). Created only when a compressed message arrives.
///
/// A class so its `z_stream` keeps its address; owned by exactly one `WebSocketReader`,
/// hence `@unchecked Sendable` (the reader moves between owners, never shared).
final class MessageInflater: @unchecked Sendable {
    enum Outcome {
        case ok
        /// The output would pass the limit.
        case tooBig
        /// Not valid deflate data.
        case corrupt
        /// `appended` refused a piece (e.g. invalid UTF-8).
        case rejected
    }

    /// Output produced per zlib call: the most a message can overshoot its limit by.
    static let stepBytes = 16 * 1024
    private let stream: UnsafeMutablePointer<z_stream>
    /// The block with BFINAL was read: the rest of the message carries nothing.
    private var ended = false

    /// nil when zlib cannot allocate its state.
    init?(windowBits: Int) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // A client that asked for an 8-bit window gets 9 from zlib: a larger window
        // inflates anything a smaller one produced.
        guard czlib_inflate_init_raw(stream, Int32(max(9, windowBits))) == Z_OK else {
            stream.deallocate()
            return nil
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// Ready for the next message of a client that keeps context: only a stream that ended
    /// with a final block needs a reset (its window then starts empty, as the client's must).
    func messageEnded() {
        if ended {
            inflateReset(stream)
            ended = false
        }
    }

    /// Inflates `input`, appending to `output` while `output` stays within `limit` bytes;
    /// `appended` is called with the start index of each new piece (for UTF-8 checks) and
    /// returns false to stop.
    func inflate(_ input: UnsafeRawBufferPointer, into output: inout [UInt8], limit: Int,
                 appended: (inout [UInt8], Int) -> Bool) -> Outcome {
        guard !ended, !input.isEmpty else { return .ok }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        defer { stream.pointee.next_in = nil; stream.pointee.avail_in = 0 }
        while true {
            let start = output.count
            let room = min(Self.stepBytes, limit - start + 1)   // one byte past the limit reveals an overflow
            guard room > 0 else { return .tooBig }
            output.append(contentsOf: repeatElement(0, count: room))
            let status = output.withUnsafeMutableBytes { buffer -> Int32 in
                stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self) + start
                stream.pointee.avail_out = uInt(room)
                return CZlib.inflate(stream, Z_SYNC_FLUSH)
            }
            let produced = room - Int(stream.pointee.avail_out)
            output.removeLast(room - produced)
            if output.count > limit {
                // The bytes within the limit are checked first, so a message both too big and
                // invalid gets the error of its first bad byte however its input was split
                // (the inflater's step boundaries follow the input's arrival).
                output.removeLast(output.count - limit)
                if output.count > start && !appended(&output, start) { return .rejected }
                return .tooBig
            }
            if produced > 0 && !appended(&output, start) { return .rejected }
            switch status {
            case Z_STREAM_END:
                ended = true
                return .ok
            case Z_OK, Z_BUF_ERROR:
                // Z_BUF_ERROR: no progress possible, i.e. all input used and nothing pending.
                if stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 { return .ok }
                if status == Z_BUF_ERROR && produced == 0 { return .ok }
            default:
                return .corrupt
            }
        }
    }
}

/// One event loop's compressors for outbound messages, one per window size in use (almost
/// always just 15), created on first need. Every message is compressed from a fresh state,
/// so the frames it makes can be queued to any connection that negotiated that window.
///
/// Owned by one loop's thread; not thread-safe.
public final class MessageCompressor {
    /// Below this many payload bytes a message is sent uncompressed (allowed by RFC 7692
    /// §6): a short JSON message barely shrinks, and the RSV1 path costs a deflate call.
    public static let minimumPayloadBytes = 64
    private var deflaters: [MessageDeflater?] = Array(repeating: nil, count: 16)

    public init() {}

    /// The compressed frame (RSV1 set) for `payload`, or nil when it should go uncompressed
    /// (too short, or no smaller once compressed).
    public func compressedFrame(opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer, windowBits: Int) -> [UInt8]? {
        guard payload.count >= Self.minimumPayloadBytes else { return nil }
        let deflater: MessageDeflater
        if let existing = deflaters[windowBits] {
            deflater = existing
        } else {
            deflater = MessageDeflater(windowBits: windowBits)
            deflaters[windowBits] = deflater
        }
        let compressed = deflater.compress(payload)
        guard compressed.count < payload.count else { return nil }
        return FrameEncoder.frame(opcode: opcode, payload: compressed, compressed: true)
    }

    public func compressedFrame(opcode: WebSocketOpcode, payload: [UInt8], windowBits: Int) -> [UInt8]? {
        payload.withUnsafeBytes { compressedFrame(opcode: opcode, payload: $0, windowBits: windowBits) }
    }
}
