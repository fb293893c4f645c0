// The convolution layers, Conv2d and Conv3d, channels-last, on the kernels of
// Convolution.swift (vol2col + GEMM).
//
// Legend: B batch; T, H, W input sizes; T', H', W' output sizes; I input channels,
//         O output channels; K = kt·kh·kw·I values per patch.

import Compute

/// What `Conv2d` and `Conv3d` share: parameters, scratch, reused buffers, and backward.
public class Convolution: InputGradientOptional {
  public let inChannels: Int
  public let outChannels: Int
  let kernel: (t: Int, h: Int, w: Int)
  let stride: (t: Int, h: Int, w: Int)
  let padding: (t: Int, h: Int, w: Int)
  /// Zero, or (3D only) edge-frame replication along time.
  public let temporalPadding: TemporalPadding
  /// `[O, I, (kt,) kh, kw]`.
  public let weight: Parameter
  /// `[O]`, or nil without bias.
  public let bias: Parameter?
  /// When false, `backward` skips dX (e.g. on pixels) and returns an empty tensor.
  public var needsInputGradient = true

  /// Output `[B, (T',) H', W', O]`.
  private var y = Tensor(zeros: [0])
  /// Input gradient, shape of the input.
  private var dx = Tensor(zeros: [0])
  /// Packed weight `[O, K]` and gradient partials `[min(threads, B), O, K]`.
  private var packedWeight = Tensor(zeros: [0])
  private var packedGrad = Tensor(zeros: [0])
  /// Patch tiles `[max(threads, 2), tileRows, K]`.
  private var col = Tensor(zeros: [0])
  private var savedX: Tensor?
  private var geometry: ConvGeometry?

  init(
    store: ParameterStore, name: String, inChannels: Int, outChannels: Int,
    kernel: (t: Int, h: Int, w: Int), stride: (t: Int, h: Int, w: Int),
    padding: (t: Int, h: Int, w: Int), temporalPadding: TemporalPadding, weightShape: [Int],
    bias: Bool, initializer: WeightInit, rng: inout SeededRandom
  ) {
    self.inChannels = inChannels
    self.outChannels = outChannels
    self.kernel = kernel
    self.stride = stride
    self.padding = padding
    self.temporalPadding = temporalPadding
    weight = store.register(name + ".weight", shape: weightShape, decay: true)
    self.bias = bias ? store.register(name + ".bias", shape: [outChannels], decay: false) : nil
    if store.holdsValues {
      initializer.fill(
        weight: weight.value, bias: self.bias?.value,
        fanIn: inChannels * kernel.t * kernel.h * kernel.w, rng: &rng)
    }
  }

  /// 2D (`weight [O, I, kh, kw]`): `x [B, H, W, I] → y [B, H', W', O]`;
  /// 3D (`weight [O, I, kt, kh, kw]`): `x [B, T, H, W, I] → y [B, T', H', W', O]`.
  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    if weight.shape.count == 4 {
      precondition(
        x.rank == 4 && x.shape[3] == inChannels,
        "Conv2d expects [B, H, W, \(inChannels)], got \(x.shape)")
      return run(
        x, batch: x.shape[0], input: (1, x.shape[1], x.shape[2]),
        outShape: { [$0.batch, $0.outH, $0.outW, $0.outChannels] }, training: training)
    }
    precondition(
      x.rank == 5 && x.shape[4] == inChannels,
      "Conv3d expects [B, T, H, W, \(inChannels)], got \(x.shape)")
    return run(
      x, batch: x.shape[0], input: (x.shape[1], x.shape[2], x.shape[3]),
      outShape: { [$0.batch, $0.outT, $0.outH, $0.outW, $0.outChannels] }, training: training)
  }

  public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

  /// Buffers `y`, `dx`, `packedWeight`, `packedGrad`, `col`.
  public func bind(_ buffers: Buffers) {
    y = buffers["y"]
    dx = buffers["dx"]
    packedWeight = buffers["packedWeight"]
    packedGrad = buffers["packedGrad"]
    col = buffers["col"]
  }

  public var timingKind: String? { weight.shape.count == 4 ? "Conv2d" : "Conv3d" }

  /// Forward on `x` viewed as `[batch, input.t, input.h, input.w, I]`; `outShape` names the
  /// output's dimensions from the geometry.
  func run(
    _ x: Tensor, batch: Int, input: (t: Int, h: Int, w: Int),
    outShape: (ConvGeometry) -> [Int], training: Bool
  ) -> Tensor {
    let g = ConvGeometry(
      batch: batch, inChannels: inChannels, outChannels: outChannels, input: input,
      kernel: kernel, stride: stride, padding: padding, temporalPadding: temporalPadding)
    y.reshape(to: outShape(g))
    packedWeight.reshape(to: [g.packedWeightCount])
    // One tile per thread in forward; backward's serial tiles use all of it.
    col.reshape(to: [
      g.isPointwise ? 0 : g.columnScratchCount(workers: Swift.max(ThreadBudget.threads, 2))
    ])
    convForward(
      y: y.pointer, x: x.pointer, weight: weight.value.pointer, bias: bias?.value.pointer, g,
      packedWeight: packedWeight.pointer, col: col.pointer, colCapacity: col.count)
    savedX = training ? x : nil
    geometry = g
    return y
  }

  /// `dy` (shape of the output) `→ dx` (shape of the input); adds into the parameter gradients.
  public func backward(_ dy: Tensor) -> Tensor {
    guard let x = savedX, let g = geometry else {
      preconditionFailure("convolution backward without a training forward")
    }
    precondition(dy.count == g.outputCount, "conv backward: dy \(dy.shape) vs y \(y.shape)")
    packedGrad.reshape(to: [g.packedGradScratchCount()])
    if needsInputGradient { dx.reshape(to: x.shape) } else { dx.reshape(to: [0]) }
    convBackward(
      dx: needsInputGradient ? dx.pointer : nil, dWeight: weight.grad.pointer,
      dBias: bias?.grad.pointer, dy: dy.pointer, x: x.pointer, weight: weight.value.pointer, g,
      packedWeight: packedWeight.pointer, packedGrad: packedGrad.pointer,
      packedGradCapacity: packedGrad.count, col: col.pointer, colCapacity: col.count)
    return dx
  }
}

/// 2D convolution, channels-last: `x [B, H, W, I] → y [B, H', W', O]`, zero padding.
///
/// Parameters: `name.weight` `[O, I, kh, kw]` (decayed), `name.bias` `[O]` (optional).
public final class Conv2d: Convolution {
  /// `kernel`, `stride`, `padding` are `(h, w)`.
  public init(
    store: ParameterStore, name: String, inChannels: Int, outChannels: Int,
    kernel: (h: Int, w: Int), stride: (h: Int, w: Int), padding: (h: Int, w: Int) = (0, 0),
    bias: Bool = true, initializer: WeightInit = .pytorchDefault, rng: inout SeededRandom
  ) {
    super.init(
      store: store, name: name, inChannels: inChannels, outChannels: outChannels,
      kernel: (1, kernel.h, kernel.w), stride: (1, stride.h, stride.w),
      padding: (0, padding.h, padding.w), temporalPadding: .zeros,
      weightShape: [outChannels, inChannels, kernel.h, kernel.w], bias: bias,
      initializer: initializer, rng: &rng)
  }
}

/// 3D convolution, channels-last: `x [B, T, H, W, I] → y [B, T', H', W', O]`; spatial padding
/// zero, temporal padding zero or replicate.
///
/// Parameters: `name.weight` `[O, I, kt, kh, kw]` (decayed), `name.bias` `[O]` (optional).
public final class Conv3d: Convolution {
  /// `kernel`, `stride`, `padding` are `(t, h, w)`.
  public init(
    store: ParameterStore, name: String, inChannels: Int, outChannels: Int,
    kernel: (t: Int, h: Int, w: Int), stride: (t: Int, h: Int, w: Int),
    padding: (t: Int, h: Int, w: Int) = (0, 0, 0), temporalPadding: TemporalPadding = .zeros,
    bias: Bool = true, initializer: WeightInit = .pytorchDefault, rng: inout SeededRandom
  ) {
    super.init(
      store: store, name: name, inChannels: inChannels, outChannels: outChannels,
      kernel: kernel, stride: stride, padding: padding, temporalPadding: temporalPadding,
      weightShape: [outChannels, inChannels, kernel.t, kernel.h, kernel.w], bias: bias,
      initializer: initializer, rng: &rng)
  }
}
