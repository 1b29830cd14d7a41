import Foundation

/// The real `orderpush` binary, started on an ephemeral port with its own temp data folder.
/// The folder is deleted once neither this server nor anything else holds it (see
/// `TemporaryFolder`); the process is killed first, in `deinit`.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    let port: UInt16
    /// Holds the database and the secret; pass it to a second `ServerProcess` to restart on
    /// the same data.
    let dataFolder: TemporaryFolder
    var dataDir: URL { dataFolder.url }
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()
    /// Everything the server printed to stdout up to the listening line.
    let startupLines: [String]

    /// The binary SwiftPM built next to this test bundle.
    static var binaryPath: String {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        // The test binary may sit inside an .xctest bundle folder.
        while dir.path.contains(".xctest") { dir = dir.deletingLastPathComponent() }
        return dir.appendingPathComponent("orderpush").path
    }

    static var repoRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }

    init(arguments: [String] = [], dataFolder existing: TemporaryFolder? = nil, environment: [String: String] = [:]) throws {
        dataFolder = try existing ?? TemporaryFolder(prefix: "orderpush-test")
        let dataDir = dataFolder.url
        process.executableURL = URL(fileURLWithPath: Self.binaryPath)
        // With --database-url (a node of a cluster) the secret is named explicitly, so nodes
        // given the same data folder share it; --db would contradict the URL.
        let storage = arguments.contains("--database-url")
            ? ["--jwt-secret-file", dataDir.appendingPathComponent("jwt-secret").path]
            : ["--db", dataDir.appendingPathComponent("orderpush.sqlite").path]
        process.arguments = ["serve", "--port", "0"] + storage
            + ["--web", Self.repoRoot.appendingPathComponent("web").path] + arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        try process.run()

        // Read stdout until the listening line shows the port.
        var lines: [String] = []
        var buffer = Data()
        var found: UInt16?
        let handle = stdoutPipe.fileHandleForReading
        while found == nil {
            let chunk = handle.availableData   // blocks; EOF (empty) if the server died
            if chunk.isEmpty { break }
            buffer.append(chunk)
            while let nl = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...nl)
                lines.append(line)
                if let r = line.range(of: "listening on http://"), let colon = line[r.upperBound...].lastIndex(of: ":") {
                    found = UInt16(line[line.index(after: colon)...].prefix { $0.isNumber })
                }
            }
        }
        // Lines printed right after the listening line (start-up links) come in the same write.
        while let nl = buffer.firstIndex(of: 0x0A) {
            lines.append(String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self))
            buffer.removeSubrange(buffer.startIndex...nl)
        }
        startupLines = lines
        guard let port = found else {
            process.terminate()
            let err = String(decoding: stderrPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw TestFailure("server did not start: \(lines) \(err)")
        }
        self.port = port
        // Keep draining the pipes so the server never blocks on a full pipe.
        handle.readabilityHandler = { h in _ = h.availableData }
        stderrPipe.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            if !d.isEmpty { self?.appendStderr(d) }
        }
    }

    private let stderrLock = NSLock()
    private var stderrData = Data()
    private func appendStderr(_ d: Data) { stderrLock.lock(); stderrData.append(d); stderrLock.unlock() }
    var stderrText: String { stderrLock.lock(); defer { stderrLock.unlock() }; return String(decoding: stderrData, as: UTF8.self) }

    func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    var pid: Int32 { process.processIdentifier }

    /// A field of /proc/PID/status in KiB (`VmRSS`, `VmHWM`); nil when unreadable.
    func memoryKiB(_ field: String) -> Int? {
        // Read as a stream: /proc files report a size of 0.
        guard let handle = FileHandle(forReadingAtPath: "/proc/\(pid)/status"),
              let data = try? handle.readToEnd() else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.dropFirst(field.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
        }
        return nil
    }

    /// Waits until the server's standard error contains `text` (the pipe keeps order, so
    /// everything logged before it has arrived too); false if it did not within `timeout`,
    /// which should be generous: it only bounds a broken run.
    func waitForLog(containing text: String, timeout: TimeInterval = 20) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !stderrText.contains(text) {
            guard Date() < deadline else { return false }
            usleep(10_000)
        }
        return true
    }

    /// Waits for exit; returns the exit status, or nil on timeout.
    func waitForExit(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    func stop() {
        if process.isRunning {
            signal(SIGKILL)
            _ = waitForExit(timeout: 5)
        }
        stdoutPipe.fileHandleForReading.readabilityHandler = nil
        stderrPipe.fileHandleForReading.readabilityHandler = nil
    }

    deinit { stop() }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
