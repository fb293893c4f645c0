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
// resumed from `last.safetensors` reaches the same weights as an uninterrupted one.

import Compute
import Foundation
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

  public init() {}

  enum CodingKeys: String, CodingKey {
    case epochs, accumulate, lr, seed, workers
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

  enum CodingKeys: String, CodingKey {
    case step, history, options, data
    case epochsDone = "epochs_done", bestTop1 = "best_top1"
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
  /// Show progress bars (only drawn when stderr is a terminal).
  public var showProgress = true

  private let optimizer: AdamW
  private let loss: CrossEntropyLoss
  private var reported = Set<String>()  // "list path \0 index" of entries already reported

  public init(
    model: VCoSwinModel, labels: [String], provenance: String, train: ListDataset, val: ListDataset,
    options: TrainOptions, out: URL, title: String
  ) throws {
    guard labels.count == model.config.classes else {
      throw TrainingError("\(labels.count) labels for a model with \(model.config.classes) classes")
    }
    let expectKind: SampleKind = model.config.dims == 2 ? .image : .video
    guard train.options.kind == expectKind else {
      throw TrainingError("a \(model.config.kind) model cannot train on \(train.options.kind) samples")
    }
    self.model = model
    self.labels = labels
    self.train = train
    self.val = val
    self.options = options
    self.out = out
    self.title = title
    self.provenance = provenance
    for p in model.store.parameters where !p.name.hasPrefix("head.") {
      p.lrScale = Float(options.backboneLRScale)
    }
    optimizer = AdamW(store: model.store, weightDecay: Float(options.weightDecay))
    loss = CrossEntropyLoss(smoothing: Float(options.labelSmoothing))
  }

  var lastURL: URL { out.appendingPathComponent("last.safetensors") }
  var bestURL: URL { out.appendingPathComponent("best.safetensors") }

  /// Optimizer steps per epoch.
  var stepsPerEpoch: Int {
    let batches = (train.count + options.batchSize - 1) / options.batchSize
    return Swift.max(1, (batches + options.accumulate - 1) / options.accumulate)
  }

  /// Runs the remaining epochs (all of them, or those after `last.safetensors` with
  /// `resume`) and returns the whole history.
  @discardableResult
  public func run(resume: Bool) throws -> [EpochMetrics] {
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    try checkBadLines(train)
    try checkBadLines(val)
    var state = RunState(epochsDone: 0, step: 0, bestTop1: -1, history: [], options: options, data: train.options)
    if resume {
      if FileManager.default.fileExists(atPath: lastURL.path) {
        state = try restore()
        log("resuming \(lastURL.path) after epoch \(state.epochsDone) (step \(state.step))")
      } else {
        log("nothing to resume in \(out.path): starting from epoch 1")
      }
    }
    let total = options.epochs * stepsPerEpoch
    let schedule = CosineSchedule(
      base: Float(options.lr), minimum: Float(options.minLR),
      warmupSteps: Swift.min(total, Int((options.warmupEpochs * Double(stepsPerEpoch)).rounded())),
      totalSteps: total)
    for epoch in stride(from: state.epochsDone + 1, through: options.epochs, by: 1) {
      let started = DispatchTime.now().uptimeNanoseconds
      let trainLoss = try trainEpoch(epoch, state: &state, schedule: schedule)
      let bar = showProgress ? ProgressBar("  validate", total: val.count, unit: "clip") : nil
      let result = try evaluate(
        model: model, dataset: val, clips: options.evalClips, crops: options.evalCrops,
        batchSize: options.batchSize, workers: options.workers, progress: bar)
      bar?.finish()
      report(result.skipped, of: val)
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
      let metrics = EpochMetrics(
        epoch: epoch, trainLoss: trainLoss, valTop1: result.top1, valTop5: result.top5,
        lr: Double(schedule.learningRate(at: Swift.max(0, state.step - 1))), seconds: seconds,
        skipped: result.skipped.count)
      state.history.append(metrics)
      state.epochsDone = epoch
      log(String(format: "epoch %d/%d  loss %.4f  val top-1 %.3f  top-5 %.3f  (%.1f s)",
                 epoch, options.epochs, trainLoss, result.top1, result.top5, seconds))
      try MetricsLog.write(state.history, to: out, title: title)
      let isBest = result.top1 > state.bestTop1
      if isBest { state.bestTop1 = result.top1 }
      try save(state: state, to: lastURL, optimizerState: true)
      if isBest { try save(state: state, to: bestURL, optimizerState: false) }
    }
    return state.history
  }

  /// One epoch of training; returns the mean training loss.
  private func trainEpoch(_ epoch: Int, state: inout RunState, schedule: CosineSchedule) throws -> Double {
    let order = seededPermutation(train.count, seed: options.seed &+ UInt64(epoch) &* 7919)
    let loader = BatchLoader<TrainingSample>(
      order: order, batchSize: options.batchSize, workers: options.workers, seed: options.seed, epoch: epoch
    ) { [train] i, rng in try train.trainingSample(i, rng: &rng) }
    let bar = showProgress
      ? ProgressBar("epoch \(epoch)/\(options.epochs)", total: loader.batchCount, unit: "batch") : nil
    var lossSum = 0.0
    var seen = 0
    var micro = 0
    var skipped = 0
    model.store.zeroGrads()
    while let batch = loader.next() {
      skipped += batch.skipped.count
      report(batch.skipped, of: train)
      if Double(skipped) > options.maxBadFraction * Double(train.count) {
        throw TrainingError(
          "\(train.list.path): \(skipped) of \(train.count) entries could not be read (more than \(Int(options.maxBadFraction * 100))%); first: \(batch.skipped.first?.message ?? "")")
      }
      bar?.advance()
      if batch.samples.isEmpty { continue }
      let input = stack(batch.samples.map(\.values), shape: train.options.sampleShape)
      let labels = batch.samples.map(\.label)
      model.reseedStochasticDepth(BatchLoader<TrainingSample>.sampleSeed(seed: options.seed, epoch: epoch, index: -1 - micro))
      let output = try model.forward(input, training: true)
      let l = loss.forward(output.logits, labels: labels)
      guard l.isFinite else {
        throw TrainingError("the training loss became \(l) at epoch \(epoch), batch \(micro + 1): lower --lr")
      }
      lossSum += Double(l) * Double(labels.count)
      seen += labels.count
      let dlogits = loss.backward()
      if options.accumulate > 1 {
        let s = 1 / Float(options.accumulate)
        for i in 0..<dlogits.count { dlogits.pointer[i] *= s }
      }
      model.backward(dlogits)
      micro += 1
      if micro % options.accumulate == 0 || micro == loader.batchCount {
        step(schedule: schedule, state: &state)
      }
      bar?.status = String(format: "loss %.3f", lossSum / Double(Swift.max(1, seen)))
    }
    bar?.finish()
    return seen == 0 ? .nan : lossSum / Double(seen)
  }

  private func step(schedule: CosineSchedule, state: inout RunState) {
    if options.clipNorm > 0 { clipGradientNorm(model.store, maxNorm: Float(options.clipNorm)) }
    optimizer.update(lr: schedule.learningRate(at: state.step))
    model.store.zeroGrads()
    state.step += 1
  }

  private func checkBadLines(_ d: ListDataset) throws {
    for e in d.list.badLines { log("warning: \(e) (skipped)") }
    let n = d.list.badLines.count
    if n > 0 && Double(n) > options.maxBadFraction * Double(n + d.count) {
      throw TrainingError("\(d.list.path): \(n) of \(n + d.count) lines are malformed; first: \(d.list.badLines[0])")
    }
    if d.count == 0 { throw TrainingError("\(d.list.path): no usable entries") }
  }

  private func report(_ skipped: [SkippedEntry], of d: ListDataset) {
    // Each bad entry is reported once per run, though it is met again every epoch.
    for s in skipped where reported.insert("\(d.list.path)\u{0}\(s.index)").inserted {
      log("warning: \(s.message) (skipped)")
    }
  }

  /// Writes weights (and optimizer state) with the run state in the metadata, atomically.
  private func save(state: RunState, to url: URL, optimizerState: Bool) throws {
    let info = CheckpointInfo(config: model.config, labels: labels, provenance: provenance)
    var metadata = try info.metadata()
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys]
    metadata["training"] = String(decoding: try enc.encode(state), as: UTF8.self)
    var writer = SafeTensorsWriter(metadata: metadata)
    for p in model.store.parameters {
      try writer.add(p.name, shape: p.shape, floats: UnsafeBufferPointer(p.value.buffer))
    }
    if optimizerState {
      for (name, t) in optimizer.stateTensors() {
        try writer.add(Checkpoint.optimizerPrefix + name, shape: t.shape, floats: UnsafeBufferPointer(t.buffer))
      }
    }
    try writer.write(to: url.path)
  }

  /// Loads `last.safetensors`: weights, optimizer state and the run state.
  private func restore() throws -> RunState {
    let path = lastURL.path
    let file = try SafeTensorsFile.read(path: path)
    let info = try Checkpoint.info(of: file)
    guard info.config == model.config else {
      throw TrainingError("\(path): its model config differs from this run's; resume with the same options")
    }
    guard let text = file.metadata["training"],
      let state = try? JSONDecoder().decode(RunState.self, from: Data(text.utf8))
    else { throw TrainingError("\(path): no training state in its metadata (not a last.safetensors)") }
    guard state.options.seed == options.seed, state.options.batchSize == options.batchSize,
      state.options.accumulate == options.accumulate, state.data == train.options
    else {
      throw TrainingError("\(path): saved with other seed, batch, accumulation or data options; resume with the same ones")
    }
    try model.load(file)
    var tensors: [String: Tensor] = [:]
    for key in file.keys where key.hasPrefix(Checkpoint.optimizerPrefix) {
      let t = try file.floats(key)
      tensors[String(key.dropFirst(Checkpoint.optimizerPrefix.count))] = Tensor(shape: t.shape, values: t.values)
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
  /// The data options a checkpoint written by a training run was trained with, if any.
  public static func dataOptions(of file: SafeTensorsFile) -> DataOptions? {
    guard let text = file.metadata["training"] else { return nil }
    return (try? JSONDecoder().decode(RunState.self, from: Data(text.utf8)))?.data
  }
}
