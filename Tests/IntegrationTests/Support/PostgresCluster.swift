import Foundation

/// A throwaway PostgreSQL cluster for one test: `initdb` into a temp folder, a free
/// loopback port, password authentication; `stop()` and `start()` (same port, same data)
/// simulate a database outage. Deleted in `deinit`.
///
/// A sibling of StorageTests' `TestPostgres` rather than a shared helper: that one is a
/// process-wide cluster handing out databases through the Storage module's own client,
/// while these tests only start the real binary against a URL and need a cluster of their
/// own that they can stop and restart under load without disturbing other tests. The
/// program runner is the same (PostgreSQL refuses root: as root, its programs run as the
/// `postgres` user; binaries from `pg_config --bindir`). `ORDERPUSH_SKIP_POSTGRES=1` skips.
final class PostgresCluster: @unchecked Sendable {
    let folder: String
    let port: UInt16
    let password: String
    private let runner: PostgresCommandRunner

    static var isSkipped: Bool { ProcessInfo.processInfo.environment["ORDERPUSH_SKIP_POSTGRES"] == "1" }

    /// The database URL the nodes are given (the cluster's default database).
    var url: String { "postgresql://orderpush:\(password)@127.0.0.1:\(port)/postgres" }

    init() throws {
        let bindir = try Self.findBindir()
        let runAsPostgres = getuid() == 0
        Self.removeStaleClusters(bindir: bindir, runAsPostgres: runAsPostgres)
        var template = Array("/tmp/orderpush-itpg-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TestFailure("mkdtemp failed")
        }
        folder = String(cString: made)
        password = UUID().uuidString.replacingOccurrences(of: "-", with: "")
        runner = PostgresCommandRunner(bindir: bindir, runAsPostgres: runAsPostgres, folder: folder)
        try (password + "\n").write(toFile: folder + "/pwfile", atomically: false, encoding: .utf8)
        try String(getpid()).write(toFile: folder + "/owner.pid", atomically: false, encoding: .utf8)
        chmod(folder, 0o755)
        if runAsPostgres, let owner = getpwnam("postgres")?.pointee {
            for path in [folder, folder + "/pwfile"] { chown(path, owner.pw_uid, owner.pw_gid) }
        } else if runAsPostgres {
            throw TestFailure("running as root, and there is no `postgres` user to run PostgreSQL as (apt install postgresql)")
        }
        try runner.run("initdb", ["-D", folder + "/data", "-U", "orderpush", "--pwfile", folder + "/pwfile",
                                  "-A", "scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"])
        var chosen: UInt16 = 0
        var lastError: (any Error)?
        for _ in 0..<3 {
            chosen = try freeLoopbackPort()
            do {
                try runner.run("pg_ctl", Self.startArguments(folder: folder, port: chosen))
                lastError = nil
                break
            } catch {
                lastError = error
            }
        }
        if let lastError { throw lastError }
        port = chosen
    }

    private static func startArguments(folder: String, port: UInt16) -> [String] {
        ["-D", folder + "/data", "-l", folder + "/server.log", "-w", "-t", "60",
         "-o", "-p \(port) -k \(folder) -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=32MB",
         "start"]
    }

    /// `pg_ctl stop -m fast`: open connections are closed, the server is gone until `start()`.
    /// A `psql` session on this cluster that runs `statement` inside an open transaction and
    /// keeps it open (with whatever lock it took) until `PsqlTransaction.finish()`.
    func openTransaction(_ statement: String) throws -> PsqlTransaction {
        try PsqlTransaction(psql: runner.bindir + "/psql", url: url, statement: statement)
    }

    func stop() throws { try runner.run("pg_ctl", ["-D", folder + "/data", "-m", "fast", "-w", "stop"]) }

    /// Starts it again on the same port with the same data.
    func start() throws { try runner.run("pg_ctl", Self.startArguments(folder: folder, port: port)) }

    deinit {
        try? runner.run("pg_ctl", ["-D", folder + "/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Clusters of test processes that were killed before they could stop theirs.
    private static func removeStaleClusters(bindir: String, runAsPostgres: Bool) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/tmp") else { return }
        for name in names where name.hasPrefix("orderpush-itpg-") {
            let folder = "/tmp/" + name
            guard let text = try? String(contentsOfFile: folder + "/owner.pid", encoding: .utf8),
                  let pid = Int32(text), kill(pid, 0) != 0, errno == ESRCH else { continue }
            let runner = PostgresCommandRunner(bindir: bindir, runAsPostgres: runAsPostgres, folder: folder)
            try? runner.run("pg_ctl", ["-D", folder + "/data", "-m", "immediate", "-w", "stop"])
            try? FileManager.default.removeItem(atPath: folder)
        }
    }

    private static func findBindir() throws -> String {
        let hint = "install PostgreSQL (apt install postgresql libpq-dev), or set ORDERPUSH_SKIP_POSTGRES=1 to skip the cluster tests"
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/pg_config") else {
            throw TestFailure("no /usr/bin/pg_config; \(hint)")
        }
        let bindir = try PostgresCommandRunner.capture("/usr/bin/pg_config", ["--bindir"]).trimmingCharacters(in: .whitespacesAndNewlines)
        for program in ["initdb", "pg_ctl", "postgres"] where !FileManager.default.isExecutableFile(atPath: bindir + "/" + program) {
            throw TestFailure("no \(program) in \(bindir); \(hint)")
        }
        return bindir
    }
}

/// A free loopback TCP port (bound, read, released).
func freeLoopbackPort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket failed") }
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
    guard bound else { throw TestFailure("cannot bind a loopback port") }
    return UInt16(bigEndian: address.sin_port)
}

/// Runs the PostgreSQL server programs, as `postgres` when the tests run as root.
private struct PostgresCommandRunner {
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
            throw TestFailure(message)
        }
    }

    static func capture(_ executable: String, _ arguments: [String]) throws -> String {
        try capture(executable, arguments, currentDirectory: "/", requireSuccess: true).text
    }

    /// Output to a file, not a pipe (`pg_ctl start` leaves a server holding it), and
    /// posix_spawn + waitpid rather than `Process`, which would wait for the daemonised
    /// server too; `env -C` sets the working directory.
    private static func capture(_ executable: String, _ arguments: [String], currentDirectory: String,
                                requireSuccess: Bool) throws -> (status: Int32, text: String) {
        let outputPath = NSTemporaryDirectory() + "orderpush-itpgcmd-\(UUID().uuidString).out"
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
        guard spawned == 0 else { throw TestFailure("cannot run \(executable): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw TestFailure("waitpid failed") }
        }
        let exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        if requireSuccess && exitCode != 0 {
            throw TestFailure("\(executable) \(arguments.joined(separator: " ")) exited with \(exitCode): \(text)")
        }
        return (exitCode, text)
    }
}

/// A `psql` client process with a transaction open: what another application holding a
/// lock looks like to the server (no hook in the server is involved).
final class PsqlTransaction {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var finished = false

    init(psql: String, url: String, statement: String) throws {
        process.executableURL = URL(fileURLWithPath: psql)
        process.arguments = ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", url]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        _ = try query("BEGIN; \(statement); SELECT 'statement-done';", until: "statement-done")
    }

    /// Sends `sql` and reads the session's output until it contains `marker`.
    func query(_ sql: String, until marker: String) throws -> String {
        input.fileHandleForWriting.write(Data((sql + "\n").utf8))
        var text = ""
        while !text.contains(marker) {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { throw TestFailure("psql ended: \(text)") }
            text += String(decoding: data, as: UTF8.self)
        }
        return text
    }

    /// Commits (releasing the locks) and ends the session.
    func finish() {
        guard !finished else { return }
        finished = true
        input.fileHandleForWriting.write(Data("COMMIT;\n".utf8))
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    deinit { finish() }
}
