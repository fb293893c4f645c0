// Foreign state-dict layouts, mapped onto this package's (torchvision's) names by explicit tables.
//
// | layout | how it is recognised | its names → ours |
// |---|---|---|
// | `torchvision` | `features.*` keys | unchanged |
// | `swin` (official Swin 2D release) | `layers.0.blocks.0.*`, 4D `patch_embed.proj` | `patch_embed.proj` → `features.0.0`, `patch_embed.norm` → `features.0.2`, `layers.i.blocks.j` → `features.{2i+1}.j`, `layers.i.downsample` → `features.{2i+2}` |
// | `video-swin` (official Video Swin, mmaction2 0.x) | `backbone.layers.0.blocks.0.*`, `backbone.norm` | `backbone.` dropped, `layers.i.blocks.j` → `features.{2i}.j`, `layers.i.downsample` → `features.{2i+1}`, `cls_head.fc_cls` → `head` |
// | `mmaction2` (mmaction2 1.x) | as `video-swin`, final norm `backbone.norm{n−1}` (`norm3`) | as `video-swin`, `norm3` → `norm` |
//
// Inside a block: `mlp.fc1` → `mlp.0`, `mlp.fc2` → `mlp.3`; `norm1`, `norm2`, `attn.qkv`,
// `attn.proj`, `attn.relative_position_bias_table` keep their names. Buffers: `attn_mask` is
// dropped (rebuilt from the window); `relative_position_index` is kept under our name (2D
// `[N, N]` flattened to torchvision's `[N·N]`) so that loading verifies it against the index the
// window implies. Wrappers: a `module.` prefix on every key (DistributedDataParallel) is removed
// first; `state_dict` / `model` containers are unwrapped by the file reader.

import SafeTensors

/// The state-dict layouts a foreign checkpoint may use.
public enum CheckpointLayout: String, Sendable, CaseIterable, Codable {
  /// torchvision `swin_t/s/b`, `swin3d_t/s/b` (this package's own names).
  case torchvision
  /// The official Swin Transformer release (2D, ImageNet), e.g. `swin_tiny_patch4_window7_224.pth`.
  case swin
  /// The official Video Swin release and mmaction2 0.x (`backbone.*`, `cls_head.fc_cls`).
  case videoSwin = "video-swin"
  /// mmaction2 1.x (`backbone.*`, final norm `backbone.norm{n−1}`, e.g. `norm3`, `cls_head.fc_cls`).
  case mmaction2

  /// A phrase for people.
  public var summary: String {
    switch self {
    case .torchvision: return "torchvision"
    case .swin: return "official Swin (2D)"
    case .videoSwin: return "official Video Swin / mmaction2 0.x"
    case .mmaction2: return "mmaction2 1.x"
    }
  }
}

/// A state dict whose layout could not be placed: the file and the first keys no rule maps.
public struct LayoutError: Error, CustomStringConvertible, Equatable, Sendable {
  public var path: String
  public var reason: String
  public init(path: String, _ reason: String) {
    self.path = path
    self.reason = reason
  }
  public var description: String { "\(path): \(reason)" }
}

public enum ForeignLayouts {
  /// How many unplaced keys an error lists.
  static let keysListed = 5

  /// Detects the layout of `file` (raw state-dict names) and returns a file with the same
  /// tensors under torchvision's names (buffers handled as the table above says).
  /// Throws `LayoutError` listing the first keys it could not place.
  public static func normalise(_ file: SafeTensorsFile) throws -> (
    layout: CheckpointLayout, file: SafeTensorsFile
  ) {
    var tensors = file.tensors
    // DistributedDataParallel wraps every name in `module.`.
    if !tensors.isEmpty, tensors.keys.allSatisfy({ $0.hasPrefix("module.") }) {
      tensors = Dictionary(
        uniqueKeysWithValues: tensors.map { (String($0.key.dropFirst("module.".count)), $0.value) })
    }
    let keys = tensors.keys.sorted()
    let mmaction2Norm = mmactionNorm(keys)
    let layout: CheckpointLayout
    if keys.contains(where: { $0.hasPrefix("backbone.layers.") }) {
      layout = mmaction2Norm != nil ? .mmaction2 : .videoSwin
    } else if keys.contains(where: { $0.hasPrefix("layers.") && $0.contains(".blocks.") }) {
      layout = .swin
    } else if keys.contains(where: { $0.hasPrefix("features.") }) {
      layout = .torchvision
    } else {
      throw LayoutError(
        path: file.path,
        "no known state-dict layout (torchvision, official Swin / Video Swin, mmaction2); first keys: \(listed(keys))"
      )
    }
    if layout == .torchvision {
      return (layout, SafeTensorsFile(path: file.path, metadata: file.metadata, tensors: tensors))
    }

    let embedKey = layout == .swin ? "patch_embed.proj.weight" : "backbone.patch_embed.proj.weight"
    guard let embed = tensors[embedKey] else {
      throw LayoutError(path: file.path, "\(layout.summary) layout without '\(embedKey)'")
    }
    guard embed.shape.count == 4 || embed.shape.count == 5 else {
      throw LayoutError(
        path: file.path, "tensor '\(embedKey)' has shape \(embed.shape), not a 2D or 3D conv weight"
      )
    }
    let dims = embed.shape.count - 2
    let finalNorm = mmaction2Norm ?? "norm"
    var out: [String: TensorEntry] = [:]
    var unplaced: [String] = []
    for key in keys {
      guard var entry = tensors[key] else { continue }
      switch rename(key, layout: layout, dims: dims, finalNorm: finalNorm) {
      case .drop:
        continue
      case .unplaced:
        unplaced.append(key)
      case .name(let name):
        if name.hasSuffix(".relative_position_index"), dims == 2, entry.shape.count == 2 {
          entry.shape = [entry.shape[0] * entry.shape[1]]
        }
        entry.name = name
        guard out[name] == nil else {
          throw LayoutError(path: file.path, "two keys map to '\(name)' (one of them is '\(key)')")
        }
        out[name] = entry
      }
    }
    guard unplaced.isEmpty else {
      throw LayoutError(
        path: file.path,
        "\(unplaced.count) keys fit no rule of the \(layout.summary) layout: \(listed(unplaced))")
    }
    return (layout, SafeTensorsFile(path: file.path, metadata: file.metadata, tensors: out))
  }

  /// What happens to one key.
  enum Rename: Equatable {
    case name(String)
    case drop
    case unplaced
  }

  /// The torchvision name of an official / mmaction2 key (see the table at the top).
  static func rename(_ key: String, layout: CheckpointLayout, dims: Int, finalNorm: String = "norm")
    -> Rename
  {
    var k = Substring(key)
    if layout != .swin {
      if k.hasPrefix("cls_head.fc_cls.") {
        return .name("head." + k.dropFirst("cls_head.fc_cls.".count))
      }
      guard k.hasPrefix("backbone.") else { return .unplaced }
      k = k.dropFirst("backbone.".count)
    } else if k.hasPrefix("head.") {
      return .name(String(k))
    }
    let parts = k.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    let last = parts.last ?? ""
    switch parts.first {
    case "patch_embed":
      guard parts.count == 3, ["proj", "norm"].contains(parts[1]),
        ["weight", "bias"].contains(last)
      else {
        return .unplaced
      }
      if dims == 3 { return .name(String(k)) }
      return .name((parts[1] == "proj" ? "features.0.0." : "features.0.2.") + last)
    case finalNorm:
      guard parts.count == 2, ["weight", "bias"].contains(last) else { return .unplaced }
      return .name("norm." + last)
    case "layers":
      guard parts.count >= 4, let i = Int(parts[1]), i >= 0, i < 64 else { return .unplaced }
      if parts[2] == "downsample" {
        guard parts.count == 5, ["reduction", "norm"].contains(parts[3]),
          ["weight", "bias"].contains(last)
        else {
          return .unplaced
        }
        return .name("features.\(dims == 2 ? 2 * i + 2 : 2 * i + 1).\(parts[3]).\(last)")
      }
      guard parts[2] == "blocks", parts.count >= 5, let j = Int(parts[3]), j >= 0, j < 64 else {
        return .unplaced
      }
      let inner = parts[4...].joined(separator: ".")
      let block = "features.\(dims == 2 ? 2 * i + 1 : 2 * i).\(j)."
      switch inner {
      case "attn_mask": return .drop
      case "attn.relative_position_index": return .name(block + inner)
      case "attn.relative_position_bias_table": return .name(block + inner)
      default: break
      }
      let renamed: [String: String] = [
        "norm1": "norm1", "norm2": "norm2", "attn.qkv": "attn.qkv", "attn.proj": "attn.proj",
        "mlp.fc1": "mlp.0", "mlp.fc2": "mlp.3",
      ]
      guard parts.count >= 6 else { return .unplaced }
      let module = parts[4..<(parts.count - 1)].joined(separator: ".")
      guard let ours = renamed[module], ["weight", "bias"].contains(last) else { return .unplaced }
      return .name(block + ours + "." + last)
    default:
      return .unplaced
    }
  }

  /// mmaction2 1.x names the final norm after the last stage, `backbone.norm{n−1}` (`norm3` for
  /// four stages): that name, or nil when no such key exists.
  static func mmactionNorm<S: Sequence>(_ keys: S) -> String? where S.Element == String {
    for key in keys where key.hasPrefix("backbone.norm") && key.hasSuffix(".weight") {
      let middle = key.dropFirst("backbone.".count).dropLast(".weight".count)
      if middle.count > 4, Int(middle.dropFirst(4)) != nil { return String(middle) }
    }
    return nil
  }

  /// The first keys of a list, quoted, with a count of the rest.
  static func listed(_ keys: [String]) -> String {
    let shown = keys.prefix(keysListed).map { "'\($0)'" }.joined(separator: ", ")
    return keys.count > keysListed ? shown + ", … (\(keys.count - keysListed) more)" : shown
  }
}
