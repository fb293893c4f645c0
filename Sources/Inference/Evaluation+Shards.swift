// One evaluation of a model on a list, shared between the ranks of a run: `vcoswin eval` and
// the validation of every training epoch both run it.

import Datasets
import Distributed
import Models
import Reports

/// An evaluation of `model` on `dataset`, with `views` per entry, run by every rank of a
/// communicator.
///
/// Each rank takes a contiguous block of whole batches of the list (`ShardedWork.block`, groups
/// of `evaluationEntriesPerBatch` entries), so every forward pass is one a single process runs;
/// rank 0 gathers the rows in list order and summarises them. The result is one process's, to
/// float rounding of the per-process batch size.
public struct ShardedEvaluation {
  public var model: VCoSwinModel
  public var dataset: ListDataset
  public var views: Views
  /// Entries' views per forward pass (`max(1, batchSize / V)` entries).
  public var batchSize: Int
  /// Decoding threads ahead of the model.
  public var workers: Int
  public var precision: Precision

  public init(
    model: VCoSwinModel, dataset: ListDataset, views: Views = Views(), batchSize: Int = 8,
    workers: Int = 1, precision: Precision = .fp32
  ) {
    self.model = model
    self.dataset = dataset
    self.views = views
    self.batchSize = batchSize
    self.workers = workers
    self.precision = precision
  }

  /// Entries per forward pass: a rank's block is made of whole such groups.
  public var granule: Int { evaluationEntriesPerBatch(batchSize: batchSize, views: views.count) }

  /// The entries this rank of `world` evaluates.
  public func block(on world: Communicator) -> Range<Int> {
    ShardedWork.block(count: dataset.count, granule: granule, on: world)
  }

  /// Evaluates `entries` of the list in this process (one rank's block).
  public func rows(_ entries: Range<Int>, progress bar: ProgressBar? = nil) throws
    -> EvaluationRows
  {
    try evaluationRows(
      model: model, dataset: dataset, entries: entries, clips: views.clips, crops: views.crops,
      batchSize: batchSize, workers: workers, precision: precision, progress: bar)
  }

  /// The result of the ranks' rows, given in rank (so list) order.
  public func summary(of parts: [EvaluationRows]) -> EvaluationResult {
    summarize(EvaluationRows(concatenating: parts), dataset: dataset)
  }

  /// Evaluates this rank's block and returns the result on rank 0 (nil on the other ranks).
  ///
  /// - Parameter progress: makes the bar of this rank's block from its entry count (nil: no
  ///   bar); the bar is finished when the block is done.
  /// - Throws: the first error of any rank in rank order (`ShardedWork.gather`); unreadable
  ///   entries are not errors but `EvaluationResult.skipped`.
  public func run(on world: Communicator, progress: (Int) -> ProgressBar? = { _ in nil }) throws
    -> EvaluationResult?
  {
    let entries = block(on: world)
    let bar = progress(entries.count)
    let parts = try ShardedWork.gather(on: world) {
      let rows = try self.rows(entries, progress: bar)
      bar?.finish()
      return rows.encoded()
    }
    guard let parts else { return nil }
    return summary(of: try parts.map(EvaluationRows.init(decoding:)))
  }
}
