// swift-tools-version:6.0
import PackageDescription

// The load generator: its own package, so the server's build and CI never compile it.
let package = Package(
    name: "loadgen",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // Header-only: epoll, sockets and friends that Swift's Glibc module does not show.
        .systemLibrary(name: "CEpoll", path: "Sources/CEpoll"),
        // zlib, to inflate permessage-deflate messages (--extensions).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib"),
        // OpenSSL: the TLS client (--tls) and HS256 tokens (shop mode).
        .systemLibrary(name: "CSSL", path: "Sources/CSSL"),
        .executableTarget(name: "loadgen", dependencies: [
            "CEpoll", "CZlib", "CSSL",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: [.unsafeFlags(["-Ounchecked"])]),
        .testTarget(name: "LoadGenTests", dependencies: ["loadgen"]),
    ]
)
