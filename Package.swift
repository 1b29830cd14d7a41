// swift-tools-version:6.0
import PackageDescription

// Layering (each arrow is "may import"):
//   orderpush (CLI) -> OrderPushServer -> Reactor, HTTP1, WebSocket, Auth, Storage
//   HTTP1, WebSocket: pure protocol code, bytes in, values out, no sockets.
//   Auth, WebSocket, Storage -> OpenSSLKit -> CSSL;  WebSocket -> CZlib (permessage-deflate);
//   Storage -> CSQLite, CLibPQ, Orders;  Reactor -> CLinux
//   JSON: the one strict JSON parser and writer (standard library only), for Auth, Orders,
//   Storage and the server (HTTP1 knows no JSON: the server writes its error bodies).
//   OpenSSLKit also holds the one base64 and the one hex encoder.
//   Orders: pure order model and input validation.
//
// Linux only: Reactor is built on epoll, eventfd, signalfd and timerfd (Glibc), and
// stops the build elsewhere with #error. SwiftPM has no Linux entry for `platforms:`, so
// the package names none rather than a macOS version it cannot run on.
let package = Package(
    name: "OrderPush",
    products: [
        .executable(name: "orderpush", targets: ["orderpush"]),
        .library(name: "OrderPushServer", targets: ["OrderPushServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // C interop: header-only system modules; nothing above the thin wrappers sees these.
        .systemLibrary(name: "CLinux", path: "Sources/CLinux"),
        .systemLibrary(name: "CSSL", path: "Sources/CSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CLibPQ", path: "Sources/CLibPQ", pkgConfig: "libpq",
                       providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),

        .target(name: "OpenSSLKit", dependencies: ["CSSL"]),
        .target(name: "HTTP1"),
        .target(name: "WebSocket", dependencies: ["OpenSSLKit", "CZlib"]),
        .target(name: "JSON"),
        .target(name: "Auth", dependencies: ["OpenSSLKit", "JSON"]),
        .target(name: "Orders", dependencies: ["JSON"]),
        .target(name: "Storage", dependencies: ["CSQLite", "CLibPQ", "JSON", "Orders", "OpenSSLKit"]),
        .target(name: "Reactor", dependencies: ["CLinux"]),
        .target(name: "OrderPushServer", dependencies: [
            "Reactor", "HTTP1", "WebSocket", "Auth", "JSON", "Orders", "Storage", "OpenSSLKit",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "orderpush", dependencies: [
            "OrderPushServer", "Auth", "Storage",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Helpers shared by the test targets (a seeded generator for randomized tests).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "HTTP1Tests", dependencies: ["HTTP1", "TestSupport"]),
        .testTarget(name: "WebSocketTests", dependencies: ["WebSocket", "TestSupport"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON", "TestSupport"]),
        .testTarget(name: "AuthTests", dependencies: ["Auth", "OpenSSLKit", "TestSupport"]),
        .testTarget(name: "OrdersTests", dependencies: ["Orders", "JSON", "TestSupport"]),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "Orders", "JSON", "TestSupport"]),
        .testTarget(name: "ReactorTests", dependencies: ["Reactor", "CLinux"]),
        .testTarget(name: "ServerTests", dependencies: ["OrderPushServer", "Reactor", "HTTP1"]),
        // Starts the real `orderpush` binary on ephemeral ports and talks to it over sockets.
        .testTarget(name: "IntegrationTests", dependencies: ["orderpush", "OpenSSLKit", "WebSocket", "TestSupport"]),
    ]
)
