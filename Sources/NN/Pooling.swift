// Mean pooling over tokens.
//
// Legend: B batch, N tokens per sample (every dimension between the first and the last,
// e.g. T·H·W), C channels.  Buffers: x, dx [B, N, C]; y, dy [B, C].
//
//   y_bc = (1/N) Σ_n x_bnc,   dx_bnc = dy_bc / N

import Compute

/// `y[b, :] = mean_n x[b, n, :]`.
public func meanPoolForward(
  y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, batch: Int, tokens n: Int,
  channels c: Int
) {
  let profiled = Profile.begin(.headLoss)
  defer { Profile.end(profiled) }
  let inv = 1 / Float(n)
  for b in 0..<batch {
    let yb = y + b * c
    yb.initialize(repeating: 0, count: c)
    columnSumAccumulate(yb, x + b * n * c, rows: n, cols: c)
    for j in 0..<c { yb[j] *= inv }
  }
}

/// `dx[b, n, :] = dy[b, :] / N` (overwrites `dx`).
public func meanPoolBackward(
  dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, batch: Int, tokens n: Int,
  channels c: Int
) {
  let profiled = Profile.begin(.headLoss)
  defer { Profile.end(profiled) }
  let inv = 1 / Float(n)
  parallelChunks(batch * n, grain: Swift.max(1, elementwiseGrain / Swift.max(c, 1))) { range in
    for row in range {
      let src = dy + (row / n) * c
      let dst = dx + row * c
      for j in 0..<c { dst[j] = src[j] * inv }
    }
  }
}

/// Naive reference for `meanPoolForward` (Double accumulation).
public func naiveMeanPoolForward(
  y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, batch: Int, tokens n: Int,
  channels c: Int
) {
  for b in 0..<batch {
    for j in 0..<c {
      var acc = 0.0
      for t in 0..<n { acc += Double(x[(b * n + t) * c + j]) }
      y[b * c + j] = Float(acc / Double(n))
    }
  }
}

/// Mean over every dimension between the first and the last: `[B, …, C] → [B, C]`.
public final class MeanPool: Layer {
  /// Output `[B, C]`.
  private var y = Tensor(zeros: [0])
  /// Input gradient, shape of the input.
  private var dx = Tensor(zeros: [0])
  private var inputShape: [Int] = []

  public init() {}

  public var parameters: [Parameter] { [] }

  /// Buffers `y`, `dx`.
  public func bind(_ buffers: Buffers) {
    y = buffers["y"]
    dx = buffers["dx"]
  }

  public var timingKind: String? { "MeanPool" }

  /// `x [B, …, C] → y [B, C]`. Precondition: rank ≥ 2 and at least one token.
  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    precondition(x.rank >= 2, "MeanPool needs [B, …, C], got \(x.shape)")
    let b = x.shape[0]
    let c = x.shape[x.rank - 1]
    let n = x.count / Swift.max(b * c, 1)
    precondition(n > 0, "MeanPool over no tokens: \(x.shape)")
    y.reshape(to: [b, c])
    meanPoolForward(y: y.pointer, x: x.pointer, batch: b, tokens: n, channels: c)
    inputShape = x.shape
    return y
  }

  /// `dy [B, C] → dx [B, …, C]`.
  public func backward(_ dy: Tensor) -> Tensor {
    precondition(!inputShape.isEmpty, "MeanPool.backward without a forward")
    let b = inputShape[0]
    let c = inputShape[inputShape.count - 1]
    precondition(dy.count == b * c, "MeanPool.backward: dy \(dy.shape), want [\(b), \(c)]")
    dx.reshape(to: inputShape)
    meanPoolBackward(
      dx: dx.pointer, dy: dy.pointer, batch: b, tokens: dx.count / (b * c), channels: c)
    return dx
  }
}
