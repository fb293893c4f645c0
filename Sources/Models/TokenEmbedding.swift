// The token embedding a model is built with (torchvision's `patch_embed=`): CoSwin's
// overlapping convolution or Swin's non-overlapping patches, each then a LayerNorm. Each
// reports its token channels, the grid of tokens it makes of an input grid, and its
// parameters by building its layers (into a shape-only store for the parameter list).
//
// Legend: I input channels; C₀ token channels; S input grid [(T,) H, W]; S' token grid;
//         k, s, p kernel, stride, padding per grid dimension ([h, w] or [t, h, w]).
//
//   S' = ⌊(S + 2p − k) / s⌋ + 1 per dimension   (too small when S + 2p < k)
//   conv  weight [C₀, I, (kt,) kh, kw], bias [C₀]; LayerNorm weight, bias [C₀]
// Swin 3D pads S at its end to a multiple of k first (torchvision's `PatchEmbed3d`); Swin 2D
// (torchvision's `features.0`) does not.

import Compute
import NN

/// A grid of tokens too small for a layer; `reason` reads "too small for the … (…)".
public struct GridTooSmall: Error, Sendable, Equatable {
  public var reason: String
}

/// How a model turns its input into tokens: the layers, their parameters and the token grid.
public protocol TokenEmbedding: Sendable {
  /// Token channels C₀.
  var channels: Int { get }
  /// Per grid dimension, the multiple the input is zero-padded to at its end before the
  /// embedding, or nil for no padding.
  var inputMultiple: [Int]? { get }
  /// Whether the embedding's patches may overlap; false for non-overlapping patches, which
  /// stay non-overlapping in time when the model is inflated.
  var allowsOverlap: Bool { get }
  /// Input values per token of the embedding's matrix product (`I·∏k`, for FLOP counts).
  var fanIn: Int { get }
  /// The token grid `S'` of a (padded) input grid `S`.
  func tokenGrid(_ input: [Int]) throws(GridTooSmall) -> [Int]
  /// Throws when the sizes cannot describe this embedding (the field and why).
  func validate() throws(ModelConfigError)
  /// The embedding's layers in forward order, each under its checkpoint name, registering
  /// their parameters in `store` under `names.conv` and `names.norm`.
  func makeLayers(
    store: ParameterStore, names: (conv: String, norm: String), rng: inout SeededRandom
  ) -> [(name: String, layer: any Layer)]
}

/// CoSwin's token embedding (Florence, CvT-style): an overlapping convolution (kernel, stride,
/// padding; in 3D time is padded by replicating the edge frames, so that a static clip stays
/// static), then a LayerNorm.
public struct ConvEmbedding: TokenEmbedding {
  public var inChannels: Int
  public var channels: Int
  public var kernel: [Int]
  public var stride: [Int]
  public var padding: [Int]
  public var eps: Float

  public init(
    inChannels: Int, channels: Int, kernel: [Int], stride: [Int], padding: [Int], eps: Float
  ) {
    self.inChannels = inChannels
    self.channels = channels
    self.kernel = kernel
    self.stride = stride
    self.padding = padding
    self.eps = eps
  }

  public var inputMultiple: [Int]? { nil }
  public var allowsOverlap: Bool { true }
  public var fanIn: Int { inChannels * kernel.reduce(1, *) }

  public func tokenGrid(_ input: [Int]) throws(GridTooSmall) -> [Int] {
    try convolutionGrid(
      input, kernel: kernel, stride: stride, padding: padding, what: "token embedding")
  }

  public func validate() throws(ModelConfigError) {}

  public func makeLayers(
    store: ParameterStore, names: (conv: String, norm: String), rng: inout SeededRandom
  ) -> [(name: String, layer: any Layer)] {
    let conv = makeConvolution(
      store: store, name: names.conv, inChannels: inChannels, outChannels: channels,
      kernel: kernel, stride: stride, padding: padding, rng: &rng)
    let norm = LayerNorm(store: store, name: names.norm, channels: channels, eps: eps)
    return [(names.conv, conv), (names.norm, norm)]
  }
}

/// Swin's token embedding (torchvision's `PatchEmbed3d`, or `features.0` in 2D): disjoint
/// patches of size `patch` (a convolution with kernel = stride, no padding), then a LayerNorm.
/// With `padsInput` (3D) the input is zero-padded at its end to whole patches first.
public struct PatchEmbedding: TokenEmbedding {
  public var inChannels: Int
  public var channels: Int
  /// The patch, as the config's kernel.
  public var patch: [Int]
  /// The config's stride and padding, which must be the patch and zeros.
  public var stride: [Int]
  public var padding: [Int]
  public var padsInput: Bool
  public var eps: Float

  public init(
    inChannels: Int, channels: Int, patch: [Int], stride: [Int], padding: [Int],
    padsInput: Bool, eps: Float
  ) {
    self.inChannels = inChannels
    self.channels = channels
    self.patch = patch
    self.stride = stride
    self.padding = padding
    self.padsInput = padsInput
    self.eps = eps
  }

  public var inputMultiple: [Int]? { padsInput ? patch : nil }
  public var allowsOverlap: Bool { false }
  public var fanIn: Int { asConvolution.fanIn }

  /// The same layers as a `ConvEmbedding` whose kernel is the patch.
  private var asConvolution: ConvEmbedding {
    ConvEmbedding(
      inChannels: inChannels, channels: channels, kernel: patch, stride: stride,
      padding: padding, eps: eps)
  }

  public func tokenGrid(_ input: [Int]) throws(GridTooSmall) -> [Int] {
    try asConvolution.tokenGrid(input)
  }

  public func validate() throws(ModelConfigError) {
    guard patch == stride, padding.allSatisfy({ $0 == 0 }) else {
      throw ModelConfigError(
        "embed_kernel", "swin patch embedding is non-overlapping: kernel = stride, padding 0")
    }
  }

  public func makeLayers(
    store: ParameterStore, names: (conv: String, norm: String), rng: inout SeededRandom
  ) -> [(name: String, layer: any Layer)] {
    asConvolution.makeLayers(store: store, names: names, rng: &rng)
  }
}

/// `S' = ⌊(S + 2p − k) / s⌋ + 1` per dimension, or `GridTooSmall` naming `what`.
func convolutionGrid(
  _ s: [Int], kernel: [Int], stride: [Int], padding: [Int], what: String
) throws(GridTooSmall) -> [Int] {
  var r = s
  for d in 0..<s.count {
    let span = s[d] + 2 * padding[d] - kernel[d]
    guard span >= 0 else {
      throw GridTooSmall(
        reason: "too small for the \(what) (kernel \(kernel), padding \(padding))")
    }
    r[d] = span / stride[d] + 1
  }
  return r
}

/// A `Conv2d` (kernel of rank 2) or a `Conv3d` padding time by replicating the edge frames;
/// registers `name.weight` `[O, I, (kt,) kh, kw]` and `name.bias` `[O]`.
func makeConvolution(
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
