// Multi-view evaluation of a classifier on a list: top-1, top-5, mean class accuracy and the
// confusion matrix.

import Compute
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

/// The `k` most probable classes of `probs`, most probable first: `(index, prob)`.
public func topK(_ probs: [Float], _ k: Int) -> [(index: Int, prob: Float)] {
  Array(probs.enumerated().sorted { $0.element != $1.element ? $0.element > $1.element : $0.offset < $1.offset }
    .prefix(k).map { ($0.offset, $0.element) })
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

/// Evaluates `model` on `dataset` with `clips × crops` views per entry (probabilities averaged).
///
/// Entries that cannot be read are skipped and returned in `skipped`; they do not count in
/// the accuracies. Decoding runs on `workers` background threads ahead of the model.
public func evaluate(
  model: VCoSwinModel, dataset: ListDataset, clips: Int = 1, crops: Int = 1, batchSize: Int = 8,
  workers: Int = 1, progress: ProgressBar? = nil
) throws -> EvaluationResult {
  let k = model.config.classes
  let views = clips * crops
  let entriesPerBatch = Swift.max(1, batchSize / views)
  let loader = BatchLoader<[Float]>(
    order: Array(0..<dataset.count), batchSize: entriesPerBatch, workers: workers, seed: 0, epoch: 0
  ) { i, _ in try dataset.evaluationViews(i, clips: clips, crops: crops) }
  defer { loader.stop() }
  var confusion = ConfusionMatrix(labels: dataset.labels)
  var top5Hits = 0
  var skipped: [SkippedEntry] = []
  var probabilities: [Int: [Float]] = [:]
  while let batch = loader.next() {
    skipped += batch.skipped
    // After the batch's work: the bar reaches N/N only when the last batch is done.
    defer { progress?.advance(batch.indices.count + batch.skipped.count) }
    if batch.samples.isEmpty { continue }
    let input = stack(batch.samples, shape: dataset.options.sampleShape)
    let probs = try model.averagedProbabilities(input, views: views, batch: batchSize)
    for (r, index) in batch.indices.enumerated() {
      let row = Array(UnsafeBufferPointer(start: probs.pointer + r * k, count: k))
      let label = dataset.label(index)
      let best = topK(row, 5)
      confusion.add(truth: label, predicted: best[0].index)
      if best.contains(where: { $0.index == label }) { top5Hits += 1 }
      probabilities[index] = row
    }
  }
  let n = confusion.total
  return EvaluationResult(
    top1: confusion.accuracy, top5: n == 0 ? 0 : Double(top5Hits) / Double(n),
    meanClassAccuracy: confusion.meanClassAccuracy, count: n, skipped: skipped, confusion: confusion,
    probabilities: probabilities)
}
