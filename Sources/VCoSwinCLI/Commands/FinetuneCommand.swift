import ArgumentParser
import Distributed
import Foundation
import Inflation
import Models
import SafeTensors
import Training

/// `vcoswin finetune`: trains a video model (usually inflated) on a clip list.
struct FinetuneCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "finetune",
    abstract: "Fine-tune a video model on a clip list.",
    discussion: """
      --init is a video checkpoint: one made by `vcoswin inflate` (the usual start) or by \
      `vcoswin init` (random initialisation). When its head has another class count than the \
      labels, a fresh head is made. The defaults are Video Swin's published recipe: the \
      backbone at --backbone-lr-scale 0.1 × the head's rate, --warmup-epochs 2.5, \
      --weight-decay 0.02 (none on norms, biases, bias tables); add --drop-path 0.1. An \
      inflated start (equal temporal slices in the embedding) is sloped by --embed-slope so \
      that the model can tell a clip from its reverse (Docs/INFLATION.md). An --out folder that holds \
      an earlier run is refused: continue it with --resume, or replace it with --overwrite. \
      Off a terminal, a progress line is printed every 30 s. Under `mpirun -np N` the N \
      processes train one model (--batch-size per process; see Docs/DISTRIBUTED.md).

      Example:
        vcoswin finetune --train Clips/train.txt --val Clips/val.txt \\
            --labels Clips/motion_labels.txt --init runs/video-init.safetensors \\
            --out runs/video --epochs 12
      """)

  @OptionGroup var training: TrainingArguments

  @Option(help: "Starting video checkpoint.")
  var `init`: String

  @Option(help: "Frames per clip.")
  var clipLen = 8

  @Option(help: "Step between sampled frames.")
  var interval = 2

  @Option(help: "Learning-rate multiplier of the backbone (everything but the head).")
  var backboneLRScale = FinetuneRecipe.backboneLRScale

  @Option(
    help:
      "Stochastic depth of the last block (earlier blocks less), replacing the checkpoint's rate (the published recipe: 0.1)."
  )
  var dropPath: Double?

  @Option(
    help:
      "When the embedding's temporal slices are equal (an inflated start), slope them by this ε (slices W/Kt·(1 + ε·s), s from −1 to 1; static clips unchanged), so the model tells a clip from its reverse; 0 keeps them (Docs/INFLATION.md, \"The stall\")."
  )
  var embedSlope = TimeSymmetry.defaultSlope

  func validate() throws {
    guard (1...DataOptions.maxClipLength).contains(clipLen),
      (1...DataOptions.maxFrameInterval).contains(interval)
    else {
      throw ValidationError(
        "--clip-len must be in 1…\(DataOptions.maxClipLength) and --interval in 1…\(DataOptions.maxFrameInterval) (got \(clipLen), \(interval))."
      )
    }
    guard backboneLRScale >= 0 else { throw ValidationError("--backbone-lr-scale must be ≥ 0.") }
    guard (-1...1).contains(embedSlope) else {
      throw ValidationError("--embed-slope must be in [-1, 1] (got \(embedSlope)).")
    }
    if let dropPath, !(0..<1).contains(dropPath) {
      throw ValidationError("--drop-path must be in [0, 1) (got \(dropPath)).")
    }
  }

  func run() throws {
    let labels = try training.labelNames()
    let (model, note) = try loadWithHead(
      path: `init`, classes: labels.count, seed: training.seed, dropPath: dropPath)
    guard model.config.dims == 3 else {
      throw CommandFailure(
        "\(`init`): is an image checkpoint; fine-tuning takes a video checkpoint (see `vcoswin inflate`)"
      )
    }
    if let note, Communicator.world.isRoot {
      FileHandle.standardError.write(Data((note + "\n").utf8))
    }
    let flip = try training.flipOptions(labels: labels)
    let data = DataOptions(
      kind: .video, clipLength: clipLen, frameInterval: interval, size: training.size,
      flip: flip.flip,
      flipLabels: flip.labels, minArea: training.minArea)
    // Only a fresh start: a resumed run's weights come from last.safetensors.
    if !training.resume, TimeSymmetry.breakInflatedEmbedding(of: model, slope: embedSlope),
      Communicator.world.isRoot
    {
      FileHandle.standardError.write(
        Data(
          "\(`init`): the embedding's temporal slices are equal (an inflated start); sloped by ε = \(embedSlope) so that motion direction shows (--embed-slope)\n"
            .utf8))
    }
    try training.run(
      model: model, labels: labels,
      provenance:
        "finetuned from \(try fileProvenance(`init`)) on \(try fileProvenance(training.train)) seed \(training.seed)",
      data: data,
      options: training.trainOptions(
        defaultLR: FinetuneRecipe.lr, backboneLRScale: backboneLRScale,
        defaultWarmupEpochs: FinetuneRecipe.warmupEpochs,
        defaultWeightDecay: FinetuneRecipe.weightDecay),
      title: "video model")
  }
}

/// Loads a checkpoint (any format `Checkpoint.open` takes: a foreign `.pth` is converted in
/// memory); when its head has another class count than `classes`, the model is rebuilt with
/// `classes` and every weight but the head copied (the head starts fresh). `dropPath` (when
/// given) replaces the checkpoint's stochastic-depth rate: it has no weights of its own.
/// Returns a note for people when the head was replaced.
func loadWithHead(path: String, classes: Int, seed: UInt64, dropPath: Double? = nil) throws -> (
  VCoSwinModel, String?
) {
  let opened = try Checkpoint.open(path: path)
  let info = opened.info
  var config = info.config
  config.classes = classes
  if let dropPath { config.dropPath = dropPath }
  let model = VCoSwinModel(config: config, seed: seed)
  let keepHead = info.config.classes == classes
  try Checkpoint.copy(opened.file, into: model.store) { keepHead || !$0.hasPrefix("head.") }
  if keepHead { return (model, nil) }
  return (
    model,
    "\(path): head has \(info.config.classes) classes; a fresh head with \(classes) classes replaces it"
  )
}
