import Foundation
import HTTP1
import Testing
@testable import OrderPushServer

/// The web root served from memory: what is served is the file's bytes, revalidation gets
/// 304, and nothing outside the root (by `..`, a hidden name or a link) is ever loaded.
@Suite struct StaticFilesTests {
    /// A web root with a page, a script in a folder, a hidden file, and links to a file
    /// outside the root and to a page inside it.
    final class Root {
        let base: URL
        var web: URL { base.appendingPathComponent("web") }
        init() throws {
            base = FileManager.default.temporaryDirectory.appendingPathComponent("orderpush-static-\(UUID().uuidString)")
            let fm = FileManager.default
            try fm.createDirectory(at: web.appendingPathComponent("js"), withIntermediateDirectories: true)
            try Data("<h1>hello</h1>\n".utf8).write(to: web.appendingPathComponent("index.html"))
            try Data((0..<70_000).map { UInt8($0 % 251) }).write(to: web.appendingPathComponent("js/app.js"))
            try Data("secret".utf8).write(to: web.appendingPathComponent(".env"))
            try Data("outside".utf8).write(to: base.appendingPathComponent("outside.txt"))
            try fm.createSymbolicLink(atPath: web.appendingPathComponent("escape.txt").path, withDestinationPath: "../outside.txt")
            try fm.createSymbolicLink(atPath: web.appendingPathComponent("alias.html").path, withDestinationPath: "index.html")
        }
        deinit { try? FileManager.default.removeItem(at: base) }
    }

    @Test func servesEachFileByteForByteWithItsType() throws {
        let root = try Root()
        let files = StaticFiles(root: root.web.path)
        for (path, type) in [("index.html", "text/html; charset=utf-8"), ("js/app.js", "text/javascript; charset=utf-8"),
                             ("alias.html", "text/html; charset=utf-8")] {
            let r = files.response(for: path, method: "GET")
            #expect(r.status == .ok, "\(path)")
            let onDisk = try Data(contentsOf: root.web.appendingPathComponent(path))
            #expect(r.body == Array(onDisk), "\(path)")
            #expect(r.headers["Content-Type"] == type)
            #expect(r.headers["ETag"]?.hasPrefix("\"") == true)
            #expect(r.headers["Last-Modified"]?.hasSuffix(" GMT") == true)
        }
        let head = files.response(for: "index.html", method: "HEAD")
        #expect(head.status == .ok && head.body.isEmpty)
        // Served from memory: a change on disk after the start is not seen.
        try Data("changed".utf8).write(to: root.web.appendingPathComponent("index.html"))
        #expect(files.response(for: "index.html", method: "GET").body == Array("<h1>hello</h1>\n".utf8))
    }

    @Test func revalidationIs304() throws {
        let root = try Root()
        let files = StaticFiles(root: root.web.path)
        let first = files.response(for: "js/app.js", method: "GET")
        let etag = try #require(first.headers["ETag"])
        let lastModified = try #require(first.headers["Last-Modified"])
        for match in [etag, "W/" + etag, "\"other\", " + etag, "*"] {
            let r = files.response(for: "js/app.js", method: "GET", ifNoneMatch: match)
            #expect(r.status == .notModified, "\(match)")
            #expect(r.body.isEmpty)
            #expect(r.headers["ETag"] == etag)
        }
        #expect(files.response(for: "js/app.js", method: "GET", ifNoneMatch: "\"other\"").status == .ok)
        #expect(files.response(for: "js/app.js", method: "GET", ifModifiedSince: lastModified).status == .notModified)
        // If-None-Match wins over the date (RFC 9110 §13.2.2).
        #expect(files.response(for: "js/app.js", method: "GET", ifNoneMatch: "\"other\"", ifModifiedSince: lastModified).status == .ok)
        // Different files, different ETags.
        #expect(files.response(for: "index.html", method: "GET").headers["ETag"] != etag)
    }

    @Test func unknownHiddenAndOutsidePathsAre404() throws {
        let root = try Root()
        let files = StaticFiles(root: root.web.path)
        for path in ["missing.html", "js", "js/", "../outside.txt", "js/../index.html", "./index.html", ".env",
                     "escape.txt", "index.html\0", "js\\app.js", "", "/index.html", "//etc/passwd"] {
            let r = files.response(for: path, method: "GET")
            #expect(r.status == .notFound, "\(path) gave \(r.status)")
            #expect(!String(decoding: r.body, as: UTF8.self).contains("outside"))
            #expect(!String(decoding: r.body, as: UTF8.self).contains("secret"))
        }
        #expect(files.files.keys.sorted() == ["alias.html", "index.html", "js/app.js"])
    }

    @Test func aMissingRootServesNothing() {
        let files = StaticFiles(root: "/nonexistent/orderpush-web")
        #expect(files.files.isEmpty)
        #expect(files.response(for: "index.html", method: "GET").status == .notFound)
    }

    @Test func httpDatesAreIMFFixdates() {
        #expect(StaticFiles.httpDate(secondsSinceEpoch: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(StaticFiles.httpDate(secondsSinceEpoch: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
    }
}
