// The merge between stages a model is built with (torchvision's `downsample_layer=`): CoSwin's
// convolution or Swin's 2×2 linear merge. Each reports the channels and the token grid it
// makes, and its parameters by building its layer (into a shape-only store for the list).
//
// Legend: C channels of the stage before; S token grid [(T,) H, W] before, S' after;
//         k, s, p the convolution's kernel, stride, padding per grid dimension.
//
//   conv merge:   S' = ⌊(S + 2p − k) / s⌋ + 1;  conv weight [2C, C, (kt,) kh, kw], bias [2C],
//                 then LayerNorm [2C]                         (names `.conv`, `.norm`)
//   linear merge: S' = S with H' = ⌈H/2⌉, W' = ⌈W/2⌉ (time untouched);
//                 LayerNorm [4C] of the concatenated 2×2 neighbours, then Linear [2C, 4C]
//                 without bias                                (names `.norm`, `.reduction`)

import Compute
import NN

/// How a model merges tokens between stages: the layer, its parameters and the token grid.
public protocol PatchMerge: Sendable {
  /// Channels after the merge of a stage of `c` channels.
  func outputChannels(_ c: Int) -> Int
  /// The token grid `S'` after merging a grid `S`.
  func tokenGrid(_ s: [Int]) throws(GridTooSmall) -> [Int]
  /// Input values per merged token of the merge's matrix product (for FLOP counts).
  func fanIn(channels c: Int) -> Int
  /// Whether the 3D form of the merge mixes frames (inflated with a temporal kernel) rather
  /// than merging each frame on its own.
  var mixesFrames: Bool { get }
  /// The merge after a stage of `c` channels, registering its parameters in `store` under
  /// `name` (its checkpoint name, e.g. `features.1`).
  func makeLayer(store: ParameterStore, name: String, channels c: Int, rng: inout SeededRandom)
    -> any Layer
}

/// CoSwin's patch merging (Florence): an overlapping convolution `C → 2C` (in 3D also in time,
/// padded by replicating the edge frames), then a LayerNorm.
public struct ConvMerge: PatchMerge {
  public var kernel: [Int]
  public var stride: [Int]
  public var padding: [Int]
  public var eps: Float

  public init(kernel: [Int], stride: [Int], padding: [Int], eps: Float) {
    self.kernel = kernel
    self.stride = stride
    self.padding = padding
    self.eps = eps
  }

  public func outputChannels(_ c: Int) -> Int { 2 * c }

  public func tokenGrid(_ s: [Int]) throws(GridTooSmall) -> [Int] {
    try convolutionGrid(s, kernel: kernel, stride: stride, padding: padding, what: "patch merging")
  }

  public func fanIn(channels c: Int) -> Int { c * kernel.reduce(1, *) }

  public var mixesFrames: Bool { true }

  public func makeLayer(
    store: ParameterStore, name: String, channels c: Int, rng: inout SeededRandom
  ) -> any Layer {
    let conv = makeConvolution(
      store: store, name: name + ".conv", inChannels: c, outChannels: outputChannels(c),
      kernel: kernel, stride: stride, padding: padding, rng: &rng)
    let norm = LayerNorm(store: store, name: name + ".norm", channels: outputChannels(c), eps: eps)
    return Sequential([conv, norm])
  }
}

/// Swin's patch merging (torchvision's `PatchMerging`, per frame in 3D): the 2×2 spatial
/// neighbours concatenated, LayerNorm(4C), Linear(4C → 2C, no bias) — NN's `PatchMerging`.
public struct LinearMerge: PatchMerge {
  public init() {}

  public func outputChannels(_ c: Int) -> Int { 2 * c }

  public func tokenGrid(_ s: [Int]) throws(GridTooSmall) -> [Int] {
    var r = s
    for d in (s.count - 2)..<s.count { r[d] = (s[d] + 1) / 2 }
    return r
  }

  public func fanIn(channels c: Int) -> Int { 4 * c }

  public var mixesFrames: Bool { false }

  public func makeLayer(
    store: ParameterStore, name: String, channels c: Int, rng: inout SeededRandom
  ) -> any Layer {
    PatchMerging(store: store, name: name, channels: c, rng: &rng)
  }
}
