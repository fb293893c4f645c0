// What a variant injects into the model: its token embedding, its merge between stages and
// the window rule of its blocks (torchvision passes `patch_embed=` and `downsample_layer=`
// the same way). `ModelConfig.parts` is the one place that reads `variant`; the model, its
// parameter list, checkpoints, inflation and the benchmarks ask the parts.
//
// Legend: S token grid [(T,) H, W] of a stage; Wn the window of a stage.

import Compute
import NN

/// How a model's blocks window their tokens.
public enum WindowRule: String, Sendable, Equatable {
  /// torchvision's: a 2D window larger than the grid is padded up to, a 3D one is clamped to
  /// the grid, and a clamped window indexes the bias table as torchvision does. Checkpoints
  /// carry torchvision's `relative_position_index` buffers, so they load into torchvision.
  case torchvision
  /// CoSwin's: an image is a clip of one frame, so a 2D window is clamped to the grid as a 3D
  /// one is, and a clamped window sees its exact relative positions. An inflated model then
  /// matches its image model on static clips at every size.
  case exact

  /// Whether blocks see a `dims`-dimensional grid as one frame (`SwinBlock.asFrame`).
  public func seesFrames(dims: Int) -> Bool { self == .exact && dims == 2 }
  /// Whether clamped windows index the bias table by their exact positions.
  public var exactPositions: Bool { self == .exact }
  /// Whether a window larger than the grid is clamped to it (else the grid is padded up).
  public func clampsWindow(dims: Int) -> Bool { dims == 3 || self == .exact }
  /// Whether checkpoints carry torchvision's `relative_position_index` buffers.
  public var storesIndexBuffers: Bool { self == .torchvision }
  /// The temporal window inflation gives stage `i` by default: CoSwin's dynamic window size
  /// (2, 4, 8, 8, …) or torchvision's `swin3d` 8 everywhere.
  public func inflatedTemporalWindow(stage i: Int) -> Int {
    self == .exact ? Swift.min(8, 2 << i) : 8
  }
}

/// The parts a model is built from.
public struct ModelParts: Sendable {
  public var embedding: any TokenEmbedding
  public var merge: any PatchMerge
  public var windows: WindowRule

  public init(embedding: any TokenEmbedding, merge: any PatchMerge, windows: WindowRule) {
    self.embedding = embedding
    self.merge = merge
    self.windows = windows
  }

  /// Token grids `[(T,) H, W]` after the embedding and after each of `stages − 1` merges, for
  /// an input grid already padded to `embedding.inputMultiple`.
  public func stageGrids(input: [Int], stages: Int) throws(GridTooSmall) -> [[Int]] {
    var s = try embedding.tokenGrid(input)
    var out = [s]
    for _ in 1..<stages {
      s = try merge.tokenGrid(s)
      out.append(s)
    }
    return out
  }

  /// Channels of each of `stages` stages: the embedding's, then each merge's.
  public func stageChannels(stages: Int) -> [Int] {
    var c = embedding.channels
    var out = [c]
    for _ in 1..<stages {
      c = merge.outputChannels(c)
      out.append(c)
    }
    return out
  }
}

extension ModelConfig {
  /// The parts `variant` names, sized by this config's fields.
  public var parts: ModelParts {
    let eps = Float(layerNormEps)
    switch variant {
    case .coswin:
      return ModelParts(
        embedding: ConvEmbedding(
          inChannels: inChannels, channels: embedDim, kernel: embedKernel, stride: embedStride,
          padding: embedPadding, eps: eps),
        merge: ConvMerge(kernel: mergeKernel, stride: mergeStride, padding: mergePadding, eps: eps),
        windows: .exact)
    case .swin:
      return ModelParts(
        embedding: PatchEmbedding(
          inChannels: inChannels, channels: embedDim, patch: embedKernel, stride: embedStride,
          padding: embedPadding, padsInput: dims == 3, eps: eps),
        merge: LinearMerge(), windows: .torchvision)
    }
  }
}
