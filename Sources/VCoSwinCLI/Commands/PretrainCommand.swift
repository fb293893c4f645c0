import ArgumentParser
import Datasets
import Foundation
import Models
import Training

/// `vcoswin pretrain`: trains the 2D CoSwin image model on an image list.
struct PretrainCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "pretrain",
    abstract: "Train the 2D CoSwin image model on an image list.",
    discussion: HelpExamples.protected(
      """
      Each epoch writes OUT/metrics.jsonl, OUT/curves.svg, OUT/last.safetensors (weights, \
      optimizer state and position, for --resume) and OUT/best.safetensors (best val top-1). \
      An --out folder that holds an earlier run is refused: continue it with --resume, or \
      replace it with --overwrite. Off a terminal, a progress line is printed every 30 s. Under \
      `mpirun -np N` the N processes train one model (--batch-size per process; see \
      Docs/DISTRIBUTED.md).

      Presets: \(ModelConfig.presetNames.joined(separator: ", ")).

      Example:
        vcoswin pretrain --train Clips/images_train.txt --val Clips/images_val.txt --labels Clips/shape_labels.txt --preset micro --out runs/image --epochs 20
      """))

  @OptionGroup var training: TrainingArguments

  @Option(
    help:
      "Model preset (nano, micro, tiny, small, base, swin-nano, swin-micro, …; all in the text above)."
  )
  var preset = "micro"

  @Option(
    help: "A model config JSON file (the `config` object a checkpoint stores) instead of --preset.")
  var config: String?

  func run() throws {
    let labels = try training.labelNames()
    let (config, source) = try modelConfig(
      preset: preset, file: self.config, dims: 2, classes: labels.count)
    guard config.dims == 2 else {
      throw CommandFailure("\(source): is a video (dims 3) config; pretrain trains image models")
    }
    let model = VCoSwinModel(config: config, seed: training.seed)
    let flip = try training.flipOptions(labels: labels)
    let data = DataOptions(
      kind: .image, size: training.size ?? 64, flip: flip.flip, flipLabels: flip.labels,
      minArea: training.minArea)
    try training.run(
      model: model, labels: labels,
      provenance:
        "pretrain \(try configProvenance(preset: preset, file: self.config)) on \(try fileProvenance(training.train)) seed \(training.seed)",
      data: data, options: training.trainOptions(defaultLR: 1e-3, backboneLRScale: 1),
      title: "image model")
  }
}
