import Foundation
import Synchronization
@testable import Storage

/// A throwaway PostgreSQL cluster for this test process: `initdb` into a temp folder, a
/// free loopback port, password (SCRAM) authentication with a generated password. Started
/// on first use and shared by every test of the process (each test takes a fresh database
/// with `createDatabase()`); stopped and deleted when the process exits.
///
/// PostgreSQL refuses to run as root, so when the tests run as root the server programs
/// run as the `postgres` user (`runuser`) in a folder it owns. The binaries come from
/// `pg_config --bindir` (Debian keeps them off PATH). Missing binaries make every
/// PostgreSQL test fail with the reason; `ORDERPUSH_SKIP_POSTGRES=1` skips them instead.
final class TestPostgres: Sendable {
    static let superuser = "orderpush"

    let bindir: String
    let folder: String
    let port: UInt16
    let password: String
    private let runAsPostgres: Bool
    /// Numbers the databases handed out.
    private let databaseCount = Atomic<Int>(0)

    static var isSkipped: Bool { ProcessInfo.processInfo.environment["ORDERPUSH_SKIP_POSTGRES"] == "1" }

    /// The cluster, started by the first caller; every later caller gets the same one, or
    /// the same error.
    static func shared() throws -> TestPostgres { try sharedCluster.get() }

    private static let sharedCluster: Result<TestPostgres, any Error> = Result {
        let cluster = try TestPostgres.start()
        running.withLock { $0 = cluster }
        // Swift Testing has no process-wide teardown; exit() runs this.
        atexit { TestPostgres.running.withLock { $0?.stop() } }
        return cluster
    }

    /// The started cluster, for the exit handler.
    private static let running = Mutex<TestPostgres?>(nil)

    private init(bindir: String, folder: String, port: UInt16, password: String, runAsPostgres: Bool) {
        self.bindir = bindir
        self.folder = folder
        self.port = port
        self.password = password
        self.runAsPostgres = runAsPostgres
    }

    /// The URL of `database` on this cluster, as the superuser.
    func url(database: String) -> PostgresURL {
        PostgresURL(user: Self.superuser, password: password, host: "127.0.0.1", port: port, database: database)
    }

    /// A new, empty database with its URL; no other test uses it.
    func createDatabase() throws -> PostgresURL {
        let name = "test_\(databaseCount.add(1, ordering: .relaxed).newValue)"
        let admin = try PostgresConnection(url: url(database: "postgres"))
        try admin.executeScript("CREATE DATABASE \(name)")
        return url(database: name)
    }

    // MARK: - Start and stop

    private static func start() throws -> TestPostgres {
        let bindir = try findBindir()
        let runAsPostgres = getuid() == 0
        var owner: passwd?
        if runAsPostgres {
            guard let entry = getpwnam("postgres") else {
                throw TestPostgresError("running as root, and there is no `postgres` user to run PostgreSQL as (apt install postgresql creates it)")
            }
            owner = entry.pointee
        }
        removeStaleClusters()

        var template = Array("/tmp/orderpush-pg-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TestPostgresError("mkdtemp failed: \(String(cString: strerror(errno)))")
        }
        let folder = String(cString: made)
        do {
            let password = randomHex(24)
            try (password + "\n").write(toFile: folder + "/pwfile", atomically: false, encoding: .utf8)
            try String(getpid()).write(toFile: folder + "/owner.pid", atomically: false, encoding: .utf8)
            chmod(folder + "/pwfile", 0o600)
            if let owner {
                for path in [folder, folder + "/pwfile", folder + "/owner.pid"] { chown(path, owner.pw_uid, owner.pw_gid) }
            }
            let runner = CommandRunner(bindir: bindir, runAsPostgres: runAsPostgres, folder: folder)
            try runner.run("initdb", ["-D", folder + "/data", "-U", superuser, "--pwfile", folder + "/pwfile",
                                      "-A", "scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"])
            // A free port can be taken between the probe and the start: try a few.
            var lastError: (any Error)?
            for _ in 0..<3 {
                let port = try freeLoopbackPort()
                do {
                    try runner.run("pg_ctl", ["-D", folder + "/data", "-l", folder + "/server.log", "-w", "-t", "60",
                                              "-o", "-p \(port) -k \(folder) -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=32MB",
                                              "start"])
                    return TestPostgres(bindir: bindir, folder: folder, port: port, password: password,
                                        runAsPostgres: runAsPostgres)
                } catch {
                    lastError = error
                }
            }
            throw lastError!
        } catch {
            try? FileManager.default.removeItem(atPath: folder)
            throw error
        }
    }

    /// Stops the server (`fast`: open connections are closed) and deletes the folder.
    func stop() {
        let runner = CommandRunner(bindir: bindir, runAsPostgres: runAsPostgres, folder: folder)
        try? runner.run("pg_ctl", ["-D", folder + "/data", "-m", "fast", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Clusters left by test processes that were killed before their exit handler ran.
    private static func removeStaleClusters() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/tmp") else { return }
        for name in names where name.hasPrefix("orderpush-pg-") {
            let folder = "/tmp/" + name
            guard let text = try? String(contentsOfFile: folder + "/owner.pid", encoding: .utf8),
                  let pid = Int32(text), kill(pid, 0) != 0, errno == ESRCH else { continue }
            if let bindir = try? findBindir() {
                let runner = CommandRunner(bindir: bindir, runAsPostgres: getuid() == 0, folder: folder)
                try? runner.run("pg_ctl", ["-D", folder + "/data", "-m", "immediate", "-w", "stop"])
            }
            try? FileManager.default.removeItem(atPath: folder)
        }
    }

    private static func findBindir() throws -> String {
        let skipHint = "install PostgreSQL (apt install postgresql libpq-dev), or set ORDERPUSH_SKIP_POSTGRES=1 to skip the PostgreSQL tests"
        let searchPath = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        guard let pgConfig = (searchPath + ["/usr/bin"]).map({ $0 + "/pg_config" })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw TestPostgresError("PostgreSQL test server not available: no pg_config on PATH; \(skipHint)")
        }
        let output = try CommandRunner.capture(pgConfig, ["--bindir"])
        let bindir = output.trimmingCharacters(in: .whitespacesAndNewlines)
        for program in ["initdb", "pg_ctl", "postgres"] where !FileManager.default.isExecutableFile(atPath: bindir + "/" + program) {
            throw TestPostgresError("PostgreSQL test server not available: no \(program) in \(bindir) (pg_config --bindir); \(skipHint)")
        }
        return bindir
    }

    private static func freeLoopbackPort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestPostgresError("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        guard bound else { throw TestPostgresError("cannot bind a loopback port: \(String(cString: strerror(errno)))") }
        return UInt16(bigEndian: address.sin_port)
    }

    private static func randomHex(_ bytes: Int) -> String {
        (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }
}

struct TestPostgresError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs the PostgreSQL server programs, as `postgres` when the tests run as root.
private struct CommandRunner {
    let bindir: String
    let runAsPostgres: Bool
    let folder: String

    func run(_ program: String, _ arguments: [String]) throws {
        let path = bindir + "/" + program
        let (executable, fullArguments) = runAsPostgres
            ? ("/usr/sbin/runuser", ["-u", "postgres", "--", path] + arguments)
            : (path, arguments)
        let output = try Self.capture(executable, fullArguments, currentDirectory: folder, requireSuccess: false)
        if output.status != 0 {
            var message = "\(program) \(arguments.joined(separator: " ")) exited with \(output.status): \(output.text)"
            if let log = try? String(contentsOfFile: folder + "/server.log", encoding: .utf8) {
                message += "\nserver.log:\n" + log.split(separator: "\n").suffix(15).joined(separator: "\n")
            }
            throw TestPostgresError(message)
        }
    }

    static func capture(_ executable: String, _ arguments: [String]) throws -> String {
        let output = try capture(executable, arguments, currentDirectory: "/", requireSuccess: true)
        return output.text
    }

    /// Runs to completion with stdout and stderr in a file, not a pipe: `pg_ctl start`
    /// leaves a server running that inherits the output, and a pipe would never reach EOF.
    /// posix_spawn + waitpid rather than Foundation's `Process`, which decides that a child
    /// has exited from a descriptor the child inherits, and so waits for the daemonised
    /// server as well. `env -C` sets the working directory (the server's user may not be
    /// able to enter ours).
    private static func capture(_ executable: String, _ arguments: [String], currentDirectory: String,
                                requireSuccess: Bool) throws -> (status: Int32, text: String) {
        let outputPath = NSTemporaryDirectory() + "orderpush-pgcmd-\(UUID().uuidString).out"
        defer { unlink(outputPath) }
        let argv = ["/usr/bin/env", "-C", currentDirectory, executable] + arguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArguments, environ)
        guard spawned == 0 else {
            throw TestPostgresError("cannot run \(executable): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw TestPostgresError("waitpid failed: \(String(cString: strerror(errno)))") }
        }
        // WIFEXITED / WEXITSTATUS are macros: exit code in bits 8-15, or a signal in 0-6.
        let exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        if requireSuccess && exitCode != 0 {
            throw TestPostgresError("\(executable) \(arguments.joined(separator: " ")) exited with \(exitCode): \(text)")
        }
        return (exitCode, text)
    }
}
