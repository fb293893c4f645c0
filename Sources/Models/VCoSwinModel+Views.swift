// Inference over views: many entries run through the model a chunk at a time, and per-entry
// rows averaged over the views (clips × crops) of each sample.
//
// Legend: S samples; V views per sample (consecutive entries); N = S·V entries;
//         n ≤ batch entries per forward pass; X values per row; F features; K classes.

import Compute
import Foundation

extension VCoSwinModel {
  /// Per-sample means over views of a row computed from each entry's output:
  /// `out[s] = Σ_v row(entry s·V + v) / V`, accumulated in entry order.
  ///
  /// `input` `[N, I, (T,) H, W]` runs in inference mode in chunks of at most `batch` entries
  /// (memory); `row(output, r, destination)` writes the `width` values of entry `r` of the
  /// chunk's output into `destination`. Returns `[S, width]`. `afterChunk(n)` is called after
  /// each forward pass with its `n` entries (progress of a long input).
  /// - Throws: `ModelInputError` when `N` is not a positive multiple of `views`, or the model
  ///   refuses the input.
  public func viewMeans(
    _ input: Tensor, views: Int, batch: Int, width: Int, afterChunk: (Int) -> Void = { _ in },
    row: (ModelOutput, Int, UnsafeMutablePointer<Float>) -> Void
  ) throws -> Tensor {
    let total = input.shape.first ?? 0
    guard views >= 1, total >= views, total % views == 0 else {
      throw ModelInputError(
        shape: input.shape, reason: "\(total) entries are not a multiple of \(views) views")
    }
    // out [S, X]; one [X] row of the entry at hand
    let out = Tensor(zeros: [total / views, width])
    var values = [Float](repeating: 0, count: width)
    let per = input.count / total
    let chunk = Swift.max(1, batch)
    var start = 0
    while start < total {
      let n = Swift.min(chunk, total - start)
      // part [n, I, (T,) H, W]: a view of the input, no copy
      let part = Tensor(viewOf: input, offset: start * per, shape: [n] + input.shape.dropFirst())
      let output = try forward(part, training: false)
      for r in 0..<n {
        values.withUnsafeMutableBufferPointer { v in
          guard let p = v.baseAddress else { return }
          row(output, r, p)
          let target = out.pointer + ((start + r) / views) * width
          for j in 0..<width { target[j] += p[j] / Float(views) }
        }
      }
      start += n
      afterChunk(n)
    }
    return out
  }

  /// Class probabilities averaged over views: `input` holds `samples × views` entries, the
  /// views of one sample consecutive (clips × crops); returns `[samples, K]`, row `s` being
  /// `Σ_v softmax(logits(s·V + v)) / V`. Runs in chunks of at most `batch` entries (memory),
  /// in inference mode; `afterChunk(n)` follows each chunk of `n` entries.
  public func averagedProbabilities(
    _ input: Tensor, views: Int, batch: Int = 8, afterChunk: (Int) -> Void = { _ in }
  ) throws -> Tensor {
    let k = config.classes
    return try viewMeans(input, views: views, batch: batch, width: k, afterChunk: afterChunk) {
      output, r, p in
      // softmax(x)_j = exp(x_j − max x) / Σ_i exp(x_i − max x)
      let row = output.logits.pointer + r * k
      let m = (0..<k).reduce(-Float.infinity) { Swift.max($0, row[$1]) }
      var sum: Float = 0
      for j in 0..<k {
        p[j] = Foundation.exp(row[j] - m)
        sum += p[j]
      }
      for j in 0..<k { p[j] /= sum }
    }
  }

  /// Pooled features and logits averaged over views: `input` as in `averagedProbabilities`;
  /// returns `[samples, F + K]`, each row the mean features `[F]` then the mean logits `[K]`.
  public func averagedFeaturesAndLogits(_ input: Tensor, views: Int, batch: Int = 8) throws
    -> Tensor
  {
    let (f, k) = (config.featureDim, config.classes)
    return try viewMeans(input, views: views, batch: batch, width: f + k) { output, r, p in
      p.update(from: output.features.pointer + r * f, count: f)
      (p + f).update(from: output.logits.pointer + r * k, count: k)
    }
  }
}
