// GELU (exact erf form) and softmax over the last dimension.
//
// Legend: E elements, R rows, N entries per row (the softmax dimension).
// GELU buffers: x, y, dy, dx [E].  Softmax buffers: x, y, dy, dx [R, N].
//
//   gelu(x)  = x Φ(x) = ½ x (1 + erf(x/√2))
//   gelu'(x) = Φ(x) + x φ(x),  φ(x) = e^{−x²/2} / √(2π)
//   softmax: y_j = e^{x_j − m} / Σ_k e^{x_k − m}, m = max_k x_k
//   backward: dx_j = y_j (dy_j − Σ_k dy_k y_k)

import CKernels
import Compute
import Foundation

/// Elements per worker below which the elementwise kernels run serially.
let elementwiseGrain = 32768

// MARK: - GELU

@inline(__always)
private func geluVec(_ x: SIMD8<Float>) -> SIMD8<Float> {
  0.5 * x * (1 + Vec8.erf(x * 0.707_106_781_186_547_5))
}

@inline(__always)
private func geluGradVec(_ x: SIMD8<Float>) -> SIMD8<Float> {
  let cdf = 0.5 * (1 + Vec8.erf(x * 0.707_106_781_186_547_5))
  let pdf = Vec8.exp(-0.5 * x * x) * 0.398_942_280_401_432_7
  return cdf + x * pdf
}

/// The C GELU of `KernelSet.current.vector` as a row function for `gemm`'s `then` (the same
/// values as `geluForward`), or nil on the portable path.
var geluRowFunction: GemmThen.RowFunction? {
  switch KernelSet.current.vector {
  case .avx512: return vcoswin_gelu_forward_avx512
  case .avx2: return vcoswin_gelu_forward_avx2
  case .portable: return nil
  }
}

/// `y = gelu(x)` element-wise, `E` elements, in parallel chunks. `y` may alias `x`.
/// Runs the C kernel of `KernelSet.current.vector` (AVX-512 or AVX2) where the CPU has it.
public func geluForward(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, count: Int) {
  let profiled = Profile.begin(.gelu)
  defer { Profile.end(profiled) }
  let isa = KernelSet.current.vector
  parallelChunks(count, grain: elementwiseGrain) { range in
    let (lo, n) = (range.lowerBound, range.count)
    switch isa {
    case .avx512: return vcoswin_gelu_forward_avx512(y + lo, x + lo, n)
    case .avx2: return vcoswin_gelu_forward_avx2(y + lo, x + lo, n)
    case .portable: break
    }
    // Whole vectors, then one partial vector (a separate loop keeps the main one branch-free).
    var i = range.lowerBound
    while i + 8 <= range.upperBound {
      Vec8.store(geluVec(Vec8.load(x + i)), y + i)
      i += 8
    }
    let lanes = range.upperBound - i
    if lanes > 0 { Vec8.store(geluVec(Vec8.load(x + i, count: lanes)), y + i, count: lanes) }
  }
}

/// `dx = dy · gelu'(x)` element-wise, `E` elements, in parallel chunks. `dx` may alias `dy`.
/// Runs the C kernel of `KernelSet.current.vector` where the CPU has it.
public func geluBackward(
  dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>, count: Int
) {
  let profiled = Profile.begin(.gelu)
  defer { Profile.end(profiled) }
  let isa = KernelSet.current.vector
  parallelChunks(count, grain: elementwiseGrain) { range in
    let (lo, n) = (range.lowerBound, range.count)
    switch isa {
    case .avx512: return vcoswin_gelu_backward_avx512(dx + lo, dy + lo, x + lo, n)
    case .avx2: return vcoswin_gelu_backward_avx2(dx + lo, dy + lo, x + lo, n)
    case .portable: break
    }
    var i = range.lowerBound
    while i + 8 <= range.upperBound {
      Vec8.store(Vec8.load(dy + i) * geluGradVec(Vec8.load(x + i)), dx + i)
      i += 8
    }
    let lanes = range.upperBound - i
    if lanes > 0 {
      let g = geluGradVec(Vec8.load(x + i, count: lanes))
      Vec8.store(Vec8.load(dy + i, count: lanes) * g, dx + i, count: lanes)
    }
  }
}

/// Naive reference for `geluForward`: Double precision with the C library's `erf`.
public func naiveGeluForward(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, count: Int) {
  for i in 0..<count {
    let v = Double(x[i])
    y[i] = Float(0.5 * v * (1 + Foundation.erf(v / 2.0.squareRoot())))
  }
}

/// Naive reference for `geluBackward`.
public func naiveGeluBackward(
  dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>, count: Int
) {
  for i in 0..<count {
    let v = Double(x[i])
    let cdf = 0.5 * (1 + Foundation.erf(v / 2.0.squareRoot()))
    let pdf = Foundation.exp(-0.5 * v * v) / (2 * Double.pi).squareRoot()
    dx[i] = Float(Double(dy[i]) * (cdf + v * pdf))
  }
}

/// GELU (exact erf form) on any shape.
public final class GELU: Layer {
  /// Output, same shape as the input.
  private var y = Tensor(zeros: [0])
  /// Input gradient, same shape as the input.
  private var dx = Tensor(zeros: [0])
  private var savedX: Tensor?

  public init() {}

  public var parameters: [Parameter] { [] }

  /// Buffers `y`, `dx`.
  public func bind(_ buffers: Buffers) {
    y = buffers["y"]
    dx = buffers["dx"]
  }

  /// Rebinds the output (when given) and the input gradient to caller-owned buffers (see
  /// `SwinBlock.bind(workspace:output:inputGradient:)`).
  public func bindTransient(output: Tensor?, inputGradient: Tensor) {
    if let output { y = output }
    dx = inputGradient
  }

  public var timingKind: String? { "GELU" }

  /// `x → gelu(x)`, any shape.
  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    y.reshape(to: x.shape)
    geluForward(y: y.pointer, x: x.pointer, count: x.count)
    savedX = training ? x : nil
    return y
  }

  /// `dy → dy · gelu'(x)`.
  public func backward(_ dy: Tensor) -> Tensor {
    guard let x = savedX else { preconditionFailure("GELU.backward without a training forward") }
    precondition(dy.count == x.count, "GELU.backward: dy \(dy.shape) vs x \(x.shape)")
    dx.reshape(to: x.shape)
    geluBackward(dx: dx.pointer, dy: dy.pointer, x: x.pointer, count: x.count)
    return dx
  }
}

// MARK: - Softmax

/// One row of `softmaxForward`: `y[0..<n] = softmax(x[0..<n])`. `y` may alias `x`.
@inline(__always)
public func softmaxRow(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) {
  let m = Vec8.max(x, n)
  var acc = SIMD8<Float>()
  var j = 0
  while j + 8 <= n {
    let e = Vec8.exp(Vec8.load(x + j) - m)
    acc += e
    Vec8.store(e, y + j)
    j += 8
  }
  if j < n {
    // Padding lanes load −∞, whose exponential adds 0 to the sum.
    let e = Vec8.exp(Vec8.load(x + j, count: n - j, fill: -.infinity) - m)
    acc += e
    Vec8.store(e, y + j, count: n - j)
  }
  let inv = 1 / acc.sum()
  j = 0
  while j + 8 <= n {
    Vec8.store(Vec8.load(y + j) * inv, y + j)
    j += 8
  }
  while j < n {
    y[j] *= inv
    j += 1
  }
}

/// One row of `softmaxBackward`: `dx_j = y_j (dy_j − Σ_k dy_k y_k)`. `dx` may alias `dy`.
@inline(__always)
public func softmaxBackwardRow(
  _ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ y: UnsafePointer<Float>,
  _ n: Int
) {
  let s = Vec8.dot(dy, y, n)
  let n8 = n & ~7
  var j = 0
  while j < n8 {
    Vec8.store(Vec8.load(y + j) * (Vec8.load(dy + j) - s), dx + j)
    j += 8
  }
  while j < n {
    dx[j] = y[j] * (dy[j] - s)
    j += 1
  }
}

/// Numerically stable softmax of each row: `x, y [R, N]`, in parallel over rows.
/// `y` may alias `x`. Inside another parallel region it runs serially on the caller.
public func softmaxForward(
  y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, rows: Int, cols n: Int
) {
  parallelChunks(rows, grain: Swift.max(1, elementwiseGrain / Swift.max(n, 1))) { range in
    for r in range { softmaxRow(y + r * n, x + r * n, n) }
  }
}

/// Backward of `softmaxForward` from its output: `dx, dy, y [R, N]`. `dx` may alias `dy`.
public func softmaxBackward(
  dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, y: UnsafePointer<Float>, rows: Int,
  cols n: Int
) {
  parallelChunks(rows, grain: Swift.max(1, elementwiseGrain / Swift.max(n, 1))) { range in
    for r in range { softmaxBackwardRow(dx + r * n, dy + r * n, y + r * n, n) }
  }
}

/// Naive reference for `softmaxForward` (Double, library `exp`).
public func naiveSoftmaxForward(
  y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, rows: Int, cols n: Int
) {
  for r in 0..<rows {
    var m = -Double.infinity
    for j in 0..<n { m = Swift.max(m, Double(x[r * n + j])) }
    var s = 0.0
    for j in 0..<n { s += Foundation.exp(Double(x[r * n + j]) - m) }
    for j in 0..<n { y[r * n + j] = Float(Foundation.exp(Double(x[r * n + j]) - m) / s) }
  }
}

/// Naive reference for `softmaxBackward`.
public func naiveSoftmaxBackward(
  dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, y: UnsafePointer<Float>, rows: Int,
  cols n: Int
) {
  for r in 0..<rows {
    var s = 0.0
    for j in 0..<n { s += Double(dy[r * n + j]) * Double(y[r * n + j]) }
    for j in 0..<n {
      dx[r * n + j] = Float(Double(y[r * n + j]) * (Double(dy[r * n + j]) - s))
    }
  }
}
