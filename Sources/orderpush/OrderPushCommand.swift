import ArgumentParser

@main
struct OrderPushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orderpush",
        abstract: "Pushes order events to browsers over WebSocket, with an HTTP polling fallback.",
        subcommands: [Serve.self, Token.self],
        defaultSubcommand: Serve.self
    )
}
