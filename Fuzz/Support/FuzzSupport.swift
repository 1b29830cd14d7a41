// Shared by every harness: compiled into each fuzz binary next to its harness file (and
// Tests/TestSupport/SplitMix64.swift), see scripts/fuzz.sh.

/// Stops the run when an invariant does not hold. A trap is what libFuzzer treats as a
/// crash, so the input is saved as a `crash-…` file and the run exits non-zero.
func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        fatalError("FUZZ INVARIANT BROKEN: \(message())")
    }
}

/// Copies libFuzzer's input (nil pointer when empty) into an array.
func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// FNV-1a of the input: a seed for the chunking, so it is derived from the input (and a
/// crash reproduces from the saved file alone) while the corpus stays plain protocol bytes.
func fnv1a(_ bytes: [UInt8]) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in bytes {
        hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01B3
    }
    return hash
}

/// Cuts `count` bytes into consecutive pieces of 1...maxPiece bytes chosen by `seed`.
/// Small pieces dominate, because boundaries inside headers and code points matter most.
func pieces(count: Int, seed: UInt64, maxPiece: Int = 17) -> [Range<Int>] {
    var rng = SplitMix64(seed: seed)
    var cuts: [Range<Int>] = []
    var start = 0
    while start < count {
        let size = rng.next() % 4 == 0 ? Int.random(in: 1...64, using: &rng) : Int.random(in: 1...maxPiece, using: &rng)
        let end = min(count, start + size)
        cuts.append(start..<end)
        start = end
    }
    return cuts
}

/// `count` bytes cut into pieces of one byte each.
func singleBytes(count: Int) -> [Range<Int>] {
    (0..<count).map { $0..<($0 + 1) }
}

/// A short printable picture of bytes for invariant messages.
func show(_ bytes: some Collection<UInt8>, limit: Int = 200) -> String {
    let text = String(decoding: bytes.prefix(limit), as: UTF8.self).debugDescription
    return bytes.count > limit ? text + "…(\(bytes.count) bytes)" : text
}
