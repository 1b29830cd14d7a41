#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The HMAC keys tokens may be signed with, each under a key id (`kid`), and the primary
/// one: the key `orderpush token` signs with and the key a token without `kid` is checked
/// against (docs/PROTOCOL.md §1, "Signing keys").
///
/// Immutable and `Sendable`: a reload builds a new set and hands it to every loop.
public struct JWTKeySet: Sendable, Equatable {
    /// kid -> key. Empty for a single secret (`--jwt-secret-file`), whose tokens carry no kid.
    public let keysByID: [String: [UInt8]]
    /// The primary key's id; nil for a single secret.
    public let primaryID: String?
    /// The primary key.
    public let primaryKey: [UInt8]

    /// Key ids are file names: 1...64 of `A-Z a-z 0-9 . _ -`, not starting with `.`.
    public static let maxKeyIDLength = 64

    /// One secret, no key ids: `--jwt-secret-file` (and the generated secret). Every token
    /// is checked against it and a `kid` in the header is ignored, exactly as before keys
    /// had ids, so setups whose JWT library adds a `kid` keep working.
    public init(singleSecret: [UInt8]) {
        precondition(!singleSecret.isEmpty, "BUG DETECTED: empty JWT secret")
        keysByID = [:]
        primaryID = nil
        primaryKey = singleSecret
    }

    /// Several keys by id, with the primary chosen by `primaryRule`.
    /// - Throws: `JWTKeySetError.noKeys`, `.primaryNotFound`, `.ambiguousPrimary`.
    public init(keys: [String: [UInt8]], primary: String?, previousPrimary: String? = nil,
                source: String = "the key set") throws(JWTKeySetError) {
        guard !keys.isEmpty else { throw .noKeys(directory: source) }
        precondition(keys.values.allSatisfy { !$0.isEmpty }, "BUG DETECTED: empty JWT key")
        let chosen: String
        if let primary {
            guard keys[primary] != nil else { throw .primaryNotFound(kid: primary, directory: source) }
            chosen = primary
        } else if keys.count == 1 {
            chosen = keys.keys.first!
        } else if let previousPrimary, keys[previousPrimary] != nil {
            // A reload that added a key: the primary stays what it was (rotation step 1).
            chosen = previousPrimary
        } else {
            throw .ambiguousPrimary(directory: source, kids: keys.keys.sorted())
        }
        keysByID = keys
        primaryID = chosen
        primaryKey = keys[chosen]!
    }

    /// The key a token's header names, or the primary when it names none (or when this is
    /// a single secret, which has no ids).
    /// - Returns: nil for a `kid` this set has no key for.
    public func key(forKeyID kid: String?) -> [UInt8]? {
        guard let kid, primaryID != nil else { return primaryKey }
        return keysByID[kid]
    }

    /// Signs with the primary key, putting its `kid` (if any) in the header.
    public var signer: JWTSigner { JWTSigner(secret: primaryKey, keyID: primaryID) }

    /// For logs: `3 keys (k1, k2, k3), primary k3`, or `one secret (no kid)`. Never a key.
    public var summary: String {
        guard let primaryID else { return "one secret (no kid)" }
        let ids = keysByID.keys.sorted().joined(separator: ", ")
        return "\(keysByID.count) key\(keysByID.count == 1 ? "" : "s") (\(ids)), primary \(primaryID)"
    }

    public static func isValidKeyID(_ kid: String) -> Bool {
        let bytes = Array(kid.utf8)
        guard (1...maxKeyIDLength).contains(bytes.count), bytes[0] != UInt8(ascii: ".") else { return false }
        return bytes.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
        }
    }

    /// Reads a key directory: every regular file (symbolic links followed) is one key, its
    /// file name the kid, its bytes with one trailing line ending removed the key (as
    /// `SecretFile.load`). Names starting with `.` are skipped (editor and atomic-write
    /// leftovers, Kubernetes' `..data`); anything else that is not a regular file
    /// (a sub-folder) is skipped too.
    /// - Parameters:
    ///   - primary: `--jwt-primary`; nil lets a sole key, or else `previousPrimary`, be it.
    ///   - previousPrimary: the primary of the set this one replaces (SIGHUP), if any.
    /// - Throws: `JWTKeySetError`, naming the file and the reason; nothing is half-loaded.
    public static func load(directory: String, primary: String?, previousPrimary: String? = nil) throws(JWTKeySetError) -> JWTKeySet {
        guard let dir = opendir(directory) else {
            throw .unreadableDirectory(directory: directory, reason: String(cString: strerror(errno)))
        }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if !name.hasPrefix(".") { names.append(name) }
        }
        closedir(dir)

        var keys: [String: [UInt8]] = [:]
        for name in names.sorted() {
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            var info = stat()
            guard stat(path, &info) == 0 else {
                throw .badKeyFile(path: path, reason: String(cString: strerror(errno)))
            }
            guard info.st_mode & S_IFMT == S_IFREG else { continue }
            guard isValidKeyID(name) else {
                throw .badKeyFile(path: path, reason: "the file name is the key id and must be 1-\(maxKeyIDLength) of A-Z a-z 0-9 . _ -")
            }
            do {
                keys[name] = try SecretFile.load(path: path)
            } catch let error as SecretFileError {
                throw .badKeyFile(path: path, reason: error.description)
            } catch {
                throw .badKeyFile(path: path, reason: "\(error)")
            }
        }
        return try JWTKeySet(keys: keys, primary: primary, previousPrimary: previousPrimary, source: directory)
    }
}

/// Why a key set could not be loaded. Names files and key ids, never a key.
public enum JWTKeySetError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadableDirectory(directory: String, reason: String)
    case badKeyFile(path: String, reason: String)
    case noKeys(directory: String)
    case primaryNotFound(kid: String, directory: String)
    case ambiguousPrimary(directory: String, kids: [String])

    public var description: String {
        switch self {
        case .unreadableDirectory(let dir, let reason): return "cannot read the JWT key folder \(dir): \(reason)"
        case .badKeyFile(let path, let reason): return "bad JWT key file \(path): \(reason)"
        case .noKeys(let dir): return "the JWT key folder \(dir) holds no key file"
        case .primaryNotFound(let kid, let dir): return "the primary JWT key \"\(kid)\" (--jwt-primary) is not in \(dir)"
        case .ambiguousPrimary(let dir, let kids):
            return "the JWT key folder \(dir) holds several keys (\(kids.joined(separator: ", "))): name the primary with --jwt-primary"
        }
    }
}

/// Where the server's signing keys come from, so SIGHUP can read them again.
public enum JWTKeySource: Sendable, Equatable {
    /// `--jwt-secret-file` or the generated `jwt-secret`: one key, no kid.
    case secretFile(path: String)
    /// `--jwt-keys DIR` with the optional `--jwt-primary KID`.
    case directory(path: String, primary: String?)

    /// Loads the keys at start-up; a missing secret file is generated (`SecretFile.loadOrCreate`).
    /// - Returns: the set, and whether a secret file was created.
    public func loadAtStart() throws -> (keys: JWTKeySet, createdSecret: Bool) {
        switch self {
        case .secretFile(let path):
            let loaded = try SecretFile.loadOrCreate(path: path)
            return (JWTKeySet(singleSecret: loaded.key), loaded.created)
        case .directory(let path, let primary):
            return (try JWTKeySet.load(directory: path, primary: primary), false)
        }
    }

    /// Reads the keys again (SIGHUP). Nothing is created: a missing file is an error, and
    /// the caller keeps `previous`.
    public func reload(previous: JWTKeySet) throws -> JWTKeySet {
        switch self {
        case .secretFile(let path):
            return JWTKeySet(singleSecret: try SecretFile.load(path: path))
        case .directory(let path, let primary):
            return try JWTKeySet.load(directory: path, primary: primary, previousPrimary: previous.primaryID)
        }
    }
}
