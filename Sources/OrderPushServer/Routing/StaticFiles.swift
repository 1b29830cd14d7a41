import Glibc
import HTTP1
import OpenSSLKit

/// Serves the files of the web root from memory: every regular file under the root is read
/// once, at start, with its content type, `ETag` (a digest of the bytes) and
/// `Last-Modified`; a request only looks the path up. A page revalidated with its `ETag`
/// (`If-None-Match`) or date (`If-Modified-Since`) is answered 304 without a body.
///
/// Only files inside the root are loaded (a link is followed, and kept only if its real
/// path lies inside the root), and only by names a request can reach: no part empty, `.`,
/// `..` or starting with a dot. A request path is looked up as given, so no `..` or link
/// can leave the root. Files added or changed after the start are served from the next start.
struct StaticFiles {
    struct File {
        let bytes: [UInt8]
        let contentType: String
        let etag: String
        let lastModified: String
    }

    /// The resolved root.
    let root: String
    /// By path relative to the root (`admin.html`, `js/app.js`).
    private(set) var files: [String: File] = [:]

    /// A file larger than this is not served (the web root holds pages, not downloads).
    static let maxFileBytes = 16 << 20
    /// Nor files past this total, nor folders deeper than `maxDepth`.
    static let maxTotalBytes = 64 << 20
    static let maxDepth = 8

    init(root: String) {
        // Resolve once; a missing root serves nothing (every page 404) rather than failing start.
        if let resolved = realpath(root, nil) {
            self.root = String(cString: resolved)
            free(resolved)
        } else {
            self.root = root
        }
        var total = 0
        load(folder: "", depth: 0, total: &total)
    }

    func response(for relativePath: String, method: String, ifNoneMatch: String? = nil,
                  ifModifiedSince: String? = nil) -> HTTPResponse {
        guard Self.isServable(relativePath), let file = files[relativePath] else {
            return .error(.notFound, code: "not_found", message: "no such page")
        }
        var headers = HTTPHeaders()
        headers.add("ETag", file.etag)
        headers.add("Last-Modified", file.lastModified)
        headers.add("Cache-Control", "no-cache")
        let unchanged = ifNoneMatch.map { EntityTag.matches(ifNoneMatch: $0, file.etag) } ?? (ifModifiedSince == file.lastModified)
        if unchanged {
            return HTTPResponse(status: .notModified, headers: headers)
        }
        headers.add("Content-Type", file.contentType)
        headers.add("X-Content-Type-Options", "nosniff")
        return HTTPResponse(status: .ok, headers: headers, body: method == "HEAD" ? [] : file.bytes)
    }

    /// A relative path a request may name: not empty, no NUL or backslash, and no part
    /// empty, `.`, `..` or hidden.
    static func isServable(_ relative: String) -> Bool {
        guard !relative.isEmpty, !relative.contains("\0"), !relative.contains("\\") else { return false }
        return relative.split(separator: "/", omittingEmptySubsequences: false)
            .allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." && !$0.hasPrefix(".") }
    }


    private mutating func load(folder: String, depth: Int, total: inout Int) {
        guard depth <= Self.maxDepth, let dir = opendir(folder.isEmpty ? root : root + "/" + folder) else { return }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            names.append(name)
        }
        for name in names.sorted() {
            let relative = folder.isEmpty ? name : folder + "/" + name
            guard Self.isServable(relative), let real = realpath(root + "/" + relative, nil) else { continue }
            let path = String(cString: real)
            free(real)
            guard path.hasPrefix(root + "/") else { continue }
            var st = stat()
            guard stat(path, &st) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                load(folder: relative, depth: depth + 1, total: &total)
            case S_IFREG:
                guard Int(st.st_size) <= Self.maxFileBytes, total + Int(st.st_size) <= Self.maxTotalBytes,
                      let bytes = Self.read(path) else { continue }
                total += bytes.count
                files[relative] = File(bytes: bytes, contentType: Self.contentType(for: relative),
                                       etag: "\"" + Hex.encode(Digest.sha256(bytes).prefix(12)) + "\"",
                                       lastModified: Self.httpDate(secondsSinceEpoch: Int(st.st_mtim.tv_sec)))
            default:
                continue
            }
        }
    }

    private static func read(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<n])
        }
    }

    /// An IMF-fixdate (RFC 9110 §5.6.7): `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func httpDate(secondsSinceEpoch: Int) -> String {
        var t = time_t(secondsSinceEpoch)
        var parts = tm()
        gmtime_r(&t, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }

    static func contentType(for path: String) -> String {
        let ext = path.split(separator: ".").last.map { $0.lowercased() } ?? ""
        switch ext {
        case "html", "htm": return "text/html; charset=utf-8"
        case "js", "mjs": return "text/javascript; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "json": return "application/json"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "ico": return "image/x-icon"
        case "txt", "md": return "text/plain; charset=utf-8"
        case "webmanifest": return "application/manifest+json"
        default: return "application/octet-stream"
        }
    }
}
