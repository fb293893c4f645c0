import ArgumentParser
import Compute
import Foundation
import Models

/// `vcoswin init`: a freshly initialised model checkpoint from a preset.
struct InitCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "init",
    abstract: "Write a freshly initialised model checkpoint from a preset or a config file.",
    discussion: HelpExamples.protected(
      """
      Presets: \(ModelConfig.presetNames.joined(separator: ", ")).

      nano/micro/tiny/small/base are Florence's CoSwin (conv embedding and merging); swin-* \
      are Swin with the same widths; swin_t/s/b and swin3d_t/s/b are torchvision's shapes. \
      --dims 2 builds the image model (CoSwin), 3 the video model (Video CoSwin); the \
      torchvision names fix it. --config takes any architecture as JSON: the `config` object \
      of a checkpoint's metadata (Docs/FORMATS.md). --labels takes a labels file: one class \
      name per line.

      Examples:
        vcoswin init --preset micro --classes 10 --dims 3 --out /tmp/micro3d.safetensors
        vcoswin init --preset nano --classes 8 --labels Clips/motion_labels.txt --out /tmp/nano3d.safetensors
        vcoswin init --config arch.json --classes 10 --out /tmp/custom.safetensors
      """))

  @Option(help: "Preset name.")
  var preset: String?

  @Option(
    help:
      "A model config JSON file (the `config` object a checkpoint stores; its dims win over --dims) instead of a preset."
  )
  var config: String?

  @Option(help: "Number of classes of the head.")
  var classes: Int

  @Option(help: "2 (image model) or 3 (video model).")
  var dims = 3

  @Option(
    help:
      "Labels file: one class name per line, --classes of them (default class_0, class_1, …), or 'kinetics400'."
  )
  var labels: String?

  @Option(help: "Output checkpoint (.safetensors).")
  var out: String

  @Option(help: "Seed of the initialisation.")
  var seed: UInt64 = 0

  @Option(help: "Threads (BLAS and the package's parallel loops).")
  var threads = ProcessInfo.processInfo.activeProcessorCount

  @OptionGroup var output: OverwriteOption

  func validate() throws {
    guard (preset == nil) != (config == nil) else {
      throw ValidationError("give one of --preset and --config.")
    }
    guard classes >= 1 else {
      throw ValidationError("--classes must be at least 1 (got \(classes)).")
    }
    guard dims == 2 || dims == 3 else {
      throw ValidationError("--dims must be 2 or 3 (got \(dims)).")
    }
    guard threads >= 1 else {
      throw ValidationError("--threads must be at least 1 (got \(threads)).")
    }
  }

  func run() throws {
    ThreadBudget.configure(threads: threads)
    let (config, source) = try modelConfig(
      preset: preset, file: self.config, dims: dims, classes: classes)
    try output.check([("--out", out)])
    var names: [String]? = nil
    if let labels {
      let list = try readLabels(labels)
      guard list.count == classes else {
        throw CommandFailure("--labels \(labels): \(list.count) names for --classes \(classes)")
      }
      names = list
    }
    let model = VCoSwinModel(config: config, seed: seed)
    try model.save(
      to: out, labels: names,
      provenance:
        "init \(try configProvenance(preset: preset, file: self.config)) dims \(config.dims) seed \(seed)"
    )
    printHuman(
      "\(out): \(config.kind) model, \(source), \(config.parameterCount) parameters, \(classes) classes"
    )
  }
}
