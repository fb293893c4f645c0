// Time-reversal symmetry of an inflated start, and the slope that breaks it (Docs/INFLATION.md,
// "The stall").
//
// Legend: O output channels, I input channels, Kt temporal kernel, kh×kw spatial kernel.
//
// An inflated convolution has equal temporal slices `W/Kt`; so do the merges, and the bias
// tables are the same at every temporal offset. Such a model gives the same output for a clip
// and for the clip played backwards, so classes that differ only by direction (left against
// right) look identical to it; their head rows get the same gradient, and the only gradient
// that can break the symmetry is proportional to the fresh head's small random differences.
// Fine-tuning then sits at chance until that noise has grown: the stall. Sloping the
// embedding's slices, `W3D[t] ← W3D[t] · (1 + ε·sₜ)` with `sₜ` from −1 to 1 and `Σₜ sₜ = 0`,
// keeps every static clip's output exactly and adds `ε`× a temporal difference of the same
// filter, whose sign follows the direction of motion.

import Compute
import Models

/// Detects and breaks the time-reversal symmetry of an inflated video model.
public enum TimeSymmetry {
  /// The slope `ε` `finetune` applies to an embedding whose temporal slices are equal
  /// (measured in Docs/INFLATION.md).
  public static let defaultSlope = 0.5

  /// Whether the conv weight `values` `[O, I, Kt, kh, kw]` has equal temporal slices (to a
  /// relative 1e-6 of the largest magnitude). False for `Kt = 1`, which has no time to reverse.
  public static func hasEqualSlices(shape: [Int], values: UnsafeBufferPointer<Float>) -> Bool {
    precondition(shape.count == 5, "a 3D conv weight is [O, I, Kt, kh, kw]")
    let (kt, plane) = (shape[2], shape[3] * shape[4])
    guard kt > 1 else { return false }
    let scale = values.map(abs).max() ?? 0
    guard scale > 0 else { return false }
    for oi in 0..<(shape[0] * shape[1]) {
      for t in 1..<kt {
        for p in 0..<plane
        where abs(values[(oi * kt + t) * plane + p] - values[oi * kt * plane + p]) > 1e-6 * scale {
          return false
        }
      }
    }
    return true
  }

  /// Multiplies slice `t` of the conv weight `[O, I, Kt, kh, kw]` by `1 + ε·sₜ`,
  /// `sₜ = (2t − (Kt − 1)) / (Kt − 1)`. Precondition: `Kt ≥ 2`.
  public static func slope(shape: [Int], values: UnsafeMutableBufferPointer<Float>, by eps: Float) {
    precondition(shape.count == 5 && shape[2] >= 2, "slope needs [O, I, Kt ≥ 2, kh, kw]")
    let (kt, plane) = (shape[2], shape[3] * shape[4])
    for oi in 0..<(shape[0] * shape[1]) {
      for t in 0..<kt {
        let factor = 1 + eps * Float(2 * t - (kt - 1)) / Float(kt - 1)
        for p in 0..<plane { values[(oi * kt + t) * plane + p] *= factor }
      }
    }
  }

  /// Slopes the token embedding of `model` by `eps` when its temporal slices are equal (an
  /// inflated start); returns whether it did. Image models and embeddings that already differ
  /// along time (trained, centre-initialised or sloped ones) are left as they are.
  @discardableResult
  public static func breakInflatedEmbedding(of model: VCoSwinModel, slope eps: Double) -> Bool {
    guard eps != 0, model.config.dims == 3,
      let p = model.store[model.config.embedConvName + ".weight"]
    else { return false }
    let shape = p.value.shape
    let values = UnsafeMutableBufferPointer(start: p.value.pointer, count: p.value.count)
    guard hasEqualSlices(shape: shape, values: UnsafeBufferPointer(values)) else { return false }
    slope(shape: shape, values: values, by: Float(eps))
    return true
  }
}
