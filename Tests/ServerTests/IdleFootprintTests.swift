import Testing
@testable import OrderPushServer

/// What every open connection carries inline, kept small on purpose: an idle WebSocket's
/// memory is what a server holds by the thousand (docs/BENCHMARKS.md, "Idle memory per
/// connection"). These bounds fail when a change puts large state back inline.
@Suite struct IdleFootprintTests {
    @Test func theMachineCarriesNeitherTheParserNorTheReaderNorTheSettingsInline() {
        // The HTTP state and the settings are references; the reader is an optional reference.
        #expect(MemoryLayout<ConnectionStateMachine.HTTPState>.size == MemoryLayout<AnyObject>.size)
        #expect(MemoryLayout<ConnectionStateMachine.SharedSettings>.size == MemoryLayout<AnyObject>.size)
        // 115 bytes when written (was 355): the WebSocket state's endpoint, limits,
        // deadlines and message-rate bucket, plus the settings reference and two flags.
        #expect(MemoryLayout<ConnectionStateMachine>.size <= 128)
    }
}
