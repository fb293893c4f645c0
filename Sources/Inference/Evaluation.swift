// Multi-view evaluation of a classifier on a list: top-1, top-5, mean class accuracy and the
// confusion matrix.

import Compute
import Datasets
import Foundation
import Models
import Reports

/// The result of evaluating a model on a list.
public struct EvaluationResult {
  /// Fraction of evaluated entries whose top class is the label.
  public var top1: Double
  /// Fraction whose label is among the 5 most probable classes (all classes when K < 5).
  public var top5: Double
  /// Mean over classes of per-class top-1.
  public var meanClassAccuracy: Double
  /// Entries evaluated.
  public var count: Int
  /// Entries that could not be read, with the reason (list file and line).
  public var skipped: [SkippedEntry]
  public var confusion: ConfusionMatrix
  /// Probabilities `[K]` of each evaluated entry, by list index.
  public var probabilities: [Int: [Float]]
}

/// Stacks samples of equal size into one tensor `[n] + shape`.
/// Precondition: every sample has `shape.reduce(1, *) · views` values.
public func stack(_ samples: [[Float]], shape: [Int]) -> Tensor {
  let per = samples.first?.count ?? 0
  let t = Tensor(zeros: [samples.count * per / Swift.max(1, shape.reduce(1, *))] + shape)
  for (i, s) in samples.enumerated() {
    precondition(s.count == per, "samples of different sizes")
    s.withUnsafeBufferPointer { src in
      if let b = src.baseAddress { (t.pointer + i * per).update(from: b, count: per) }
    }
  }
  return t
}

/// What a run over some entries of a list produced, before the accuracies: each evaluated
/// entry's probabilities, and the entries that could not be read. Entries appear in the order
/// they were run (list order); a shard of a distributed run sends this to rank 0.
public struct EvaluationRows {
  /// `(list index, probabilities [K])` of each evaluated entry.
  public var rows: [(index: Int, probabilities: [Float])] = []
  /// Entries that could not be read, with the reason (list file and line).
  public var skipped: [SkippedEntry] = []

  public init() {}

  /// The rows as bytes (`ShardWriter`): rows, then skipped entries; floats bit-exact.
  public func encoded() -> [UInt8] {
    var w = ShardWriter()
    w.int(rows.count)
    for r in rows {
      w.int(r.index)
      w.floats(r.probabilities)
    }
    w.skippedEntries(skipped)
    return w.bytes
  }

  /// Rows from `encoded()`; an error when the bytes do not decode to exactly that.
  public init(decoding bytes: [UInt8]) throws {
    var r = ShardReader(bytes)
    let n = try r.int()
    for _ in 0..<Swift.max(0, n) { rows.append((try r.int(), try r.floats())) }
    skipped = try r.skippedEntries()
    guard n >= 0, r.isAtEnd else {
      throw ShardDecodingError(
        description: "evaluation rows: malformed message of \(bytes.count) bytes")
    }
  }

  /// Parts concatenated in the order given (rank order: list order for contiguous shards).
  public init(concatenating parts: [EvaluationRows]) {
    for p in parts {
      rows += p.rows
      skipped += p.skipped
    }
  }
}

/// Runs `model` on `entries` of `dataset` with `clips × crops` views per entry (probabilities
/// averaged), `max(1, batchSize / views)` entries per forward pass, batches counted from
/// `entries.lowerBound`, at `precision`. Entries that cannot be read are skipped and returned
/// in `skipped`. Decoding runs on `workers` background threads ahead of the model.
public func evaluationRows(
  model: VCoSwinModel, dataset: ListDataset, entries: Range<Int>, clips: Int = 1, crops: Int = 1,
  batchSize: Int = 8, workers: Int = 1, precision: Precision = .fp32, progress: ProgressBar? = nil
) throws -> EvaluationRows {
  let k = model.config.classes
  let views = clips * crops
  let loader = BatchLoader<[Float]>(
    order: Array(entries), batchSize: evaluationEntriesPerBatch(batchSize: batchSize, views: views),
    workers: workers, seed: 0, epoch: 0
  ) { i, _ in try dataset.evaluationViews(i, clips: clips, crops: crops) }
  defer { loader.stop() }
  var out = EvaluationRows()
  while let batch = loader.next() {
    out.skipped += batch.skipped
    // After the batch's work: the bar reaches N/N only when the last batch is done.
    defer { progress?.advance(batch.indices.count + batch.skipped.count) }
    if batch.samples.isEmpty { continue }
    // input [n·views, 3, T, H, W]; probs [n, K]
    let input = stack(batch.samples, shape: dataset.options.sampleShape)
    let probs = try model.probabilities(
      input, views: views, batch: batchSize, precision: precision)
    for (r, index) in batch.indices.enumerated() {
      out.rows.append((index, Array(UnsafeBufferPointer(start: probs.pointer + r * k, count: k))))
    }
  }
  return out
}

/// Entries per forward pass of `evaluationRows`: `max(1, batchSize / views)`. Shards of a
/// distributed evaluation are whole multiples of it, so every batch is the one a single
/// process runs (and gives the same numbers).
public func evaluationEntriesPerBatch(batchSize: Int, views: Int) -> Int {
  Swift.max(1, batchSize / Swift.max(1, views))
}

/// The accuracies of `rows` on `dataset`'s labels: top-1, top-5 (label among the 5 most
/// probable classes), mean class accuracy and the confusion matrix.
public func summarize(_ rows: EvaluationRows, dataset: ListDataset) -> EvaluationResult {
  var confusion = ConfusionMatrix(labels: dataset.labels)
  var top5Hits = 0
  var probabilities: [Int: [Float]] = [:]
  for (index, row) in rows.rows {
    let label = dataset.label(index)
    let best = topK(row, 5)
    confusion.add(truth: label, predicted: best[0].index)
    if best.contains(where: { $0.index == label }) { top5Hits += 1 }
    probabilities[index] = row
  }
  let n = confusion.total
  return EvaluationResult(
    top1: confusion.accuracy, top5: n == 0 ? 0 : Double(top5Hits) / Double(n),
    meanClassAccuracy: confusion.meanClassAccuracy, count: n, skipped: rows.skipped,
    confusion: confusion,
    probabilities: probabilities)
}

/// Evaluates `model` on `dataset` with `clips × crops` views per entry (probabilities averaged).
///
/// Entries that cannot be read are skipped and returned in `skipped`; they do not count in
/// the accuracies. Decoding runs on `workers` background threads ahead of the model.
public func evaluate(
  model: VCoSwinModel, dataset: ListDataset, clips: Int = 1, crops: Int = 1, batchSize: Int = 8,
  workers: Int = 1, progress: ProgressBar? = nil
) throws -> EvaluationResult {
  summarize(
    try evaluationRows(
      model: model, dataset: dataset, entries: 0..<dataset.count, clips: clips, crops: crops,
      batchSize: batchSize, workers: workers, progress: progress),
    dataset: dataset)
}
