/// A connection's pending output: whole byte arrays, shared with every other connection
/// that was sent the same event (copy-on-write arrays are never mutated here), plus how far
/// into the first one the kernel has taken. Holds no storage while empty, which is what
/// keeps an idle connection small.
struct OutputQueue {
    private var chunks: [[UInt8]] = []
    private var head = 0
    private var headOffset = 0
    private(set) var byteCount = 0

    var isEmpty: Bool { byteCount == 0 }

    mutating func append(_ chunk: [UInt8]) {
        guard !chunk.isEmpty else { return }
        chunks.append(chunk)
        byteCount += chunk.count
    }

    /// Drops everything not yet started, keeping a partly written chunk so the peer never
    /// sees half a frame. Used before a 1013 close: the client resumes with `since`.
    mutating func discardUnstarted() {
        guard head < chunks.count else { return }
        let keep = headOffset > 0 ? 1 : 0
        for i in (head + keep)..<chunks.count { byteCount -= chunks[i].count }
        chunks.removeSubrange((head + keep)..<chunks.count)
        if chunks.count == head { reset() }
    }

    /// Calls `write` with the pending bytes as one slice; `write` returns how many bytes the
    /// kernel took (or nil when it took none) and the queue advances by that much.
    ///
    /// Several small chunks (the usual burst: many frames of ~30-500 bytes for one client in
    /// one turn) are first copied into `scratch`, up to its size, so they leave in one `send`.
    /// Each chunk's pointer is only used inside its own `withUnsafeBytes` (one iovec per chunk
    /// would need them all at once), and the copy costs about what building iovecs did
    /// (docs/BENCHMARKS.md). A single or large first chunk is written in place.
    mutating func drain(scratch: UnsafeMutableRawBufferPointer,
                        _ write: (UnsafeBufferPointer<UnsafeRawBufferPointer>) -> Int?) -> Int? {
        guard byteCount > 0 else { return 0 }
        let firstOffset = headOffset
        let start = head
        let written: Int? = chunks.withUnsafeBufferPointer { all in
            let firstSize = all[start].count - firstOffset
            if all.count - start == 1 || firstSize > scratch.count / 2 {
                return all[start].withUnsafeBytes { bytes in
                    Self.write(UnsafeRawBufferPointer(rebasing: bytes[firstOffset...]), write)
                }
            }
            guard let target = scratch.baseAddress else { return nil }
            var used = 0
            var offset = firstOffset
            for i in start..<all.count {
                // Raw pointers here: this loop runs once per queued frame, and the buffer
                // slices' bounds checks cost as much as the copy of a small frame.
                let copied: Int? = all[i].withUnsafeBytes { bytes in
                    let size = bytes.count - offset
                    guard used + size <= scratch.count, let source = bytes.baseAddress else { return nil }
                    (target + used).copyMemory(from: source + offset, byteCount: size)
                    return size
                }
                guard let copied else { break }
                used += copied
                offset = 0
            }
            return Self.write(UnsafeRawBufferPointer(start: target, count: used), write)
        }
        guard let n = written, n > 0 else { return written }
        advance(by: n)
        return n
    }

    private static func write(_ slice: UnsafeRawBufferPointer,
                              _ write: (UnsafeBufferPointer<UnsafeRawBufferPointer>) -> Int?) -> Int? {
        var slice = slice
        return withUnsafePointer(to: &slice) { write(UnsafeBufferPointer(start: $0, count: 1)) }
    }

    private mutating func advance(by n: Int) {
        var remaining = n
        byteCount -= n
        while remaining > 0 {
            let available = chunks[head].count - headOffset
            if remaining >= available {
                remaining -= available
                head += 1
                headOffset = 0
            } else {
                headOffset += remaining
                remaining = 0
            }
        }
        if head == chunks.count {
            reset()
        } else if head >= 64 && head * 2 >= chunks.count {
            chunks.removeFirst(head)
            head = 0
        }
    }

    private mutating func reset() {
        chunks = []
        head = 0
        headOffset = 0
        byteCount = 0
    }
}
