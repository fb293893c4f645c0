// The training loop shared by `pretrain` (image model) and `finetune` (video model).
//
// Per epoch: a seeded permutation of the training list, decoded and augmented ahead of the
// model on background threads; forward, cross-entropy with label smoothing, backward,
// gradient accumulation, clipping by global norm, AdamW with a cosine schedule (per optimizer
// step, linear warm-up); then validation, `metrics.jsonl`, `curves.svg`, `last.safetensors`
// (weights, optimizer state and the run's position) and `best.safetensors`.
//
// Exact resume: every random draw depends only on (seed, epoch, index or step), the
// optimizer state is saved, and the schedule is a function of the global step — so a run
// resumed from `last.safetensors` reaches the same weights as an uninterrupted one with the
// same options (the same --threads too: reductions split by the thread budget round
// differently, about 1e-6 apart).
//
// Files: every write is atomic (`AtomicFile`). When an epoch is a new best, `best` is written
// before `last`, and `last` records which epoch `best` holds (`best_epoch`): a kill between
// the two leaves `best` one epoch ahead of `last`, and the resumed run redoes that epoch and
// writes it again. On resume, a `best.safetensors` that is missing or holds another epoch than
// `last` records is rewritten from `last` when `last` is that epoch, otherwise reported.
// Temporaries left by a killed write are removed when a run starts.
//
// Distributed (under `mpirun`, `communicator.size` = N > 1): each epoch's permutation is cut
// into global batches of N·b (b = `batchSize`, per process); rank r trains on its slice of b
// (`rankShare`). The ranks exchange how many samples each loaded (and which entries failed)
// before every forward, so each rank weights its loss by n_r / Σn and draws drop path as the
// sample's position in the global batch dictates; the gradients are then summed across ranks
// in buckets during backward (`GradientBuckets`) — together the global batch mean, as one
// process with batch N·b computes it. Every rank then takes the same optimizer step. Rank 0
// alone reads and writes files and prints; a resumed run's `last.safetensors` is sent to the
// other ranks, and every rank starts from rank 0's weights. Validation is sharded the same
// way as `eval`: blocks of whole batches, gathered on rank 0 in list order.

import Compute
import Datasets
import Distributed
import Foundation
import Inference
import Models
import NN
import Reports
import SafeTensors

/// Hyper-parameters of a training run.
public struct TrainOptions: Codable, Sendable, Equatable {
  public var epochs = 10
  /// Samples per forward pass.
  public var batchSize = 8
  /// Forward passes per optimizer step (gradient accumulation).
  public var accumulate = 1
  /// Peak learning rate (after warm-up) and the floor of the cosine decay.
  public var lr = 1e-3
  public var minLR = 1e-5
  public var warmupEpochs = 1.0
  public var weightDecay = 0.05
  public var labelSmoothing = 0.1
  /// Gradient clipping by global norm (0: off).
  public var clipNorm = 5.0
  /// Learning-rate multiplier of every parameter but the head (0.1 for inflated backbones).
  public var backboneLRScale = 1.0
  public var seed: UInt64 = 0
  /// Decoding threads.
  public var workers = 1
  /// The run stops when more than this fraction of a list's entries cannot be read.
  public var maxBadFraction = 0.2
  /// Validation views per entry.
  public var evalClips = 1
  public var evalCrops = 1
  /// Processes of a distributed run (`batchSize` is per process); nil for one process (and in
  /// files of earlier versions).
  public var processes: Int?
  /// Recompute each Swin block's activations in backward (`VCoSwinModel.recomputeActivations`).
  /// Not recorded with the run (absent from `CodingKeys`): gradients are bitwise the same either
  /// way, so a run may resume with or without it.
  public var recomputeActivations = false

  public init() {}

  /// Samples per global batch: processes × batch size.
  public var globalBatchSize: Int { batchSize * (processes ?? 1) }

  enum CodingKeys: String, CodingKey {
    case epochs, accumulate, lr, seed, workers, processes
    case batchSize = "batch_size", minLR = "min_lr", warmupEpochs = "warmup_epochs"
    case weightDecay = "weight_decay", labelSmoothing = "label_smoothing", clipNorm = "clip_norm"
    case backboneLRScale = "backbone_lr_scale", maxBadFraction = "max_bad_fraction"
    case evalClips = "eval_clips", evalCrops = "eval_crops"
  }
}

/// A training run that cannot go on, with the reason (file and line where it is about one).
public struct TrainingError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// Where a run stands: saved in `last.safetensors` under `__metadata__["training"]`.
struct RunState: Codable {
  var epochsDone: Int
  var step: Int
  var bestTop1: Double
  var history: [EpochMetrics]
  var options: TrainOptions
  var data: DataOptions
  /// The epoch `best.safetensors` holds (0: none yet); nil in files of earlier versions.
  var bestEpoch: Int?

  enum CodingKeys: String, CodingKey {
    case step, history, options, data
    case epochsDone = "epochs_done", bestTop1 = "best_top1", bestEpoch = "best_epoch"
  }

  /// `bestEpoch`, or for files that do not record it, the first epoch of the history that
  /// reached `bestTop1` (a best is replaced only by a strictly better one).
  var recordedBestEpoch: Int {
    if let bestEpoch { return bestEpoch }
    return history.first(where: { $0.valTop1 == bestTop1 })?.epoch ?? 0
  }

  /// The run state `file` records under `__metadata__["training"]`; nil when it records none
  /// (a checkpoint that no training run wrote).
  /// - Throws: `TrainingError` naming the file and the key (and the JSON field) when the block is
  ///   present but does not decode, or holds a figure no run writes (`implausibleFigure`).
  static func recorded(in file: SafeTensorsFile) throws -> RunState? {
    guard let text = file.metadata["training"] else { return nil }
    let state: RunState
    do {
      state = try JSONDecoder().decode(RunState.self, from: Data(text.utf8))
    } catch {
      throw TrainingError(
        "\(file.path): __metadata__ 'training': unreadable: \(decodingReason(error))")
    }
    if let problem = state.implausibleFigure {
      throw TrainingError("\(file.path): __metadata__ 'training': \(problem) (a damaged file)")
    }
    return state
  }

  /// The first figure no run records, in words naming its field, or nil: `best_top1` is −1
  /// (no epoch validated yet) or an accuracy in [0, 1]; in every `history` entry the accuracies
  /// (`val_top1`, `val_top5`, `train_top1`) lie in [0, 1] and `train_loss` (a cross-entropy)
  /// is finite and ≥ 0.
  var implausibleFigure: String? {
    func isAccuracy(_ x: Double) -> Bool { (0...1).contains(x) }
    if bestTop1 != -1, !isAccuracy(bestTop1) {
      return "best_top1 \(bestTop1) is no accuracy (0 to 1, or -1 before the first epoch)"
    }
    for (i, m) in history.enumerated() {
      let accuracies =
        [("val_top1", m.valTop1), ("val_top5", m.valTop5)]
        + (m.trainTop1.map { [("train_top1", $0)] } ?? [])
      for (key, value) in accuracies where !isAccuracy(value) {
        return "history[\(i)].\(key) \(value) is no accuracy (0 to 1)"
      }
      guard m.trainLoss.isFinite, m.trainLoss >= 0 else {
        return "history[\(i)].train_loss \(m.trainLoss) is no loss (finite, ≥ 0)"
      }
    }
    return nil
  }
}

/// Trains `model` on `train`, validating on `val` after every epoch, writing to `out`.
public final class Trainer {
  public let model: VCoSwinModel
  public let labels: [String]
  public let train: ListDataset
  public let val: ListDataset
  public let options: TrainOptions
  public let out: URL
  /// A name for the curves' titles (`image model`, `video model`).
  public let title: String
  /// Where the starting weights came from (saved in every checkpoint's provenance).
  public let provenance: String
  /// Messages for people (progress lines, skipped entries); stderr by default.
  public var log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
  /// Show progress: a bar when stderr is a terminal, otherwise a line every
  /// `progressInterval` seconds.
  public var showProgress = true
  /// Seconds between progress lines when stderr is not a terminal.
  public var progressInterval = ProgressBar.defaultLineInterval

  /// Optimizer steps skipped because the gradient norm was NaN or infinite, over the run.
  public private(set) var skippedSteps = 0
  /// Called with the store before each optimizer step (its gradients final but not yet
  /// clipped); for tests.
  var beforeStep: ((ParameterStore) -> Void)?
  /// Called after each epoch's files are written, with the epoch; for tests (a throw
  /// simulates a kill there).
  var afterEpoch: ((Int) throws -> Void)?
  /// The processes of the run (`options.processes` must equal its size).
  public let communicator: Communicator
  /// Floats per gradient all-reduce bucket (distributed runs).
  public var bucketFloats = GradientBuckets.defaultBucketFloats

  private let optimizer: AdamW
  private let loss: CrossEntropyLoss
  private var reported = Set<String>()  // "list path \0 index" of entries already reported

  public init(
    model: VCoSwinModel, labels: [String], provenance: String, train: ListDataset, val: ListDataset,
    options: TrainOptions, out: URL, title: String, communicator: Communicator = .world
  ) throws {
    guard (options.processes ?? 1) == communicator.size else {
      throw TrainingError(
        "options for \(options.processes ?? 1) processes, but the run has \(communicator.size)")
    }
    guard labels.count == model.config.classes else {
      throw TrainingError("\(labels.count) labels for a model with \(model.config.classes) classes")
    }
    let expectKind: SampleKind = model.config.dims == 2 ? .image : .video
    guard train.options.kind == expectKind else {
      throw TrainingError(
        "a \(model.config.kind) model cannot train on \(train.options.kind) samples")
    }
    self.model = model
    self.labels = labels
    self.train = train
    self.val = val
    self.options = options
    self.out = out
    self.title = title
    self.provenance = provenance
    self.communicator = communicator
    if !communicator.isRoot { showProgress = false }
    for p in model.store.parameters where !p.name.hasPrefix("head.") {
      p.lrScale = Float(options.backboneLRScale)
    }
    model.recomputeActivations = options.recomputeActivations
    optimizer = AdamW(store: model.store, weightDecay: Float(options.weightDecay))
    loss = CrossEntropyLoss(smoothing: Float(options.labelSmoothing))
  }

  var lastURL: URL { out.appendingPathComponent("last.safetensors") }
  var bestURL: URL { out.appendingPathComponent("best.safetensors") }

  /// Optimizer steps per epoch (of global batches).
  var stepsPerEpoch: Int {
    let batches = (train.count + options.globalBatchSize - 1) / options.globalBatchSize
    return Swift.max(1, (batches + options.accumulate - 1) / options.accumulate)
  }

  /// Runs the remaining epochs (all of them, or those after `last.safetensors` with
  /// `resume`) and returns the whole history.
  @discardableResult
  public func run(resume: Bool) throws -> [EpochMetrics] {
    if communicator.isRoot {
      do {
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
      } catch {
        throw TrainingError(
          "\(out.path): cannot create the output folder: \((error as NSError).localizedDescription)"
        )
      }
      for name in AtomicFile.removeStaleTemporaries(in: out.path) {
        note("removed \(out.appendingPathComponent(name).path), left by an interrupted write")
      }
    }
    try checkBadLines(train)
    try checkBadLines(val)
    let empty = train.classesWithoutEntries
    if !empty.isEmpty {
      let names =
        empty.prefix(10).map { labels[$0] }.joined(separator: ", ")
        + (empty.count > 10 ? ", …" : "")
      note(
        "warning: \(empty.count) of \(labels.count) classes have no entries in \(train.list.path): \(names)"
      )
    }
    var state = RunState(
      epochsDone: 0, step: 0, bestTop1: -1, history: [], options: options, data: train.options,
      bestEpoch: 0)
    var bestAhead: Int? = nil
    if resume {
      if let file = try lastCheckpointForResume() {
        state = try restore(file)
        note("resuming \(lastURL.path) after epoch \(state.epochsDone) (step \(state.step))")
        if communicator.isRoot {
          bestAhead = try reconcileBest(&state)
        } else {
          state.bestEpoch = state.recordedBestEpoch
        }
      } else {
        note("nothing to resume in \(out.path): starting from epoch 1")
      }
    }
    // Every rank starts from rank 0's weights (the optimizer state is equal already: zero, or
    // restored from the same bytes).
    try communicator.broadcast(model.store.values.pointer, count: model.store.values.count, root: 0)
    if communicator.isDistributed {
      note(
        "\(communicator.size) processes × batch \(options.batchSize) × accumulate "
          + "\(options.accumulate) = effective batch \(options.globalBatchSize * options.accumulate)"
      )
    }
    let total = options.epochs * stepsPerEpoch
    let schedule = CosineSchedule(
      base: Float(options.lr), minimum: Float(options.minLR),
      warmupSteps: Swift.min(total, Int((options.warmupEpochs * Double(stepsPerEpoch)).rounded())),
      totalSteps: total)
    for epoch in stride(from: state.epochsDone + 1, through: options.epochs, by: 1) {
      let started = DispatchTime.now().uptimeNanoseconds
      let trained = try trainEpoch(epoch, state: &state, schedule: schedule)
      let trainLoss = trained.loss
      try checkReplicasAgree(epoch: epoch)
      guard let result = try validate() else {
        // Metrics and files are rank 0's; the others go on to the next epoch.
        state.epochsDone = epoch
        continue
      }
      report(result.skipped, of: val)
      try checkValidation(result)
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
      let metrics = EpochMetrics(
        epoch: epoch, trainLoss: trainLoss, valTop1: result.top1, valTop5: result.top5,
        lr: Double(schedule.learningRate(at: Swift.max(0, state.step - 1))), seconds: seconds,
        skipped: result.skipped.count, trainTop1: trained.top1,
        clipsPerSecond: trained.clipsPerSecond,
        dataWait: trained.dataWait)
      state.history.append(metrics)
      state.epochsDone = epoch
      note(
        String(
          format:
            "epoch %d/%d  loss %.4f  train top-1 %.3f  val top-1 %.3f  top-5 %.3f  (%.1f s, %.1f clips/s, %.0f%% waiting for data)",
          epoch, options.epochs, trainLoss, trained.top1, result.top1, result.top5, seconds,
          trained.clipsPerSecond, 100 * trained.dataWait))
      let isBest = result.top1 > state.bestTop1
      if isBest {
        state.bestTop1 = result.top1
        state.bestEpoch = epoch
      }
      try MetricsLog.write(state.history, to: out, title: title)
      // `best` first: a kill between the two writes leaves `best` ahead of `last`, and the
      // resumed run redoes this epoch; the other order would leave `best` behind for good.
      if isBest { try save(state: state, to: bestURL, optimizerState: false) }
      try save(state: state, to: lastURL, optimizerState: true)
      if let ahead = bestAhead, ahead == epoch, !isBest {
        note(
          "warning: \(bestURL.path) holds epoch \(epoch) of the interrupted run, which this run's epoch \(epoch) did not match (other --threads?); the best epoch recorded is \(state.recordedBestEpoch)"
        )
      }
      try afterEpoch?(epoch)
    }
    return state.history
  }

  /// Evaluates the model on `val` as `eval` does (`ShardedEvaluation`). Distributed, each rank
  /// takes a contiguous block of whole batches and rank 0 gathers the rows in list order: the
  /// result (on rank 0; nil elsewhere) is one process's, to float rounding of the batch size.
  private func validate() throws -> EvaluationResult? {
    let evaluation = ShardedEvaluation(
      model: model, dataset: val, views: Views(clips: options.evalClips, crops: options.evalCrops),
      batchSize: options.batchSize, workers: options.workers)
    return try evaluation.run(on: communicator) { entries in
      showProgress
        ? ProgressBar("  validate", total: entries, unit: "clip", lineInterval: progressInterval)
        : nil
    }
  }

  /// Checks `best.safetensors` against what `last.safetensors` (restored into `state`)
  /// records. Missing or another epoch: rewritten from the restored weights when `last` is the
  /// best epoch; one epoch ahead of `last` (a kill between the two writes): left to the redone
  /// epoch, whose number is returned; otherwise reported.
  private func reconcileBest(_ state: inout RunState) throws -> Int? {
    let recorded = state.recordedBestEpoch
    state.bestEpoch = recorded
    guard recorded > 0 else { return nil }
    let onDisk = Self.epochsDone(of: bestURL.path)
    if onDisk == recorded { return nil }
    let found =
      onDisk.map { "holds epoch \($0)" }
      ?? (FileManager.default.fileExists(atPath: bestURL.path) ? "cannot be read" : "is missing")
    if recorded == state.epochsDone {
      try save(state: state, to: bestURL, optimizerState: false)
      note(
        "\(bestURL.path) \(found) but \(lastURL.path) records best epoch \(recorded): rewritten from it"
      )
      return nil
    }
    if let onDisk, onDisk == state.epochsDone + 1 {
      note(
        "\(bestURL.path) holds epoch \(onDisk), which \(lastURL.path) does not record yet (stopped between the two writes): epoch \(onDisk) is redone"
      )
      return onDisk
    }
    note(
      "warning: \(bestURL.path) \(found) but \(lastURL.path) records best epoch \(recorded), whose weights it does not hold; best.safetensors is written again when an epoch beats val top-1 \(String(format: "%.4f", state.bestTop1))"
    )
    return nil
  }

  /// `epochs_done` of a checkpoint written by a training run; nil when it is missing or
  /// unreadable. A probe: the caller reports such a file and rewrites or replaces it.
  static func epochsDone(of path: String) -> Int? {
    guard FileManager.default.fileExists(atPath: path),
      let file = try? SafeTensorsFile.read(path: path),
      let state = try? RunState.recorded(in: file)
    else { return nil }
    return state.epochsDone
  }

  /// Checks the run state `file` records, if any, as a resume reads it: decodable, and every
  /// accuracy in [0, 1] and loss finite (for `info`, which prints them).
  /// - Throws: `TrainingError` naming the file, `__metadata__ 'training'` and the field.
  public static func checkRunState(in file: SafeTensorsFile) throws {
    _ = try RunState.recorded(in: file)
  }

  /// Validation that could not read more than `maxBadFraction` of its list stops the run,
  /// before any checkpoint of the epoch is written (its accuracy would mean nothing).
  private func checkValidation(_ result: EvaluationResult) throws {
    let skipped = result.skipped.count
    guard result.count == 0 || Double(skipped) > options.maxBadFraction * Double(val.count) else {
      return
    }
    throw TrainingError(
      "\(val.list.path): \(skipped) of \(val.count) validation entries could not be read (more than \(Int(options.maxBadFraction * 100))%); first: \(result.skipped.first?.message ?? "none")"
    )
  }

  /// One epoch of training: the mean training loss, the training top-1 (of the samples as
  /// trained, augmented) and the clips per second of the epoch's training (all ranks').
  private func trainEpoch(
    _ epoch: Int, state: inout RunState, schedule: CosineSchedule
  ) throws -> (loss: Double, top1: Double, clipsPerSecond: Double, dataWait: Double) {
    let started = DispatchTime.now().uptimeNanoseconds
    var waited: UInt64 = 0  // nanoseconds spent in `loader.next()` (the model waiting for data)
    let order = seededPermutation(train.count, seed: options.seed &+ UInt64(epoch) &* 7919)
    let (rank, ranks) = (communicator.rank, communicator.size)
    // Global batches of the epoch; this rank loads its part of each (maybe none of the last).
    let batchCount = (order.count + options.globalBatchSize - 1) / options.globalBatchSize
    let loader = BatchLoader<TrainingSample>(
      order: rankShare(of: order, batchSize: options.batchSize, rank: rank, ranks: ranks),
      batchSize: options.batchSize, workers: options.workers, seed: options.seed, epoch: epoch
    ) { [train] i, rng in try train.trainingSample(i, rng: &rng) }
    defer { loader.stop() }
    let buckets =
      communicator.isDistributed
      ? GradientBuckets(communicator: communicator, store: model.store, bucketFloats: bucketFloats)
      : nil
    model.onGradientsFinal = buckets.map { b in { b.gradientsFinal(from: $0) } }
    defer { model.onGradientsFinal = nil }
    let bar =
      showProgress
      ? ProgressBar(
        "epoch \(epoch)/\(options.epochs)", total: train.count, unit: "clip",
        lineInterval: progressInterval)
      : nil
    var lossSum = 0.0
    var seen = 0
    var hits = 0
    var micro = 0  // global batches that reached the model (on some rank)
    var inGroup = 0  // batches of the current accumulation group that added gradients
    var skipped = 0
    let stepsBefore = state.step
    let skippedStepsBefore = skippedSteps
    model.store.zeroGrads()
    for position in 1...Swift.max(1, batchCount) {
      let asked = DispatchTime.now().uptimeNanoseconds
      let batch = loader.next() ?? .init(samples: [], indices: [], skipped: [])
      waited += DispatchTime.now().uptimeNanoseconds - asked
      let share = try exchangeCounts(batch)
      skipped += share.skippedCount
      report(share.skipped, of: train)
      if Double(skipped) > options.maxBadFraction * Double(train.count) {
        throw TrainingError(
          "\(train.list.path): \(skipped) of \(train.count) entries could not be read (more than \(Int(options.maxBadFraction * 100))%); first: \(share.skipped.first?.message ?? "")"
        )
      }
      // A group ends every `accumulate` batches, and at the epoch's last batch (a shorter group).
      let endsGroup = position % options.accumulate == 0 || position == batchCount
      if share.total == 0 {
        if endsGroup && inGroup > 0 {
          try step(
            schedule: schedule, state: &state, batches: inGroup, epoch: epoch, buckets: buckets)
        }
        if endsGroup { inGroup = 0 }
        bar?.advance(share.skippedCount)
        continue
      }
      if !batch.samples.isEmpty {
        let input = stack(batch.samples.map(\.values), shape: train.options.sampleShape)
        let labels = batch.samples.map(\.label)
        model.reseedStochasticDepth(
          BatchLoader<TrainingSample>.sampleSeed(
            seed: options.seed, epoch: epoch, index: -1 - micro),
          skippingSamples: share.offset)
        let output = try model.forward(input, training: true)
        let l = loss.forward(output.logits, labels: labels)
        guard l.isFinite else {
          throw TrainingError(
            "the training loss became \(l) at epoch \(epoch), batch \(micro + 1): lower --lr")
        }
        lossSum += Double(l) * Double(labels.count)
        seen += labels.count
        let k = output.logits.shape[output.logits.shape.count - 1]
        for (r, label) in labels.enumerated() {
          let row = UnsafeBufferPointer(start: output.logits.pointer + r * k, count: k)
          if let top = row.indices.max(by: { row[$0] < row[$1] }), top == label { hits += 1 }
        }
        // This rank's mean over its n_r samples, weighted n_r / Σn: the ranks' sum is the mean
        // over the global batch.
        let dlogits = loss.backward()
        if labels.count != share.total {
          let w = Float(labels.count) / Float(share.total)
          for i in 0..<dlogits.count { dlogits.pointer[i] *= w }
        }
        if endsGroup { buckets?.arm() }
        model.backward(dlogits)
      }
      micro += 1
      inGroup += 1
      if endsGroup {
        try step(
          schedule: schedule, state: &state, batches: inGroup, epoch: epoch, buckets: buckets)
        inGroup = 0
      }
      bar?.status = String(format: "loss %.3f", lossSum / Double(Swift.max(1, seen)))
      // After the step: the bar reaches N/N only when the epoch's last step is done.
      bar?.advance(share.total + share.skippedCount)
    }
    bar?.finish()
    var sums = [lossSum, Double(seen), Double(hits)]
    try communicator.allReduceSum(&sums)
    (lossSum, seen, hits) = (sums[0], Int(sums[1]), Int(sums[2]))
    let steps = state.step - stepsBefore
    if steps > 0 && skippedSteps - skippedStepsBefore == steps {
      throw TrainingError(
        "epoch \(epoch): every optimizer step had a NaN or infinite gradient norm: lower --lr")
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
    // The slowest-fed rank's fraction: the step waits for it.
    var wait = [Double(waited) / 1e9 / Swift.max(seconds, 1e-9)]
    try communicator.allReduceMax(&wait)
    return (
      seen == 0 ? .nan : lossSum / Double(seen), seen == 0 ? 0 : Double(hits) / Double(seen),
      Double(seen) / Swift.max(seconds, 1e-9), wait[0]
    )
  }

  /// A global batch as every rank sees it: samples loaded on all ranks (`total`), on the ranks
  /// before this one (`offset`: this rank's first position in the batch), how many entries
  /// could not be read on all ranks, and those entries (on rank 0, which reports them, in the
  /// order one process meets them; empty elsewhere).
  private struct BatchShare {
    var total: Int
    var offset: Int
    var skippedCount: Int
    var skipped: [SkippedEntry]
  }

  /// Tells every rank how many samples each rank loaded for this global batch, and sends the
  /// entries that failed to rank 0 (only when some did). One process: no communication.
  private func exchangeCounts(_ batch: BatchLoader<TrainingSample>.Batch) throws -> BatchShare {
    guard communicator.isDistributed else {
      return BatchShare(
        total: batch.samples.count, offset: 0, skippedCount: batch.skipped.count,
        skipped: batch.skipped)
    }
    let (rank, ranks) = (communicator.rank, communicator.size)
    // counts [ranks + 1]: samples loaded per rank, then entries skipped on all ranks.
    var counts = [Double](repeating: 0, count: ranks + 1)
    counts[rank] = Double(batch.samples.count)
    counts[ranks] = Double(batch.skipped.count)
    try communicator.allReduceSum(&counts)
    let loaded = counts[0..<ranks].map { Int($0) }
    var share = BatchShare(
      total: loaded.reduce(0, +), offset: loaded[0..<rank].reduce(0, +),
      skippedCount: Int(counts[ranks]), skipped: [])
    guard counts[ranks] > 0 else { return share }
    let mine = try JSONEncoder().encode(
      batch.skipped.map { SkippedWire(index: $0.index, message: $0.message) })
    guard let all = try communicator.gather(bytes: [UInt8](mine), root: 0) else { return share }
    // Rank order is position order in the global batch: the order one process meets them.
    for bytes in all {
      let entries = try JSONDecoder().decode([SkippedWire].self, from: Data(bytes))
      share.skipped += entries.map { SkippedEntry(index: $0.index, message: $0.message) }
    }
    return share
  }

  /// A skipped entry as sent between ranks.
  private struct SkippedWire: Codable {
    var index: Int
    var message: String
  }

  /// One optimizer step from the gradients of `batches` accumulated batches: summed across
  /// ranks (`buckets`, distributed runs), their mean (each batch's loss is already a mean over
  /// its samples), clipped, then AdamW. A NaN or infinite gradient norm skips the update
  /// (weights and optimizer state stay; the schedule moves on), with a warning, counted in
  /// `skippedSteps`.
  private func step(
    schedule: CosineSchedule, state: inout RunState, batches: Int, epoch: Int,
    buckets: GradientBuckets?
  ) throws {
    try buckets?.finish()
    if batches > 1 {
      let s = 1 / Float(batches)
      let g = model.store.grads.pointer
      parallelChunks(model.store.grads.count, grain: 65536) { range in
        for i in range { g[i] *= s }
      }
    }
    beforeStep?(model.store)
    let norm =
      options.clipNorm > 0
      ? clipGradientNorm(model.store, maxNorm: Float(options.clipNorm)) : gradientNorm(model.store)
    if norm.isFinite {
      optimizer.update(lr: schedule.learningRate(at: state.step), zeroingGradients: true)
    } else {
      skippedSteps += 1
      note(
        "warning: epoch \(epoch), step \(state.step + 1): the gradient norm is \(norm); the step is skipped"
      )
      model.store.zeroGrads()
    }
    state.step += 1
  }

  /// A message for people, from rank 0 only.
  private func note(_ message: String) {
    if communicator.isRoot { log(message) }
  }

  /// Every rank must hold the same weights after an epoch (they take the same steps from the
  /// same gradients); compares the sum of the weights across ranks, exactly.
  private func checkReplicasAgree(epoch: Int) throws {
    guard communicator.isDistributed else { return }
    let w = model.store.values
    var sum = 0.0
    for i in 0..<w.count { sum += Double(w.pointer[i]) }
    var extremes = [sum, -sum]
    try communicator.allReduceMax(&extremes)
    guard extremes[0] == -extremes[1] else {
      throw TrainingError(
        "epoch \(epoch): the ranks' weights differ (sums from \(-extremes[1]) to \(extremes[0])); "
          + "the processes must run the same build on the same kind of CPU, with the same --threads"
      )
    }
  }

  private func checkBadLines(_ d: ListDataset) throws {
    for e in d.list.badLines { note("warning: \(e) (skipped)") }
    let n = d.list.badLines.count
    if n > 0 && Double(n) > options.maxBadFraction * Double(n + d.count) {
      throw TrainingError(
        "\(d.list.path): \(n) of \(n + d.count) lines are malformed; first: \(d.list.badLines[0])")
    }
    if d.count == 0 { throw TrainingError("\(d.list.path): no usable entries") }
  }

  private func report(_ skipped: [SkippedEntry], of d: ListDataset) {
    // Each bad entry is reported once per run, though it is met again every epoch.
    for s in skipped where reported.insert("\(d.list.path)\u{0}\(s.index)").inserted {
      note("warning: \(s.message) (skipped)")
    }
  }

  /// Writes weights (and optimizer state) with the run state in the metadata, atomically.
  private func save(state: RunState, to url: URL, optimizerState: Bool) throws {
    let info = CheckpointInfo(config: model.config, labels: labels, provenance: provenance)
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys]
    let training = String(decoding: try enc.encode(state), as: UTF8.self)
    var optimizerTensors: [String: Tensor] = [:]
    if optimizerState {
      for (name, t) in optimizer.stateTensors() {
        optimizerTensors[Checkpoint.optimizerPrefix + name] = t
      }
    }
    try Checkpoint.write(
      to: url.path, info: info, store: model.store, extraMetadata: ["training": training],
      extraTensors: optimizerTensors)
  }

  /// `last.safetensors` when it exists, read by rank 0 and sent to the other ranks; nil when
  /// there is none.
  private func lastCheckpointForResume() throws -> SafeTensorsFile? {
    let path = lastURL.path
    guard communicator.isDistributed else {
      guard FileManager.default.fileExists(atPath: path) else { return nil }
      return try SafeTensorsFile.read(path: path)
    }
    var bytes: [UInt8] = []
    if communicator.isRoot, FileManager.default.fileExists(atPath: path) {
      // Read and verified here first: a bad file is rank 0's error, before anything is sent.
      _ = try SafeTensorsFile.read(path: path)
      guard let data = FileManager.default.contents(atPath: path) else {
        throw TrainingError("\(path): cannot be read")
      }
      bytes = [UInt8](data)
    }
    bytes = try communicator.broadcast(bytes: bytes, root: 0)
    return bytes.isEmpty ? nil : try SafeTensorsFile.parse(Data(bytes), path: path)
  }

  /// Loads `last.safetensors`: weights, optimizer state and the run state.
  private func restore(_ file: SafeTensorsFile) throws -> RunState {
    let path = lastURL.path
    let info = try Checkpoint.info(of: file)
    guard info.config == model.config else {
      let fields = Self.differences(model.config, info.config)
      throw TrainingError(
        "\(path): this run's model config differs from the recorded one (this run ≠ recorded): \(fields.isEmpty ? "config" : fields.joined(separator: ", ")); resume with the same model, or start a new --out"
      )
    }
    guard var state = try RunState.recorded(in: file) else {
      throw TrainingError(
        "\(path): __metadata__ has no 'training' (the run state a training run writes into last.safetensors): not a checkpoint to resume; start a new --out"
      )
    }
    guard state.options.epochs == options.epochs else {
      throw TrainingError(
        "--epochs \(options.epochs) ≠ \(state.options.epochs) recorded in \(path): the learning-rate schedule spans the epochs of the run; resume with --epochs \(state.options.epochs), or start a new --out"
      )
    }
    // A damaged or edited position would overflow the epoch loop or the step counter.
    guard (0...options.epochs).contains(state.epochsDone),
      (0...(options.epochs * stepsPerEpoch)).contains(state.step)
    else {
      throw TrainingError(
        "\(path): epochs_done \(state.epochsDone), step \(state.step) is no position in a run of \(options.epochs) epochs of \(stepsPerEpoch) steps (a damaged file); start a new --out"
      )
    }
    var fields: [String] = []
    if state.options.seed != options.seed {
      fields.append("seed \(options.seed) ≠ \(state.options.seed)")
    }
    // The global batch fixes the schedule; how it is split between processes does not matter.
    if state.options.globalBatchSize != options.globalBatchSize {
      let (now, then) = (options, state.options)
      fields.append(
        now.processes == nil && then.processes == nil
          ? "batch size \(now.batchSize) ≠ \(then.batchSize)"
          : "processes × batch size \(now.processes ?? 1) × \(now.batchSize) ≠ \(then.processes ?? 1) × \(then.batchSize)"
      )
    }
    if state.options.accumulate != options.accumulate {
      fields.append("accumulate \(options.accumulate) ≠ \(state.options.accumulate)")
    }
    if state.data != train.options {
      let data = Self.differences(train.options, state.data)
      fields += data.isEmpty ? ["data options"] : data
    }
    guard fields.isEmpty else {
      throw TrainingError(
        "\(path): this run's options differ from the recorded ones (this run ≠ recorded): \(fields.joined(separator: ", ")); resume with the recorded ones, or start a new --out"
      )
    }
    // The files of this run record how it is split now.
    state.options.batchSize = options.batchSize
    state.options.processes = options.processes
    try model.load(file)
    var tensors: [String: Tensor] = [:]
    for key in file.keys where key.hasPrefix(Checkpoint.optimizerPrefix) {
      let t = try file.floats(key)
      tensors[String(key.dropFirst(Checkpoint.optimizerPrefix.count))] = Tensor(
        shape: t.shape, values: t.values)
    }
    do {
      try optimizer.loadState(tensors)
    } catch {
      throw TrainingError("\(path): optimizer state: \(error)")
    }
    return state
  }
}

extension Trainer {
  /// `field this ≠ recorded` for every top-level JSON field (snake_case, as files record them,
  /// `_` read as a space) in which `current` and `recorded` differ; values as JSON.
  static func differences<T: Encodable>(_ current: T, _ recorded: T) -> [String] {
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    func fields(_ v: T) -> [String: Any] {
      guard let data = try? enc.encode(v),
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
      else { return [:] }
      return object
    }
    func text(_ v: Any?) -> String {
      guard let v else { return "none" }
      guard
        let data = try? JSONSerialization.data(
          withJSONObject: v, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes])
      else { return "\(v)" }
      return String(decoding: data, as: UTF8.self)
    }
    let (a, b) = (fields(current), fields(recorded))
    return Set(a.keys).union(b.keys).sorted().compactMap { key in
      let (x, y) = (text(a[key]), text(b[key]))
      return x == y ? nil : "\(key.replacingOccurrences(of: "_", with: " ")) \(x) ≠ \(y)"
    }
  }

  /// The files a training run writes in its folder: a folder holding any of them holds a run.
  public static let runFileNames = [
    "metrics.jsonl", "curves.svg", "last.safetensors", "best.safetensors",
  ]

  /// The run files present in `folder` (none when it does not exist).
  public static func existingRunFiles(in folder: URL) -> [String] {
    runFileNames.filter {
      FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path)
    }
  }
}
