import Foundation

/// A throwaway PostgreSQL server for tests: `initdb` into a fresh folder under /tmp, a free
/// loopback port, password (SCRAM) authentication with a generated password. `stop()` and
/// `start()` (same port, same data) simulate an outage; `remove()` stops it for good and
/// deletes the folder. Shared by StorageTests (one cluster per test process, a database per
/// test) and IntegrationTests (a cluster per test, stopped and restarted under load).
///
/// PostgreSQL refuses to run as root, so when the tests run as root the server programs run
/// as the `postgres` user (`runuser`) in a folder it owns. The binaries come from
/// `pg_config --bindir` (Debian keeps them off PATH). Missing binaries are an error with the
/// reason; `ORDERPUSH_SKIP_POSTGRES=1` is how a test run skips PostgreSQL instead.
public final class ThrowawayPostgres: Sendable {
    public static let superuser = "orderpush"

    public let folder: String
    /// Where PostgreSQL's programs are (`pg_config --bindir`): `psql` for tests that need a
    /// client session of their own.
    public let bindir: String
    public let port: UInt16
    public let password: String
    private let runner: PostgresCommandRunner

    public static var isSkipped: Bool { ProcessInfo.processInfo.environment["ORDERPUSH_SKIP_POSTGRES"] == "1" }

    /// The URL of `database` as the superuser.
    public func url(database: String = "postgres") -> String {
        "postgresql://\(Self.superuser):\(password)@127.0.0.1:\(port)/\(database)"
    }

    /// - Parameter folderPrefix: the folder is `/tmp/<prefix>XXXXXX`; folders with this prefix
    ///   left by test processes that no longer run are removed first (killed before cleanup).
    public init(folderPrefix: String) throws {
        let bindir = try Self.findBindir()
        let runAsPostgres = getuid() == 0
        var owner: passwd?
        if runAsPostgres {
            guard let entry = getpwnam("postgres") else {
                throw PostgresTestError("running as root, and there is no `postgres` user to run PostgreSQL as (apt install postgresql creates it)")
            }
            owner = entry.pointee
        }
        Self.removeStaleClusters(folderPrefix: folderPrefix, bindir: bindir, runAsPostgres: runAsPostgres)

        var template = Array("/tmp/\(folderPrefix)XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw PostgresTestError("mkdtemp failed: \(String(cString: strerror(errno)))")
        }
        let folder = String(cString: made)
        let runner = PostgresCommandRunner(bindir: bindir, runAsPostgres: runAsPostgres, folder: folder)
        do {
            let password = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            try (password + "\n").write(toFile: folder + "/pwfile", atomically: false, encoding: .utf8)
            try String(getpid()).write(toFile: folder + "/owner.pid", atomically: false, encoding: .utf8)
            chmod(folder, 0o755)
            chmod(folder + "/pwfile", 0o600)
            if let owner {
                for path in [folder, folder + "/pwfile", folder + "/owner.pid"] { chown(path, owner.pw_uid, owner.pw_gid) }
            }
            try runner.run("initdb", ["-D", folder + "/data", "-U", Self.superuser, "--pwfile", folder + "/pwfile",
                                      "-A", "scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"])
            // A free port can be taken between the probe and the start: try a few.
            var started: UInt16?
            var lastError: (any Error)?
            for _ in 0..<3 where started == nil {
                let candidate = try freeLoopbackPort()
                do {
                    try runner.run("pg_ctl", Self.startArguments(folder: folder, port: candidate))
                    started = candidate
                } catch {
                    lastError = error
                }
            }
            guard let started else { throw lastError ?? PostgresTestError("pg_ctl start failed") }
            self.folder = folder
            self.bindir = bindir
            self.port = started
            self.password = password
            self.runner = runner
        } catch {
            try? FileManager.default.removeItem(atPath: folder)
            throw error
        }
    }

    private static func startArguments(folder: String, port: UInt16) -> [String] {
        ["-D", folder + "/data", "-l", folder + "/server.log", "-w", "-t", "60",
         "-o", "-p \(port) -k \(folder) -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=32MB",
         "start"]
    }

    /// `pg_ctl stop -m fast`: open connections are closed, the server is gone until `start()`.
    public func stop() throws { try runner.run("pg_ctl", ["-D", folder + "/data", "-m", "fast", "-w", "stop"]) }

    /// Starts it again on the same port with the same data.
    public func start() throws { try runner.run("pg_ctl", Self.startArguments(folder: folder, port: port)) }

    /// Stops the server at once and deletes its folder.
    public func remove() {
        try? runner.run("pg_ctl", ["-D", folder + "/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Clusters of test processes that were killed before they could remove theirs.
    private static func removeStaleClusters(folderPrefix: String, bindir: String, runAsPostgres: Bool) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/tmp") else { return }
        for name in names where name.hasPrefix(folderPrefix) {
            let folder = "/tmp/" + name
            guard let text = try? String(contentsOfFile: folder + "/owner.pid", encoding: .utf8),
                  let pid = Int32(text), kill(pid, 0) != 0, errno == ESRCH else { continue }
            let runner = PostgresCommandRunner(bindir: bindir, runAsPostgres: runAsPostgres, folder: folder)
            try? runner.run("pg_ctl", ["-D", folder + "/data", "-m", "immediate", "-w", "stop"])
            try? FileManager.default.removeItem(atPath: folder)
        }
    }

    private static func findBindir() throws -> String {
        let hint = "install PostgreSQL (apt install postgresql libpq-dev), or set ORDERPUSH_SKIP_POSTGRES=1 to skip the PostgreSQL tests"
        let searchPath = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        guard let pgConfig = (searchPath + ["/usr/bin"]).map({ $0 + "/pg_config" })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw PostgresTestError("PostgreSQL test server not available: no pg_config on PATH; \(hint)")
        }
        let bindir = try PostgresCommandRunner.capture(pgConfig, ["--bindir"]).trimmingCharacters(in: .whitespacesAndNewlines)
        for program in ["initdb", "pg_ctl", "postgres"] where !FileManager.default.isExecutableFile(atPath: bindir + "/" + program) {
            throw PostgresTestError("PostgreSQL test server not available: no \(program) in \(bindir) (pg_config --bindir); \(hint)")
        }
        return bindir
    }
}

public struct PostgresTestError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A free loopback TCP port (bound, read, released).
public func freeLoopbackPort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw PostgresTestError("socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
            bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
        }
    }
    guard bound else { throw PostgresTestError("cannot bind a loopback port: \(String(cString: strerror(errno)))") }
    return UInt16(bigEndian: address.sin_port)
}

/// Runs the PostgreSQL server programs, as `postgres` when the tests run as root.
private struct PostgresCommandRunner: Sendable {
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
            throw PostgresTestError(message)
        }
    }

    static func capture(_ executable: String, _ arguments: [String]) throws -> String {
        try capture(executable, arguments, currentDirectory: "/", requireSuccess: true).text
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
        // The server pg_ctl starts outlives the call: it must not inherit the test process's
        // other descriptors (a pipe another test waits to see closed would never close).
        // (glibc 2.34+; not in the Swift Glibc module's headers, so looked up by name.)
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
        }
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArguments, environ)
        guard spawned == 0 else {
            throw PostgresTestError("cannot run \(executable): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw PostgresTestError("waitpid failed: \(String(cString: strerror(errno)))") }
        }
        // WIFEXITED / WEXITSTATUS are macros: exit code in bits 8-15, or a signal in 0-6.
        let exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        if requireSuccess && exitCode != 0 {
            throw PostgresTestError("\(executable) \(arguments.joined(separator: " ")) exited with \(exitCode): \(text)")
        }
        return (exitCode, text)
    }
}
