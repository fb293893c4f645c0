// The architecture of a state dict with torchvision `swin_t/s/b` and `swin3d_t/s/b` names (a
// foreign file after `ForeignLayouts.normalise`).
//
// The swin variant uses torchvision's names unchanged (ParameterNames.swift), so importing is:
// read the architecture from the tensor shapes (or take a preset), check every tensor
// strictly against it, and write a checkpoint with metadata. Layouts are PyTorch's on both
// sides; nothing is transposed or guessed.

import Foundation
import SafeTensors

public enum TorchvisionImport {
  /// The Swin config a torchvision state dict describes, read from its shapes:
  /// dims (`patch_embed.proj` is 3D, `features.0.0` 2D), embed dim and patch from the embedding
  /// conv, blocks per stage from the keys present, heads and window from the bias tables (the
  /// `relative_position_index` buffers settle a 3D window when present; otherwise square
  /// spatial windows are assumed), MLP ratio from `mlp.0`, classes from `head`.
  public static func inferConfig(_ file: SafeTensorsFile) throws -> ModelConfig {
    let path = file.path
    func shape(_ key: String) throws -> [Int] {
      guard let e = file.tensors[key] else {
        throw CheckpointError(path: path, .missingTensor(key: key, expected: []))
      }
      return e.shape
    }
    let dims: Int
    let conv: [Int]
    if file.tensors["patch_embed.proj.weight"] != nil {
      dims = 3
      conv = try shape("patch_embed.proj.weight")
    } else if file.tensors["features.0.0.weight"] != nil {
      dims = 2
      conv = try shape("features.0.0.weight")
    } else {
      throw CheckpointError(
        path: path,
        .missingTensor(key: "patch_embed.proj.weight or features.0.0.weight", expected: []))
    }
    guard conv.count == dims + 2 else {
      throw CheckpointError(
        path: path,
        .badTensor(
          key: dims == 3 ? "patch_embed.proj.weight" : "features.0.0.weight",
          reason: "a \(dims)D conv weight needs \(dims + 2) dimensions, found \(conv)"))
    }
    let embed = conv[0]
    let patch = Array(conv[2...])
    var depths: [Int] = []
    var heads: [Int] = []
    var windows: [[Int]] = []
    var mlpRatio = 4.0
    for i in 0..<8 {
      let stageIndex = dims == 2 ? 2 * i + 1 : 2 * i
      var j = 0
      while file.tensors["features.\(stageIndex).\(j).norm1.weight"] != nil { j += 1 }
      if j == 0 { break }
      depths.append(j)
      let tableKey = "features.\(stageIndex).0.attn.relative_position_bias_table"
      let table = try shape(tableKey)
      guard table.count == 2 else {
        throw CheckpointError(
          path: path, .badTensor(key: tableKey, reason: "expected [rows, heads], found \(table)"))
      }
      heads.append(table[1])
      let indexKey = "features.\(stageIndex).0.attn.relative_position_index"
      let n = file.tensors[indexKey].map {
        dims == 2 ? Int(Double($0.count).squareRoot().rounded()) : $0.shape[0]
      }
      guard let w = windowFrom(rows: table[0], tokens: n, dims: dims) else {
        throw CheckpointError(
          path: path,
          .badTensor(
            key: tableKey,
            reason:
              "\(table[0]) rows match no single window (and no relative_position_index settles it); give a preset"
          ))
      }
      windows.append(w)
      if i == 0 {
        let c = embed
        let hidden = try shape("features.\(stageIndex).0.mlp.0.weight")[0]
        mlpRatio = Double(hidden) / Double(c)
      }
    }
    guard !depths.isEmpty else {
      throw CheckpointError(
        path: path,
        .missingTensor(
          key: dims == 2 ? "features.1.0.norm1.weight" : "features.0.0.norm1.weight", expected: []))
    }
    let head = try shape("head.weight")
    do {
      return try ModelConfig(
        variant: .swin, dims: dims, inChannels: conv[1], embedDim: embed, depths: depths,
        heads: heads,
        windows: windows, embedKernel: patch, embedStride: patch,
        embedPadding: Array(repeating: 0, count: dims),
        mergeKernel: dims == 2 ? [2, 2] : [1, 2, 2], mergeStride: dims == 2 ? [2, 2] : [1, 2, 2],
        mergePadding: Array(repeating: 0, count: dims), mlpRatio: mlpRatio, dropPath: 0,
        classes: head.first ?? 0)
    } catch {
      throw CheckpointError(path: path, .badTensor(key: "(architecture)", reason: "\(error)"))
    }
  }

  /// The window whose bias table has `rows` rows: 2D square `w` with `(2w−1)² = rows`;
  /// 3D `(t, w, w)` with `(2t−1)(2w−1)² = rows` (and `t·w² = tokens` when the index is known).
  /// Nil when no window or (without the index) several windows fit.
  static func windowFrom(rows: Int, tokens: Int?, dims: Int) -> [Int]? {
    var found: [[Int]] = []
    for w in 1...64 {
      let side = (2 * w - 1) * (2 * w - 1)
      if dims == 2 {
        if side == rows { found.append([w, w]) }
      } else if rows % side == 0 {
        let t2 = rows / side
        if t2 % 2 == 1 {
          let t = (t2 + 1) / 2
          if t <= 64, tokens == nil || tokens == t * w * w { found.append([t, w, w]) }
        }
      }
    }
    return found.count == 1 ? found[0] : nil
  }

  /// The config of a state dict with torchvision names: inferred from its shapes, or `preset`
  /// (a Swin preset) with the file's class count and dimensionality.
  public static func config(of file: SafeTensorsFile, preset: String? = nil) throws -> ModelConfig {
    let inferred = try inferConfig(file)
    guard let preset else { return inferred }
    let p = try ModelConfig.preset(preset, dims: inferred.dims, classes: inferred.classes)
    guard p.variant == .swin else {
      throw ModelConfigError(
        "preset", "'\(preset)' is a CoSwin preset; torchvision weights are Swin")
    }
    return p
  }
}
