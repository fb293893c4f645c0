// Checkpoint names of every parameter, by explicit rule (Docs/FORMATS.md).
//
// swin 2D (= torchvision `swin_t/s/b`):  features.0.0 conv, features.0.2 norm,
//   stage i → features.{2i+1}.{j}, merge after stage i → features.{2i+2}.{norm,reduction}
// swin 3D (= torchvision `swin3d_t/s/b`): patch_embed.proj, patch_embed.norm,
//   stage i → features.{2i}.{j}, merge after stage i → features.{2i+1}.{norm,reduction}
// coswin: the same embedding and stage names; merges are features.N.{conv,norm}.
// Then `norm` and `head` for every variant. Under each module path, the names and shapes are
// those the layers register (`parameterSpecs` builds the layer graph to list them).

import Compute
import NN

/// The name and PyTorch-layout shape of one parameter.
public struct ParameterSpec: Equatable, Sendable {
  public var name: String
  public var shape: [Int]
  public init(name: String, shape: [Int]) {
    self.name = name
    self.shape = shape
  }
}

extension ModelConfig {
  /// Module path of the token embedding convolution.
  public var embedConvName: String { dims == 2 ? "features.0.0" : "patch_embed.proj" }
  /// Module path of the LayerNorm after the token embedding.
  public var embedNormName: String { dims == 2 ? "features.0.2" : "patch_embed.norm" }
  /// Module path of block `j` of stage `i`.
  public func blockName(stage i: Int, block j: Int) -> String {
    "features.\(dims == 2 ? 2 * i + 1 : 2 * i).\(j)"
  }
  /// Module path of the merge after stage `i` (for `i < stages − 1`).
  public func mergeName(after i: Int) -> String { "features.\(dims == 2 ? 2 * i + 2 : 2 * i + 1)" }

  /// Rows of the relative position bias table of stage `i`: `∏ (2·window − 1)`.
  public func biasTableRows(stage i: Int) -> Int { relativePositionTableRows(window: windows[i]) }

  /// Every parameter of the model in registration order, with PyTorch-layout shapes: the
  /// names and shapes the layers register, read by building the model's layer graph into a
  /// shape-only store (no values are allocated, so it is cheap at any size).
  public var parameterSpecs: [ParameterSpec] {
    let store = ParameterStore(shapesOnly: true)
    var rng = SeededRandom(seed: 0)
    _ = LayerGraph(config: self, parts: parts, store: store, rng: &rng)
    return store.parameters.map { ParameterSpec(name: $0.name, shape: $0.shape) }
  }

  /// Total number of parameters.
  public var parameterCount: Int { parameterSpecs.reduce(0) { $0 + $1.shape.reduce(1, *) } }

  /// Whether a checkpoint key is a torchvision buffer (never required; verified when present).
  public static func isBufferName(_ name: String) -> Bool {
    name.hasSuffix(".relative_position_index")
  }
}
