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
    help: "Labels file: one class name per line (default: class_0, class_1, … from the lists).")
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

  /// The class names: the labels file, or `class_i` up to the largest label in the lists.
  func labelNames() throws -> [String] {
    if let labels { return try readLabelsFile(labels) }
    var top = -1
    for path in [train, val] {
      let list = try ClipList(contentsOf: path, skipBadLines: true)
      // Names without a labels file: one error listing them, not a warning per line.
      if let message = ListDataset.unknownLabels(in: list, classes: 0, source: nil) {
        throw CommandFailure(message)
      }
      top = Swift.max(top, list.entries.map(\.label).max() ?? -1)
    }
    guard top >= 0 else { throw CommandFailure("\(train): no entries with labels") }
    return (0...top).map { "class_\($0)" }
  }

  /// Whether to flip, and the flipped samples' labels (`--flip`, `--flip-map`).
  func flipOptions(labels: [String]) throws -> (flip: Bool, labels: [Int]?) {
    guard let flipMap else { return (flip, nil) }
    return (true, try flipLabelMap(flipMap, labels: labels))
  }

  func trainOptions(
    defaultLR: Double, backboneLRScale: Double, defaultWarmupEpochs: Double = 1,
    defaultWeightDecay: Double = 0.05
  ) -> TrainOptions {
    var o = TrainOptions()
    o.epochs = epochs
    o.batchSize = batchSize
    o.accumulate = accumulate
    o.lr = lr ?? defaultLR
    o.minLR = minLR
    o.warmupEpochs = warmupEpochs ?? defaultWarmupEpochs
    o.weightDecay = weightDecay ?? defaultWeightDecay
    o.labelSmoothing = labelSmoothing
    o.clipNorm = clipNorm
    o.backboneLRScale = backboneLRScale
    o.seed = seed
    o.workers = workers
    o.recomputeActivations = recomputeActivations
    return o
  }

  /// Trains and prints where the results are; `recipe` (where the data options came from) is
  /// printed once the lists are read.
  ///
  /// Under `mpirun` every process runs this; rank 0 alone writes and prints. An error on any
  /// rank is printed (prefixed with the rank, except on rank 0) and stops the whole job
  /// (`MPI_Abort`, exit status 1), so no rank waits for one that has given up.
  func run(
    model: VCoSwinModel, labels: [String], provenance: String, data: DataOptions,
    options: TrainOptions,
    title: String, recipe: String? = nil
  ) throws {
    let world = Communicator.world
    guard world.usesMPI else {
      return try train(
        model: model, labels: labels, provenance: provenance, data: data, options: options,
        title: title, recipe: recipe, world: world)
    }
    do {
      var options = options
      options.processes = world.isDistributed ? world.size : nil
      try train(
        model: model, labels: labels, provenance: provenance, data: data, options: options,
        title: title, recipe: recipe, world: world)
      try world.barrier()
      world.finalize()
    } catch {
      let text = (error as? CommandFailure)?.message ?? String(describing: error)
      // A DistributedError names its rank already.
      let prefix =
        world.isRoot || error is DistributedError ? "" : "rank \(world.rank) of \(world.size): "
      FileHandle.standardError.write(Data("error: \(prefix)\(text)\n".utf8))
      world.abort(code: 1)
    }
  }

  private func train(
    model: VCoSwinModel, labels: [String], provenance: String, data: DataOptions,
    options: TrainOptions,
    title: String, recipe: String?, world: Communicator
  ) throws {
    ThreadBudget.configure(threads: threads)
    let sizes = Array(data.sampleShape.dropFirst())
    try MemoryBudget.check(
      model.config.trainingBytes(
        batch: batchSize, input: sizes, recompute: options.recomputeActivations),
      what:
        "a training step of batch \(batchSize) at \(sizes.map(String.init).joined(separator: "×"))",
      processes: processesOnThisMachine())
    // Rank 0 owns the output folder (other hosts may not even see it).
    let folder = RunFolder(path: out, owner: world.isRoot)
    // Locked before it is looked at: a second run on it is refused, naming this process.
    if let note = try folder.lock() { FileHandle.standardError.write(Data((note + "\n").utf8)) }
    defer { folder.unlock() }
    let earlier = try folder.earlierRun(startingAs: start)
    let source = self.labels.map { "\($0)" } ?? "class_0…class_\(labels.count - 1)"
    let trainSet = try ListDataset(
      listPath: train, labels: labels, options: data, labelsSource: source)
    let valSet = try ListDataset(
      listPath: val, labels: labels, options: data, labelsSource: source)
    if let recipe, world.isRoot { FileHandle.standardError.write(Data((recipe + "\n").utf8)) }
    // Only once the lists are known good: a mistyped list leaves the earlier run in place.
    if start == .overwrite, let removed = try folder.removeEarlierRun(earlier) {
      FileHandle.standardError.write(Data((removed + "\n").utf8))
    }
    let group = makeTrainingGroup(
      world, bucketFloats: Swift.max(1, Int(allreduceBucketMB * 1_048_576 / 4)))
    let trainer = try Trainer(
      model: model, labels: labels, provenance: provenance, train: trainSet, val: valSet,
      options: options, out: folder.url, title: title, group: group, folder: folder)
    trainer.showProgress = !quiet
    trainer.progressInterval = progressInterval
    let started = Date()
    let history = try trainer.run(resume: start == .resume)
    guard world.isRoot else { return }
    let best = history.map(\.valTop1).max() ?? 0
    print(
      String(
        format:
          "%@: %d epochs, best val top-1 %.3f, %.0f s; %@/best.safetensors, %@/metrics.jsonl, %@/curves.svg",
        title, history.count, best, Date().timeIntervalSince(started), out, out, out))
  }
}

/// Class names from a `--labels` file (one name per line). A value that is not a readable
/// file is an error naming it; one with commas is taken for a comma list and pointed to a file.
func readLabelsFile(_ value: String) throws -> [String] {
  var isFolder: ObjCBool = false
  if !FileManager.default.fileExists(atPath: value, isDirectory: &isFolder) {
    if value.contains(",") {
      throw CommandFailure(
        "--labels \(value): no such file; --labels takes a labels file (one class name per line), not a comma list: write the names to a file, one per line"
      )
    }
    throw CommandFailure("--labels \(value): no such file (a labels file: one class name per line)")
  }
  if isFolder.boolValue {
    throw CommandFailure(
      "--labels \(value): is a folder, not a labels file (one class name per line)")
  }
  do {
    return try ClipList.labelNames(contentsOf: value)
  } catch let error as ListError {
    throw CommandFailure(error.description)
  }
}

/// `--threads` by default: the machine's cores, shared out among the processes `mpirun`
/// started on this machine (`processesOnThisMachine()`), at least 1 each. A bad
/// `OMPI_COMM_WORLD_LOCAL_SIZE` counts as 1 here; the memory check reports it.
func defaultTrainingThreads() -> Int {
  let cores = ProcessInfo.processInfo.activeProcessorCount
  return Swift.max(1, cores / ((try? processesOnThisMachine()) ?? 1))
}

/// The variable Open MPI sets in each process to the number of processes it started on that
/// process's machine.
let localProcessesVariable = "OMPI_COMM_WORLD_LOCAL_SIZE"

/// The processes of this job that run on this machine and share its cores and memory: Open MPI's
/// `OMPI_COMM_WORLD_LOCAL_SIZE`, or 1 when it is not set (no `mpirun`).
/// - Throws: `CommandFailure` naming the variable when its value is not an integer ≥ 1.
func processesOnThisMachine(
  environment: [String: String] = ProcessInfo.processInfo.environment
) throws -> Int {
  guard let text = environment[localProcessesVariable] else { return 1 }
  guard let count = Int(text.trimmingCharacters(in: .whitespaces)), count >= 1 else {
    throw CommandFailure(
      "\(localProcessesVariable)='\(text)': not a whole number of processes ≥ 1 (mpirun sets it to the processes it started on this machine)"
    )
  }
  return count
}
