import ArgumentParser
import Datasets
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
    discussion: HelpExamples.protected(
      """
      --init is a video checkpoint: one made by `vcoswin inflate` (the usual start) or by \
      `vcoswin init` (random initialisation). When its head has another class count than the \
      labels, a fresh head is made. The defaults are Video Swin's published recipe: the \
      backbone at --backbone-lr-scale 0.1 × the head's rate, --warmup-epochs 2.5, \
      --weight-decay 0.02 (none on norms, biases, bias tables); add --drop-path 0.1. An \
      inflated start (equal temporal slices in the embedding) is sloped by --embed-slope so \
      that the model can tell a clip from its reverse (Docs/INFLATION.md). Clip length, \
      interval and crop size come from --clip-len, --interval and --size when given, else from \
      the recipe --init records (an imported checkpoint's, or the data options of the run that \
      trained it), else 8, 2 and 64; a `recipe:` line says which came from where. An --out \
      folder that holds an earlier run is refused: continue it with --resume, or replace it \
      with --overwrite; one that another run is using is refused, naming its process. SIGINT \
      or SIGTERM stops a run with a line saying where; --resume continues it. Off a terminal, \
      a progress line is printed every 30 s. Under `mpirun -np N` the N processes train one \
      model (--batch-size per process; see Docs/DISTRIBUTED.md).

      Example:
        vcoswin finetune --train Clips/train.txt --val Clips/val.txt --labels Clips/motion_labels.txt --init runs/video-init.safetensors --out runs/video --epochs 12
      """))

  @OptionGroup var training: TrainingArguments

  @Option(help: "Starting video checkpoint.")
  var `init`: String

  @Option(
    help:
      "Frames per clip (default: what --init records, else \(FinetuneDataRecipe.defaultClipLength))."
  )
  var clipLen: Int?

  @Option(
    help:
      "Step between sampled frames (default: what --init records, else \(FinetuneDataRecipe.defaultFrameInterval))."
  )
  var interval: Int?

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
    let (length, step) = (clipLen ?? 1, interval ?? 1)
    guard (1...DataOptions.maxClipLength).contains(length),
      (1...DataOptions.maxFrameInterval).contains(step)
    else {
      throw ValidationError(
        "--clip-len must be in 1…\(DataOptions.maxClipLength) and --interval in 1…\(DataOptions.maxFrameInterval) (got \(length), \(step))."
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
    let (model, note, recorded) = try loadStart(
      path: `init`, classes: labels.count, seed: training.seed, dropPath: dropPath)
    guard model.config.dims == 3 else {
      throw CommandFailure(
        "\(`init`): is an image checkpoint; fine-tuning takes a video checkpoint (see `vcoswin inflate`)"
      )
    }
    // Options override the recipe the checkpoint records, which overrides the defaults.
    let recipe = FinetuneDataRecipe(
      clipLength: clipLen, frameInterval: interval, size: training.size, recorded: recorded,
      checkpoint: `init`)
    if let note, Communicator.world.isRoot { printHumanError(note) }
    let flip = try training.flipOptions(labels: labels)
    let data = DataOptions(
      kind: .video, clipLength: recipe.clipLength, frameInterval: recipe.frameInterval,
      size: recipe.size,
      flip: flip.flip,
      flipLabels: flip.labels, minArea: training.minArea)
    // Only a fresh start: a resumed run's weights come from last.safetensors.
    if !training.resume, TimeSymmetry.breakInflatedEmbedding(of: model, slope: embedSlope),
      Communicator.world.isRoot
    {
      printHumanError(
        "\(`init`): the embedding's temporal slices are equal (an inflated start); sloped by ε = \(embedSlope) so that motion direction shows (--embed-slope)"
      )
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
      title: "video model", recipe: recipe.line)
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
  let (model, note, _) = try loadStart(path: path, classes: classes, seed: seed, dropPath: dropPath)
  return (model, note)
}

/// `loadWithHead`, and the data options the checkpoint records (`DataOptions.recorded`: an
/// import's evaluation recipe or a training run's data options; nil when it records none).
func loadStart(path: String, classes: Int, seed: UInt64, dropPath: Double? = nil) throws -> (
  VCoSwinModel, String?, DataOptions?
) {
  let opened = try Checkpoint.open(path: path)
  let recorded: DataOptions?
  do {
    recorded = try DataOptions.recorded(in: opened.file)
  } catch let error as DataOptionsError {
    throw CommandFailure(error.description)
  }
  let info = opened.info
  var config = info.config
  config.classes = classes
  if let dropPath { config.dropPath = dropPath }
  let model = VCoSwinModel(config: config, seed: seed)
  let keepHead = info.config.classes == classes
  try Checkpoint.copy(opened.file, into: model.store) { keepHead || !$0.hasPrefix("head.") }
  if keepHead { return (model, nil, recorded) }
  return (
    model,
    "\(path): head has \(info.config.classes) classes; a fresh head with \(classes) classes replaces it",
    recorded
  )
}
