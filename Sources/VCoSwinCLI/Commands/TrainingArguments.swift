import ArgumentParser
import Compute
import Datasets
import Distributed
import Foundation
import Models
import Reports
import Training
import VideoIO

/// Options shared by `pretrain` and `finetune`.
struct TrainingArguments: ParsableArguments {
  @Option(help: "Training list (`path label` lines).")
  var train: String

  @Option(help: "Validation list.")
  var val: String

  @Option(
    help:
      "Labels file: one class name per line, or 'kinetics400' (default: class_0, class_1, … from the lists)."
  )
  var labels: String?

  @Option(
    help:
      "Output folder: metrics.jsonl, curves.svg, last.safetensors, best.safetensors. A folder that holds an earlier run is refused unless --resume or --overwrite is given."
  )
  var out: String

  @Option(help: "Epochs.")
  var epochs = 10

  @Option(
    help:
      "Samples per forward pass (per process under mpirun: the effective batch is processes × batch size × accumulate)."
  )
  var batchSize = 8

  @Option(help: "Forward passes per optimizer step (gradient accumulation).")
  var accumulate = 1

  @Option(help: "Peak learning rate (default: 0.001).")
  var lr: Double?

  @Option(help: "Final learning rate of the cosine decay.")
  var minLR = 1e-5

  @Option(
    help: "Warm-up epochs (linear; fractions allowed); default 1, and 2.5 for finetune.")
  var warmupEpochs: Double?

  @Option(
    help:
      "AdamW weight decay (never on norms, biases and bias tables); default 0.05, and 0.02 for finetune."
  )
  var weightDecay: Double?

  @Option(help: "Label smoothing.")
  var labelSmoothing = 0.1

  @Option(help: "Clip gradients to this global norm (0: off).")
  var clipNorm = 5.0

  @Option(
    help:
      "Crop size the model sees (default: finetune takes what --init records, else 64; pretrain 64)."
  )
  var size: Int?

  @Option(help: "Training crop: the least fraction of the frame area kept.")
  var minArea = 0.5

  @Flag(
    help:
      "Flip training samples horizontally at random (not for left/right motion classes without --flip-map)."
  )
  var flip = false

  @Option(
    help:
      "Class pairs a horizontal flip swaps, as a=b,c=d (names or numbers), e.g. move_left=move_right,rotate_clockwise=rotate_anticlockwise; turns --flip on."
  )
  var flipMap: String?

  @Option(help: "Seed of the run (sampling, augmentation, drop path).")
  var seed: UInt64 = 0

  @Option(help: "Decoding threads.")
  var workers = 1

  @Option(
    help:
      "Threads for the model (BLAS and parallel loops); by default the cores, divided among the processes mpirun starts on this machine."
  )
  var threads = defaultTrainingThreads()

  @Flag(
    help: """
      Recompute each block's activations in backward instead of keeping them: much less \
      memory for about one more forward pass of the blocks; the same gradients.
      """)
  var recomputeActivations = false

  @Flag(help: "Continue from OUT/last.safetensors.")
  var resume = false

  @Flag(
    help:
      "Start a new run in an --out folder that holds an earlier one, removing its metrics.jsonl, curves.svg, last.safetensors and best.safetensors first."
  )
  var overwrite = false

  /// How the run starts in `--out`: `--resume`, `--overwrite`, or a new run.
  var start: RunStart { resume ? .resume : overwrite ? .overwrite : .new }

  @Flag(help: "No progress bars or progress lines.")
  var quiet = false

  @Option(
    help:
      "Under mpirun: megabytes of gradients per all-reduce bucket, each started as soon as backward has finished it."
  )
  var allreduceBucketMB = 25.0

  @Option(
    help: ArgumentHelp(
      "Seconds between progress lines when stderr is not a terminal.", visibility: .hidden))
  var progressInterval = ProgressBar.defaultLineInterval

  func validate() throws {
    for (name, v, limit) in [
      ("--epochs", epochs, 100_000), ("--batch-size", batchSize, 4096),
      ("--accumulate", accumulate, 4096),
      ("--size", size ?? 1, DataOptions.maxSize), ("--workers", workers, 64),
      ("--threads", threads, 1024),
    ] {
      if v < 1 { throw ValidationError("\(name) must be at least 1 (got \(v)).") }
      if v > limit { throw ValidationError("\(name) must be at most \(limit) (got \(v)).") }
    }
    if let lr, !(lr > 0 && lr <= 10) {
      throw ValidationError("--lr must be in (0, 10] (got \(lr)).")
    }
    // Finite and in range before any work: a NaN or huge value would otherwise trap in the
    // schedule (warm-up steps as an Int) or fail only when the first checkpoint is written.
    for (name, v, limit) in [
      ("--min-lr", minLR, 10.0), ("--warmup-epochs", warmupEpochs ?? 0, 100_000.0),
      ("--weight-decay", weightDecay ?? 0, 100.0), ("--clip-norm", clipNorm, 1e30),
    ] where !(v >= 0 && v <= limit) {
      throw ValidationError("\(name) must be a number in [0, \(limit)] (got \(v)).")
    }
    guard (0..<1).contains(labelSmoothing) else {
      throw ValidationError("--label-smoothing must be in [0, 1).")
    }
    guard minArea > 0 && minArea <= 1 else {
      throw ValidationError("--min-area must be in (0, 1].")
    }
    guard !(resume && overwrite) else {
      throw ValidationError(
        "give one of --resume (continue the run in --out) and --overwrite (replace it).")
    }
    guard allreduceBucketMB > 0, allreduceBucketMB <= 65_536 else {
      throw ValidationError(
        "--allreduce-bucket-mb must be in (0, 65536] (got \(allreduceBucketMB)).")
    }
    guard progressInterval > 0, progressInterval <= 86_400 else {
      throw ValidationError("--progress-interval must be in (0, 86400] seconds.")
    }
  }
}
