import JSON

// Target `json`: JSONValue.parse on arbitrary bytes.
//
// Invariants:
// - no crash (deep nesting is refused, not recursed into), no sanitizer report;
// - for every accepted input v: parse(serialized(v)) succeeds and == v;
// - serialization is a fixed point after one round: serialized(parse(serialized(v)))
//   has the same bytes as serialized(v) (this also catches differences that String's
//   canonical-equivalence == would hide);
// - the serialized text is valid UTF-8;
// - a lower depth limit never accepts what the default limit refuses.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    guard let value = try? JSONValue.parse(input) else {
        require((try? JSONValue.parse(input, maxDepth: 8)) == nil, "depth 8 accepted what depth 64 refused: \(show(input))")
        return 0
    }
    let text = value.serialized()
    require(String(validating: text, as: UTF8.self) != nil, "serialized text is not UTF-8: \(show(text))")
    let again: JSONValue
    do {
        again = try JSONValue.parse(text)
    } catch {
        require(false, "serialized text \(show(text)) of \(show(input)) does not parse: \(error)")
        return 0
    }
    require(again == value, "round trip changed \(value) into \(again) (input \(show(input)))")
    let text2 = again.serialized()
    require(text2 == text, "second serialization \(show(text2)) differs from the first \(show(text))")
    return 0
}
