import Glibc
import Synchronization

/// Several load generator processes for one run, when one process's descriptor limit
/// (20,000 here) is not enough: the first process starts the others as children (the same
/// executable and arguments plus `--process-index i --processes P --child-output FILE`),
/// each taking the clients g with g % P == i. Lines over pipes keep them in step:
///
///     child → parent (stdout):  open READY FAILED      all its connections are set up
///                               done                   its counts are in FILE
///     parent → child (stdin):   go NS | end NS | stop  the phase signals of `Shared`
///
/// CLOCK_MONOTONIC is the same in every process, so the times in the signals and in the
/// messages' stamps compare across processes.
final class ChildProcess: @unchecked Sendable {
    // @unchecked: the descriptors are fixed after init; `state` is atomic.
    let pid: pid_t
    let index: Int
    let outputPath: String
    private let toChild: Int32
    private let fromChild: Int32
    let opened = Atomic<Bool>(false)
    let ready = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    let done = Atomic<Bool>(false)

    init(index: Int, count: Int, outputPath: String) throws(LoadError) {
        self.index = index
        self.outputPath = outputPath
        var input: [Int32] = [0, 0], output: [Int32] = [0, 0]
        guard pipe(&input) == 0, pipe(&output) == 0 else { throw LoadError("pipe failed") }
        // Only the dup2'd ends reach the child.
        for fd in input + output { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var args = Array(CommandLine.arguments.dropFirst())
        // Drop a --processes given by the user; the child gets the resolved count.
        if let i = args.firstIndex(of: "--processes"), i + 1 < args.count { args.removeSubrange(i...(i + 1)) }
        args += ["--processes", "\(count)", "--process-index", "\(index)", "--child-output", outputPath]
        var exe = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &exe, exe.count - 1)
        guard n > 0 else { throw LoadError("cannot find /proc/self/exe") }
        let path = String(decoding: exe[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + args).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var child = pid_t()
        let rc = posix_spawn(&child, path, &actions, nil, argv, environ)
        posix_spawn_file_actions_destroy(&actions)
        close(input[0])
        close(output[1])
        guard rc == 0 else { throw LoadError("posix_spawn: \(String(cString: strerror(rc)))") }
        pid = child
        toChild = input[1]
        fromChild = output[0]
        let me = self
        _ = startThread { me.readLines() }
    }

    func send(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(toChild, $0.baseAddress, $0.count) }
    }

    /// Waits for the child to exit and reads its counts.
    func collect(deadlineNs: Int64) -> WorkerResult? {
        while !done.load(ordering: .acquiring) && Clock.nowNs() < deadlineNs { sleepSeconds(0.01) }
        var status: Int32 = 0
        if !done.load(ordering: .acquiring) { kill(pid, SIGKILL) }
        waitpid(pid, &status, 0)
        defer { unlink(outputPath) }
        return WorkerResultFile.read(outputPath)
    }

    private func readLines() {
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fromChild, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            pending += chunk[0..<n]
            while let nl = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[..<nl], as: UTF8.self)
                pending.removeSubrange(...nl)
                let parts = line.split(separator: " ")
                if parts.first == "open", parts.count == 3 {
                    ready.store(Int(parts[1]) ?? 0, ordering: .releasing)
                    failed.store(Int(parts[2]) ?? 0, ordering: .releasing)
                    opened.store(true, ordering: .releasing)
                } else if parts.first == "done" {
                    done.store(true, ordering: .releasing)
                }
            }
        }
        done.store(true, ordering: .releasing)
    }
}

/// The child's side: phase signals from stdin into `Shared`.
enum ParentLink {
    static func listen(_ shared: Shared) {
        _ = startThread {
            var pending: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 1024)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                if n <= 0 {
                    shared.stop.store(true, ordering: .releasing)
                    return
                }
                pending += chunk[0..<n]
                while let nl = pending.firstIndex(of: 10) {
                    let parts = String(decoding: pending[..<nl], as: UTF8.self).split(separator: " ")
                    pending.removeSubrange(...nl)
                    switch parts.first {
                    case "go": shared.goNs.store(Int64(parts[1]) ?? 0, ordering: .releasing)
                    case "end": shared.publishEndNs.store(Int64(parts[1]) ?? 0, ordering: .releasing)
                    case "stop": shared.stop.store(true, ordering: .releasing)
                    default: break
                    }
                }
            }
        }
    }

    static func say(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
    }
}

/// A child's `WorkerResult` in a file: "name value" lines, then the latency samples.
enum WorkerResultFile {
    private static var ints: [(String, WritableKeyPath<WorkerResult, Int>)] { [
        ("clientsReady", \.clientsReady), ("connectFailures", \.connectFailures), ("closedByServer", \.closedByServer),
        ("delivered", \.delivered), ("duplicates", \.duplicates), ("outOfOrder", \.outOfOrder),
        ("creationOrderInversions", \.creationOrderInversions), ("foreign", \.foreign), ("serverErrors", \.serverErrors),
        ("published", \.published), ("publishAcked", \.publishAcked), ("publishRejected", \.publishRejected),
        ("bytesReceived", \.bytesReceived), ("bytesSent", \.bytesSent), ("pollRequests", \.pollRequests),
        ("poll200", \.poll200), ("poll304", \.poll304), ("pollOther", \.pollOther), ("pollLate", \.pollLate),
        ("pollBytesReceived", \.pollBytesReceived), ("pollBytesSent", \.pollBytesSent), ("downs", \.downs), ("expectedTotal", \.expectedTotal),
        ("resubscribed", \.resubscribed), ("stillDown", \.stillDown), ("reconnectAttempts", \.reconnectAttempts),
        ("tlsHandshakes", \.tlsHandshakes), ("tlsResumed", \.tlsResumed),
    ] }
    private static var times: [(String, WritableKeyPath<WorkerResult, Int64>)] { [
        ("firstSendNs", \.firstSendNs), ("lastSendNs", \.lastSendNs), ("lastReceiveNs", \.lastReceiveNs),
        ("lastAckNs", \.lastAckNs), ("firstDownNs", \.firstDownNs), ("firstReconnectNs", \.firstReconnectNs),
        ("lastResubscribeNs", \.lastResubscribeNs), ("lastCaughtUpNs", \.lastCaughtUpNs),
    ] }
    private static var samples: [(String, WritableKeyPath<WorkerResult, [Int64]>)] { [
        ("latenciesNs", \.latenciesNs), ("latencies2Ns", \.latencies2Ns), ("stalenessNs", \.stalenessNs),
    ] }

    static func write(_ r: WorkerResult, to path: String) {
        var text = ""
        for (name, key) in ints { text += "\(name) \(r[keyPath: key])\n" }
        for (name, key) in times { text += "\(name) \(r[keyPath: key])\n" }
        for (code, n) in r.closeCodes { text += "close \(code) \(n)\n" }
        for (name, value) in [("firstError", r.firstError), ("firstRejection", r.firstRejection), ("firstServerError", r.firstServerError)] {
            if let value { text += "\(name) " + String(value.map { $0 == "\n" ? " " : $0 }) + "\n" }
        }
        // Samples (millions at full scale) go raw, one file each.
        for (name, key) in samples {
            r[keyPath: key].withUnsafeBytes { writeFile(path + "." + name, $0) }
        }
        Array(text.utf8).withUnsafeBytes { writeFile(path, $0) }
    }

    private static func writeFile(_ path: String, _ bytes: UnsafeRawBufferPointer) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n <= 0 { break }
            offset += n
        }
        close(fd)
    }

    private static func readFile(_ path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return bytes
    }

    static func read(_ path: String) -> WorkerResult? {
        let bytes = readFile(path)
        guard !bytes.isEmpty else { return nil }
        var r = WorkerResult()
        for (name, key) in samples {
            let raw = readFile(path + "." + name)
            unlink(path + "." + name)
            r[keyPath: key] = [Int64](unsafeUninitializedCapacity: raw.count / 8) { buffer, count in
                raw.withUnsafeBytes { src in
                    UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: src[0..<(raw.count / 8 * 8)]))
                }
                count = raw.count / 8
            }
        }
        let intKeys = Dictionary(uniqueKeysWithValues: ints)
        let timeKeys = Dictionary(uniqueKeysWithValues: times)
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            guard let space = line.firstIndex(of: " ") else { continue }
            let name = String(line[..<space])
            let value = line[line.index(after: space)...]
            if let key = intKeys[name] {
                r[keyPath: key] = Int(value) ?? 0
            } else if let key = timeKeys[name] {
                r[keyPath: key] = Int64(value) ?? 0
            } else if name == "close" {
                let p = value.split(separator: " ")
                if p.count == 2, let code = Int(p[0]), let n = Int(p[1]) { r.closeCodes[code] = n }
            } else if name == "firstError" {
                r.firstError = String(value)
            } else if name == "firstRejection" {
                r.firstRejection = String(value)
            } else if name == "firstServerError" {
                r.firstServerError = String(value)
            }
        }
        return r
    }
}
