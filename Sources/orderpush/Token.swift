import ArgumentParser
import Auth
import Glibc
import OrderPushServer

struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a JWT signed with the server's secret.")

    @Option(help: "The subject (user id).") var sub: String
    @Option(help: "admin, user or service.") var role: String
    @Option(help: "Lifetime in seconds (default 86400).") var ttl: Int64 = 86_400
    @Option(name: .customLong("jwt-secret-file"), help: "HMAC key file (default: data/jwt-secret, as the server uses).") var jwtSecretFile: String?
    @Option(help: "Database file, to find the default secret next to it (default data/orderpush.sqlite).") var db: String?

    func run() throws {
        guard let role = Role(rawValue: role) else { throw ValidationError("--role must be admin, user or service") }
        guard !sub.isEmpty else { throw ValidationError("--sub must not be empty") }
        guard ttl > 0 else { throw ValidationError("--ttl must be positive") }
        var config = ServerConfig()
        config.databasePath = db ?? Environment.value(for: "db") ?? config.databasePath
        config.jwtSecretPath = jwtSecretFile ?? Environment.value(for: "jwt-secret-file")
        let key = try SecretFile.loadOrCreate(path: config.resolvedSecretPath).key
        let now = Int64(time(nil))
        print(JWTSigner(secret: key).sign(sub: sub, role: role, expiresAt: now + ttl, issuedAt: now))
    }
}
