import Testing
@testable import Auth

private func parse(_ text: String) -> JSONValue? { JSONValue.parse(Array(text.utf8)) }

@Suite("The JWT JSON reader")
struct JSONValueTests {
    @Test("all value kinds, whitespace and nesting")
    func values() {
        let value = parse(" {\"a\" : [1, -0, 2.5e+3, true, false, null, \"x\"], \"b\":{}, \"c\":[]}\r\n\t")
        #expect(value == .object([
            "a": .array([.number("1"), .number("-0"), .number("2.5e+3"), .bool(true), .bool(false), .null, .string("x")]),
            "b": .object([:]), "c": .array([]),
        ]))
    }

    @Test("string escapes, including surrogate pairs")
    func escapes() {
        #expect(parse(#""\" \\ \/ \b \f \n \r \t \u0041 \u00e9 \ud83d\ude00""#) == .string("\" \\ / \u{8} \u{c} \n \r \t A \u{e9} \u{1F600}"))
        #expect(parse("\"\u{e9}\u{1F600}\"") == .string("\u{e9}\u{1F600}"))
    }

    @Test("invalid documents are refused", arguments: [
        "", " ", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "[1 2]", "{a:1}", "{'a':1}",
        "01", "-", "1.", ".5", "1e", "1e+", "+1", "0x10", "NaN", "Infinity", "tru", "nul", "truex",
        "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\uZZZZ\"", "\"\\ud83d\"", "\"\\ude00\"", "\"\\ud83d\\u0041\"",
        "\"tab\there\"", "\"nl\nhere\"", "{} {}", "{}x", "[1]]", "{\"a\":1,\"a\":2}",
    ])
    func invalid(text: String) {
        #expect(parse(text) == nil)
    }

    @Test("invalid UTF-8 is refused")
    func invalidUTF8() {
        #expect(JSONValue.parse([0x22, 0xC3, 0x22]) == nil)        // truncated sequence
        #expect(JSONValue.parse([0x22, 0xED, 0xA0, 0x80, 0x22]) == nil)  // encoded surrogate
        #expect(JSONValue.parse([0x22, 0xC3, 0xA9, 0x22]) == .string("\u{e9}"))
    }

    @Test("nesting is bounded")
    func depth() {
        let ok = String(repeating: "[", count: 16) + String(repeating: "]", count: 16)
        let deep = String(repeating: "[", count: 17) + String(repeating: "]", count: 17)
        #expect(parse(ok) != nil)
        #expect(parse(deep) == nil)
        #expect(parse(String(repeating: "{\"a\":", count: 100_000)) == nil)  // no stack overflow
    }

    @Test("integer view of numbers", arguments: [
        ("0", Int64(0)), ("-0", 0), ("42", 42), ("9223372036854775807", Int64.max), ("-9223372036854775808", Int64.min),
    ])
    func integers(text: String, expected: Int64) {
        #expect(parse(text)?.int64 == expected)
    }

    @Test("non-integers have no integer view", arguments: ["1.0", "1e3", "1E3", "-1.5", "9223372036854775808", "\"1\"", "true", "null"])
    func nonIntegers(text: String) {
        #expect(parse(text) != nil)
        #expect(parse(text)?.int64 == nil)
    }
}
