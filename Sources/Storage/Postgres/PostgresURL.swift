/// Where a PostgreSQL database is and who connects to it, parsed from
/// `postgresql://user[:password]@host[:port]/dbname[?option=value&...]`.
///
/// Parsed here rather than handed to libpq as is, so a bad URL is refused at start with a
/// message naming what is wrong, and the password never shows in logs (`redacted`).
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    public var password: String?
    /// A host name, an IPv4 address, or an IPv6 address (without brackets).
    public var host: String
    public var port: UInt16
    public var database: String
    /// Extra libpq connection options taken from the query string (only those in
    /// `allowedOptions`).
    public var options: [(String, String)]

    /// The query-string options passed through to libpq; anything else is refused, so a
    /// typo does not silently connect with other settings than intended.
    public static let allowedOptions: Set<String> = ["sslmode", "connect_timeout", "application_name", "sslrootcert"]
    public static let defaultPort: UInt16 = 5432

    public init(user: String, password: String?, host: String, port: UInt16 = PostgresURL.defaultPort,
                database: String, options: [(String, String)] = []) {
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.database = database
        self.options = options
    }

    public static func == (a: PostgresURL, b: PostgresURL) -> Bool {
        a.user == b.user && a.password == b.password && a.host == b.host && a.port == b.port
            && a.database == b.database && a.options.elementsEqual(b.options, by: { $0 == $1 })
    }

    /// Parses `text`.
    /// - Throws: `PostgresError` (kind `.invalidURL`) saying what is wrong; the message
    ///   never repeats the password.
    public init(parsing text: String) throws(PostgresError) {
        func bad(_ why: String) -> PostgresError {
            PostgresError(kind: .invalidURL, message: "invalid database URL: \(why) (expected postgresql://user[:password]@host[:port]/dbname)")
        }
        var rest = Substring(text)
        guard let colon = rest.firstIndex(of: ":"), rest[colon...].hasPrefix("://") else { throw bad("no scheme") }
        let scheme = rest[..<colon].lowercased()
        guard scheme == "postgresql" || scheme == "postgres" else {
            throw bad("scheme is \"\(scheme)\", not postgresql")
        }
        rest = rest[colon...].dropFirst(3)

        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        if rest.contains("#") { throw bad("a fragment (#) is not allowed; percent-encode # as %23") }
        guard let slash = rest.firstIndex(of: "/") else { throw bad("no database name") }
        let authority = rest[..<slash]
        let path = rest[rest.index(after: slash)...]

        // The last @ separates the credentials: a password may contain a raw @.
        guard let at = authority.lastIndex(of: "@") else { throw bad("no user (user@host)") }
        let credentials = authority[..<at]
        let hostPort = authority[authority.index(after: at)...]

        let rawUser: Substring, rawPassword: Substring?
        if let colon = credentials.firstIndex(of: ":") {
            rawUser = credentials[..<colon]
            rawPassword = credentials[credentials.index(after: colon)...]
        } else {
            rawUser = credentials
            rawPassword = nil
        }
        guard let user = Self.percentDecoded(rawUser) else { throw bad("bad percent-encoding in the user") }
        guard !user.isEmpty else { throw bad("empty user") }
        var password: String?
        if let rawPassword {
            guard let decoded = Self.percentDecoded(rawPassword) else { throw bad("bad percent-encoding in the password") }
            password = decoded
        }

        var host: Substring, portText: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw bad("unclosed [ in an IPv6 host") }
            host = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw bad("unexpected text after the IPv6 host") }
                portText = after.dropFirst()
            }
        } else {
            if let colon = hostPort.firstIndex(of: ":") {
                host = hostPort[..<colon]
                portText = hostPort[hostPort.index(after: colon)...]
            } else {
                host = hostPort
            }
            if host.contains(",") { throw bad("several hosts are not supported") }
        }
        guard !host.isEmpty else { throw bad("empty host") }
        guard host.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "/" }) else {
            throw bad("host \"\(host)\" is not a host name or address")
        }
        var port = Self.defaultPort
        if let portText {
            guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let value = UInt16(portText), value > 0 else {
                throw bad("port \"\(portText)\" is not a number from 1 to 65535")
            }
            port = value
        }

        guard let database = Self.percentDecoded(path) else { throw bad("bad percent-encoding in the database name") }
        guard !database.isEmpty else { throw bad("no database name") }
        guard !path.contains("/") else { throw bad("the path must be just /dbname") }

        var options: [(String, String)] = []
        if !query.isEmpty {
            for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
                guard let equals = pair.firstIndex(of: "=") else { throw bad("option \"\(pair)\" has no value") }
                guard let name = Self.percentDecoded(pair[..<equals]),
                      let value = Self.percentDecoded(pair[pair.index(after: equals)...]) else {
                    throw bad("bad percent-encoding in the options")
                }
                guard Self.allowedOptions.contains(name) else {
                    throw bad("unknown option \"\(name)\" (allowed: \(Self.allowedOptions.sorted().joined(separator: ", ")))")
                }
                options.append((name, value))
            }
        }
        self.init(user: user, password: password, host: String(host), port: port, database: database, options: options)
    }

    /// The URL with the password replaced by `***`, fit for logs.
    public var redacted: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        var text = "postgresql://\(Self.percentEncoded(user))\(password == nil ? "" : ":***")@\(hostPart):\(port)/\(Self.percentEncoded(database))"
        if !options.isEmpty {
            text += "?" + options.map { "\(Self.percentEncoded($0.0))=\(Self.percentEncoded($0.1))" }.joined(separator: "&")
        }
        return text
    }

    public var description: String { redacted }

    /// libpq keyword/value pairs for `PQconnectdbParams` (no string quoting involved).
    var connectionParameters: [(String, String)] {
        var parameters: [(String, String)] = [("host", host), ("port", String(port)), ("user", user), ("dbname", database)]
        if let password { parameters.append(("password", password)) }
        // UTF-8 both ways, whatever the server's default: the store reads and writes UTF-8.
        parameters.append(("client_encoding", "UTF8"))
        if !options.contains(where: { $0.0 == "application_name" }) { parameters.append(("application_name", "orderpush")) }
        if !options.contains(where: { $0.0 == "connect_timeout" }) { parameters.append(("connect_timeout", "10")) }
        return parameters + options
    }

    /// `%XX` decoded as UTF-8; `nil` for a malformed escape or invalid UTF-8.
    static func percentDecoded<S: StringProtocol>(_ text: S) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        func hexValue(_ byte: UInt8?) -> UInt8? {
            switch byte {
            case let b? where b >= 0x30 && b <= 0x39: return b - 0x30
            case let b? where b >= 0x41 && b <= 0x46: return b - 0x41 + 10
            case let b? where b >= 0x61 && b <= 0x66: return b - 0x61 + 10
            default: return nil
            }
        }
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = hexValue(iterator.next()), let low = hexValue(iterator.next()) else { return nil }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            let scalar = Unicode.Scalar(byte)
            if (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || "-._~".unicodeScalars.contains(scalar) {
                out.unicodeScalars.append(scalar)
            } else {
                let digits = Array("0123456789ABCDEF".unicodeScalars)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(digits[Int(byte >> 4)])
                out.unicodeScalars.append(digits[Int(byte & 0xF)])
            }
        }
        return out
    }
}
