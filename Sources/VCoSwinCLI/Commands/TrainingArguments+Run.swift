import ArgumentParser
import Compute
import Datasets
import Distributed
import Foundation
import Models
import Reports
import Training
import VideoIO

// What the training commands do with their shared options: labels, flips, the options of a
// run, and the run itself (lock, lists, trainer).

extension TrainingArguments {
  /// The class names: the labels file, or `class_i` up to the largest label in the lists.
  func labelNames() throws -> [String] {
    if let labels { return try readLabels(labels) }
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
      printHumanError("error: \(prefix)\(text)")
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
    if let note = try folder.lock() { printHumanError(note) }
    defer { folder.unlock() }
    let earlier = try folder.earlierRun(startingAs: start)
    let source = self.labels.map { "\($0)" } ?? "class_0…class_\(labels.count - 1)"
    let trainSet = try ListDataset(
      listPath: train, labels: labels, options: data, labelsSource: source)
    let valSet = try ListDataset(
      listPath: val, labels: labels, options: data, labelsSource: source)
    if let recipe, world.isRoot { printHumanError(recipe) }
    // Only once the lists are known good: a mistyped list leaves the earlier run in place.
    if start == .overwrite, let removed = try folder.removeEarlierRun(earlier) {
      printHumanError(removed)
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
    printHuman(
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
