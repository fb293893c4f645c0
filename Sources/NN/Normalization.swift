// LayerNorm over the last dimension.
//
// Legend: R rows (product of the leading dimensions), C channels (the normalised dimension).
// Buffers: x, y, dy, dx [R, C]; weight γ, bias β, dγ, dβ [C]; mean μ, rstd σ⁻¹ [R].
//
//   μ_r = (1/C) Σ_c x_rc,  σ_r² = (1/C) Σ_c (x_rc − μ_r)²,  x̂_rc = (x_rc − μ_r) / √(σ_r² + ε)
//   y_rc = x̂_rc γ_c + β_c
// Backward, with g_rc = dy_rc γ_c:
//   dx_rc = σ_r⁻¹ (g_rc − mean_c(g_r·) − x̂_rc mean_c(g_r· x̂_r·)),
//   dγ_c += Σ_r dy_rc x̂_rc,  dβ_c += Σ_r dy_rc.

import CKernels
import Compute
import Foundation

/// Fixed number of row chunks whose parameter-gradient partials are summed in order, so
/// the result is the same for any thread count.
let layerNormReductionChunks = 16

/// Floats of scratch `layerNormBackward` needs for `C` channels: `[16, 2, C]`.
public func layerNormBackwardScratchCount(channels: Int) -> Int {
  layerNormReductionChunks * 2 * channels
}

/// Forward LayerNorm of every row, in parallel over rows: the C kernel of
/// `KernelSet.current.vector` where the CPU has it, else the Swift rows below.
///
/// - Parameters:
///   - y: output `[R, C]` (may not alias `x`).
///   - mean, rstd: `[R]`, written when non-nil (backward needs them).
///   - x: input `[R, C]`; weight, bias: `[C]`.
public func layerNormForward(
  y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>?,
  rstd: UnsafeMutablePointer<Float>?, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
  bias: UnsafePointer<Float>, rows: Int, channels c: Int, eps: Float = 1e-5
) {
  let profiled = Profile.begin(.layerNorm)
  defer { Profile.end(profiled) }
  let c8 = c & ~7
  let invC = 1 / Float(c)
  let isa = KernelSet.current.vector
  parallelChunks(rows, grain: Swift.max(1, 8192 / Swift.max(c, 1))) { range in
    let (lo, n) = (range.lowerBound, range.count)
    switch isa {
    case .avx512:
      return vcoswin_layernorm_forward_avx512(
        y + lo * c, mean.map { $0 + lo }, rstd.map { $0 + lo }, x + lo * c, weight, bias, n, c,
        eps)
    case .avx2:
      return vcoswin_layernorm_forward_avx2(
        y + lo * c, mean.map { $0 + lo }, rstd.map { $0 + lo }, x + lo * c, weight, bias, n, c,
        eps)
    case .portable: break
    }
    for r in range {
      let xr = x + r * c
      let yr = y + r * c
      let mu = Vec8.sum(xr, c) * invC
      var acc = SIMD8<Float>()
      var j = 0
      while j < c8 {
        let d = Vec8.load(xr + j) - mu
        acc += d * d
        j += 8
      }
      var ss = acc.sum()
      while j < c {
        let d = xr[j] - mu
        ss += d * d
        j += 1
      }
      let rs = 1 / (ss * invC + eps).squareRoot()
      mean?[r] = mu
      rstd?[r] = rs
      j = 0
      while j < c8 {
        let xh = (Vec8.load(xr + j) - mu) * rs
        Vec8.store(xh * Vec8.load(weight + j) + Vec8.load(bias + j), yr + j)
        j += 8
      }
      while j < c {
        yr[j] = (xr[j] - mu) * rs * weight[j] + bias[j]
        j += 1
      }
    }
  }
}

/// Backward of `layerNormForward` (formulas in the file header): the C kernel of
/// `KernelSet.current.vector` where the CPU has it, else the Swift rows below.
///
/// - Parameters:
///   - dx: `[R, C]`, overwritten (may alias `dy`).
///   - dWeight, dBias: `[C]`, added into.
///   - dy, x: `[R, C]`; mean, rstd: `[R]` from the forward pass; weight: `[C]`.
///   - scratch: `layerNormBackwardScratchCount(channels:)` floats.
public func layerNormBackward(
  dx: UnsafeMutablePointer<Float>, dWeight: UnsafeMutablePointer<Float>,
  dBias: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
  mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, weight: UnsafePointer<Float>,
  rows: Int, channels c: Int, scratch: UnsafeMutablePointer<Float>
) {
  let profiled = Profile.begin(.layerNorm)
  defer { Profile.end(profiled) }
  if rows == 0 { return }
  let c8 = c & ~7
  let invC = 1 / Float(c)
  let chunks = Swift.min(rows, layerNormReductionChunks)
  // partials: [chunks, 2, C] — dγ then dβ per chunk.
  scratch.initialize(repeating: 0, count: chunks * 2 * c)
  let grain = Swift.max(1, 4096 / Swift.max(c * Swift.max(rows / chunks, 1), 1))
  let isa = KernelSet.current.vector
  parallelChunks(chunks, grain: grain) { chunkRange in
    for k in chunkRange {
      let pg = scratch + k * 2 * c
      let pb = pg + c
      let (lo, hi) = (rows * k / chunks, rows * (k + 1) / chunks)
      switch isa {
      case .avx512:
        vcoswin_layernorm_backward_avx512(
          dx + lo * c, pg, pb, dy + lo * c, x + lo * c, mean + lo, rstd + lo, weight, hi - lo, c)
        continue
      case .avx2:
        vcoswin_layernorm_backward_avx2(
          dx + lo * c, pg, pb, dy + lo * c, x + lo * c, mean + lo, rstd + lo, weight, hi - lo, c)
        continue
      case .portable: break
      }
      for r in lo..<hi {
        let xr = x + r * c
        let dyr = dy + r * c
        let dxr = dx + r * c
        let mu = mean[r]
        let rs = rstd[r]
        // Pass 1: sums of g and g·x̂, and the parameter partials.
        var sg = SIMD8<Float>()
        var sgx = SIMD8<Float>()
        var j = 0
        while j < c8 {
          let xh = (Vec8.load(xr + j) - mu) * rs
          let d = Vec8.load(dyr + j)
          let g = d * Vec8.load(weight + j)
          sg += g
          sgx += g * xh
          Vec8.store(Vec8.load(pg + j) + d * xh, pg + j)
          Vec8.store(Vec8.load(pb + j) + d, pb + j)
          j += 8
        }
        var sumG = sg.sum()
        var sumGX = sgx.sum()
        while j < c {
          let xh = (xr[j] - mu) * rs
          let g = dyr[j] * weight[j]
          sumG += g
          sumGX += g * xh
          pg[j] += dyr[j] * xh
          pb[j] += dyr[j]
          j += 1
        }
        let a = sumG * invC
        let b = sumGX * invC
        // Pass 2: dx (dy may alias dx: each element is read before it is written).
        j = 0
        while j < c8 {
          let xh = (Vec8.load(xr + j) - mu) * rs
          let g = Vec8.load(dyr + j) * Vec8.load(weight + j)
          Vec8.store((g - a - xh * b) * rs, dxr + j)
          j += 8
        }
        while j < c {
          let xh = (xr[j] - mu) * rs
          dxr[j] = (dyr[j] * weight[j] - a - xh * b) * rs
          j += 1
        }
      }
    }
  }
  for k in 0..<chunks {
    let pg = scratch + k * 2 * c
    for j in 0..<c {
      dWeight[j] += pg[j]
      dBias[j] += pg[c + j]
    }
  }
}

/// Mean and 1/√(variance + ε) of row `x[0..<c]`, two passes in Double (the references).
private func naiveRowStatistics(_ x: UnsafePointer<Float>, _ c: Int, _ eps: Float) -> (
  Double, Double
) {
  var mu = 0.0
  for j in 0..<c { mu += Double(x[j]) }
  mu /= Double(c)
  var v = 0.0
  for j in 0..<c { v += (Double(x[j]) - mu) * (Double(x[j]) - mu) }
  return (mu, 1 / (v / Double(c) + Double(eps)).squareRoot())
}

/// Naive reference for `layerNormForward`: two-pass statistics in Double.
public func naiveLayerNormForward(
  y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>?,
  rstd: UnsafeMutablePointer<Float>?, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
  bias: UnsafePointer<Float>, rows: Int, channels c: Int, eps: Float = 1e-5
) {
  for r in 0..<rows {
    let (mu, rs) = naiveRowStatistics(x + r * c, c, eps)
    mean?[r] = Float(mu)
    rstd?[r] = Float(rs)
    for j in 0..<c {
      y[r * c + j] = Float((Double(x[r * c + j]) - mu) * rs * Double(weight[j]) + Double(bias[j]))
    }
  }
}

/// Naive reference for `layerNormBackward` (recomputes the statistics in Double).
public func naiveLayerNormBackward(
  dx: UnsafeMutablePointer<Float>, dWeight: UnsafeMutablePointer<Float>,
  dBias: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
  weight: UnsafePointer<Float>, rows: Int, channels c: Int, eps: Float = 1e-5
) {
  var xh = [Double](repeating: 0, count: c)
  for r in 0..<rows {
    let (mu, rs) = naiveRowStatistics(x + r * c, c, eps)
    var a = 0.0
    var b = 0.0
    for j in 0..<c {
      xh[j] = (Double(x[r * c + j]) - mu) * rs
      let g = Double(dy[r * c + j]) * Double(weight[j])
      a += g
      b += g * xh[j]
      dWeight[j] += Float(Double(dy[r * c + j]) * xh[j])
      dBias[j] += dy[r * c + j]
    }
    a /= Double(c)
    b /= Double(c)
    for j in 0..<c {
      let g = Double(dy[r * c + j]) * Double(weight[j])
      dx[r * c + j] = Float((g - a - xh[j] * b) * rs)
    }
  }
}

/// LayerNorm over the last dimension of any shape: `[…, C] → […, C]`.
///
/// Parameters: `name.weight` `[C]` (ones) and `name.bias` `[C]` (zeros), neither decayed.
public final class LayerNorm: Layer {
  public let channels: Int
  public let eps: Float
  /// γ `[C]`.
  public let weight: Parameter
  /// β `[C]`.
  public let bias: Parameter

  /// Output `[…, C]`.
  private var y = Tensor(zeros: [0])
  /// Input gradient `[…, C]`.
  private var dx = Tensor(zeros: [0])
  /// Per-row statistics `[R]`.
  private var mean = Tensor(zeros: [0])
  private var rstd = Tensor(zeros: [0])
  /// Parameter-gradient partials `[16, 2, C]`.
  private var scratch: Tensor
  private var savedX: Tensor?

  /// Registers `name.weight` and `name.bias` (`[channels]`) in `store`.
  public init(store: ParameterStore, name: String, channels: Int, eps: Float = 1e-5) {
    precondition(channels > 0, "LayerNorm needs channels > 0")
    self.channels = channels
    self.eps = eps
    weight = store.register(name + ".weight", shape: [channels], decay: false)
    bias = store.register(name + ".bias", shape: [channels], decay: false)
    if store.holdsValues { weight.value.fill(1) }
    scratch = Tensor(zeros: [layerNormBackwardScratchCount(channels: channels)])
  }

  /// `x […, C] → y […, C]`. Precondition: the last dimension is `channels`.
  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    precondition(x.shape.last == channels, "LayerNorm expects last dim \(channels), got \(x.shape)")
    let rows = x.count / channels
    y.reshape(to: x.shape)
    mean.reshape(to: [rows])
    rstd.reshape(to: [rows])
    layerNormForward(
      y: y.pointer, mean: training ? mean.pointer : nil, rstd: training ? rstd.pointer : nil,
      x: x.pointer, weight: weight.value.pointer, bias: bias.value.pointer, rows: rows,
      channels: channels, eps: eps)
    savedX = training ? x : nil
    return y
  }

  /// `dy […, C] → dx […, C]`; adds into `weight.grad` and `bias.grad`.
  public func backward(_ dy: Tensor) -> Tensor {
    guard let x = savedX else {
      preconditionFailure("LayerNorm.backward without a training forward")
    }
    precondition(dy.count == x.count, "LayerNorm.backward: dy \(dy.shape) vs x \(x.shape)")
    dx.reshape(to: x.shape)
    scratch.reshape(to: [layerNormBackwardScratchCount(channels: channels)])
    layerNormBackward(
      dx: dx.pointer, dWeight: weight.grad.pointer, dBias: bias.grad.pointer, dy: dy.pointer,
      x: x.pointer, mean: mean.pointer, rstd: rstd.pointer, weight: weight.value.pointer,
      rows: x.count / channels, channels: channels, scratch: scratch.pointer)
    return dx
  }
}

extension LayerNorm {
  public var parameters: [Parameter] { [weight, bias] }

  /// Buffers `y`, `dx`, `mean`, `rstd`, `scratch`.
  public func bind(_ buffers: Buffers) {
    y = buffers["y"]
    dx = buffers["dx"]
    mean = buffers["mean"]
    rstd = buffers["rstd"]
    scratch = buffers["scratch"]
  }

  /// Rebinds the output (when given) and the input gradient to caller-owned buffers (see
  /// `SwinBlock.bind(workspace:output:inputGradient:)`).
  public func bindTransient(output: Tensor?, inputGradient: Tensor) {
    if let output { y = output }
    dx = inputGradient
  }

  public var timingKind: String? { "LayerNorm" }
}
