import Testing
@testable import OrderPushServer

/// `OutputQueue.drain`: what the kernel is handed, and that partial writes lose or repeat nothing.
@Suite struct OutputQueueTests {
    /// Drains `queue` into one byte array, the "kernel" taking at most `take` bytes per write.
    func drainAll(_ queue: inout OutputQueue, scratchBytes: Int, take: Int) -> (bytes: [UInt8], slices: [Int]) {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: scratchBytes, alignment: 16)
        defer { scratch.deallocate() }
        var out: [UInt8] = []
        var sliceCounts: [Int] = []
        var rounds = 0
        while !queue.isEmpty && rounds < 10_000 {
            rounds += 1
            _ = queue.drain(scratch: scratch) { slices in
                sliceCounts.append(slices.count)
                var budget = take
                for slice in slices where budget > 0 {
                    let n = min(budget, slice.count)
                    out += slice[0..<n]
                    budget -= n
                }
                return take - budget
            }
        }
        return (out, sliceCounts)
    }

    @Test func manySmallChunksLeaveTogetherAndPartialWritesResumeMidChunk() {
        var queue = OutputQueue()
        var expected: [UInt8] = []
        for i in 0..<200 {
            let chunk = [UInt8](repeating: UInt8(i), count: 1 + i % 37)
            queue.append(chunk)
            expected += chunk
        }
        #expect(queue.byteCount == expected.count)
        let result = drainAll(&queue, scratchBytes: 1024, take: 333)
        #expect(result.bytes == expected)
        #expect(result.slices.allSatisfy { $0 == 1 })
        #expect(queue.byteCount == 0 && queue.isEmpty)
    }

    @Test func aLargeFirstChunkIsWrittenInPlace() {
        var queue = OutputQueue()
        let big = (0..<5000).map { UInt8($0 % 251) }
        queue.append(big)
        queue.append([1, 2, 3])
        let result = drainAll(&queue, scratchBytes: 1024, take: 700)
        #expect(result.bytes == big + [1, 2, 3])
    }

    @Test func discardUnstartedKeepsThePartlyWrittenChunk() {
        var queue = OutputQueue()
        queue.append([1, 2, 3, 4])
        queue.append([5, 6])
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 16)
        defer { scratch.deallocate() }
        _ = queue.drain(scratch: scratch) { _ in 2 }   // the kernel took [1, 2]
        queue.discardUnstarted()
        #expect(queue.byteCount == 2)
        let rest = drainAll(&queue, scratchBytes: 64, take: 100)
        #expect(rest.bytes == [3, 4])
    }
}
