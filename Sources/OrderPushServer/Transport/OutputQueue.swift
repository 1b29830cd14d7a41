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

    /// Calls `write` with up to `maxChunks` pending slices; `write` returns how many bytes the
    /// kernel took (or nil when it took none) and the queue advances by that much.
    mutating func drain(maxChunks: Int = 256, _ write: (UnsafeBufferPointer<UnsafeRawBufferPointer>) -> Int?) -> Int? {
        guard byteCount > 0 else { return 0 }
        let count = min(maxChunks, chunks.count - head)
        let written: Int? = withUnsafeTemporaryAllocation(of: UnsafeRawBufferPointer.self, capacity: count) { slices in
            fillSlices(slices, from: 0, count: count, write)
        }
        guard let n = written, n > 0 else { return written }
        advance(by: n)
        return n
    }

    /// Puts chunk `i` in `slices[i]` from inside its `withUnsafeBytes`, then recurses, so
    /// `write` runs while every chunk's pointer is still inside its closure (a pointer must
    /// not outlive `withUnsafeBytes`). Depth is at most `maxChunks`.
    private func fillSlices(_ slices: UnsafeMutableBufferPointer<UnsafeRawBufferPointer>, from i: Int, count: Int,
                            _ write: (UnsafeBufferPointer<UnsafeRawBufferPointer>) -> Int?) -> Int? {
        if i == count { return write(UnsafeBufferPointer(slices)) }
        let offset = i == 0 ? headOffset : 0
        return chunks[head + i].withUnsafeBytes { bytes in
            slices[i] = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            return fillSlices(slices, from: i + 1, count: count, write)
        }
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
