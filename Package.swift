// swift-tools-version:6.0
import PackageDescription

// The shared code is a stack of library targets under Sources/Common, each
// depending only on those below it (ARCHITECTURE.md draws the graph):
//
//   RecordCore   IO, JSON, field paths, records, regex, templates, exit status, summary
//     <- Transforms   expressions, filtering, splitting, export          (mminf-filter, mminf-split)
//     <- Prompts      prompt and rubric files, embedded library, rubric parsing (no network)
//     <- Engine       libcurl loop, server pool, retries, SQLite cache
//          <- Requests    chat bodies, media, the Oasis hook, scoring plans (+ Prompts)
//     <- ToolCLI      options every tool shares (ArgumentParser starts here)
//          <- ModelCLI    server, sampling, media and engine options (+ Requests)
//     <- Pipeline     pipeline YAML (libyaml), compiled to sh / make / Slurm (+ Prompts, Transforms)
//     <- Report       streaming figures, sketches, HTML/SVG, thumbnails (+ Transforms, libgd, HdrHistogram)
//
// mminf-filter, mminf-split and mminf-compile link neither libcurl, SQLite nor OpenSSL
// (Tests/EndToEndTests/LinkageTests checks it with ldd).
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")

func library(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .target(name: name, dependencies: dependencies, path: "Sources/Common/\(name)")
}

func unitTests(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .testTarget(
        name: name + "Tests", dependencies: [Target.Dependency(stringLiteral: name), "TestSupport"] + dependencies)
}

let package = Package(
    name: "mminf",
    products: [
        .executable(name: "mminf-filter", targets: ["mminf-filter"]),
        .executable(name: "mminf-split", targets: ["mminf-split"]),
        .executable(name: "mminf-gen", targets: ["mminf-gen"]),
        .executable(name: "mminf-score", targets: ["mminf-score"]),
        .executable(name: "mminf-compile", targets: ["mminf-compile"]),
        .executable(name: "mminf-report", targets: ["mminf-report"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/swift-extras/swift-extras-base64", from: "1.2.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // Thin system-library targets: the C libraries come from the OS (scripts/setup.sh).
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CGD", pkgConfig: "gdlib", providers: [.apt(["libgd-dev"])]),
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("curl")]),
        .target(name: "CSQLite", linkerSettings: [.linkedLibrary("sqlite3")]),
        .target(name: "CMemory"),
        .target(name: "CUTF8"),

        library("RecordCore", ["CZstd", "CPCRE2", "CMemory", "CUTF8"]),
        library("Transforms", ["RecordCore"]),
        library("Prompts", ["RecordCore"]),
        library("Engine", ["RecordCore", "CCurl", "CSQLite", "COpenSSL"]),
        library(
            "Requests",
            ["Engine", "Prompts", "RecordCore", .product(name: "ExtrasBase64", package: "swift-extras-base64")]),
        library("ToolCLI", ["RecordCore", argumentParser]),
        library("ModelCLI", ["ToolCLI", "Requests", "Engine", "Prompts", "RecordCore", argumentParser]),
        library("Pipeline", ["RecordCore", "Prompts", "Transforms", "CYAML"]),
        library(
            "Report",
            ["RecordCore", "Transforms", "CGD", .product(name: "Histogram", package: "hdrhistogram-swift")]),

        .executableTarget(name: "mminf-filter", dependencies: ["ToolCLI", "Transforms", "RecordCore", argumentParser]),
        .executableTarget(name: "mminf-split", dependencies: ["ToolCLI", "Transforms", "RecordCore", argumentParser]),
        .executableTarget(
            name: "mminf-gen",
            dependencies: ["ModelCLI", "ToolCLI", "Requests", "Engine", "Prompts", "RecordCore", argumentParser]),
        .executableTarget(
            name: "mminf-score",
            dependencies: ["ModelCLI", "ToolCLI", "Requests", "Engine", "Prompts", "RecordCore", argumentParser]),

        .executableTarget(
            name: "mminf-compile", dependencies: ["Pipeline", "ToolCLI", "RecordCore", argumentParser]),
        .executableTarget(
            name: "mminf-report", dependencies: ["Report", "ToolCLI", "RecordCore", argumentParser]),

        // Shared by the tests: temporary folders, the test servers, running the built tools.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        unitTests("RecordCore", []),
        unitTests("Transforms", ["RecordCore"]),
        unitTests("Prompts", ["RecordCore"]),
        unitTests("Engine", ["RecordCore"]),
        unitTests("Requests", ["Engine", "Prompts", "RecordCore"]),
        unitTests("ToolCLI", ["RecordCore", argumentParser]),
        unitTests("ModelCLI", ["ToolCLI", "Requests", "Engine", "RecordCore", argumentParser]),
        unitTests("Pipeline", ["RecordCore"]),
        unitTests("Report", ["RecordCore"]),
        // The end-to-end tests run the built binaries and link no library of mminf.
        .testTarget(name: "EndToEndTests", dependencies: ["TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
