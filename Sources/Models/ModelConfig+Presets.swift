import Foundation

/// Named configurations.
///
/// | name | variant | embed | depths | heads |
/// |---|---|---|---|---|
/// | `nano` / `swin-nano` | coswin / swin | 32 | 1,1,1 | 2,4,8 |
/// | `micro` / `swin-micro` | coswin / swin | 32 | 1,1,2,1 | 1,2,4,8 |
/// | `tiny` / `swin-tiny` | coswin / swin | 96 | 2,2,6,2 | 3,6,12,24 |
/// | `small` / `swin-small` | coswin / swin | 96 | 2,2,18,2 | 3,6,12,24 |
/// | `base` / `swin-base` | coswin / swin | 128 | 2,2,18,2 | 4,8,16,32 |
/// | `swin_t/s/b` | swin, 2D, torchvision shapes (window 7, 1000 classes) | | | |
/// | `swin3d_t/s/b` | swin, 3D, torchvision shapes (patch 2,4,4, window 8,7,7, 400 classes) | | | |
///
/// CoSwin `nano` embeds with a 7×7 convolution of stride 2, padding 1 (for 32-pixel inputs),
/// the others with stride 4, padding 2, as Florence. `coswin-micro` etc. are accepted as aliases. The CoSwin presets use Florence's dynamic
/// window size in 3D (small temporal windows early, larger later).
extension ModelConfig {
  /// Every preset name `preset(_:dims:classes:)` accepts (aliases excluded).
  public static let presetNames: [String] = [
    "nano", "micro", "tiny", "small", "base", "swin-nano", "swin-micro", "swin-tiny", "swin-small",
    "swin-base",
    "swin_t", "swin_s", "swin_b", "swin3d_t", "swin3d_s", "swin3d_b",
  ]

  /// The preset `name` for `dims` (2 or 3; ignored by the torchvision names, which fix it)
  /// with `classes` head outputs (nil: 1000 for `swin_*`, 400 for `swin3d_*`, 10 otherwise).
  public static func preset(_ name: String, dims: Int = 3, classes: Int? = nil) throws
    -> ModelConfig
  {
    var key = name.lowercased()
    if key.hasPrefix("coswin-") { key.removeFirst("coswin-".count) }
    let widths: [String: (embed: Int, depths: [Int], heads: [Int])] = [
      "nano": (32, [1, 1, 1], [2, 4, 8]),
      "micro": (32, [1, 1, 2, 1], [1, 2, 4, 8]),
      "tiny": (96, [2, 2, 6, 2], [3, 6, 12, 24]),
      "small": (96, [2, 2, 18, 2], [3, 6, 12, 24]),
      "base": (128, [2, 2, 18, 2], [4, 8, 16, 32]),
    ]
    let torchvision: [String: (size: String, dims: Int, classes: Int, dropPath: Double)] = [
      "swin_t": ("tiny", 2, 1000, 0.2), "swin_s": ("small", 2, 1000, 0.3),
      "swin_b": ("base", 2, 1000, 0.5),
      "swin3d_t": ("tiny", 3, 400, 0.1), "swin3d_s": ("small", 3, 400, 0.1),
      "swin3d_b": ("base", 3, 400, 0.1),
    ]
    if let tv = torchvision[key], let w = widths[tv.size] {
      return try swin(
        embed: w.embed, depths: w.depths, heads: w.heads, dims: tv.dims, windows: nil,
        classes: classes ?? tv.classes, dropPath: tv.dropPath)
    }
    let isSwin = key.hasPrefix("swin-")
    if isSwin { key.removeFirst("swin-".count) }
    guard let w = widths[key] else {
      throw ModelConfigError(
        "preset", "unknown preset '\(name)'; choose one of \(presetNames.joined(separator: ", "))")
    }
    guard dims == 2 || dims == 3 else {
      throw ModelConfigError("dims", "must be 2 or 3, not \(dims)")
    }
    let k = classes ?? 10
    // micro works on 64×64 (2D) and 8×64×64 (3D): stages of 16, 8, 4, 2 tokens per side.
    let microWindows2D = [[4, 4], [4, 4], [4, 4], [2, 2]]
    let microWindows3D = [[2, 4, 4], [2, 4, 4], [4, 4, 4], [4, 2, 2]]
    // nano works on 32×32 (2D) and 8×32×32 (3D) with an embedding of stride 2 (below):
    // stages of 14, 7, 4 tokens per side.
    let nanoWindows2D = [[4, 4], [4, 4], [4, 4]]
    let nanoWindows3D = [[2, 4, 4], [4, 4, 4], [4, 4, 4]]
    let small: [String: (w2: [[Int]], w3: [[Int]])] = [
      "micro": (microWindows2D, microWindows3D), "nano": (nanoWindows2D, nanoWindows3D),
    ]
    if isSwin {
      let windows = small[key].map { dims == 2 ? $0.w2 : $0.w3 }
      return try swin(
        embed: w.embed, depths: w.depths, heads: w.heads, dims: dims, windows: windows, classes: k,
        dropPath: small[key] != nil ? 0 : 0.1)
    }
    let windows: [[Int]]
    if let s = small[key] {
      windows = dims == 2 ? s.w2 : s.w3
    } else {
      windows =
        dims == 2
        ? Array(repeating: [7, 7], count: 4) : [[2, 7, 7], [4, 7, 7], [8, 7, 7], [8, 7, 7]]
    }
    // Florence's 7×7 embedding has stride 4 (padding 2) for 224-pixel inputs; nano's 32-pixel
    // ones keep finer tokens with stride 2, padding 1 (14×14 tokens; the windows pad them to
    // 16). Padding 3 (16×16) learned the demo's shapes less well over two seeds
    // (Docs/BENCHMARKS.md, Demo).
    let s = key == "nano" ? 2 : 4
    let p = key == "nano" ? 1 : 2
    return try ModelConfig(
      variant: .coswin, dims: dims, embedDim: w.embed, depths: w.depths, heads: w.heads,
      windows: windows,
      embedKernel: dims == 2 ? [7, 7] : [3, 7, 7], embedStride: dims == 2 ? [s, s] : [2, s, s],
      embedPadding: dims == 2 ? [p, p] : [1, p, p],
      mergeKernel: dims == 2 ? [3, 3] : [3, 3, 3], mergeStride: dims == 2 ? [2, 2] : [1, 2, 2],
      mergePadding: dims == 2 ? [1, 1] : [1, 1, 1],
      dropPath: small[key] != nil ? 0 : 0.1, classes: k)
  }

  /// A torchvision-shaped Swin config (window 7 / (8,7,7) unless given).
  static func swin(
    embed: Int, depths: [Int], heads: [Int], dims: Int, windows: [[Int]]?, classes: Int,
    dropPath: Double
  ) throws -> ModelConfig {
    let w = windows ?? Array(repeating: dims == 2 ? [7, 7] : [8, 7, 7], count: depths.count)
    let patch = dims == 2 ? [4, 4] : [2, 4, 4]
    return try ModelConfig(
      variant: .swin, dims: dims, embedDim: embed, depths: depths, heads: heads, windows: w,
      embedKernel: patch, embedStride: patch, embedPadding: Array(repeating: 0, count: dims),
      mergeKernel: dims == 2 ? [2, 2] : [1, 2, 2], mergeStride: dims == 2 ? [2, 2] : [1, 2, 2],
      mergePadding: Array(repeating: 0, count: dims), dropPath: dropPath, classes: classes)
  }

  /// The config as compact JSON with sorted keys (what checkpoints store under `config`).
  public func jsonString() throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: try encoder.encode(self), as: UTF8.self)
  }

  /// A config decoded (and validated) from JSON text.
  public static func fromJSON(_ text: String) throws -> ModelConfig {
    do {
      return try JSONDecoder().decode(ModelConfig.self, from: Data(text.utf8))
    } catch let DecodingError.dataCorrupted(context) {
      // A field out of bounds is already a ModelConfigError naming it.
      if let e = context.underlyingError as? ModelConfigError { throw e }
      throw ModelConfigError("config", context.debugDescription)
    } catch let DecodingError.keyNotFound(key, _) {
      throw ModelConfigError(key.stringValue, "missing")
    } catch let DecodingError.typeMismatch(_, context) {
      let path = context.codingPath.map(\.stringValue).joined(separator: ".")
      throw ModelConfigError(
        path.isEmpty ? "config" : path, "wrong type: \(context.debugDescription)")
    } catch let DecodingError.valueNotFound(_, context) {
      throw ModelConfigError(context.codingPath.map(\.stringValue).joined(separator: "."), "null")
    }
  }
}
