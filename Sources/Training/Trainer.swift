// The training loop shared by `pretrain` (image model) and `finetune` (video model).
//
// Per epoch: a seeded permutation of the training list, decoded and augmented ahead of the
// model on background threads; forward, cross-entropy with label smoothing, backward,
// gradient accumulation, clipping by global norm, AdamW with a cosine schedule (per optimizer
// step, linear warm-up); then validation and the epoch's files.
//
// Exact resume: every random draw depends only on (seed, epoch, index or step), the
// optimizer state is saved, and the schedule is a function of the global step — so a run
// resumed from `last.safetensors` reaches the same weights as an uninterrupted one with the
// same options (the same --threads too: reductions split by the thread budget round
// differently, about 1e-6 apart).
//
// The loop keeps the epoch and the step; the rest is in the types it calls:
// - `RunFolder`: `metrics.jsonl`, `curves.svg`, `last` and `best`, resume and their repair;
// - `TrainingGroup`: one process or the ranks of an `mpirun` job — the data split, the
//   per-batch counts, the gradient sums (`GradientSync`), sharded validation;
// - `BadEntryPolicy`: when malformed lines and unreadable entries stop the run;
// - `TrainingConsole`: warnings, the epoch lines and progress.

import Compute
import Datasets
import Distributed
import Foundation
import Inference
import Models
import NN
import Reports

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
  /// The processes of the run (`options.processes` must equal its size).
  public let group: any TrainingGroup
  /// The run's files (`out`).
  public let folder: RunFolder
  /// Messages and progress.
  public let console: TrainingConsole

  /// Messages for people (progress lines, skipped entries); stderr by default.
  public var log: (String) -> Void {
    get { console.log }
    set { console.log = newValue }
  }
  /// Show progress: a bar when stderr is a terminal, otherwise a line every
  /// `progressInterval` seconds.
  public var showProgress: Bool {
    get { console.showProgress }
    set { console.showProgress = newValue }
  }
  /// Seconds between progress lines when stderr is not a terminal.
  public var progressInterval: Double {
    get { console.progressInterval }
    set { console.progressInterval = newValue }
  }

  /// Optimizer steps skipped because the gradient norm was NaN or infinite, over the run.
  public private(set) var skippedSteps = 0
  /// Called with the store before each optimizer step (its gradients final but not yet
  /// clipped); for tests.
  var beforeStep: ((ParameterStore) -> Void)?
  /// Called after each epoch's files are written, with the epoch; for tests (a throw
  /// simulates a kill there).
  var afterEpoch: ((Int) throws -> Void)?

  private let optimizer: AdamW
  private let loss: CrossEntropyLoss
  private let checkpoint: RunCheckpoint
  /// SIGINT and SIGTERM while `run` is in progress.
  private var interruption: TrainingInterruption?

  /// - Parameter group: the processes of the run; by default those `mpirun` started (this one
  ///   alone without `mpirun`).
  /// - Parameter folder: the run folder of `out` when the caller made it already (to lock it
  ///   before it looks at the folder); its owner must be the group's owner.
  /// - Throws: `TrainingError` when the options are for another number of processes, the
  ///   labels do not match the model's classes, or the samples are of the other kind.
  public init(
    model: VCoSwinModel, labels: [String], provenance: String, train: ListDataset, val: ListDataset,
    options: TrainOptions, out: URL, title: String,
    group: any TrainingGroup = makeTrainingGroup(.world), folder: RunFolder? = nil
  ) throws {
    guard (options.processes ?? 1) == group.size else {
      throw TrainingError(
        "options for \(options.processes ?? 1) processes, but the run has \(group.size)")
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
    self.group = group
    console = TrainingConsole(speaks: group.isOwner)
    self.folder = folder ?? RunFolder(url: out, owner: group.isOwner)
    self.folder.note = { [console] in console.note($0) }
    for p in model.store.parameters where !p.name.hasPrefix("head.") {
      p.lrScale = Float(options.backboneLRScale)
    }
    model.recomputeActivations = options.recomputeActivations
    optimizer = AdamW(store: model.store, weightDecay: Float(options.weightDecay))
    loss = CrossEntropyLoss(smoothing: Float(options.labelSmoothing))
    checkpoint = RunCheckpoint(
      model: model, optimizer: optimizer, labels: labels, provenance: provenance)
  }

  /// Optimizer steps per epoch (of global batches).
  var stepsPerEpoch: Int { options.stepsPerEpoch(entries: train.count) }

  /// Runs the remaining epochs (all of them, or those after `last.safetensors` with
  /// `resume`) and returns the whole history. Locks the folder unless the caller did
  /// (`RunFolder.lock`), and releases the lock it took. SIGINT and SIGTERM end the process with
  /// a line (`TrainingInterruption`).
  @discardableResult
  public func run(resume: Bool) throws -> [EpochMetrics] {
    let locking = folder.owner && !folder.isLocked
    if locking, let note = try folder.lock() { console.note(note) }
    defer { if locking { folder.unlock() } }
    let interruption = TrainingInterruption(
      speaks: console.speaks, lockFile: folder.isLocked ? folder.lockURL.path : nil)
    self.interruption = interruption
    defer {
      interruption.remove()
      self.interruption = nil
    }
    try folder.prepare()
    let policy = options.badEntries
    for d in [train, val] {
      console.malformedLines(of: d.list)
      try policy.checkLines(of: d.list)
    }
    console.classesWithoutEntries(train.classesWithoutEntries, labels: labels, list: train.list)
    var state = RunState.start(options: options, data: train.options)
    if resume {
      let file = try group.ownersFile(at: folder.lastURL.path)
      // Resume may rewrite `best.safetensors`: an interruption waits for it.
      state = try interruption.deferringExit {
        try folder.resume(
          from: file, into: checkpoint, options: options, data: train.options,
          stepsPerEpoch: stepsPerEpoch)
      }
    }
    interruption.at(epoch: state.epochsDone + 1, step: state.step)
    try group.adoptOwnersWeights(model.store)
    console.processes(group.size, options: options)
    let total = options.epochs * stepsPerEpoch
    let schedule = CosineSchedule(
      base: Float(options.lr), minimum: Float(options.minLR),
      warmupSteps: Swift.min(total, Int((options.warmupEpochs * Double(stepsPerEpoch)).rounded())),
      totalSteps: total)
    for epoch in stride(from: state.epochsDone + 1, through: options.epochs, by: 1) {
      let started = DispatchTime.now().uptimeNanoseconds
      interruption.at(epoch: epoch, step: state.step)
      let trained = try trainEpoch(epoch, state: &state, schedule: schedule)
      try group.checkReplicasAgree(model.store, epoch: epoch)
      let result = try validate()
      state.epochsDone = epoch
      // Metrics and files are the owner's; the others go on to the next epoch.
      guard let result else { continue }
      console.skipped(result.skipped, of: val.list)
      // Validation that could not read too much of its list stops the run before any
      // checkpoint of the epoch is written (its accuracy would mean nothing).
      try policy.checkUnreadable(
        result.skipped.count, of: val.count, list: val.list.path, entries: "validation entries",
        used: result.count, first: result.skipped.first?.message)
      let metrics = EpochMetrics(
        epoch: epoch, trainLoss: trained.loss, valTop1: result.top1, valTop5: result.top5,
        lr: Double(schedule.learningRate(at: Swift.max(0, state.step - 1))),
        seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9,
        skipped: result.skipped.count, trainTop1: trained.top1,
        clipsPerSecond: trained.clipsPerSecond, dataWait: trained.dataWait)
      state.history.append(metrics)
      console.epochDone(metrics, of: options.epochs)
      let isBest = result.top1 > state.bestTop1
      if isBest {
        state.bestTop1 = result.top1
        state.bestEpoch = epoch
      }
      try interruption.deferringExit {
        try folder.recordEpoch(state, isBest: isBest, checkpoint: checkpoint, title: title)
      }
      try afterEpoch?(epoch)
    }
    return state.history
  }

  /// Evaluates the model on `val` as `eval` does (`ShardedEvaluation`): this process's block of
  /// whole batches (`TrainingGroup.validationEntries`), gathered on the owner in list order. The
  /// result (on the owner; nil elsewhere) is one process's, to float rounding of the batch.
  private func validate() throws -> EvaluationResult? {
    let evaluation = ShardedEvaluation(
      model: model, dataset: val, views: Views(clips: options.evalClips, crops: options.evalCrops),
      batchSize: options.batchSize, workers: options.workers)
    let entries = group.validationEntries(count: val.count, granule: evaluation.granule)
    let bar = console.progress("  validate", total: entries.count)
    defer { bar?.finish() }
    guard
      let parts = try group.gather(
        { try evaluation.rows(entries, progress: bar) }, encode: { $0.encoded() },
        decode: EvaluationRows.init(decoding:))
    else { return nil }
    return evaluation.summary(of: parts)
  }

  /// One epoch of training: the mean training loss, the training top-1 (of the samples as
  /// trained, augmented), the clips per second of the epoch's training (all processes') and
  /// the fraction of it the slowest-fed process waited for data.
  private func trainEpoch(
    _ epoch: Int, state: inout RunState, schedule: CosineSchedule
  ) throws -> (loss: Double, top1: Double, clipsPerSecond: Double, dataWait: Double) {
    let started = DispatchTime.now().uptimeNanoseconds
    var waited: UInt64 = 0  // nanoseconds spent in `loader.next()` (the model waiting for data)
    let order = seededPermutation(train.count, seed: options.seed &+ UInt64(epoch) &* 7919)
    // Global batches of the epoch; this process loads its part of each (maybe none of the last).
    let batchCount = (order.count + options.globalBatchSize - 1) / options.globalBatchSize
    let loader = BatchLoader<TrainingSample>(
      order: group.share(of: order, batchSize: options.batchSize),
      batchSize: options.batchSize, workers: options.workers, seed: options.seed, epoch: epoch
    ) { [train] i, rng in try train.trainingSample(i, rng: &rng) }
    defer { loader.stop() }
    let sync = group.gradientSync(for: model)
    defer { model.onGradientsFinal = nil }
    let bar = console.progress("epoch \(epoch)/\(options.epochs)", total: train.count)
    let policy = options.badEntries
    var lossSum = 0.0
    var seen = 0
    var hits = 0
    var micro = 0  // global batches that reached the model (on some process)
    var inGroup = 0  // batches of the current accumulation group that added gradients
    var skipped = 0
    let stepsBefore = state.step
    let skippedStepsBefore = skippedSteps
    model.store.zeroGrads()
    for position in 1...Swift.max(1, batchCount) {
      let asked = DispatchTime.now().uptimeNanoseconds
      let batch = loader.next() ?? .init(samples: [], indices: [], skipped: [])
      waited += DispatchTime.now().uptimeNanoseconds - asked
      let share = try group.exchange(loaded: batch.samples.count, skipped: batch.skipped)
      skipped += share.skippedCount
      console.skipped(share.skipped, of: train.list)
      try policy.checkUnreadable(
        skipped, of: train.count, list: train.list.path, first: share.skipped.first?.message)
      // A group ends every `accumulate` batches, and at the epoch's last batch (a shorter group).
      let endsGroup = position % options.accumulate == 0 || position == batchCount
      if share.total == 0 {
        if endsGroup && inGroup > 0 {
          try step(schedule: schedule, state: &state, batches: inGroup, epoch: epoch, sync: sync)
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
        // This process's mean over its n_r samples, weighted n_r / Σn: the processes' sum is
        // the mean over the global batch.
        let dlogits = loss.backward()
        if labels.count != share.total {
          let w = Float(labels.count) / Float(share.total)
          for i in 0..<dlogits.count { dlogits.pointer[i] *= w }
        }
        if endsGroup { sync.arm() }
        model.backward(dlogits)
      }
      micro += 1
      inGroup += 1
      if endsGroup {
        try step(schedule: schedule, state: &state, batches: inGroup, epoch: epoch, sync: sync)
        inGroup = 0
      }
      bar?.status = String(format: "loss %.3f", lossSum / Double(Swift.max(1, seen)))
      // After the step: the bar reaches N/N only when the epoch's last step is done.
      bar?.advance(share.total + share.skippedCount)
    }
    bar?.finish()
    var sums = [lossSum, Double(seen), Double(hits)]
    try group.sum(&sums)
    (lossSum, seen, hits) = (sums[0], Int(sums[1]), Int(sums[2]))
    let steps = state.step - stepsBefore
    if steps > 0 && skippedSteps - skippedStepsBefore == steps {
      throw TrainingError(
        "epoch \(epoch): every optimizer step had a NaN or infinite gradient norm: lower --lr")
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
    // The slowest-fed process's fraction: the step waits for it.
    var wait = [Double(waited) / 1e9 / Swift.max(seconds, 1e-9)]
    try group.maximum(&wait)
    return (
      seen == 0 ? .nan : lossSum / Double(seen), seen == 0 ? 0 : Double(hits) / Double(seen),
      Double(seen) / Swift.max(seconds, 1e-9), wait[0]
    )
  }

  /// One optimizer step from the gradients of `batches` accumulated batches: summed across
  /// processes (`sync`), their mean (each batch's loss is already a mean over its samples),
  /// clipped, then AdamW. A NaN or infinite gradient norm skips the update (weights and
  /// optimizer state stay; the schedule moves on), with a warning, counted in `skippedSteps`.
  private func step(
    schedule: CosineSchedule, state: inout RunState, batches: Int, epoch: Int,
    sync: any GradientSync
  ) throws {
    try sync.finish()
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
      console.stepSkipped(epoch: epoch, step: state.step + 1, norm: norm)
      model.store.zeroGrads()
    }
    state.step += 1
    interruption?.at(epoch: epoch, step: state.step)
  }
}
