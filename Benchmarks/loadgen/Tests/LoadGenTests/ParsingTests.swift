import Testing
@testable import loadgen

/// The parsers the measurements stand on: if these miscount, every table is wrong.
@Suite struct ParsingTests {
    @Test func benchStampRoundTrips() {
        for size in [0, 64, 200] {
            let message = StampFormat.benchMessage(seq: 4711, sentNs: 123_456_789_012, size: size)
            if size > 0 { #expect(message.count == size) }
            let stamp = message.withUnsafeBytes { StampFormat.benchStamp(in: $0) }
            #expect(stamp?.seq == 4711)
            #expect(stamp?.sentNs == 123_456_789_012)
        }
    }

    @Test func benchStampRejectsOtherText() {
        let stamp = Array(#"{"hello":"world"}"#.utf8).withUnsafeBytes { StampFormat.benchStamp(in: $0) }
        #expect(stamp == nil)
    }

    @Test func orderStampIsReadFromMetadataNotTheEnvelope() {
        let event = #"{"type":"event","channel":"admin","seq":58,"event":"order.created","order":{"id":"o1","total":1.0,"metadata":{"t":99,"seq":7},"createdAt":"x"}}"#
        let found = Array(event.utf8).withUnsafeBytes { StampFormat.orderStamp(in: $0, from: 0) }
        #expect(found?.0.seq == 7)
        #expect(found?.0.sentNs == 99)
    }

    @Test func serverSeqIsTheEnvelopes() {
        let event = #"{"type":"event","channel":"admin","seq":58,"event":"order.created","order":{"id":"o1","metadata":{"t":99,"seq":7}}}"#
        #expect(Array(event.utf8).withUnsafeBytes { StampFormat.serverSeq(in: $0) } == 58)
        let noSeq = #"{"type":"subscribed","channel":"admin","head":3}"#
        #expect(Array(noSeq.utf8).withUnsafeBytes { StampFormat.serverSeq(in: $0) } == nil)
    }

    @Test func framesAreFoundOnlyWhenComplete() {
        // Unmasked server text frame "hi", then a 126-length frame cut short.
        let bytes: [UInt8] = [0x81, 0x02, 0x68, 0x69, 0x81, 126, 0x01]
        bytes.withUnsafeBytes { buffer in
            let first = Frames.next(in: buffer, at: 0)
            #expect(first?.opcode == Frames.text)
            #expect(first?.fin == true)
            #expect(first?.payload == 2..<4)
            #expect(Frames.next(in: buffer, at: 4) == nil)
        }
    }

    @Test func maskedFramesUnmaskToThePayload() {
        var out: [UInt8] = []
        let payload = Array(repeating: UInt8(0x41), count: 300)
        Frames.appendMasked(opcode: Frames.text, payload: payload, mask: 0x0102_0304, to: &out)
        #expect(out[0] == 0x81)
        #expect(out[1] == 0x80 | 126)
        #expect(Int(out[2]) << 8 | Int(out[3]) == 300)
        let key = Array(out[4..<8])
        let unmasked = out[8...].enumerated().map { $0.element ^ key[$0.offset & 3] }
        #expect(unmasked == payload)
    }

    @Test func responsesWithLengthAndChunked() {
        let text = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: \"abc\"\r\n\r\nhello"
            + "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { buffer in
            guard case .response(let first) = HTTPResponseScanner.next(in: buffer, keepBody: true) else {
                Issue.record("first response not found"); return
            }
            #expect(first.status == 200)
            #expect(first.etag == "\"abc\"")
            #expect(first.body == Array("hello".utf8))
            let rest = UnsafeRawBufferPointer(rebasing: buffer[first.length...])
            guard case .response(let second) = HTTPResponseScanner.next(in: rest, keepBody: true) else {
                Issue.record("chunked response not found"); return
            }
            #expect(second.status == 201)
            #expect(second.body == Array("abcde".utf8))
            #expect(second.length == rest.count)
        }
    }

    @Test func incompleteAndInvalidResponses() {
        let partial = Array("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".utf8)
        partial.withUnsafeBytes {
            guard case .incomplete = HTTPResponseScanner.next(in: $0, keepBody: true) else { Issue.record("expected incomplete"); return }
        }
        let garbage = Array("SSH-2.0-OpenSSH\r\n\r\n".utf8)
        garbage.withUnsafeBytes {
            guard case .invalid = HTTPResponseScanner.next(in: $0, keepBody: true) else { Issue.record("expected invalid"); return }
        }
    }

    @Test func onlyLoopbackTargets() throws {
        #expect(throws: LoadError.self) { try Endpoint(host: "10.0.0.1", port: 80) }
        #expect(throws: LoadError.self) { try Endpoint(host: "example.com", port: 80) }
        let local = try Endpoint(host: "localhost", port: 8080)
        #expect(local.authority == "127.0.0.1:8080")
    }

    @Test func sourceAddressesCycle() {
        let sources = SourceAddresses(first: 10, count: 3)
        let last = (0..<4).map { UInt32(bigEndian: sources.address(for: $0)!.s_addr) & 0xff }
        #expect(last == [10, 11, 12, 10])
        #expect(SourceAddresses(first: 1, count: 0).address(for: 5) == nil)
    }
}
