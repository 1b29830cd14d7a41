import Testing
import TestSupport
import WebSocket

@Suite struct UTF8ValidatorTests {
    @Test(arguments: [
        "",
        "61",                      // a
        "7F",                      // highest 1-byte
        "C2 80",                   // U+0080, lowest 2-byte
        "DF BF",                   // U+07FF
        "E0 A0 80",                // U+0800, lowest 3-byte
        "ED 9F BF",                // U+D7FF, just below the surrogates
        "EE 80 80",                // U+E000, just above the surrogates
        "EF BF BE",                // U+FFFE (noncharacter, still valid UTF-8)
        "EF BF BF",                // U+FFFF
        "F0 90 80 80",             // U+10000, lowest 4-byte
        "F4 8F BF BF",             // U+10FFFF, highest code point
        "CE BA E1 BD B9 CF 83 CE BC CE B5", // κόσμε
        "48 65 6C 6C 6F 2D C2 B5 40 C3 9F C3 B6 C3 A4 C3 BC C3 A0 C3 A1 2D 55 54 46 2D 38 21 21", // Hello-µ@ßöäüàá-UTF-8!!
        "F0 9F 98 80 61 62 63 64 65 66 67 68 F0 9F 98 80", // emoji around an 8-byte ASCII run
    ])
    func validSequences(hex: String) {
        let bytes = [UInt8](hex: hex)
        var validator = UTF8Validator()
        let accepted = validator.feed(bytes)
        #expect(accepted)
        #expect(validator.isComplete)
        #expect(UTF8Validator.isValid(bytes))
    }

    @Test(arguments: [
        // Overlong forms.
        "C0 AF", "C1 BF", "E0 80 AF", "E0 9F BF", "F0 80 80 AF", "F0 8F BF BF", "C0 80", "E0 80 80",
        // Surrogates, single and paired.
        "ED A0 80", "ED AD BF", "ED AE 80", "ED AF BF", "ED B0 80", "ED BF BF", "ED A0 80 ED B0 80",
        // Above U+10FFFF and the old 5/6-byte forms.
        "F4 90 80 80", "F5 80 80 80", "F7 BF BF BF", "F8 88 80 80 80", "FC 84 80 80 80 80",
        // Bytes that never occur.
        "FE", "FF", "FE FE FF FF",
        // Lone or extra continuation bytes.
        "80", "BF", "61 80", "C2 80 80", "E1 80 80 80",
        // A lead byte followed by something that is not a continuation.
        "C2 41", "E1 80 41", "F1 80 80 41", "E1 41 80",
        // Autobahn 6.4.1's payload: κόσμε, a surrogate, then "edited".
        "CE BA E1 BD B9 CF 83 CE BC CE B5 ED A0 80 65 64 69 74 65 64",
    ])
    func invalidSequencesFailWhileFeeding(hex: String) {
        var validator = UTF8Validator()
        let accepted = validator.feed([UInt8](hex: hex))
        #expect(!accepted)
        #expect(!validator.isComplete)
        #expect(!UTF8Validator.isValid([UInt8](hex: hex)))
    }

    @Test(arguments: ["C2", "E0 A0", "E1", "F0 90 80", "F4 8F BF", "61 62 CE", "CE BA E1 BD"])
    func truncatedSequencesAreOnlyIncomplete(hex: String) {
        var validator = UTF8Validator()
        let accepted = validator.feed([UInt8](hex: hex))
        #expect(accepted, "a valid prefix must not fail")
        #expect(!validator.isComplete)
        #expect(!UTF8Validator.isValid([UInt8](hex: hex)))
    }

    @Test func failsAtTheFirstImpossibleByte() {
        // Autobahn 6.4.x: κόσμε then ED A0 80: ED is still fine, A0 is not.
        var validator = UTF8Validator()
        let prefixAccepted = validator.feed([UInt8](hex: "CE BA E1 BD B9 CF 83 CE BC CE B5"))
        #expect(prefixAccepted)
        let leadAccepted = validator.feed([0xED])
        #expect(leadAccepted)
        #expect(!validator.isComplete)
        let surrogateAccepted = validator.feed([0xA0])
        #expect(!surrogateAccepted)
        #expect(!validator.isComplete)
    }

    @Test func staysFailedUntilReset() {
        var validator = UTF8Validator()
        let invalidAccepted = validator.feed([0xFF])
        #expect(!invalidAccepted)
        let laterAccepted = validator.feed([0x61])
        #expect(!laterAccepted)
        #expect(!validator.isComplete)
        validator.reset()
        #expect(validator.isComplete)
        let afterResetAccepted = validator.feed([0x61])
        #expect(afterResetAccepted)
        #expect(validator.isComplete)
    }

    @Test func codePointsSplitAcrossChunksAreAccepted() {
        let bytes = [UInt8]("aé€😀ü".utf8)
        for split in 0...bytes.count {
            var validator = UTF8Validator()
            let headAccepted = validator.feed(Array(bytes[..<split]))
            #expect(headAccepted)
            let tailAccepted = validator.feed(Array(bytes[split...]))
            #expect(tailAccepted)
            #expect(validator.isComplete, "split at \(split)")
        }
        var byteWise = UTF8Validator()
        for byte in bytes {
            let accepted = byteWise.feed([byte])
            #expect(accepted)
        }
        #expect(byteWise.isComplete)
    }

    @Test func asciiFastPathFindsAnInvalidByteAtEveryOffset() {
        for length in [1, 7, 8, 9, 15, 16, 17, 33] {
            for position in 0..<length {
                var bytes = [UInt8](repeating: 0x61, count: length)
                bytes[position] = 0x80
                #expect(!UTF8Validator.isValid(bytes), "length \(length), bad byte at \(position)")
                bytes[position] = 0xC3   // now a truncated or broken 2-byte sequence
                #expect(!UTF8Validator.isValid(bytes), "length \(length), lead byte at \(position)")
                if position + 1 < length {
                    bytes[position + 1] = 0xA9   // é: valid again
                    #expect(UTF8Validator.isValid(bytes), "length \(length), é at \(position)")
                }
            }
        }
    }

    @Test func agreesWithTheStandardLibraryOnRandomInput() {
        var rng = SplitMix64(state: 0x6455)
        // Bias towards the bytes where the rules live.
        let interesting: [UInt8] = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
                                    0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
        for _ in 0..<20000 {
            let length = Int.random(in: 0...12, using: &rng)
            let bytes = (0..<length).map { _ in
                Bool.random(using: &rng) ? interesting.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
            }
            let expected = String(validating: bytes, as: UTF8.self) != nil
            #expect(UTF8Validator.isValid(bytes) == expected, "\(bytes)")
            // And chunked at a random point, the verdict is the same.
            let split = Int.random(in: 0...length, using: &rng)
            var validator = UTF8Validator()
            let ok = validator.feed(Array(bytes[..<split])) && validator.feed(Array(bytes[split...]))
            #expect((ok && validator.isComplete) == expected, "\(bytes) split at \(split)")
        }
    }
}
