extension StringProtocol {
    /// The text without leading and trailing spaces and tabs (HTTP's optional whitespace,
    /// RFC 9110 §5.6.3): header values, list elements, tokens. The one trim helper.
    public var trimmingSpaces: String {
        String(ASCII.trimmingWhitespace(Substring(self)))
    }
}
