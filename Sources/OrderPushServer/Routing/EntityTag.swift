/// `If-None-Match` against an entity tag (RFC 9110 §13.1.2, weak comparison): true if the
/// header lists the tag, weak (`W/`) or not, or is `*`. On the bytes, with the commonest
/// case (the header is exactly the tag) first: a poll with nothing new is mostly this.
enum EntityTag {
    static func matches(ifNoneMatch header: String, _ etag: String) -> Bool {
        if header == etag { return true }
        let tag = etag.utf8
        for candidate in header.utf8.split(separator: UInt8(ascii: ",")) {
            var c = candidate[...]
            while let f = c.first, f == 0x20 || f == 0x09 { c = c.dropFirst() }
            while let l = c.last, l == 0x20 || l == 0x09 { c = c.dropLast() }
            if c.count == 1, c.first == UInt8(ascii: "*") { return true }
            if c.starts(with: "W/".utf8) { c = c.dropFirst(2) }
            if c.elementsEqual(tag) { return true }
        }
        return false
    }
}
