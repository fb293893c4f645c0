// The model's own layer (the input layout) and the factories that build the variant's layers:
// the token embedding and the merge between stages. Internal; the public type is
// `VCoSwinModel`; the layers themselves live in `NN`.
//
// Legend: B batch; I input channels (3); T, H, W input frames, height, width (no T in 2D);
//         Tp, Hp, Wp sizes padded to the patch (swin 3D only); C channels of a stage.

import Compute
import NN

/// The model's input in PyTorch layout, channels first, turned channels last:
/// `x [B, I, (T,) H, W] → [B, (Tp,) Hp, Wp, I]`, zero-padded at the end of each spatial
/// dimension to a multiple of `multiple` (torchvision's `PatchEmbed3d` pads to the patch).
final class InputLayout: Layer {
  /// Channels-last input `[B, (Tp,) Hp, Wp, I]`.
  private var y = Tensor(zeros: [0])
  /// Input gradient, channels first `[B, I, (T,) H, W]`.
  private var dx = Tensor(zeros: [0])
  private var inputShape: [Int] = []
  private var paddedSizes: [Int] = []
  /// Per spatial dimension, the multiple the input is padded to (nil: no padding).
  private let multiple: [Int]?

  init(padToMultipleOf multiple: [Int]?) { self.multiple = multiple }

  /// `[(T,) H, W]` padded up to the multiples.
  func padded(_ sizes: [Int]) -> [Int] {
    guard let multiple else { return sizes }
    return zip(sizes, multiple).map { ($0 + $1 - 1) / $1 * $1 }
  }

  var parameters: [Parameter] { [] }

  /// Buffers `y`, `dx`.
  func bind(_ buffers: Buffers) {
    y = buffers["y"]
    dx = buffers["dx"]
  }

  var timingKind: String? { "InputLayout" }

  /// `x [B, I, (T,) H, W] → y [B, (Tp,) Hp, Wp, I]` (the padding is zero).
  func forward(_ x: Tensor, training: Bool) -> Tensor {
    let sizes = padded(Array(x.shape[2...]))
    inputShape = x.shape
    paddedSizes = sizes
    y.reshape(to: [x.shape[0]] + sizes + [x.shape[1]])
    if sizes != Array(x.shape[2...]) { y.zero() }
    transfer(channelsFirst: x.pointer, channelsLast: y.pointer, toLast: true)
    return y
  }

  /// `dy [B, (Tp,) Hp, Wp, I] → dx [B, I, (T,) H, W]` (padding dropped).
  func backward(_ dy: Tensor) -> Tensor {
    dx.reshape(to: inputShape)
    transfer(channelsFirst: dx.pointer, channelsLast: dy.pointer, toLast: false)
    return dx
  }

  /// Copies between the channels-first input layout and the padded channels-last one, in the
  /// direction `toLast`. One task per (b, t, h) row: C strided planes ↔ one contiguous row.
  private func transfer(
    channelsFirst: UnsafeMutablePointer<Float>, channelsLast: UnsafeMutablePointer<Float>,
    toLast: Bool
  ) {
    let (b, channels) = (inputShape[0], inputShape[1])
    let sizes = Array(inputShape[2...])
    let (t, h, w) = sizes.count == 3 ? (sizes[0], sizes[1], sizes[2]) : (1, sizes[0], sizes[1])
    let (hp, wp) = (paddedSizes[paddedSizes.count - 2], paddedSizes[paddedSizes.count - 1])
    let tp = paddedSizes.count == 3 ? paddedSizes[0] : 1
    parallelFor(b * t * h) { r in
      let (row, frame, batch) = (r % h, (r / h) % t, r / (h * t))
      let last = channelsLast + ((batch * tp + frame) * hp + row) * wp * channels
      for c in 0..<channels {
        let plane = channelsFirst + (((batch * channels + c) * t + frame) * h + row) * w
        if toLast {
          for col in 0..<w { last[col * channels + c] = plane[col] }
        } else {
          for col in 0..<w { plane[col] = last[col * channels + c] }
        }
      }
    }
  }
}

extension ModelConfig {
  /// The token embedding: a convolution (2D, or 3D padding time by replicating the edge
  /// frames so that a static clip stays static) then a LayerNorm.
  func makeEmbedding(store: ParameterStore, rng: inout SeededRandom) -> (Convolution, LayerNorm) {
    let conv = makeConv(
      store: store, name: embedConvName, inChannels: inChannels, outChannels: embedDim,
      kernel: embedKernel, stride: embedStride, padding: embedPadding, rng: &rng)
    let norm = LayerNorm(
      store: store, name: embedNormName, channels: embedDim, eps: Float(layerNormEps))
    return (conv, norm)
  }

  /// The merge after stage `i`: Swin's 2×2 concat + LayerNorm(4C) + Linear(4C→2C), or
  /// CoSwin's convolution (C→2C, overlapping, 3D also in time) + LayerNorm(2C).
  func makeMerge(after i: Int, store: ParameterStore, rng: inout SeededRandom) -> any Layer {
    let c = channels(stage: i)
    let name = mergeName(after: i)
    switch variant {
    case .swin:
      return PatchMerging(store: store, name: name, channels: c, rng: &rng)
    case .coswin:
      let conv = makeConv(
        store: store, name: name + ".conv", inChannels: c, outChannels: 2 * c,
        kernel: mergeKernel, stride: mergeStride, padding: mergePadding, rng: &rng)
      let norm = LayerNorm(
        store: store, name: name + ".norm", channels: 2 * c, eps: Float(layerNormEps))
      return Sequential([conv, norm])
    }
  }

  /// A `Conv2d` (kernel of rank 2) or a `Conv3d` with replicated temporal padding; registers
  /// `name.weight` `[O, I, (kt,) kh, kw]` and `name.bias` `[O]`.
  private func makeConv(
    store: ParameterStore, name: String, inChannels: Int, outChannels: Int, kernel: [Int],
    stride: [Int], padding: [Int], rng: inout SeededRandom
  ) -> Convolution {
    if kernel.count == 2 {
      return Conv2d(
        store: store, name: name, inChannels: inChannels, outChannels: outChannels,
        kernel: (kernel[0], kernel[1]), stride: (stride[0], stride[1]),
        padding: (padding[0], padding[1]), rng: &rng)
    }
    return Conv3d(
      store: store, name: name, inChannels: inChannels, outChannels: outChannels,
      kernel: (kernel[0], kernel[1], kernel[2]), stride: (stride[0], stride[1], stride[2]),
      padding: (padding[0], padding[1], padding[2]), temporalPadding: .replicate, rng: &rng)
  }
}
