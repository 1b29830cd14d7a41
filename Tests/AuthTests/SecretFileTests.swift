import Testing
import Foundation
@testable import Auth

/// A fresh directory under the system temp dir, removed when the test ends.
final class TemporaryDirectory {
    let path: String
    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("orderpush-auth-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String, contents: [UInt8]) -> String {
        let file = path + "/" + name
        let created = FileManager.default.createFile(atPath: file, contents: Data(contents))
        precondition(created, "could not create test file \(file)")
        return file
    }
}

private func permissions(_ path: String) -> Int? {
    (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
}

@Suite("JWT secret file")
struct SecretFileTests {
    @Test("creates a 0600 file with 64 hex characters, parents included, then loads the same key")
    func createsThenLoads() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/data/nested/jwt-secret"
        let (key, created) = try SecretFile.loadOrCreate(path: path)
        #expect(created)
        #expect(key.count == 64)
        #expect(key.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) })
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: path))) == key + [UInt8(ascii: "\n")])

        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(info.st_mode & S_IFMT == S_IFREG)
        #expect(permissions(dir.path + "/data") == 0o700)
        #expect(permissions(dir.path + "/data/nested") == 0o700)

        let (again, createdAgain) = try SecretFile.loadOrCreate(path: path)
        #expect(!createdAgain)
        #expect(again == key)
        #expect(try SecretFile.load(path: path) == key)
    }

    @Test("two created secrets differ")
    func randomness() throws {
        let dir = try TemporaryDirectory()
        let a = try SecretFile.loadOrCreate(path: dir.path + "/a").key
        let b = try SecretFile.loadOrCreate(path: dir.path + "/b").key
        #expect(a != b)
    }

    @Test("an existing file is loaded, not replaced, and keeps its mode")
    func existingFileIsLoaded() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("mine", contents: Array("operator-chosen\n".utf8))
        let before = permissions(path)
        let (key, created) = try SecretFile.loadOrCreate(path: path)
        #expect(!created)
        #expect(key == Array("operator-chosen".utf8))
        #expect(permissions(path) == before)
    }

    @Test("exactly one trailing line ending is stripped", arguments: [
        ("abc", "abc"), ("abc\n", "abc"), ("abc\r\n", "abc"), ("abc\n\n", "abc\n"), ("abc\r", "abc\r"),
        ("\nabc", "\nabc"), (" abc \n", " abc "), ("a\r\r\n", "a\r"),
    ])
    func trailingNewline(contents: String, key: String) throws {
        let dir = try TemporaryDirectory()
        #expect(try SecretFile.load(path: dir.file("s", contents: Array(contents.utf8))) == Array(key.utf8))
    }

    @Test("binary keys are kept byte for byte")
    func binaryKey() throws {
        let dir = try TemporaryDirectory()
        let bytes: [UInt8] = [0, 0xFF, 0x0A, 0x0D, 0x80]
        #expect(try SecretFile.load(path: dir.file("bin", contents: bytes + [0x0A])) == bytes)
    }

    @Test("empty files are refused", arguments: ["", "\n", "\r\n"])
    func emptyFile(contents: String) throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("empty", contents: Array(contents.utf8))
        #expect(throws: SecretFileError.empty(path: path)) { try SecretFile.load(path: path) }
        #expect(throws: SecretFileError.empty(path: path)) { try SecretFile.loadOrCreate(path: path) }
        #expect(SecretFileError.empty(path: path).description == "JWT secret file \(path) is empty")
    }

    @Test("a missing file cannot be loaded")
    func missingFile() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/absent"
        #expect(throws: SecretFileError.unreadable(path: path, reason: "No such file or directory")) {
            try SecretFile.load(path: path)
        }
    }

    @Test("a directory or device is not a secret file")
    func notRegular() throws {
        let dir = try TemporaryDirectory()
        #expect(throws: SecretFileError.notRegularFile(path: dir.path)) { try SecretFile.load(path: dir.path) }
        #expect(throws: SecretFileError.notRegularFile(path: dir.path)) { try SecretFile.loadOrCreate(path: dir.path) }
        #expect(throws: SecretFileError.notRegularFile(path: "/dev/zero")) { try SecretFile.load(path: "/dev/zero") }
    }

    @Test("files over the size limit are refused")
    func tooLarge() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("big", contents: [UInt8](repeating: 0x41, count: SecretFile.maxSize + 1))
        #expect(throws: SecretFileError.tooLarge(path: path)) { try SecretFile.load(path: path) }
        let fits = dir.file("fits", contents: [UInt8](repeating: 0x41, count: SecretFile.maxSize))
        #expect(try SecretFile.load(path: fits).count == SecretFile.maxSize)
    }

    @Test("a path through a regular file is refused as unreadable")
    func parentIsAFile() throws {
        let dir = try TemporaryDirectory()
        let blocker = dir.file("blocker", contents: [1])
        let path = blocker + "/sub/secret"
        #expect(throws: SecretFileError.unreadable(path: path, reason: "Not a directory")) {
            try SecretFile.loadOrCreate(path: path)
        }
    }

    @Test("creation fails clearly where nothing can be created", arguments: [
        "/proc/orderpush-no-such-dir/secret",  // mkdir of the parent fails
        "/proc/orderpush-secret",               // open(O_CREAT) fails (procfs refuses, even for root)
    ])
    func cannotCreate(path: String) throws {
        do {
            _ = try SecretFile.loadOrCreate(path: path)
            Issue.record("created \(path)")
        } catch let error as SecretFileError {
            guard case .cannotCreate(let reported, let reason) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(reported == path)
            #expect(!reason.isEmpty)
            #expect(error.description.hasPrefix("cannot create JWT secret file \(path): "))
        }
    }

    @Test("a dangling symlink is not followed when creating")
    func danglingSymlink() throws {
        let dir = try TemporaryDirectory()
        let target = dir.path + "/target"
        let link = dir.path + "/link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        #expect(throws: SecretFileError.self) { try SecretFile.loadOrCreate(path: link) }
        #expect(!FileManager.default.fileExists(atPath: target))
    }

    @Test("relative paths work")
    func relativePath() throws {
        let dir = try TemporaryDirectory()
        // A path relative to the working directory (not changed: tests run in parallel).
        let cwdDepth = FileManager.default.currentDirectoryPath.split(separator: "/").count
        let relative = String(repeating: "../", count: cwdDepth) + dir.path.dropFirst() + "/rel/secret"
        let result = try SecretFile.loadOrCreate(path: relative)
        #expect(result.created)
        #expect(try SecretFile.load(path: dir.path + "/rel/secret") == result.key)
    }
}
