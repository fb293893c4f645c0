// swift-tools-version:6.0
// vcoswin — Florence's Video CoSwin adapter in Swift, on FFmpeg and OpenBLAS.
import PackageDescription

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
    // libavdevice-dev is for its header only: the library is opened at run time, not linked
    // (VideoIO's CaptureDevices), so it is not among the pkg-config modules (whose flags link).
    .systemLibrary(
      name: "CFFmpeg", pkgConfig: "libavformat libavcodec libswscale libavutil",
      providers: [
        .apt([
          "libavformat-dev", "libavcodec-dev", "libswscale-dev", "libavutil-dev",
          "libavdevice-dev",
        ])
      ]),
    .systemLibrary(
      name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(
      name: "CMPI", pkgConfig: "ompi", providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
    .systemLibrary(
      name: "CFreeType", pkgConfig: "freetype2",
      providers: [.apt(["libfreetype-dev", "fonts-dejavu-core"])]),

    // Libraries, one job each.
    .target(name: "Compute", dependencies: ["COpenBLAS", "CKernels"]),
    .target(name: "SafeTensors", exclude: ["README.md"]),
    .target(name: "TorchCheckpoint", dependencies: ["SafeTensors"], exclude: ["README.md"]),
    .target(name: "VideoIO", dependencies: ["CFFmpeg", "CFreeType"], exclude: ["README.md"]),
    // The package's own AVX-512 and AVX2/FMA kernels (GEMM, attention, rows and elements) and
    // the one CPU-feature check; `Compute`'s `KernelSet` picks them at run time.
    .target(name: "CKernels"),
    .target(name: "NN", dependencies: ["Compute", "CKernels"], exclude: ["README.md"]),
    .target(
      name: "Models",
      dependencies: ["NN", "Compute", "SafeTensors", "TorchCheckpoint", "TerminalText"],
      exclude: ["README.md"]),
    .target(name: "Reports", dependencies: ["VideoIO", "TerminalText"]),
    // Text for people: control characters escaped, widths on a terminal, aligned tables.
    .target(name: "TerminalText"),
    // The processes of a run and the collectives between them (the only code calling MPI).
    .target(name: "Distributed", dependencies: ["CMPI", "TerminalText"], exclude: ["README.md"]),
    // SHA-256 of files, streamed through libavutil's av_sha.
    .target(name: "Checksum", dependencies: ["CFFmpeg"]),
    .target(name: "Inflation", dependencies: ["SafeTensors", "Compute", "Models", "Checksum"]),
    .target(name: "Synth", dependencies: ["VideoIO"], exclude: ["README.md"]),
    // Labelled lists and how entries become model inputs (inference and training share them).
    .target(
      name: "Datasets", dependencies: ["Compute", "VideoIO", "Models", "SafeTensors"],
      exclude: ["README.md"]),
    // One home for inference: the loaded model and its recipe, evaluation, timelines.
    .target(
      name: "Inference",
      dependencies: [
        "Datasets", "Models", "Compute", "VideoIO", "SafeTensors", "Reports", "Distributed",
      ],
      exclude: ["README.md"]),
    .target(
      name: "Training",
      dependencies: [
        "Datasets", "Inference", "Models", "NN", "Compute", "VideoIO", "SafeTensors", "Reports",
        "Distributed", "TerminalText",
      ]),
    // ONNX export: the model's graph from its config and checkpoint tensors.
    .target(name: "Export", dependencies: ["Models", "NN", "SafeTensors"], exclude: ["README.md"]),
    .target(
      name: "VCoSwinCLI",
      dependencies: [
        "VideoIO", "SafeTensors", "Compute", "NN", "Models", "Synth", "Datasets", "Inference",
        "Training", "Inflation", "Reports", "Distributed", "Export", "Checksum", "TerminalText",
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
      ]),
    // The .pth loading benchmark (Benchmarks/pth_load.sh): the reader alone in a small process.
    .executableTarget(
      name: "pth-load", dependencies: ["TorchCheckpoint", "SafeTensors"], path: "Benchmarks/PthLoad"
    ),

    // Tests, and what they share (assertClose, fixtures, temporary folders).
    .target(name: "_TestSupport", path: "Tests/_TestSupport", exclude: ["README.md"]),
    .testTarget(name: "ComputeTests", dependencies: ["Compute", "_TestSupport"]),
    .testTarget(name: "ChecksumTests", dependencies: ["Checksum", "_TestSupport"]),
    .testTarget(
      name: "SafeTensorsTests", dependencies: ["SafeTensors", "_TestSupport"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "TorchCheckpointTests",
      dependencies: ["TorchCheckpoint", "SafeTensors", "_TestSupport"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "VideoIOTests", dependencies: ["VideoIO", "Synth", "_TestSupport"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "NNTests", dependencies: ["NN", "Compute", "SafeTensors", "_TestSupport"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "ModelsTests",
      dependencies: ["Models", "NN", "Compute", "SafeTensors", "TorchCheckpoint", "_TestSupport"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "CLITests", dependencies: ["VCoSwinCLI", "Synth", "Inference", "_TestSupport"]),
    .testTarget(name: "DistributedTests", dependencies: ["Distributed"]),
    .testTarget(name: "ReportsTests", dependencies: ["Reports", "VideoIO"]),
    .testTarget(name: "TerminalTextTests", dependencies: ["TerminalText"]),
    .testTarget(name: "SynthTests", dependencies: ["Synth", "VideoIO"]),
    .testTarget(
      name: "TrainingTests",
      dependencies: [
        "Training", "Datasets", "Inference", "Compute", "Models", "SafeTensors", "Synth", "VideoIO",
        "Reports", "_TestSupport",
      ]),
    .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Compute", "VideoIO", "Synth"]),
    .testTarget(
      name: "InferenceTests",
      dependencies: [
        "Inference", "Datasets", "Compute", "Models", "SafeTensors", "Synth", "VideoIO",
      ]),
    .testTarget(
      name: "ExportTests",
      dependencies: ["Export", "Models", "NN", "Compute", "SafeTensors", "VCoSwinCLI"]),
    .testTarget(
      name: "InflationTests",
      dependencies: ["Inflation", "SafeTensors", "Models", "Compute", "Checksum", "_TestSupport"],
      resources: [.copy("Fixtures")]),
  ],
  // Numeric code shares unsafe buffers across worker threads by design (disjoint ranges); the
  // few places that hand them to concurrent workers say so with `nonisolated(unsafe)`.
  swiftLanguageModes: [.v6]
)
