// The fixed sizes of an exported graph: input, token grid after the embedding and each merge,
// and the windows of each stage's plain and shifted blocks. The rules are the model's
// (VCoSwinModel.stageSizes, NN's WindowGeometry), so the graph computes what the model does.
//
// Legend: T, H, W input frames, height, width (no T in 2D); T', H', W' token grid of a stage
//         (T' = 1 in 2D); Wt, Wh, Ww window; n tokens per window; nW windows per sample.

import Models
import NN

/// Why a model cannot be exported as asked: the input sizes, the operator set, the weights.
public struct ONNXExportError: Error, CustomStringConvertible, Equatable, Sendable {
  public var reason: String
  public init(_ reason: String) { self.reason = reason }
  public var description: String { reason }
}

/// The windows of one stage: every block of the stage sees the same token grid.
struct StagePlan {
  /// Token grid `[T', H', W']` of the stage (T' = 1 for an image model).
  var grid: [Int]
  /// Channels C, heads A and MLP width F.
  var channels: Int
  var heads: Int
  var hidden: Int
  /// Geometry of the unshifted (even) and shifted (odd) blocks.
  var plain: WindowGeometry
  var shifted: WindowGeometry
  /// How tokens of a clamped window index the bias table (the variant's rule).
  var positions: ClampedPositions
}

/// Every fixed size of an export: input sizes and per-stage plans.
struct ExportPlan {
  let config: ModelConfig
  /// Input sizes `[T, H, W]` (3D) or `[H, W]` (2D).
  let input: [Int]
  /// Input sizes after the swin 3D patch padding (zeros at the end to a multiple of the patch).
  let paddedInput: [Int]
  /// Token grid after the embedding and after each merge, rank `dims`.
  let grids: [[Int]]
  let stages: [StagePlan]

  /// The plan of `config` for an input of `sizes` (`[T, H, W]` or `[H, W]`); throws
  /// `ONNXExportError` when the model cannot take them (a convolution without output).
  init(config: ModelConfig, input sizes: [Int]) throws {
    self.config = config
    self.input = sizes
    let what = sizes.map(String.init).joined(separator: "×")
    guard sizes.count == config.dims, sizes.allSatisfy({ $0 >= 1 }) else {
      throw ONNXExportError(
        "input \(what): this \(config.kind) model takes \(config.dims == 3 ? "T×H×W" : "H×W") sizes of at least 1"
      )
    }
    let pad = config.variant == .swin && config.dims == 3
    paddedInput =
      pad ? zip(sizes, config.embedStride).map { ($0 + $1 - 1) / $1 * $1 } : sizes
    func conv(_ s: [Int], _ k: [Int], _ st: [Int], _ p: [Int], _ layer: String) throws -> [Int] {
      try (0..<s.count).map { d in
        let span = s[d] + 2 * p[d] - k[d]
        guard span >= 0 else {
          throw ONNXExportError(
            "input \(what) is too small for this model's \(layer) (kernel \(k), padding \(p)); give larger --frames/--size"
          )
        }
        return span / st[d] + 1
      }
    }
    var s = try conv(
      paddedInput, config.embedKernel, config.embedStride, config.embedPadding, "token embedding")
    var grids = [s]
    for _ in 1..<config.stages {
      switch config.variant {
      case .swin:
        let n = s.count
        s[n - 2] = (s[n - 2] + 1) / 2
        s[n - 1] = (s[n - 1] + 1) / 2
      case .coswin:
        s = try conv(
          s, config.mergeKernel, config.mergeStride, config.mergePadding, "patch merging")
      }
      grids.append(s)
    }
    self.grids = grids
    stages = (0..<config.stages).map { i in
      let grid3 = config.dims == 3 ? grids[i] : [1] + grids[i]
      let window3 = config.dims == 3 ? config.windows[i] : [1] + config.windows[i]
      // torchvision's 2D rule for swin images; the 3D rule otherwise (CoSwin 2D attends to an
      // image as one frame, so that an inflated model matches it on static clips).
      let semantics: WindowSemantics =
        config.dims == 2 && config.variant == .swin ? .image2D : .video3D
      func geometry(shifted: Bool) -> WindowGeometry {
        WindowGeometry(
          size: grid3, window: window3, shift: window3.map { shifted ? $0 / 2 : 0 },
          semantics: semantics)
      }
      return StagePlan(
        grid: grid3, channels: config.channels(stage: i), heads: config.heads[i],
        hidden: config.hidden(stage: i),
        plain: geometry(shifted: false), shifted: geometry(shifted: true),
        positions: config.variant == .coswin ? .exact : .torchvision)
    }
  }
}
