// The model's own layer (the input layout) and its layer graph, built from the parts a config
// injects (token embedding, merge, window rule). Internal; the public type is `VCoSwinModel`;
// the layers themselves live in `NN`, the parts in `TokenEmbedding.swift`, `PatchMerge.swift`.
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

/// The network of a model in forward order, each layer under its checkpoint name (also the
/// scope of its buffers): input layout, the parts' token embedding, each stage's blocks and
/// the parts' merge after it, final norm, pool, head. Built into a store that holds values
/// for a model, or into a shape-only one for the parameter list (`parameterSpecs`).
struct LayerGraph {
  let layout: InputLayout
  let pool = MeanPool()
  /// The Swin blocks per stage (also in `layers`).
  let blocks: [[SwinBlock]]
  let layers: [(name: String, layer: any Layer)]

  /// Registers every parameter in `store`, in forward order.
  init(config: ModelConfig, parts: ModelParts, store: ParameterStore, rng: inout SeededRandom) {
    let eps = Float(config.layerNormEps)
    layout = InputLayout(padToMultipleOf: parts.embedding.inputMultiple)
    var layers: [(name: String, layer: any Layer)] = [("input", layout)]
    layers += parts.embedding.makeLayers(
      store: store, names: (config.embedConvName, config.embedNormName), rng: &rng)
    let channels = parts.stageChannels(stages: config.stages)
    var blocks: [[SwinBlock]] = []
    var globalBlock = 0
    for (i, c) in channels.enumerated() {
      var stage: [SwinBlock] = []
      for j in 0..<config.depths[i] {
        let name = config.blockName(stage: i, block: j)
        let block = SwinBlock(
          store: store, name: name, dim: c, heads: config.heads[i], window: config.windows[i],
          shifted: j % 2 == 1, hidden: Int(Double(c) * config.mlpRatio),
          dropPath: Float(config.dropPathRate(block: globalBlock)), eps: eps,
          asFrame: parts.windows.seesFrames(dims: config.dims),
          exactPositions: parts.windows.exactPositions, rng: &rng)
        stage.append(block)
        layers.append((name, block))
        globalBlock += 1
      }
      blocks.append(stage)
      if i < config.stages - 1 {
        let name = config.mergeName(after: i)
        layers.append(
          (name, parts.merge.makeLayer(store: store, name: name, channels: c, rng: &rng)))
      }
    }
    let features = channels[config.stages - 1]
    let norm = LayerNorm(store: store, name: "norm", channels: features, eps: eps)
    let head = Linear(
      store: store, name: "head", inFeatures: features, outFeatures: config.classes,
      initializer: .truncatedNormal(std: 0.02), rng: &rng)
    layers += [("norm", norm), ("pool", pool), ("head", head)]
    self.blocks = blocks
    self.layers = layers
  }
}
