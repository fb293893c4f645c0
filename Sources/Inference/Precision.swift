// The compute precision of inference, and the one place where it picks the forward pass.
//
// Legend: S samples; V = clips · crops views per sample; F features; K classes.

import Compute
import Models

/// The compute precision of inference. Checkpoints always store Float32; this only says how
/// the products of a forward pass are computed.
public enum Precision: String, CaseIterable, Sendable {
  /// Float32 operands and accumulation: the reference, and the default.
  case fp32
}

extension VCoSwinModel {
  /// `averagedProbabilities` at `precision`: `input` `[S·V, 3, (T,) H, W]` → `[S, K]`;
  /// `afterChunk(n)` follows each forward pass of `n` entries.
  public func probabilities(
    _ input: Tensor, views: Int, batch: Int, precision: Precision,
    afterChunk: (Int) -> Void = { _ in }
  ) throws -> Tensor {
    switch precision {
    case .fp32:
      return try averagedProbabilities(
        input, views: views, batch: batch, afterChunk: afterChunk)
    }
  }

  /// `averagedFeaturesAndLogits` at `precision`: `input` `[S·V, 3, (T,) H, W]` → `[S, F + K]`.
  public func featuresAndLogits(_ input: Tensor, views: Int, batch: Int, precision: Precision)
    throws -> Tensor
  {
    switch precision {
    case .fp32: return try averagedFeaturesAndLogits(input, views: views, batch: batch)
    }
  }
}
