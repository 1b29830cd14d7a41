import WebSocket

// Target `utf8`: UTF8Validator against the standard library.
//
// Invariants:
// - UTF8Validator.isValid(bytes) == (String(validating: bytes, as: UTF8.self) != nil);
// - fed in pieces derived from the input, feed() fails exactly in the piece holding the
//   first byte that makes the input impossible, and isComplete agrees with isValid;
// - that first impossible byte is where the standard library's UTF-8 parser says it is:
//   its error's maximal subpart, plus one byte when the subpart starts with a valid lead
//   byte (then the next byte broke it); an incomplete sequence at the very end is not a
//   failure for feed(), only for isComplete.

/// Index of the first byte after which `bytes` cannot be the start of valid UTF-8, per
/// the standard library's decoder; nil when every prefix can still be completed.
private func firstImpossibleByte(_ bytes: [UInt8]) -> Int? {
    var parser = Unicode.UTF8.ForwardParser()
    var iterator = bytes.makeIterator()
    var offset = 0
    while true {
        switch parser.parseScalar(from: &iterator) {
        case .valid(let encoded):
            offset += encoded.count
        case .emptyInput:
            return nil
        case .error(let length):
            // A lone invalid byte (80-C1, F5-FF) is itself impossible; otherwise `length`
            // bytes were a valid beginning and the byte after them broke it (or input ended).
            let lead = bytes[offset]
            let leadIsValid = (0xC2...0xF4).contains(lead)
            if !leadIsValid { return offset }
            let breaking = offset + length
            return breaking < bytes.count ? breaking : nil
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUTF8(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    let stdlibValid = String(validating: input, as: UTF8.self) != nil
    let valid = UTF8Validator.isValid(input)
    require(valid == stdlibValid, "isValid says \(valid), the standard library \(stdlibValid) for \(input)")

    let impossibleAt = firstImpossibleByte(input)
    var validator = UTF8Validator()
    var failedIn: Range<Int>?
    for cut in pieces(count: input.count, seed: fnv1a(input)) {
        let ok = input.withUnsafeBytes { validator.feed(UnsafeRawBufferPointer(rebasing: $0[cut])) }
        if failedIn != nil {
            require(!ok, "feed() succeeded again after failing")
        } else if !ok {
            failedIn = cut
        }
    }
    if let impossibleAt {
        require(failedIn?.contains(impossibleAt) == true,
                "first impossible byte is \(impossibleAt), feed() failed in \(String(describing: failedIn)) for \(input)")
    } else {
        require(failedIn == nil, "feed() failed in \(failedIn!) though every prefix is completable: \(input)")
    }
    require(validator.isComplete == valid, "isComplete \(validator.isComplete) but isValid \(valid) for \(input)")
    return 0
}
