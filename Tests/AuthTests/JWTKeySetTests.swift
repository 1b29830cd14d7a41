import Testing
import Foundation
@testable import Auth

private let now: Int64 = 1_700_000_000
private let oldKey = Array("key-2026-06-0123456789abcdef0123456789".utf8)
private let newKey = Array("key-2026-12-0123456789abcdef0123456789".utf8)

private func sign(_ key: [UInt8], kid: String?, sub: String = "u42") -> String {
    JWTSigner(secret: key, keyID: kid).sign(sub: sub, role: .user, expiresAt: now + 3600, issuedAt: now)
}

private func refusal(_ token: String, _ keys: JWTKeySet) -> JWTError? {
    do {
        _ = try JWTVerifier(keys: keys).verify(token, now: now)
        return nil
    } catch {
        return error
    }
}

private func loadError(_ body: () throws(JWTKeySetError) -> JWTKeySet) -> JWTKeySetError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

@Suite("JWT key sets: kid, primary, key folders, reload")
struct JWTKeySetTests {
    // MARK: kid selection

    @Test("a token is checked with the key its kid names, a token without kid with the primary")
    func kidSelectsTheKey() throws {
        let keys = try JWTKeySet(keys: ["2026-06": oldKey, "2026-12": newKey], primary: "2026-12")
        let verifier = JWTVerifier(keys: keys)
        #expect(try verifier.verify(sign(oldKey, kid: "2026-06"), now: now).sub == "u42")
        #expect(try verifier.verify(sign(newKey, kid: "2026-12"), now: now).sub == "u42")
        #expect(try verifier.verify(sign(newKey, kid: nil), now: now).sub == "u42")
        // Without kid only the primary counts, not any key that happens to match.
        #expect(refusal(sign(oldKey, kid: nil), keys) == .badSignature)
        // A kid naming the wrong key for the signature: refused, not tried against the others.
        #expect(refusal(sign(oldKey, kid: "2026-12"), keys) == .badSignature)
    }

    @Test("an unknown kid is refused, and so is a non-string kid")
    func unknownKid() throws {
        let keys = try JWTKeySet(keys: ["2026-12": newKey], primary: nil)
        #expect(refusal(sign(newKey, kid: "2026-06"), keys) == .unknownKeyID)
        #expect(refusal(sign(oldKey, kid: "nope"), keys) == .unknownKeyID)
        #expect(!JWTError.unknownKeyID.message.contains("nope"))
        let numericKid = TokenForging.token(header: #"{"alg":"HS256","kid":7}"#,
                                            payload: #"{"sub":"u","role":"user","exp":1700003600}"#, key: newKey)
        #expect(refusal(numericKid, keys) == .malformed(#"header "kid" is not a string"#))
    }

    @Test("a single secret checks every token against its key and ignores kid, as before key ids")
    func singleSecret() {
        let keys = JWTKeySet(singleSecret: oldKey)
        #expect(keys.primaryID == nil)
        #expect(refusal(sign(oldKey, kid: nil), keys) == nil)
        #expect(refusal(sign(oldKey, kid: "anything"), keys) == nil)
        #expect(refusal(sign(newKey, kid: "anything"), keys) == .badSignature)
        // The single-secret signer writes the same header as before keys had ids.
        #expect(sign(oldKey, kid: nil).hasPrefix("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."))
        #expect(keys.signer.sign(sub: "u42", role: .user, expiresAt: now + 3600, issuedAt: now) == sign(oldKey, kid: nil))
    }

    @Test("the signer's kid header matches a token made by an independent implementation (Python hmac)")
    func independentVectorWithKid() throws {
        let expected = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IjIwMjYtMTIifQ."
            + "eyJzdWIiOiJ1NDIiLCJyb2xlIjoidXNlciIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAzNjAwfQ."
            + "tSPoqCIBQwWDnIlSHh_ELntneSYurwuGBAHxlH4AFpk"
        #expect(sign(newKey, kid: "2026-12") == expected)
        let keys = try JWTKeySet(keys: ["2026-12": newKey], primary: nil)
        #expect(keys.signer.sign(sub: "u42", role: .user, expiresAt: now + 3600, issuedAt: now) == expected)
    }

    // MARK: primary rules

    @Test("primary: the named one; the only one; else the previous one on reload; else an error")
    func primaryRules() throws {
        #expect(try JWTKeySet(keys: ["a": oldKey, "b": newKey], primary: "a").primaryID == "a")
        #expect(try JWTKeySet(keys: ["b": newKey], primary: nil).primaryID == "b")
        #expect(try JWTKeySet(keys: ["a": oldKey, "b": newKey], primary: nil, previousPrimary: "a").primaryID == "a")
        #expect(loadError { () throws(JWTKeySetError) in try JWTKeySet(keys: ["a": oldKey, "b": newKey], primary: nil, source: "d") }
                == .ambiguousPrimary(directory: "d", kids: ["a", "b"]))
        #expect(loadError { () throws(JWTKeySetError) in try JWTKeySet(keys: ["a": oldKey, "b": newKey], primary: nil, previousPrimary: "gone", source: "d") }
                == .ambiguousPrimary(directory: "d", kids: ["a", "b"]))
        #expect(loadError { () throws(JWTKeySetError) in try JWTKeySet(keys: ["a": oldKey], primary: "b", source: "d") }
                == .primaryNotFound(kid: "b", directory: "d"))
        #expect(loadError { () throws(JWTKeySetError) in try JWTKeySet(keys: [:], primary: nil, source: "d") } == .noKeys(directory: "d"))
        // The named primary wins over the previous one.
        #expect(try JWTKeySet(keys: ["a": oldKey, "b": newKey], primary: "b", previousPrimary: "a").primaryID == "b")
    }

    // MARK: key folders

    @Test("a key folder: one key per regular file, the file name its kid, one trailing newline stripped")
    func loadsAFolder() throws {
        let dir = try TemporaryDirectory()
        _ = dir.file("2026-06", contents: oldKey + [0x0A])
        _ = dir.file("2026-12", contents: newKey)
        _ = dir.file(".2026-12.swp", contents: [1, 2, 3])          // hidden: skipped
        try FileManager.default.createDirectory(atPath: dir.path + "/archive", withIntermediateDirectories: false)
        let keys = try JWTKeySet.load(directory: dir.path, primary: "2026-12")
        #expect(keys.keysByID == ["2026-06": oldKey, "2026-12": newKey])
        #expect(keys.primaryID == "2026-12")
        #expect(keys.summary == "2 keys (2026-06, 2026-12), primary 2026-12")
        #expect(!keys.summary.contains(String(decoding: newKey, as: UTF8.self)))
    }

    @Test("a key folder follows symbolic links (mounted secrets)")
    func followsSymlinks() throws {
        let dir = try TemporaryDirectory()
        let target = try TemporaryDirectory()
        let real = target.file("k", contents: newKey)
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/live", withDestinationPath: real)
        #expect(try JWTKeySet.load(directory: dir.path, primary: nil).keysByID == ["live": newKey])
    }

    @Test("folder errors name the file and the reason; nothing is half-loaded")
    func folderErrors() throws {
        #expect(loadError { () throws(JWTKeySetError) in try JWTKeySet.load(directory: "/nonexistent/keys", primary: nil) }
                == .unreadableDirectory(directory: "/nonexistent/keys", reason: "No such file or directory"))
        let empty = try TemporaryDirectory()
        #expect(loadError { () throws(JWTKeySetError) in try JWTKeySet.load(directory: empty.path, primary: nil) } == .noKeys(directory: empty.path))

        let dir = try TemporaryDirectory()
        _ = dir.file("good", contents: newKey)
        let blank = dir.file("blank", contents: [0x0A])
        guard case .badKeyFile(let path, let reason)? = loadError({ () throws(JWTKeySetError) in try JWTKeySet.load(directory: dir.path, primary: "good") }) else {
            Issue.record("an empty key file must be an error")
            return
        }
        #expect(path == blank)
        #expect(reason.contains("empty"))

        let badName = try TemporaryDirectory()
        _ = badName.file("has space", contents: newKey)
        guard case .badKeyFile(_, let why)? = loadError({ () throws(JWTKeySetError) in try JWTKeySet.load(directory: badName.path, primary: nil) }) else {
            Issue.record("a file name that cannot be a kid must be an error")
            return
        }
        #expect(why.contains("key id"))
    }

    @Test("kid syntax", arguments: [("2026-12", true), ("k_1.v2", true), ("", false), (".hidden", false),
                                     ("a/b", false), ("é", false), (String(repeating: "k", count: 64), true),
                                     (String(repeating: "k", count: 65), false)])
    func keyIDSyntax(kid: String, valid: Bool) {
        #expect(JWTKeySet.isValidKeyID(kid) == valid)
    }

    // MARK: reload

    @Test("reload: a rotated set replaces the old one; a bad file keeps the old set")
    func reloadKeepsOldOnError() throws {
        let dir = try TemporaryDirectory()
        _ = dir.file("2026-06", contents: oldKey)
        let source = JWTKeySource.directory(path: dir.path, primary: nil)
        let first = try source.loadAtStart().keys
        #expect(first.primaryID == "2026-06")

        // Rotation step 1: add the new key; with no --jwt-primary the previous primary stays.
        _ = dir.file("2026-12", contents: newKey)
        let both = try source.reload(previous: first)
        #expect(both.keysByID.count == 2)
        #expect(both.primaryID == "2026-06")

        // A bad file: the reload throws, so the caller keeps `both`.
        let broken = dir.file("broken", contents: [])
        #expect(throws: JWTKeySetError.self) { _ = try source.reload(previous: both) }
        try FileManager.default.removeItem(atPath: broken)

        // Step 2: the old key goes; the sole remaining key becomes the primary.
        try FileManager.default.removeItem(atPath: dir.path + "/2026-06")
        let rotated = try source.reload(previous: both)
        #expect(rotated.keysByID == ["2026-12": newKey])
        #expect(rotated.primaryID == "2026-12")
        #expect(refusal(sign(oldKey, kid: "2026-06"), rotated) == .unknownKeyID)
        #expect(refusal(sign(newKey, kid: "2026-12"), rotated) == nil)
    }

    @Test("reload of a single secret: re-read, never re-created")
    func reloadSecretFile() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/jwt-secret"
        let source = JWTKeySource.secretFile(path: path)
        let (keys, created) = try source.loadAtStart()
        #expect(created)
        try FileManager.default.removeItem(atPath: path)
        #expect(throws: SecretFileError.self) { _ = try source.reload(previous: keys) }
        #expect(!FileManager.default.fileExists(atPath: path))
        _ = dir.file("jwt-secret", contents: newKey + [0x0A])
        #expect(try source.reload(previous: keys) == JWTKeySet(singleSecret: newKey))
    }
}
