// Dropout (element-wise) and DropPath (stochastic depth, per sample).
//
// Legend: E elements, B samples (the first dimension), S elements per sample (E = B·S).
// Buffers: x, y, dy, dx [B, S]; mask [E] (Dropout) or scale [B] (DropPath).
//
//   Dropout:  y_e = x_e · m_e,  m_e = 1/(1−p) with probability 1−p, else 0;  dx = dy · m.
//   DropPath: y_b = x_b · s_b,  s_b = 1/(1−p) with probability 1−p, else 0  (a sample's whole
//             residual branch is kept or dropped);  dx_b = dy_b · s_b.
// Both are the identity when not training or p = 0: `forward` then returns its input and
// `backward` its upstream gradient (no copy).

import Compute

/// `y[b, s] = x[b, s] · scale[b]` for a batch of `B` rows of `S` elements (DropPath forward
/// and backward). `y` may alias `x`.
public func scaleSamples(
  y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, scale: UnsafePointer<Float>,
  batch: Int, perSample s: Int
) {
  let profiled = Profile.begin(.residual)
  defer { Profile.end(profiled) }
  parallelChunks(batch * s, grain: elementwiseGrain) { range in
    var i = range.lowerBound
    while i < range.upperBound {
      let b = i / s
      let end = Swift.min(range.upperBound, (b + 1) * s)
      let k = scale[b]
      var j = i
      while j + 8 <= end {
        Vec8.store(Vec8.load(x + j) * k, y + j)
        j += 8
      }
      while j < end {
        y[j] = x[j] * k
        j += 1
      }
      i = end
    }
  }
}

/// `y = x · m` element-wise (`E` elements; `y` may alias `x`).
public func multiplyElementwise(
  y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, m: UnsafePointer<Float>, count: Int
) {
  let profiled = Profile.begin(.residual)
  defer { Profile.end(profiled) }
  parallelChunks(count, grain: elementwiseGrain) { range in
    var j = range.lowerBound
    while j + 8 <= range.upperBound {
      Vec8.store(Vec8.load(x + j) * Vec8.load(m + j), y + j)
      j += 8
    }
    while j < range.upperBound {
      y[j] = x[j] * m[j]
      j += 1
    }
  }
}

/// Fills `out[0..<n]` with `1/(1−p)` (probability 1−p) or 0 (probability p), drawing one
/// uniform number per entry from `rng` in order. Precondition: 0 ≤ p < 1.
public func fillKeepMask(
  _ out: UnsafeMutablePointer<Float>, count n: Int, dropProbability p: Float,
  rng: inout SeededRandom
) {
  precondition(p >= 0 && p < 1, "drop probability must be in [0, 1): \(p)")
  let keep = 1 / (1 - p)
  for i in 0..<n { out[i] = rng.uniform() < p ? 0 : keep }
}

/// What `Dropout` and `DropPath` share: a seeded keep mask drawn per element or per sample,
/// applied in forward and backward, and the identity outside training.
public class StochasticDrop: Layer {
  /// Probability of zeroing an element (Dropout) or a sample's branch (DropPath).
  public let p: Float
  /// The generator for the draws; replace it to replay a step (e.g. on resume).
  public var rng: SeededRandom
  /// Keep factors (0 or 1/(1−p)) of the last training forward: `[E]` or `[B]`.
  public let mask = Tensor(zeros: [0])
  /// Output and input gradient, shape of the input.
  private var y = Tensor(zeros: [0])
  private var dx = Tensor(zeros: [0])
  private let perSample: Bool
  private var active = false

  init(p: Float, rng: inout SeededRandom, perSample: Bool) {
    precondition(p >= 0 && p < 1, "drop probability must be in [0, 1): \(p)")
    self.p = p
    self.rng = SeededRandom(seed: rng.next())
    self.perSample = perSample
  }

  /// Training: `x` times a fresh mask; otherwise `x` itself.
  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    redraw(shape: x.shape, training: training)
    guard active else { return x }
    y.reshape(to: x.shape)
    apply(y, x)
    return y
  }

  /// What a training forward of an input of shape `shape` leaves for `backward` — the same
  /// draws into the mask — without computing the output (a replayed forward whose output
  /// nothing reads).
  public func redraw(shape: [Int], training: Bool) {
    active = training && p > 0
    guard active else { return }
    precondition(!perSample || !shape.isEmpty, "DropPath needs a batch dimension")
    let units = perSample ? shape[0] : shape.reduce(1, *)
    mask.reshape(to: [units])
    fillKeepMask(mask.pointer, count: units, dropProbability: p, rng: &rng)
  }

  /// `dy` times the mask, or `dy` itself when the forward was the identity.
  public func backward(_ dy: Tensor) -> Tensor {
    guard active else { return dy }
    precondition(
      perSample ? (dy.rank >= 1 && dy.shape[0] == mask.count) : dy.count == mask.count,
      "drop backward: dy \(dy.shape) for a mask of \(mask.count)")
    dx.reshape(to: dy.shape)
    apply(dx, dy)
    return dx
  }

  public var parameters: [Parameter] { [] }

  /// Buffers `y`, `dx` (the keep factors stay the layer's own: they are tiny, and a replayed
  /// forward redraws them from the same generator state anyway).
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

  public var timingKind: String? { perSample ? "DropPath" : "Dropout" }

  private func apply(_ out: Tensor, _ input: Tensor) {
    if perSample {
      let b = mask.count
      scaleSamples(
        y: out.pointer, x: input.pointer, scale: mask.pointer, batch: b,
        perSample: input.count / Swift.max(b, 1))
    } else {
      multiplyElementwise(y: out.pointer, x: input.pointer, m: mask.pointer, count: input.count)
    }
  }
}

/// Element-wise dropout with probability `p`, seeded.
public final class Dropout: StochasticDrop {
  /// Takes its own generator, seeded from one draw of `rng`. Precondition: 0 ≤ p < 1.
  public init(p: Float, rng: inout SeededRandom) {
    super.init(p: p, rng: &rng, perSample: false)
  }
}

/// Stochastic depth: each sample's (first dimension) whole input is zeroed with probability
/// `p`, survivors scaled by `1/(1−p)`. Used on a residual branch: `x + dropPath(f(x))`.
public final class DropPath: StochasticDrop {
  /// Per-sample scale `[B]` of the last training forward (0 or 1/(1−p)).
  public var scale: Tensor { mask }

  /// Takes its own generator, seeded from one draw of `rng`. Precondition: 0 ≤ p < 1.
  public init(p: Float, rng: inout SeededRandom) {
    super.init(p: p, rng: &rng, perSample: true)
  }
}
