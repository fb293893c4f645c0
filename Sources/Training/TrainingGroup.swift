// The processes that train one model together, as the training loop sees them: one process
// (`SingleProcess`), or the ranks of an `mpirun` job (`MPITrainingGroup`). The loop calls the
// same methods either way; a single process answers each from its own data, without copying.
//
// Data parallel (N processes): each epoch's permutation is cut into global batches of N·b
// (b = `batchSize`, per process); rank r trains on its slice of b (`share`). Before every
// forward the processes exchange how many samples each loaded and which entries failed
// (`exchange`), so each weights its loss by n_r / Σn and draws drop path as the sample's
// position in the global batch dictates; the gradients are then summed across processes in
// buckets during backward (`gradientSync`) — together the global batch mean, as one process
// with batch N·b computes it. Every process then takes the same optimizer step. Rank 0 owns
// the files and the console (`isOwner`); a resumed run's `last.safetensors` is read by it and
// sent to the others (`ownersFile`), and every process starts from its weights
// (`adoptOwnersWeights`). Validation is sharded as `eval` shards: blocks of whole batches
// (`validationEntries`), gathered on the owner in list order (`gather`).

import Compute
import Datasets
import Distributed
import Foundation
import Models
import SafeTensors

/// The processes of a training run.
///
/// Collective methods (all but `size`, `isOwner`, `share` and `validationEntries`) must be
/// called by every process in the same order, as MPI requires.
public protocol TrainingGroup: AnyObject {
  /// Processes in the run (1: this process alone).
  var size: Int { get }
  /// Whether this process owns the run's files and console output (rank 0).
  var isOwner: Bool { get }

  /// This process's entries of an epoch's `order`: its slice of `batchSize` of each global
  /// batch of `batchSize · size` (`rankShare`).
  func share(of order: [Int], batchSize: Int) -> [Int]

  /// Every process takes the owner's weights (the optimizer state is equal already: zero, or
  /// restored from the same bytes).
  func adoptOwnersWeights(_ store: ParameterStore) throws

  /// The checkpoint at `path` as the owner reads it, on every process; nil when the owner has
  /// no file there. A file that does not read is the owner's error, before anything is sent.
  func ownersFile(at path: String) throws -> SafeTensorsFile?

  /// One global batch: how many samples each process `loaded`, and the entries this one could
  /// not read (`skipped`), gathered on the owner.
  func exchange(loaded: Int, skipped: [SkippedEntry]) throws -> BatchShare

  /// The gradient sum of one epoch's optimizer steps across processes, hooked to `model`'s
  /// backward (`VCoSwinModel.onGradientsFinal`); the caller clears the hook after the epoch.
  func gradientSync(for model: VCoSwinModel) -> any GradientSync

  /// `values[i] ← Σ_processes values[i]`, on every process.
  func sum(_ values: inout [Double]) throws

  /// `values[i] ← max_processes values[i]`, on every process.
  func maximum(_ values: inout [Double]) throws

  /// Every process must hold the same weights after an epoch (they take the same steps from the
  /// same gradients).
  /// - Throws: `TrainingError` naming the epoch when they differ.
  func checkReplicasAgree(_ store: ParameterStore, epoch: Int) throws

  /// This process's validation entries of `0..<count`: a contiguous block of whole groups of
  /// `granule` entries (`ShardedWork.block`).
  func validationEntries(count: Int, granule: Int) -> Range<Int>

  /// Runs `work` (this process's part) and gathers every process's part, in rank order, on the
  /// owner (nil elsewhere); sent as the bytes `encode` makes and `decode` reads. An error in
  /// any process's `work` is thrown on the owner (`ShardedWork.gather`).
  func gather<Part>(
    _ work: () throws -> Part, encode: (Part) -> [UInt8], decode: ([UInt8]) throws -> Part
  ) throws -> [Part]?
}

/// A global batch as every process sees it: samples loaded on all processes (`total`), on the
/// processes before this one (`offset`: this process's first position in the batch), how many
/// entries could not be read on all of them, and those entries (on the owner, which reports
/// them, in the order one process meets them; empty elsewhere).
public struct BatchShare {
  public var total: Int
  public var offset: Int
  public var skippedCount: Int
  public var skipped: [SkippedEntry]
}

/// The gradients of an optimizer step, summed across processes.
///
/// Per step: `arm()` before the group's last backward (whose final gradients then start their
/// sums), `finish()` before the optimizer reads the gradients.
public protocol GradientSync: AnyObject {
  /// The next backward ends the step's group of batches.
  func arm()
  /// Completes the sum of the step's gradients on every process.
  func finish() throws
}

extension GradientBuckets: GradientSync {}

/// The run's group: `MPITrainingGroup` over `communicator` when it has several processes,
/// `SingleProcess` otherwise (also for one process under `mpirun`: nothing to exchange).
public func makeTrainingGroup(
  _ communicator: Communicator, bucketFloats: Int = GradientBuckets.defaultBucketFloats
) -> any TrainingGroup {
  communicator.isDistributed
    ? MPITrainingGroup(communicator: communicator, bucketFloats: bucketFloats) : SingleProcess()
}

/// This process alone: it owns the files, and every collective is the identity.
public final class SingleProcess: TrainingGroup {
  public init() {}

  public var size: Int { 1 }
  public var isOwner: Bool { true }
  public func share(of order: [Int], batchSize: Int) -> [Int] { order }
  public func adoptOwnersWeights(_ store: ParameterStore) {}

  public func ownersFile(at path: String) throws -> SafeTensorsFile? {
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    return try SafeTensorsFile.read(path: path)
  }

  public func exchange(loaded: Int, skipped: [SkippedEntry]) -> BatchShare {
    BatchShare(total: loaded, offset: 0, skippedCount: skipped.count, skipped: skipped)
  }

  public func gradientSync(for model: VCoSwinModel) -> any GradientSync { LocalGradients() }
  public func sum(_ values: inout [Double]) {}
  public func maximum(_ values: inout [Double]) {}
  public func checkReplicasAgree(_ store: ParameterStore, epoch: Int) {}
  public func validationEntries(count: Int, granule: Int) -> Range<Int> { 0..<count }

  public func gather<Part>(
    _ work: () throws -> Part, encode: (Part) -> [UInt8], decode: ([UInt8]) throws -> Part
  ) throws -> [Part]? { [try work()] }

  /// One process's gradients are the sum already.
  private final class LocalGradients: GradientSync {
    func arm() {}
    func finish() {}
  }
}
