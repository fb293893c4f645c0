// Linear: y = x · Wᵀ + b over the last dimension of any shape.
//
// Legend: R rows (the product of every leading dimension, e.g. B·T·H·W tokens),
//         I input features, O output features.
// Buffers: x [R, I], W [O, I] (PyTorch layout), b [O], y [R, O].
//
// Forward: y = x·Wᵀ + b, the bias added by the GEMM itself (`gemm`'s `bias`), one GEMM per row
// range (one range per worker of the thread budget, or one for all rows when they are few).
// Backward: dX = dY · W, dW += dYᵀ · X, db += Σ_r dY[r, :].

import Compute

/// How a `Linear` (or convolution) initialises its weight and bias.
public enum WeightInit: Sendable, Equatable {
  /// PyTorch's default for `nn.Linear` / `nn.Conv*d` (`kaiming_uniform_(a=√5)`):
  /// W, b ~ U(−1/√fanIn, 1/√fanIn).
  case pytorchDefault
  /// Swin's init, PyTorch's `trunc_normal_(W, std=std)` (bounds a = −2, b = 2 in absolute
  /// value, as torchvision uses it): W ~ N(0, std²) redrawn outside [−2, 2], b = 0.
  case truncatedNormal(std: Float)
  /// W = 0, b = 0 (e.g. a classifier head that starts at zero).
  case zeros

  /// While true (bound with `WeightInit.$skipped.withValue(true) { … }`), `fill` leaves
  /// parameters as they are: a model built only to receive a checkpoint's weights, every one of
  /// which is then overwritten, skips drawing random values it would throw away.
  @TaskLocal public static var skipped = false

  /// Fills `weight` (fan-in `fanIn`) and `bias` as this scheme does (nothing while `skipped`).
  func fill(weight: Tensor, bias: Tensor?, fanIn: Int, rng: inout SeededRandom) {
    if WeightInit.skipped { return }
    switch self {
    case .pytorchDefault:
      let bound = 1 / Float(Swift.max(fanIn, 1)).squareRoot()
      for i in 0..<weight.count { weight.pointer[i] = (2 * rng.uniform() - 1) * bound }
      if let bias {
        for i in 0..<bias.count { bias.pointer[i] = (2 * rng.uniform() - 1) * bound }
      }
    case .truncatedNormal(let std):
      for i in 0..<weight.count {
        var v = rng.normal() * std
        while abs(v) > 2 { v = rng.normal() * std }
        weight.pointer[i] = v
      }
      bias?.zero()
    case .zeros:
      weight.zero()
      bias?.zero()
    }
  }
}

// MARK: - Kernels

/// `y[R,O] = x[R,I] · W[O,I]ᵀ + b[O]`, one GEMM per row range (`linearRowGrain`); with
/// `accumulate`, `y[R,O] = (y + x · Wᵀ) + b` (a residual sum in the GEMM's own pass); with
/// `activation`, `y ← f(y)` in place as the GEMM finishes each piece (`GemmThen`).
///
/// - Parameters:
///   - y: output `[R, O]` (overwritten, or added to when `accumulate`).
///   - x: input `[R, I]`.
///   - weight: `[O, I]`.
///   - bias: `[O]`, or nil for no bias.
public func linearForward(
  y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
  bias: UnsafePointer<Float>?, rows: Int, inFeatures: Int, outFeatures: Int,
  accumulate: Bool = false, then activation: GemmThen.RowFunction? = nil
) {
  let profiled = Profile.begin(.linear)
  defer { Profile.end(profiled) }
  let (r, i, o) = (rows, inFeatures, outFeatures)
  if r == 0 || o == 0 { return }
  // Row ranges over the thread budget, one single-threaded GEMM each (see `linearRowGrain`).
  parallelChunks(r, grain: linearRowGrain) { range in
    gemm(
      .none, .transposed, m: range.count, n: o, k: i, a: x + range.lowerBound * i, lda: i,
      b: weight, ldb: i, beta: accumulate ? 1 : 0, bias: bias, c: y + range.lowerBound * o,
      ldc: o, then: activation.map { GemmThen($0, out: y + range.lowerBound * o, ldo: o) })
  }
}

/// Rows per worker below which a linear's row-wise GEMMs (forward, and dX in backward) run as
/// one call. Above it the rows are split over the thread budget, each range one
/// single-threaded GEMM that packs the (small) weight again: at the model's shapes (K = C or
/// 4C ≤ 3072, a few thousand rows) this scales better over 2 threads than OpenBLAS's own
/// threading (`swin_t` 8×224² inference, MLP linears from 1 to 2 threads: 1.35× → 2.0×).
let linearRowGrain = 256

/// Backward of `linearForward`.
///
/// `dX[R,I] = dY[R,O] · W[O,I]` (overwritten; skipped when `dx` is nil),
/// `dW[O,I] += dY[R,O]ᵀ · X[R,I]`, `db[O] += Σ_r dY[r,:]` (skipped when `dBias` is nil).
///
/// On the package's GEMM kernel dW is one `gemm`, split by its output rows or columns (each
/// element summed over R in one order, whatever the thread count). On OpenBLAS, with `scratch`
/// room for `k ≥ 1` partials `[O, I]` and at least two threads, dW is split over row ranges,
/// one single-threaded GEMM per thread (faster than one OpenBLAS-threaded GEMM whose inner
/// dimension is R), partials summed in order (deterministic for a given thread count).
/// `linearWeightGradientScratchCount` gives the size for the thread budget.
public func linearBackward(
  dx: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>,
  dBias: UnsafeMutablePointer<Float>?, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
  weight: UnsafePointer<Float>, rows: Int, inFeatures: Int, outFeatures: Int,
  scratch: UnsafeMutablePointer<Float>? = nil, scratchCount: Int = 0
) {
  let profiled = Profile.begin(.linear)
  defer { Profile.end(profiled) }
  let (r, i, o) = (rows, inFeatures, outFeatures)
  if let dx {
    parallelChunks(r, grain: linearRowGrain) { range in
      gemm(
        .none, .none, m: range.count, n: i, k: o, a: dy + range.lowerBound * o, lda: o,
        b: weight, ldb: i, c: dx + range.lowerBound * i, ldc: i)
    }
  }
  let workers = Swift.min(ThreadBudget.threads, 1 + scratchCount / Swift.max(o * i, 1), r / 1024)
  if let scratch, workers >= 2 {
    // Worker 0 adds into dW; the others write partials [workers − 1, O, I].
    parallelFor(workers) { w in
      let r0 = r * w / workers
      let r1 = r * (w + 1) / workers
      gemm(
        .transposed, .none, m: o, n: i, k: r1 - r0, a: dy + r0 * o, lda: o, b: x + r0 * i,
        ldb: i, beta: w == 0 ? 1 : 0, c: w == 0 ? dWeight : scratch + (w - 1) * o * i, ldc: i)
    }
    for w in 1..<workers { Vec8.addInPlace(dWeight, scratch + (w - 1) * o * i, o * i) }
  } else {
    gemm(
      .transposed, .none, m: o, n: i, k: r, a: dy, lda: o, b: x, ldb: i, beta: 1, c: dWeight,
      ldc: i)
  }
  if let dBias { columnSumAccumulate(dBias, dy, rows: r, cols: o) }
}

/// Floats of scratch that lets `linearBackward` split dW over `threads` threads (none on the
/// package's GEMM kernel, which splits dW without partials).
public func linearWeightGradientScratchCount(
  inFeatures: Int, outFeatures: Int, threads: Int = ThreadBudget.threads
) -> Int {
  if KernelSet.current.gemm == .avx512 { return 0 }
  return Swift.max(0, threads - 1) * inFeatures * outFeatures
}

/// Naive reference for `linearForward`: plain loops, Double accumulation.
public func naiveLinearForward(
  y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
  bias: UnsafePointer<Float>?, rows: Int, inFeatures: Int, outFeatures: Int
) {
  for r in 0..<rows {
    for o in 0..<outFeatures {
      var acc = Double(bias?[o] ?? 0)
      for i in 0..<inFeatures {
        acc += Double(x[r * inFeatures + i]) * Double(weight[o * inFeatures + i])
      }
      y[r * outFeatures + o] = Float(acc)
    }
  }
}

/// Naive reference for `linearBackward` (same contract).
public func naiveLinearBackward(
  dx: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>,
  dBias: UnsafeMutablePointer<Float>?, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
  weight: UnsafePointer<Float>, rows: Int, inFeatures: Int, outFeatures: Int
) {
  let (nr, ni, no) = (rows, inFeatures, outFeatures)
  if let dx {
    for r in 0..<nr {
      for i in 0..<ni {
        var acc = 0.0
        for o in 0..<no { acc += Double(dy[r * no + o]) * Double(weight[o * ni + i]) }
        dx[r * ni + i] = Float(acc)
      }
    }
  }
  for o in 0..<no {
    for i in 0..<ni {
      var acc = Double(dWeight[o * ni + i])
      for r in 0..<nr { acc += Double(dy[r * no + o]) * Double(x[r * ni + i]) }
      dWeight[o * ni + i] = Float(acc)
    }
    if let dBias {
      var acc = Double(dBias[o])
      for r in 0..<nr { acc += Double(dy[r * no + o]) }
      dBias[o] = Float(acc)
    }
  }
}

// MARK: - Layer

/// A fully connected layer on the last dimension: `[…, I] → […, O]`, `y = x·Wᵀ + b`.
///
/// Parameters: `name.weight` `[O, I]` (decayed), `name.bias` `[O]` (not decayed, optional).
public final class Linear: InputGradientOptional {
  public let inFeatures: Int
  public let outFeatures: Int
  /// `[O, I]`.
  public let weight: Parameter
  /// `[O]`, or nil for a layer without bias.
  public let bias: Parameter?
  /// When false, `backward` skips dX (e.g. the first layer of a network) and returns an
  /// empty tensor; parameter gradients are still accumulated.
  public var needsInputGradient = true

  /// Output `[…, O]`, reused between calls.
  private var y = Tensor(zeros: [0])
  /// Input gradient `[…, I]`, reused between calls.
  private var dx = Tensor(zeros: [0])
  /// dW partials `[threads − 1, O, I]` for the split weight gradient.
  private var dWeightPartials = Tensor(zeros: [0])
  /// The last training input `[…, I]` (a reference; backward needs it for dW).
  private var savedX: Tensor?

  /// Registers `name.weight` `[O, I]` and (if `bias`) `name.bias` `[O]` in `store`.
  public init(
    store: ParameterStore, name: String, inFeatures: Int, outFeatures: Int, bias: Bool = true,
    initializer: WeightInit = .pytorchDefault, rng: inout SeededRandom
  ) {
    precondition(inFeatures > 0 && outFeatures > 0, "Linear needs positive sizes")
    self.inFeatures = inFeatures
    self.outFeatures = outFeatures
    weight = store.register(name + ".weight", shape: [outFeatures, inFeatures], decay: true)
    self.bias = bias ? store.register(name + ".bias", shape: [outFeatures], decay: false) : nil
    if store.holdsValues {
      initializer.fill(
        weight: weight.value, bias: self.bias?.value, fanIn: inFeatures, rng: &rng)
    }
  }

  /// `x [… , I] → y [… , O]`. Precondition: the last dimension of `x` is `inFeatures`.
  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    precondition(
      x.shape.last == inFeatures, "Linear expects last dim \(inFeatures), got \(x.shape)")
    let rows = x.count / inFeatures
    var shape = x.shape
    shape[shape.count - 1] = outFeatures
    y.reshape(to: shape)
    linearForward(
      y: y.pointer, x: x.pointer, weight: weight.value.pointer, bias: bias?.value.pointer,
      rows: rows, inFeatures: inFeatures, outFeatures: outFeatures)
    savedX = training ? x : nil
    return y
  }

  /// What a training forward of `x` leaves for `backward` (`x` itself, and the output's
  /// shape), without computing the output: a replayed forward whose output nothing reads.
  public func retainForBackward(_ x: Tensor) {
    precondition(
      x.shape.last == inFeatures, "Linear expects last dim \(inFeatures), got \(x.shape)")
    var shape = x.shape
    shape[shape.count - 1] = outFeatures
    y.reshape(to: shape)
    savedX = x
  }

  /// `dy [… , O] → dx [… , I]`; adds into `weight.grad` and `bias.grad`.
  public func backward(_ dy: Tensor) -> Tensor {
    guard let x = savedX else { preconditionFailure("Linear.backward without a training forward") }
    precondition(dy.count == y.count, "Linear.backward: dy \(dy.shape) vs y \(y.shape)")
    let rows = x.count / inFeatures
    if needsInputGradient { dx.reshape(to: x.shape) } else { dx.reshape(to: [0]) }
    dWeightPartials.reshape(
      to: [linearWeightGradientScratchCount(inFeatures: inFeatures, outFeatures: outFeatures)])
    linearBackward(
      dx: needsInputGradient ? dx.pointer : nil, dWeight: weight.grad.pointer,
      dBias: bias?.grad.pointer, dy: dy.pointer, x: x.pointer, weight: weight.value.pointer,
      rows: rows, inFeatures: inFeatures, outFeatures: outFeatures,
      scratch: dWeightPartials.pointer, scratchCount: dWeightPartials.count)
    return dx
  }
}

extension Linear {
  public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

  /// Buffers `y`, `dx`, `dWeightPartials`.
  public func bind(_ buffers: Buffers) {
    y = buffers["y"]
    dx = buffers["dx"]
    dWeightPartials = buffers["dWeightPartials"]
  }

  /// Rebinds the output (when given) and the input gradient to caller-owned buffers (see
  /// `SwinBlock.bind(workspace:output:inputGradient:)`).
  public func bindTransient(output: Tensor?, inputGradient: Tensor) {
    if let output { y = output }
    dx = inputGradient
  }

  public var timingKind: String? { "Linear" }
}
