// The hyper-parameters of a training run, recorded with it in `last.safetensors`, and the
// error a run that cannot go on throws.

import Datasets
import Foundation

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
  /// The run stops when more than this fraction of a list's entries cannot be read
  /// (`badEntries`).
  public var maxBadFraction = BadEntryPolicy.standard.maxFraction
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

  /// When unreadable entries and malformed lines stop the run (`maxBadFraction`).
  public var badEntries: BadEntryPolicy { BadEntryPolicy(maxFraction: maxBadFraction) }

  /// Optimizer steps per epoch of `entries` training entries: global batches, grouped by
  /// `accumulate` (the last group may be shorter); at least 1.
  public func stepsPerEpoch(entries: Int) -> Int {
    let batches = (entries + globalBatchSize - 1) / globalBatchSize
    return Swift.max(1, (batches + accumulate - 1) / accumulate)
  }

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
