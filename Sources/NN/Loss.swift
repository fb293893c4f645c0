// Softmax cross-entropy with label smoothing, averaged over the batch.
//
// Legend: B batch, K classes.  Buffers: logits, probabilities, dlogits [B, K]; labels [B].
//
//   p_b = softmax(z_b),  q_bk = (1 − ε)·[k = y_b] + ε/K
//   L = (1/B) Σ_b −Σ_k q_bk log p_bk,   dL/dz_bk = (p_bk − q_bk) / B
// (PyTorch `cross_entropy(z, y, label_smoothing=ε)`.)

import Compute
import Foundation

/// Loss and (when `dlogits` is non-nil) its gradient. `probabilities` `[B, K]` is scratch
/// that ends holding the softmax. Preconditions: `0 ≤ labels[b] < K`, `0 ≤ ε < 1`.
public func softmaxCrossEntropy(
  logits: UnsafePointer<Float>, labels: [Int], classes k: Int, smoothing eps: Float,
  probabilities: UnsafeMutablePointer<Float>, dlogits: UnsafeMutablePointer<Float>?
) -> Float {
  let profiled = Profile.begin(.headLoss)
  defer { Profile.end(profiled) }
  let b = labels.count
  precondition(eps >= 0 && eps < 1, "label smoothing must be in [0, 1): \(eps)")
  if b == 0 { return 0 }
  softmaxForward(y: probabilities, x: logits, rows: b, cols: k)
  var total = 0.0
  let off = Double(eps) / Double(k)
  let on = 1 - Double(eps) + off
  for r in 0..<b {
    let label = labels[r]
    precondition(label >= 0 && label < k, "label \(label) outside 0..<\(k)")
    // log p_k = z_k − m − log Σ e^{z − m}, in Double for a loss that is exact to Float rounding.
    let z = logits + r * k
    var m = -Double.infinity
    for j in 0..<k { m = Swift.max(m, Double(z[j])) }
    var s = 0.0
    for j in 0..<k { s += Foundation.exp(Double(z[j]) - m) }
    let logZ = m + Foundation.log(s)
    var lossRow = 0.0
    for j in 0..<k {
      let q = j == label ? on : off
      if q != 0 { lossRow -= q * (Double(z[j]) - logZ) }
    }
    total += lossRow
    if let d = dlogits {
      let p = probabilities + r * k
      for j in 0..<k {
        let q = j == label ? on : off
        d[r * k + j] = Float((Double(p[j]) - q) / Double(b))
      }
    }
  }
  return Float(total / Double(b))
}

/// Cross-entropy loss layer: `forward(logits [B, K], labels)` → mean loss; `backward()` →
/// dlogits `[B, K]` (a buffer the layer owns).
public final class CrossEntropyLoss {
  /// Label smoothing ε.
  public let smoothing: Float
  /// Softmax of the last logits `[B, K]`.
  public let probabilities = Tensor(zeros: [0])
  /// Gradient of the mean loss with respect to the last logits `[B, K]`.
  private let dlogits = Tensor(zeros: [0])

  public init(smoothing: Float = 0) {
    precondition(smoothing >= 0 && smoothing < 1, "label smoothing must be in [0, 1)")
    self.smoothing = smoothing
  }

  /// Mean loss of `logits [B, K]` against `labels` (B of them); keeps the gradient.
  public func forward(_ logits: Tensor, labels: [Int]) -> Float {
    precondition(
      logits.rank == 2 && logits.shape[0] == labels.count,
      "logits \(logits.shape) for \(labels.count) labels")
    probabilities.reshape(to: logits.shape)
    dlogits.reshape(to: logits.shape)
    return softmaxCrossEntropy(
      logits: logits.pointer, labels: labels, classes: logits.shape[1], smoothing: smoothing,
      probabilities: probabilities.pointer, dlogits: dlogits.pointer)
  }

  /// dL/dlogits `[B, K]` of the last `forward`.
  public func backward() -> Tensor { dlogits }
}
