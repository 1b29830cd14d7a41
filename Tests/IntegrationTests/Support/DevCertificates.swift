import Foundation

/// A fresh CA and server certificate for 127.0.0.1/localhost (certs/make-dev-cert.sh) in a
/// temp folder, deleted when the folder is released: `ca.pem`, `cert.pem`, `key.pem`.
func makeDevCertificates(prefix: String = "orderpush-certs") throws -> TemporaryFolder {
    let folder = try TemporaryFolder(prefix: prefix)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    p.arguments = [ServerProcess.repoRoot.appendingPathComponent("certs/make-dev-cert.sh").path, "--out", folder.url.path]
    p.standardOutput = Pipe()
    p.standardError = Pipe()
    try p.run()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw TestFailure("make-dev-cert.sh failed") }
    return folder
}
