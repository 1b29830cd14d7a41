import HTTP1
import Testing

@Suite struct TrimmingTests {
    @Test func removesSpacesAndTabsAtBothEndsOnly() {
        #expect(" \t13\t ".trimmingSpaces == "13")
        #expect("Bearer  abc ".split(separator: " ", maxSplits: 1)[1].trimmingSpaces == "abc")
        #expect("a b".trimmingSpaces == "a b")
        #expect("".trimmingSpaces == "")
        #expect(" \t ".trimmingSpaces == "")
        #expect("\nx\n".trimmingSpaces == "\nx\n")   // only SP and HTAB are optional whitespace
        #expect(" é ".trimmingSpaces == "é")
    }
}
