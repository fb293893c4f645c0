// The one configuration type of the CoSwin / Swin family, 2D (images) and 3D (video).
//
// Reference: Florence (arXiv 2111.11432 §2.3, §2.6) for CoSwin and the Video CoSwin adapter;
// torchvision `swin_transformer.py` and `video/swin_transformer.py` for the Swin variant.

/// Which embedding and merging the model uses (see `Docs/ARCHITECTURE.md`).
public enum Variant: String, Codable, Sendable, CaseIterable {
  /// Florence's CoSwin: overlapping conv token embedding + LayerNorm; conv patch merging + LayerNorm.
  case coswin
  /// Swin / Video Swin as in torchvision: non-overlapping patch conv + LayerNorm; 2×2 linear merging.
  case swin
}

/// An invalid configuration: which field, and why.
public struct ModelConfigError: Error, CustomStringConvertible, Equatable, Sendable {
  public var field: String
  public var reason: String
  public init(_ field: String, _ reason: String) {
    self.field = field
    self.reason = reason
  }
  public var description: String { "model config: \(field): \(reason)" }
}

/// The architecture of one model: variant, dimensionality, widths, depths, windows, kernels.
///
/// Sizes per spatial dimension are lists of length `dims`: `[h, w]` for 2D, `[t, h, w]` for 3D.
/// JSON keys are snake_case; decoding validates (an invalid config never reaches a model).
public struct ModelConfig: Codable, Sendable, Equatable {
  public var variant: Variant
  /// 2 (images, CoSwin) or 3 (video, Video CoSwin).
  public var dims: Int
  /// Input channels (3 for RGB).
  public var inChannels: Int
  /// Channels of the first stage; stage i has `embedDim · 2^i`.
  public var embedDim: Int
  /// Blocks per stage.
  public var depths: [Int]
  /// Attention heads per stage.
  public var heads: [Int]
  /// Window per stage (dynamic window size), each of length `dims`.
  public var windows: [[Int]]
  /// Token embedding convolution: kernel, stride, padding (length `dims`).
  public var embedKernel: [Int]
  public var embedStride: [Int]
  public var embedPadding: [Int]
  /// Patch merging convolution (coswin only; swin merges 2×2 spatially, time untouched).
  public var mergeKernel: [Int]
  public var mergeStride: [Int]
  public var mergePadding: [Int]
  /// MLP hidden width = `mlpRatio · C`.
  public var mlpRatio: Double
  /// Stochastic depth rate of the last block; block b of n gets `dropPath · b / (n − 1)`.
  /// `defaultDropPath` when not given (in the initializer and in JSON alike).
  public var dropPath: Double
  /// The drop-path rate of a config that does not give one: 0 (no stochastic depth), so a
  /// config JSON without `drop_path` and `ModelConfig(…)` without `dropPath:` agree.
  public static let defaultDropPath = 0.0
  /// Classes of the head.
  public var classes: Int
  /// LayerNorm epsilon.
  public var layerNormEps: Double

  enum CodingKeys: String, CodingKey {
    case variant, dims, depths, heads, windows, classes
    case inChannels = "in_channels"
    case embedDim = "embed_dim"
    case embedKernel = "embed_kernel"
    case embedStride = "embed_stride"
    case embedPadding = "embed_padding"
    case mergeKernel = "merge_kernel"
    case mergeStride = "merge_stride"
    case mergePadding = "merge_padding"
    case mlpRatio = "mlp_ratio"
    case dropPath = "drop_path"
    case layerNormEps = "layer_norm_eps"
  }

  /// A config from its fields; throws `ModelConfigError` when they are inconsistent.
  public init(
    variant: Variant, dims: Int, inChannels: Int = 3, embedDim: Int, depths: [Int], heads: [Int],
    windows: [[Int]], embedKernel: [Int], embedStride: [Int], embedPadding: [Int],
    mergeKernel: [Int], mergeStride: [Int], mergePadding: [Int], mlpRatio: Double = 4,
    dropPath: Double = ModelConfig.defaultDropPath, classes: Int, layerNormEps: Double = 1e-5
  ) throws {
    self.variant = variant
    self.dims = dims
    self.inChannels = inChannels
    self.embedDim = embedDim
    self.depths = depths
    self.heads = heads
    self.windows = windows
    self.embedKernel = embedKernel
    self.embedStride = embedStride
    self.embedPadding = embedPadding
    self.mergeKernel = mergeKernel
    self.mergeStride = mergeStride
    self.mergePadding = mergePadding
    self.mlpRatio = mlpRatio
    self.dropPath = dropPath
    self.classes = classes
    self.layerNormEps = layerNormEps
    try validate()
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    variant = try c.decode(Variant.self, forKey: .variant)
    dims = try c.decode(Int.self, forKey: .dims)
    inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? 3
    embedDim = try c.decode(Int.self, forKey: .embedDim)
    depths = try c.decode([Int].self, forKey: .depths)
    heads = try c.decode([Int].self, forKey: .heads)
    windows = try c.decode([[Int]].self, forKey: .windows)
    embedKernel = try c.decode([Int].self, forKey: .embedKernel)
    embedStride = try c.decode([Int].self, forKey: .embedStride)
    embedPadding = try c.decode([Int].self, forKey: .embedPadding)
    mergeKernel = try c.decode([Int].self, forKey: .mergeKernel)
    mergeStride = try c.decode([Int].self, forKey: .mergeStride)
    mergePadding = try c.decode([Int].self, forKey: .mergePadding)
    mlpRatio = try c.decodeIfPresent(Double.self, forKey: .mlpRatio) ?? 4
    dropPath = try c.decodeIfPresent(Double.self, forKey: .dropPath) ?? Self.defaultDropPath
    classes = try c.decode(Int.self, forKey: .classes)
    layerNormEps = try c.decodeIfPresent(Double.self, forKey: .layerNormEps) ?? 1e-5
    do {
      try validate()
    } catch let e as ModelConfigError {
      throw DecodingError.dataCorrupted(
        DecodingError.Context(codingPath: [], debugDescription: e.description, underlyingError: e))
    }
  }

  /// Number of stages.
  public var stages: Int { depths.count }
  /// Channels of stage `i`.
  public func channels(stage i: Int) -> Int { embedDim << i }
  /// Channels of the pooled features (last stage).
  public var featureDim: Int { channels(stage: stages - 1) }
  /// MLP hidden width of stage `i` (torchvision: `int(dim · mlp_ratio)`).
  public func hidden(stage i: Int) -> Int { Int(Double(channels(stage: i)) * mlpRatio) }
  /// `image` for 2D models, `video` for 3D ones.
  public var kind: String { dims == 2 ? "image" : "video" }
  /// Total blocks.
  public var totalBlocks: Int { depths.reduce(0, +) }

  /// Stochastic depth rate of global block `b` (torchvision's linear rule).
  public func dropPathRate(block b: Int) -> Double {
    totalBlocks > 1 ? dropPath * Double(b) / Double(totalBlocks - 1) : 0
  }

  /// Throws `ModelConfigError` naming the first inconsistent field.
  public func validate() throws {
    guard dims == 2 || dims == 3 else {
      throw ModelConfigError("dims", "must be 2 or 3, not \(dims)")
    }
    guard inChannels >= 1, inChannels <= 64 else {
      throw ModelConfigError("in_channels", "must be in 1…64")
    }
    guard embedDim >= 1, embedDim <= 4096 else {
      throw ModelConfigError("embed_dim", "must be in 1…4096")
    }
    guard !depths.isEmpty, depths.count <= 8 else {
      throw ModelConfigError("depths", "needs 1 to 8 stages, not \(depths.count)")
    }
    guard depths.allSatisfy({ $0 >= 1 && $0 <= 64 }) else {
      throw ModelConfigError("depths", "every stage needs 1…64 blocks")
    }
    guard embedDim << (depths.count - 1) <= 16384 else {
      throw ModelConfigError(
        "embed_dim", "\(embedDim) doubled over \(depths.count) stages exceeds 16384 channels")
    }
    guard heads.count == depths.count else {
      throw ModelConfigError("heads", "has \(heads.count) entries for \(depths.count) stages")
    }
    guard windows.count == depths.count else {
      throw ModelConfigError("windows", "has \(windows.count) entries for \(depths.count) stages")
    }
    for i in 0..<stages {
      let c = channels(stage: i)
      guard heads[i] >= 1, c % heads[i] == 0 else {
        throw ModelConfigError(
          "heads", "stage \(i): \(c) channels do not split into \(heads[i]) heads")
      }
      guard windows[i].count == dims, windows[i].allSatisfy({ $0 >= 1 && $0 <= 64 }) else {
        throw ModelConfigError("windows", "stage \(i): \(windows[i]) is not \(dims) sizes in 1…64")
      }
    }
    for (name, list, minimum) in [
      ("embed_kernel", embedKernel, 1), ("embed_stride", embedStride, 1),
      ("embed_padding", embedPadding, 0),
      ("merge_kernel", mergeKernel, 1), ("merge_stride", mergeStride, 1),
      ("merge_padding", mergePadding, 0),
    ] {
      guard list.count == dims, list.allSatisfy({ $0 >= minimum && $0 <= 64 }) else {
        throw ModelConfigError(name, "\(list) is not \(dims) sizes in \(minimum)…64")
      }
    }
    for d in 0..<dims {
      guard embedPadding[d] < embedKernel[d] else {
        throw ModelConfigError(
          "embed_padding", "\(embedPadding) must be smaller than the kernel \(embedKernel)")
      }
      guard mergePadding[d] < mergeKernel[d] else {
        throw ModelConfigError(
          "merge_padding", "\(mergePadding) must be smaller than the kernel \(mergeKernel)")
      }
    }
    try parts.embedding.validate()
    guard mlpRatio > 0, mlpRatio <= 16, hidden(stage: 0) >= 1 else {
      throw ModelConfigError("mlp_ratio", "must be in (0, 16]")
    }
    guard dropPath >= 0, dropPath < 1 else {
      throw ModelConfigError("drop_path", "must be in [0, 1)")
    }
    guard classes >= 1, classes <= 1_000_000 else {
      throw ModelConfigError("classes", "must be in 1…1000000")
    }
    guard layerNormEps > 0, layerNormEps < 1 else {
      throw ModelConfigError("layer_norm_eps", "must be in (0, 1)")
    }
  }
}
