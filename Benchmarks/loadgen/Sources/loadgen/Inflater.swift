import CZlib

/// Inflates permessage-deflate messages (RFC 7692) for one worker thread. The servers under
/// test answer `server_no_context_takeover`, so every message inflates on its own and one
/// stream, reset per message, serves all of the thread's connections.
final class MessageInflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private var output = [UInt8](repeating: 0, count: 64 * 1024)
    private static let tail: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]

    init() {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // Not inside precondition(): this target builds with -Ounchecked, which drops the
        // condition, call and all.
        let status = loadgen_inflate_init_raw(stream, 15)
        if status != Z_OK { fatalError("inflateInit2 failed (\(status))") }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// The message of a compressed payload, or nil when it is not valid deflate data.
    func inflate(_ payload: UnsafeRawBufferPointer) -> [UInt8]? {
        inflateReset(stream)
        var produced = 0
        func run(_ input: UnsafeRawBufferPointer) -> Bool {
            guard input.count > 0 else { return true }
            stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(input.count)
            while true {
                if produced == output.count { output.append(contentsOf: repeatElement(0, count: output.count)) }
                let status = output.withUnsafeMutableBytes { buffer -> Int32 in
                    stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self) + produced
                    stream.pointee.avail_out = uInt(buffer.count - produced)
                    let status = CZlib.inflate(stream, Z_SYNC_FLUSH)
                    produced = buffer.count - Int(stream.pointee.avail_out)
                    return status
                }
                if status == Z_STREAM_END { return true }
                guard status == Z_OK || status == Z_BUF_ERROR else { return false }
                if stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 { return true }
            }
        }
        guard run(payload), Self.tail.withUnsafeBytes({ run($0) }) else { return nil }
        return Array(output[0..<produced])
    }
}
