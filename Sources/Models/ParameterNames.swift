// Checkpoint names of every parameter, by explicit rule (Docs/FORMATS.md).
//
// swin 2D (= torchvision `swin_t/s/b`):  features.0.0 conv, features.0.2 norm,
//   stage i → features.{2i+1}.{j}, merge after stage i → features.{2i+2}.{norm,reduction}
// swin 3D (= torchvision `swin3d_t/s/b`): patch_embed.proj, patch_embed.norm,
//   stage i → features.{2i}.{j}, merge after stage i → features.{2i+1}.{norm,reduction}
// coswin: the same embedding and stage names; merges are features.N.{conv,norm}.
// Then `norm` and `head` for every variant.

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

  /// Every parameter of the model in registration order, with PyTorch-layout shapes.
  public var parameterSpecs: [ParameterSpec] {
    var out: [ParameterSpec] = []
    func add(_ name: String, _ shape: [Int]) { out.append(ParameterSpec(name: name, shape: shape)) }
    add(embedConvName + ".weight", [embedDim, inChannels] + embedKernel)
    add(embedConvName + ".bias", [embedDim])
    add(embedNormName + ".weight", [embedDim])
    add(embedNormName + ".bias", [embedDim])
    for i in 0..<stages {
      let c = channels(stage: i)
      let h = hidden(stage: i)
      for j in 0..<depths[i] {
        let b = blockName(stage: i, block: j)
        add(b + ".norm1.weight", [c])
        add(b + ".norm1.bias", [c])
        add(b + ".attn.qkv.weight", [3 * c, c])
        add(b + ".attn.qkv.bias", [3 * c])
        add(b + ".attn.proj.weight", [c, c])
        add(b + ".attn.proj.bias", [c])
        add(b + ".attn.relative_position_bias_table", [biasTableRows(stage: i), heads[i]])
        add(b + ".norm2.weight", [c])
        add(b + ".norm2.bias", [c])
        add(b + ".mlp.0.weight", [h, c])
        add(b + ".mlp.0.bias", [h])
        add(b + ".mlp.3.weight", [c, h])
        add(b + ".mlp.3.bias", [c])
      }
      if i < stages - 1 {
        let m = mergeName(after: i)
        switch variant {
        case .swin:
          add(m + ".norm.weight", [4 * c])
          add(m + ".norm.bias", [4 * c])
          add(m + ".reduction.weight", [2 * c, 4 * c])
        case .coswin:
          add(m + ".conv.weight", [2 * c, c] + mergeKernel)
          add(m + ".conv.bias", [2 * c])
          add(m + ".norm.weight", [2 * c])
          add(m + ".norm.bias", [2 * c])
        }
      }
    }
    add("norm.weight", [featureDim])
    add("norm.bias", [featureDim])
    add("head.weight", [classes, featureDim])
    add("head.bias", [classes])
    return out
  }

  /// Total number of parameters.
  public var parameterCount: Int { parameterSpecs.reduce(0) { $0 + $1.shape.reduce(1, *) } }

  /// Whether a checkpoint key is a torchvision buffer (never required; verified when present).
  public static func isBufferName(_ name: String) -> Bool {
    name.hasSuffix(".relative_position_index")
  }
}
