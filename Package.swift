// swift-tools-version:6.0
// vcoswin — Florence's Video CoSwin adapter in Swift, on FFmpeg and OpenBLAS.
import PackageDescription

/// Numeric targets are built with whole-module optimisation in release.
let numericSettings: [SwiftSetting] = [
  .unsafeFlags(["-wmo"], .when(configuration: .release))
]

let package = Package(
  name: "vcoswin",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "vcoswin", targets: ["vcoswin"]),
    .executable(name: "vcoswin-bench", targets: ["vcoswin-bench"]),
    .library(name: "VideoIO", targets: ["VideoIO"]),
    .library(name: "Compute", targets: ["Compute"]),
    .library(name: "NN", targets: ["NN"]),
    .library(name: "Models", targets: ["Models"]),
    .library(name: "TorchCheckpoint", targets: ["TorchCheckpoint"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
  ],
  targets: [
    // C libraries (system packages, found with pkg-config).
    .systemLibrary(
      name: "CFFmpeg", pkgConfig: "libavformat libavcodec libswscale libavutil",
      providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev", "libavutil-dev"])]),
    .systemLibrary(
      name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(
      name: "CMPI", pkgConfig: "ompi", providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),

    // Libraries, one job each.
    .target(
      name: "Compute", dependencies: ["COpenBLAS", "CKernels"], swiftSettings: numericSettings),
    .target(name: "SafeTensors", exclude: ["README.md"]),
    .target(name: "TorchCheckpoint", dependencies: ["SafeTensors"], exclude: ["README.md"]),
    .target(
      name: "VideoIO", dependencies: ["CFFmpeg"], exclude: ["README.md"],
      swiftSettings: numericSettings),
    // The package's own AVX-512 and AVX2/FMA kernels (GEMM, attention, rows and elements) and
    // the one CPU-feature check; `Compute`'s `KernelSet` picks them at run time.
    .target(name: "CKernels"),
    .target(
      name: "NN", dependencies: ["Compute", "CKernels"], exclude: ["README.md"],
      swiftSettings: numericSettings),
    .target(
      name: "Models", dependencies: ["NN", "Compute", "SafeTensors", "TorchCheckpoint"],
      exclude: ["README.md"],
      swiftSettings: numericSettings),
    .target(name: "Reports", dependencies: ["VideoIO"]),
    // The processes of a run and the collectives between them (the only code calling MPI).
    .target(name: "Distributed", dependencies: ["CMPI"], exclude: ["README.md"]),
    .target(name: "Inflation", dependencies: ["SafeTensors", "Compute", "Models"]),
    .target(
      name: "Synth", dependencies: ["VideoIO"], exclude: ["README.md"],
      swiftSettings: numericSettings),
    .target(
      name: "Training",
      dependencies: [
        "Models", "NN", "Compute", "VideoIO", "SafeTensors", "Reports", "Distributed",
      ],
      swiftSettings: numericSettings),
    .target(
      name: "VCoSwinCLI",
      dependencies: [
        "VideoIO", "SafeTensors", "Compute", "NN", "Models", "Synth", "Training", "Inflation",
        "Reports", "Distributed",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),

    // Executables, and what only they do: re-execute with a short OpenBLAS spin.
    .target(name: "_Relaunch", exclude: ["README.md"]),
    .executableTarget(name: "vcoswin", dependencies: ["VCoSwinCLI", "_Relaunch"]),
    .executableTarget(
      name: "vcoswin-bench",
      dependencies: [
        "VideoIO", "Compute", "NN", "Models", "SafeTensors", "_Relaunch", "Distributed", "Training",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: numericSettings),
    // The .pth loading benchmark (Benchmarks/pth_load.sh): the reader alone in a small process.
    .executableTarget(
      name: "pth-load", dependencies: ["TorchCheckpoint", "SafeTensors"], path: "Benchmarks/PthLoad"
    ),

    // Tests.
    .testTarget(name: "ComputeTests", dependencies: ["Compute"]),
    .testTarget(
      name: "SafeTensorsTests", dependencies: ["SafeTensors"], resources: [.copy("Fixtures")]),
    .testTarget(
      name: "TorchCheckpointTests", dependencies: ["TorchCheckpoint", "SafeTensors"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "VideoIOTests", dependencies: ["VideoIO", "Synth"], resources: [.copy("Fixtures")]),
    .testTarget(
      name: "NNTests", dependencies: ["NN", "Compute", "SafeTensors"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "ModelsTests",
      dependencies: ["Models", "NN", "Compute", "SafeTensors", "TorchCheckpoint"],
      resources: [.copy("Fixtures")]),
    .testTarget(name: "CLITests", dependencies: ["VCoSwinCLI", "Synth"]),
    .testTarget(name: "DistributedTests", dependencies: ["Distributed"]),
    .testTarget(name: "ReportsTests", dependencies: ["Reports", "VideoIO"]),
    .testTarget(name: "SynthTests", dependencies: ["Synth", "VideoIO"]),
    .testTarget(
      name: "TrainingTests",
      dependencies: ["Training", "Compute", "Models", "SafeTensors", "Synth", "VideoIO", "Reports"]),
    .testTarget(
      name: "InflationTests", dependencies: ["Inflation", "SafeTensors", "Models", "Compute"],
      resources: [.copy("Fixtures")]),
  ],
  // Numeric code shares unsafe buffers across worker threads by design (disjoint ranges); the
  // few places that hand them to concurrent workers say so with `nonisolated(unsafe)`.
  swiftLanguageModes: [.v6]
)
