// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "mminf",
    products: [
        .executable(name: "mminf-filter", targets: ["mminf-filter"]),
        .executable(name: "mminf-split", targets: ["mminf-split"]),
        .executable(name: "mminf-gen", targets: ["mminf-gen"]),
        .executable(name: "mminf-score", targets: ["mminf-score"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        // Thin system-library targets: the C libraries come from the OS (scripts/setup.sh).
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("curl")]),
        .target(name: "CSQLite", linkerSettings: [.linkedLibrary("sqlite3")]),
        .target(
            name: "Common",
            dependencies: [
                "CZstd", "CPCRE2", "CCurl", "CSQLite",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .executableTarget(name: "mminf-filter", dependencies: ["Common"]),
        .executableTarget(name: "mminf-split", dependencies: ["Common"]),
        .executableTarget(name: "mminf-gen", dependencies: ["Common"]),
        .executableTarget(name: "mminf-score", dependencies: ["Common"]),
        .testTarget(name: "CommonTests", dependencies: ["Common"]),
        .testTarget(name: "EndToEndTests", dependencies: ["Common"]),
    ],
    swiftLanguageModes: [.v5]
)
