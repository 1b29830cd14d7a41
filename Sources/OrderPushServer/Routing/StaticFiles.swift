import Glibc
import HTTP1

/// Serves files from the web root. A path resolves only to a regular file whose real path
/// (symlinks followed) lies inside the root, so neither `..` nor a link can leave it.
struct StaticFiles {
    let root: String

    init(root: String) {
        // Resolve once; a missing root serves nothing (every page 404) rather than failing start.
        if let resolved = realpath(root, nil) {
            self.root = String(cString: resolved)
            free(resolved)
        } else {
            self.root = root
        }
    }

    func response(for relativePath: String, method: String) -> HTTPResponse {
        guard let file = resolve(relativePath), let bytes = read(file) else {
            return .error(.notFound, code: "not_found", message: "no such page")
        }
        var headers = HTTPHeaders()
        headers.add("Content-Type", Self.contentType(for: file))
        headers.add("Cache-Control", "no-cache")
        headers.add("X-Content-Type-Options", "nosniff")
        return HTTPResponse(status: .ok, headers: headers, body: method == "HEAD" ? [] : bytes)
    }

    private func resolve(_ relative: String) -> String? {
        let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard !relative.isEmpty, !relative.contains("\0"), !relative.contains("\\"),
              parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && !$0.hasPrefix(".") }) else { return nil }
        guard let real = realpath(root + "/" + relative, nil) else { return nil }
        defer { free(real) }
        let path = String(cString: real)
        guard path.hasPrefix(root + "/") else { return nil }
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return path
    }

    private func read(_ path: String) -> [UInt8]? {
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
