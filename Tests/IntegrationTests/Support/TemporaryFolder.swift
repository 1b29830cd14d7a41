import Foundation

/// A fresh folder under the system's temporary directory, deleted with everything in it
/// when the last owner lets go of it. A server's data folder is one: a test that restarts
/// the server hands the same `TemporaryFolder` to the second process, and the folder goes
/// when the test's last reference (its servers included) is released.
final class TemporaryFolder: @unchecked Sendable {   // immutable after init
    let url: URL

    init(prefix: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}
