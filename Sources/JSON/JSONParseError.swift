/// Why a byte string is not an acceptable JSON text, and where the parser stopped.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        case emptyInput
        case unexpectedEnd
        case unexpectedByte(UInt8)
        case invalidNumber
        /// A number that does not fit a finite `Double` (such as `1e400`).
        case numberOutOfRange
        case invalidEscape
        /// A `\u` escape naming half of a surrogate pair without its other half.
        case loneSurrogate
        /// A raw byte below 0x20 inside a string; RFC 8259 requires it escaped.
        case controlCharacterInString
        case invalidUTF8
        case duplicateKey(String)
        case tooDeep(limit: Int)
        /// Non-whitespace after the value.
        case trailingData
    }

    public let reason: Reason
    /// Byte offset in the input where the problem was found.
    public let offset: Int

    public init(_ reason: Reason, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String {
        let what: String
        switch reason {
        case .emptyInput: what = "empty input"
        case .unexpectedEnd: what = "unexpected end of input"
        case .unexpectedByte(let b):
            what = (0x21...0x7E).contains(b)
                ? "unexpected character '\(Character(Unicode.Scalar(b)))'"
                : "unexpected byte 0x\(String(b, radix: 16, uppercase: true))"
        case .invalidNumber: what = "invalid number"
        case .numberOutOfRange: what = "number out of range"
        case .invalidEscape: what = "invalid escape sequence"
        case .loneSurrogate: what = "unpaired UTF-16 surrogate in \\u escape"
        case .controlCharacterInString: what = "unescaped control character in string"
        case .invalidUTF8: what = "invalid UTF-8"
        case .duplicateKey(let k): what = "duplicate key \"\(k)\""
        case .tooDeep(let limit): what = "nesting deeper than \(limit)"
        case .trailingData: what = "unexpected data after the JSON value"
        }
        return "\(what) at byte \(offset)"
    }
}
