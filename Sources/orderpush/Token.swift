import ArgumentParser
import Auth
import Glibc
import OrderPushServer

struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a JWT signed with the server's secret (or its primary key, with its kid).")

    @Option(help: "The subject (user id).") var sub: String
    @Option(help: "admin, user or service.") var role: String
    @Option(help: "Lifetime in seconds (default 86400).") var ttl: Int64 = 86_400
    @Option(name: .customLong("jwt-secret-file"), help: "HMAC key file (default: data/jwt-secret, as the server uses).") var jwtSecretFile: String?
    @Option(name: .customLong("jwt-keys"), help: "Key folder, as the server's --jwt-keys: signs with the primary key and puts its kid in the header.") var jwtKeys: String?
    @Option(name: .customLong("jwt-primary"), help: "The kid of the primary key in --jwt-keys (needed when it holds several).") var jwtPrimary: String?
    @Option(help: "Database file, to find the default secret next to it (default data/orderpush.sqlite).") var db: String?

    func run() throws {
        guard let role = Role(rawValue: role) else { throw ValidationError("--role must be admin, user or service") }
        guard !sub.isEmpty else { throw ValidationError("--sub must not be empty") }
        guard ttl > 0 else { throw ValidationError("--ttl must be positive") }
        var config = ServerConfig()
        config.databasePath = db ?? Environment.value(for: "db") ?? config.databasePath
        config.jwtSecretPath = jwtSecretFile ?? Environment.value(for: "jwt-secret-file")
        config.jwtKeysDirectory = jwtKeys ?? Environment.value(for: "jwt-keys")
        config.jwtPrimaryKeyID = jwtPrimary ?? Environment.value(for: "jwt-primary")
        guard config.jwtKeysDirectory == nil || config.jwtSecretPath == nil else {
            throw ValidationError("--jwt-keys and --jwt-secret-file are alternatives: give one")
        }
        let keys = try config.jwtKeySource.loadAtStart().keys
        let now = Int64(time(nil))
        print(keys.signer.sign(sub: sub, role: role, expiresAt: now + ttl, issuedAt: now))
    }
}
