import Testing
import TestSupport
@testable import JSON

@Suite struct JSONParserTests {
    static let accepted: [(String, JSONValue)] = [
        ("null", .null),
        ("true", .bool(true)),
        (" false ", .bool(false)),
        ("0", .number(0)),
        ("-0", .number(-0.0)),
        ("12", .number(12)),
        ("-12.5", .number(-12.5)),
        ("1e3", .number(1000)),
        ("1E+3", .number(1000)),
        ("2.5e-1", .number(0.25)),
        ("123456789012345678901234567890", .number(123456789012345678901234567890.0)),
        ("\"\"", .string("")),
        ("\"a\\\"b\\\\c\\/d\"", .string("a\"b\\c/d")),
        ("\"\\b\\f\\n\\r\\t\"", .string("\u{8}\u{c}\n\r\t")),
        ("\"\\u00e9\\u00E9\"", .string("éé")),
        ("\"\\u0000\"", .string("\u{0}")),
        ("\"\\ud83d\\ude00\"", .string("😀")),
        ("\"caf\u{e9} 😀\"", .string("café 😀")),
        ("[]", .array([])),
        ("[1, [2, []], {}]", .array([.number(1), .array([.number(2), .array([])]), .object([])])),
        ("\t\r\n{\"b\": 1, \"a\": [true, null]}\n", .object([("b", .number(1)), ("a", .array([.bool(true), .null]))])),
    ]

    @Test(arguments: accepted)
    func accepts(_ text: String, _ expected: JSONValue) throws {
        let value = try JSONValue.parse(text)
        #expect(value == expected)
    }

    static let refused: [(String, JSONParseError.Reason)] = [
        ("", .emptyInput),
        ("   ", .unexpectedEnd),
        ("nul", .unexpectedEnd),
        ("nulL", .unexpectedByte(UInt8(ascii: "L"))),
        ("True", .unexpectedByte(UInt8(ascii: "T"))),
        ("1 2", .trailingData),
        ("{} x", .trailingData),
        ("[1,]", .unexpectedByte(UInt8(ascii: "]"))),
        ("[1 2]", .unexpectedByte(UInt8(ascii: "2"))),
        ("[", .unexpectedEnd),
        ("{\"a\"}", .unexpectedByte(UInt8(ascii: "}"))),
        ("{\"a\":1,}", .unexpectedByte(UInt8(ascii: "}"))),
        ("{a:1}", .unexpectedByte(UInt8(ascii: "a"))),
        ("{\"a\":1 \"b\":2}", .unexpectedByte(UInt8(ascii: "\""))),
        ("{\"a\":1,\"a\":2}", .duplicateKey("a")),
        ("01", .invalidNumber),
        ("-01", .invalidNumber),
        ("-", .unexpectedEnd),
        ("-a", .invalidNumber),
        ("1.", .invalidNumber),
        (".5", .unexpectedByte(UInt8(ascii: "."))),
        ("1e", .invalidNumber),
        ("1e+", .invalidNumber),
        ("+1", .unexpectedByte(UInt8(ascii: "+"))),
        ("NaN", .unexpectedByte(UInt8(ascii: "N"))),
        ("Infinity", .unexpectedByte(UInt8(ascii: "I"))),
        ("-Infinity", .invalidNumber),
        ("1e400", .numberOutOfRange),
        ("-1e400", .numberOutOfRange),
        ("\"abc", .unexpectedEnd),
        ("\"a\\", .unexpectedEnd),
        ("\"\\x\"", .invalidEscape),
        ("\"\\u12\"", .invalidEscape),
        ("\"\\u12g4\"", .invalidEscape),
        ("\"\\ud83d\"", .loneSurrogate),
        ("\"\\ud83dx\"", .loneSurrogate),
        ("\"\\ud83d\\u0041\"", .loneSurrogate),
        ("\"\\ude00\"", .loneSurrogate),
        ("\"\\ude00\\ud83d\"", .loneSurrogate),
        ("\"tab\there\"", .controlCharacterInString),
        ("\"a\\n\nb\"", .controlCharacterInString),
        ("\u{FEFF}{}", .unexpectedByte(0xEF)),
        ("'a'", .unexpectedByte(UInt8(ascii: "'"))),
        ("[1]\u{0}", .trailingData),
    ]

    @Test(arguments: refused)
    func refuses(_ text: String, _ reason: JSONParseError.Reason) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
        do {
            _ = try JSONValue.parse(text)
        } catch {
            #expect(error.reason == reason, "\(text.debugDescription): \(error)")
        }
    }

    @Test func refusesInvalidUTF8InStrings() {
        let cases: [[UInt8]] = [
            [0x22, 0xFF, 0x22],                    // never valid
            [0x22, 0xC3, 0x22],                    // truncated sequence
            [0x22, 0xC0, 0xAF, 0x22],              // overlong "/"
            [0x22, 0xED, 0xA0, 0x80, 0x22],        // UTF-8 encoded surrogate
            [0x22, 0x5C, 0x6E, 0xFF, 0x22],        // after an escape (slow path)
        ]
        for bytes in cases {
            #expect(throws: JSONParseError(.invalidUTF8, at: 1)) { try JSONValue.parse(bytes) }
        }
        #expect(throws: JSONParseError(.unexpectedByte(0xC3), at: 0)) { try JSONValue.parse([0xC3, 0xA9]) }
    }

    @Test func nestingIsLimited() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        _ = try JSONValue.parse(ok)
        let tooDeep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONParseError(.tooDeep(limit: 64), at: 64)) { try JSONValue.parse(tooDeep) }
        let objects = String(repeating: "{\"a\":", count: 65) + "1" + String(repeating: "}", count: 65)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(objects) }
        // Far deeper input fails fast instead of exhausting the stack.
        let huge = [UInt8](repeating: UInt8(ascii: "["), count: 1_000_000)
        #expect(throws: JSONParseError(.tooDeep(limit: 64), at: 64)) { try JSONValue.parse(huge) }
        #expect(throws: JSONParseError(.tooDeep(limit: 3), at: 3)) { try JSONValue.parse("[[[[]]]]", maxDepth: 3) }
        // Depth is nesting, not the number of containers.
        let wide = "[" + Array(repeating: "[[]]", count: 200).joined(separator: ",") + "]"
        _ = try JSONValue.parse(wide, maxDepth: 3)
    }

    @Test func keepsKeyOrderAndFindsMembers() throws {
        let value = try JSONValue.parse("{\"z\":1,\"a\":2,\"m\":{\"k\":\"v\"}}")
        guard case .object(let members) = value else { Issue.record("not an object"); return }
        #expect(members.map(\.key) == ["z", "a", "m"])
        #expect(value["a"] == .number(2))
        #expect(value["m"]?["k"]?.stringValue == "v")
        #expect(value["missing"] == nil)
        #expect(JSONValue.number(1)["a"] == nil)
        // Order is part of equality.
        #expect(try JSONValue.parse("{\"a\":1,\"b\":2}") != JSONValue.parse("{\"b\":2,\"a\":1}"))
    }

    @Test func typedAccessors() throws {
        let value = try JSONValue.parse(#"{"since":41,"big":9007199254740993,"neg":-2,"half":1.5,"s":"x","b":true,"n":null}"#)
        #expect(value["since"]?.int64Value == 41)
        #expect(value["neg"]?.int64Value == -2)
        #expect(value["big"]?.int64Value == nil)          // beyond 2^53: not exact
        #expect(value["half"]?.int64Value == nil)
        #expect(value["s"]?.int64Value == nil)
        #expect(value["half"]?.numberValue == 1.5 && value["s"]?.numberValue == nil)
        #expect(value["s"]?.stringValue == "x" && value["b"]?.stringValue == nil)
        #expect(value["b"]?.boolValue == true && value["n"]?.boolValue == nil)
        #expect(value["n"]?.isNull == true && value["s"]?.isNull == false)
        #expect(value.isObject && !(value["b"]?.isObject ?? true))
    }

    @Test func detectsDuplicatesInLargeObjects() {
        let members = (0..<40).map { "\"k\($0)\":\($0)" } + ["\"k7\":0"]
        let text = "{" + members.joined(separator: ",") + "}"
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
        do { _ = try JSONValue.parse(text) } catch { #expect(error.reason == .duplicateKey("k7")) }
    }

    @Test func errorsDescribeThemselves() {
        #expect(JSONParseError(.unexpectedByte(UInt8(ascii: "x")), at: 3).description == "unexpected character 'x' at byte 3")
        #expect(JSONParseError(.unexpectedByte(0x01), at: 0).description == "unexpected byte 0x1 at byte 0")
        #expect(JSONParseError(.tooDeep(limit: 64), at: 9).description == "nesting deeper than 64 at byte 9")
    }

    /// A cheap fuzz pass: random mutations of a valid document must either parse or throw,
    /// and whatever parses must survive a write/parse round trip.
    @Test func survivesMutatedInput() throws {
        let seed = Array("{\"items\":[{\"productId\":\"p\\u00e9\",\"q\":-1.5e3}],\"x\":[true,false,null,\"\\ud83d\\ude00\"]}".utf8)
        var rng = SplitMix64(seed: 42)
        let alphabet = Array("{}[],:\"\\u0123456789abcdefEe+-. tnrl".utf8) + [0x00, 0x1F, 0x80, 0xC3, 0xED, 0xFF]
        var parsed = 0
        for _ in 0..<3000 {
            var bytes = seed
            for _ in 0..<Int(rng.next() % 4 + 1) {
                let i = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 3 {
                case 0: bytes[i] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                case 1: bytes.remove(at: i)
                default: bytes.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: i)
                }
                if bytes.isEmpty { bytes = seed }
            }
            if let value = try? JSONValue.parse(bytes) {
                parsed += 1
                #expect(try JSONValue.parse(value.serialized()) == value)
            }
        }
        #expect(parsed > 0)
    }
}

