import Testing
@testable import JSON

@Suite struct JSONWriterTests {
    static let numbers: [(Double, String)] = [
        (0, "0"), (-0.0, "0"), (2, "2"), (-17, "-17"), (120.5, "120.5"), (0.1, "0.1"),
        (9_007_199_254_740_991, "9007199254740991"), (9_007_199_254_740_992, "9007199254740992.0"),
        (1e21, "1e+21"), (1.5e-7, "1.5e-07"), (Double.nan, "null"), (Double.infinity, "null"),
    ]

    @Test(arguments: numbers)
    func writesNumbers(_ value: Double, _ expected: String) throws {
        #expect(JSONValue.number(value).jsonText == expected)
        // Finite numbers read back as the same Double.
        if value.isFinite { #expect(try JSONValue.parse(expected) == .number(value)) }
    }

    @Test func writesIntegers() {
        for (value, text) in [(Int64.min, "-9223372036854775808"), (Int64.max, "9223372036854775807"), (0, "0"), (-5, "-5")] {
            var w = JSONWriter()
            w.writeInteger(value)
            #expect(String(decoding: w.bytes, as: UTF8.self) == text)
        }
    }

    @Test func escapesStrings() {
        #expect(JSONValue.string("a\"b\\c/d").jsonText == #""a\"b\\c/d""#)
        #expect(JSONValue.string("\u{8}\u{c}\n\r\t\u{0}\u{1f}").jsonText == #""\b\f\n\r\t\u0000\u001f""#)
        #expect(JSONValue.string("café 😀 \u{2028}").jsonText == "\"café 😀 \u{2028}\"")
        #expect(JSONValue.string("").jsonText == "\"\"")
        #expect(JSONValue.string("\u{1B}[0m").jsonText == #""\u001b[0m""#)
        #expect(JSONValue.string("\u{7F}").jsonText == "\"\u{7F}\"")  // DEL needs no escape in JSON
    }

    @Test func writesContainersInOrder() {
        let value = JSONValue.object([("z", .array([.null, .bool(true), .bool(false)])), ("a", .object([])), ("s", .string("x"))])
        #expect(value.jsonText == #"{"z":[null,true,false],"a":{},"s":"x"}"#)
    }

    @Test func roundTrips() throws {
        let texts = [
            #"{"b":[1,2.5,-3e-8,"\u00e9\ud83d\ude00\n"],"a":{"nested":[[],{}]},"t":true,"n":null}"#,
            #"[0.1,1e+300,-0.000001,123456789.125]"#,
            #""plain""#,
        ]
        for text in texts {
            let value = try JSONValue.parse(text)
            let written = value.serialized()
            #expect(try JSONValue.parse(written) == value)
            // Writing is deterministic: a second round gives the same bytes.
            #expect(try JSONValue.parse(written).serialized() == written)
        }
    }

    @Test func appendsRawAndKeys() {
        var w = JSONWriter()
        w.append(UInt8(ascii: "{"))
        w.appendKey("order")
        w.appendRaw(Array(#"{"id":1}"#.utf8))
        w.appendRaw("}")
        #expect(String(decoding: w.bytes, as: UTF8.self) == #"{"order":{"id":1}}"#)
    }
}
