import CEpoll

/// The numbers a measured message carries: its sequence number (0-based within a run) and
/// the CLOCK_MONOTONIC time in ns at which the publisher sent it.
struct Stamp {
    let seq: Int
    let sentNs: Int64
}

/// Writing and finding stamps. Bench messages are `{"seq":N,"t":T}` (padded with a `pad`
/// field to a requested size); orders carry `"metadata":{"t":T,"seq":N}`.
enum StampFormat {
    static let seqKey: [UInt8] = Array(#""seq":"#.utf8)
    static let timeKey: [UInt8] = Array(#""t":"#.utf8)
    static let metadataKey: [UInt8] = Array(#""metadata":"#.utf8)

    static func benchMessage(seq: Int, sentNs: Int64, size: Int) -> [UInt8] {
        var text = #"{"seq":\#(seq),"t":\#(sentNs)"#
        let bare = text.utf8.count + 1
        // `,"pad":"` + x… + `"` is 9 bytes plus the x's.
        if size >= bare + 9 { text += #","pad":""# + String(repeating: "x", count: size - bare - 9) + "\"" }
        text += "}"
        return Array(text.utf8)
    }

    static func orderBody(seq: Int, sentNs: Int64) -> [UInt8] {
        Array((#"{"items":[{"productId":"p1","name":"Tea","quantity":1,"price":1.0}],"paymentMethod":"cod","#
            + #""userId":"u1","metadata":{"t":\#(sentNs),"seq":\#(seq)}}"#).utf8)
    }

    /// A bench message's stamp: the fixed layout first, a search as fallback.
    @inline(__always)
    static func benchStamp(in payload: UnsafeRawBufferPointer) -> Stamp? {
        if payload.count > 12, payload[0] == 0x7b, payload[1] == 0x22, payload[2] == 0x73, payload[6] == 0x3a {
            var i = 7
            let seq = digits(payload, &i)
            if i + 5 < payload.count, payload[i] == 0x2c, payload[i + 2] == 0x74, payload[i + 4] == 0x3a {
                i += 5
                let t = digits(payload, &i)
                if seq >= 0, t >= 0 { return Stamp(seq: Int(seq), sentNs: t) }
            }
        }
        return stamp(in: payload, from: 0)
    }

    /// The server's event seq of an event message: the first `"seq":` (the envelope's comes
    /// before the order and its metadata).
    static func serverSeq(in payload: UnsafeRawBufferPointer) -> Int64? {
        number(after: seqKey, in: payload, from: 0)
    }

    /// The stamp of the first `"metadata":` object at or after `from`, and where it ends.
    static func orderStamp(in payload: UnsafeRawBufferPointer, from: Int) -> (Stamp, Int)? {
        guard let m = find(metadataKey, in: payload, from: from) else { return nil }
        guard let s = stamp(in: payload, from: m) else { return nil }
        return (s, m + metadataKey.count)
    }

    /// The numbers after the first `"seq":` and `"t":` at or after `from`.
    static func stamp(in payload: UnsafeRawBufferPointer, from: Int) -> Stamp? {
        guard let s = number(after: seqKey, in: payload, from: from),
              let t = number(after: timeKey, in: payload, from: from) else { return nil }
        return Stamp(seq: Int(s), sentNs: t)
    }

    static func number(after key: [UInt8], in payload: UnsafeRawBufferPointer, from: Int) -> Int64? {
        guard var i = find(key, in: payload, from: from) else { return nil }
        i += key.count
        while i < payload.count, payload[i] == 0x20 { i += 1 }
        let value = digits(payload, &i)
        return value >= 0 ? value : nil
    }

    /// Offset of `needle` in `payload` at or after `from`.
    static func find(_ needle: [UInt8], in payload: UnsafeRawBufferPointer, from: Int) -> Int? {
        guard let base = payload.baseAddress, from < payload.count else { return nil }
        return needle.withUnsafeBytes { n -> Int? in
            guard let hit = memmem(base + from, payload.count - from, n.baseAddress, n.count) else { return nil }
            return base.distance(to: UnsafeRawPointer(hit))
        }
    }

    /// Decimal digits at `i` (advancing it); -1 when there are none.
    @inline(__always)
    static func digits(_ p: UnsafeRawBufferPointer, _ i: inout Int) -> Int64 {
        var value: Int64 = 0
        let start = i
        while i < p.count {
            let c = p[i]
            guard c >= 0x30 && c <= 0x39 else { break }
            value = value &* 10 &+ Int64(c - 0x30)
            i += 1
        }
        return i == start ? -1 : value
    }
}
