// Learning-rate schedule (per step) and gradient clipping by global norm.

import Compute
import Foundation

/// Cosine decay with linear warm-up, evaluated per optimizer step `s` (0-based):
///
///   s < warmup:  lr = base · (s + 1) / warmup
///   otherwise:   lr = minimum + (base − minimum) · ½ (1 + cos(π · min(1, (s − warmup) / (total − warmup))))
public struct CosineSchedule: Sendable, Equatable, Codable {
  public var base: Float
  public var minimum: Float
  public var warmupSteps: Int
  public var totalSteps: Int

  /// Preconditions: `0 ≤ warmupSteps ≤ totalSteps`, `totalSteps > 0`.
  public init(base: Float, minimum: Float = 0, warmupSteps: Int, totalSteps: Int) {
    precondition(
      totalSteps > 0 && warmupSteps >= 0 && warmupSteps <= totalSteps, "bad schedule lengths")
    self.base = base
    self.minimum = minimum
    self.warmupSteps = warmupSteps
    self.totalSteps = totalSteps
  }

  /// The learning rate of step `s` (0-based).
  public func learningRate(at s: Int) -> Float {
    if s < warmupSteps { return base * Float(s + 1) / Float(warmupSteps) }
    let span = totalSteps - warmupSteps
    let progress = span > 0 ? Swift.min(1, Double(s - warmupSteps) / Double(span)) : 1
    return minimum + (base - minimum) * Float(0.5 * (1 + cos(Double.pi * progress)))
  }
}

/// Scales every gradient of `store` so that their global L2 norm is at most `maxNorm`
/// (PyTorch `clip_grad_norm_`: factor `maxNorm / (norm + 1e-6)` when below 1) and returns the
/// norm before clipping. Precondition: `maxNorm > 0`.
///
/// A NaN or infinite gradient makes the norm NaN or infinite: then nothing is scaled and that
/// norm is returned. The caller must check `isFinite` and not take the step (PyTorch's
/// `error_if_nonfinite`); `Trainer` skips such a step and counts it.
@discardableResult
public func clipGradientNorm(_ store: ParameterStore, maxNorm: Float) -> Float {
  precondition(maxNorm > 0, "maxNorm must be positive")
  let norm = gradientNorm(store)
  guard norm.isFinite else { return norm }
  let factor = maxNorm / (norm + 1e-6)
  if factor < 1 {
    for t in gradientTensors(store) {
      let p = t.pointer
      parallelChunks(t.count, grain: 65536) { range in
        for i in range { p[i] *= factor }
      }
    }
  }
  return norm
}

private func gradientTensors(_ store: ParameterStore) -> [Tensor] {
  store.isFinalized ? [store.grads] : store.parameters.map { $0.grad }
}

/// The global L2 norm of every gradient of `store` (accumulated in Double, in a fixed order
/// of fixed chunks, so independent of the thread count). NaN or infinite when a gradient is.
public func gradientNorm(_ store: ParameterStore) -> Float {
  let tensors = gradientTensors(store)
  var total = 0.0
  for t in tensors {
    let chunks = 16
    var partial = [Double](repeating: 0, count: chunks)
    let n = t.count
    let p = t.pointer
    partial.withUnsafeMutableBufferPointer { part in
      guard let out = part.baseAddress else { return }
      parallelChunks(chunks, grain: n >= 1 << 16 ? 1 : chunks) { range in
        for k in range {
          var acc = 0.0
          var sq = SIMD8<Float>()
          var i = n * k / chunks
          let end = n * (k + 1) / chunks
          var block = 0
          while i + 8 <= end {
            let x = Vec8.load(p + i)
            sq += x * x
            i += 8
            block += 1
            if block == 512 {
              acc += Double(sq.sum())
              sq = SIMD8<Float>()
              block = 0
            }
          }
          acc += Double(sq.sum())
          while i < end {
            acc += Double(p[i]) * Double(p[i])
            i += 1
          }
          out[k] = acc
        }
      }
    }
    total += partial.reduce(0, +)
  }
  return Float(total.squareRoot())
}
