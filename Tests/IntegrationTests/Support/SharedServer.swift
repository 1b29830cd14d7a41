import Foundation
import Testing

/// One real server for every test of a suite, for suites whose tests do not interfere
/// (each uses its own user ids): starting a server per test would cost more than the test.
///
/// Applied as `@Suite(.sharedServer())`; the server starts before the suite's first test
/// and is killed after its last, so no process outlives the run. Tests reach it with
/// `try SharedServer.current()`.
///
/// The one `async` in the test target: swift-testing's scoping API requires it.
struct SharedServer: SuiteTrait, TestScoping {
    /// Extra `serve` arguments.
    let arguments: [String]

    @TaskLocal static var server: ServerProcess?

    /// Once for the whole suite, not once per test.
    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?,
                      performing function: @Sendable () async throws -> Void) async throws {
        let server = try ServerProcess(arguments: arguments)
        defer { server.stop() }   // its data folder goes with the last reference
        try await Self.$server.withValue(server) { try await function() }
    }

    /// The suite's server; throws when called outside a suite marked `.sharedServer()`.
    static func current() throws -> ServerProcess {
        guard let server else { throw TestFailure("the suite has no .sharedServer() trait") }
        return server
    }
}

extension Trait where Self == SharedServer {
    /// Runs the suite's tests against one server started with `arguments`.
    static func sharedServer(_ arguments: [String] = []) -> SharedServer { SharedServer(arguments: arguments) }
}
