import ArgumentParser

@main
struct OrderPushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "orderpush", abstract: "WebSocket push server for order updates")
    func run() throws { print("orderpush") }
}
