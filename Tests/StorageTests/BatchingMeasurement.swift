import Testing
import Orders
@testable import Storage

/// Not a timed assertion: prints what group commit buys on this machine's disk.
@Suite struct BatchingMeasurement {
    let dir = TemporaryDirectory()

    @Test(arguments: StoreBackend.underTest) func groupCommitVersusOneWritePerBatch(_ backend: StoreBackend) throws {
        let store = try StoreFixture(backend, in: dir).open()
        let writes = 200
        let clock = ContinuousClock()

        let single = try clock.measure {
            for i in 0..<writes {
                _ = try store.create("u\(i % 10)", nowMs: Int64(i))
            }
        }
        let batched = try clock.measure {
            for batch in 0..<(writes / 100) {
                let results = store.apply((0..<100).map { i in
                    .create(Fixtures.input(), ownerId: "u\(i % 10)", idempotency: nil)
                }, nowMs: Int64(batch))
                for result in results { _ = try result.get() }
            }
        }
        #expect(try store.head() == Int64(2 * writes))
        let perSingle = single / writes, perBatched = batched / writes
        let ratio = single / batched
        print("\(backend) apply() \(writes) creates: 1 per batch \(single) (\(perSingle)/write), 100 per batch \(batched) (\(perBatched)/write), ratio \(ratio)x")
    }
}
