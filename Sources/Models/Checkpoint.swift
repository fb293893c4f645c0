// Model checkpoints: safetensors files with the config, kind, labels and provenance in
// `__metadata__` and every parameter as Float32 in PyTorch layout (Docs/FORMATS.md).

import Compute
import Foundation
import NN
import SafeTensors

/// What a checkpoint says about itself, besides its tensors.
public struct CheckpointInfo: Sendable, Equatable {
  public var config: ModelConfig
  /// One name per class, `config.classes` of them.
  public var labels: [String]
  /// Where the weights come from (e.g. "init preset micro seed 1", "inflated from X with Kt=2").
  public var provenance: String
  /// `image` (2D) or `video` (3D).
  public var kind: String { config.kind }

  public init(config: ModelConfig, labels: [String]? = nil, provenance: String) {
    self.config = config
    self.labels = labels ?? (0..<config.classes).map { "class_\($0)" }
    self.provenance = provenance
  }

  /// The `__metadata__` strings.
  public func metadata() throws -> [String: String] {
    let labelJSON = String(decoding: try JSONEncoder().encode(labels), as: UTF8.self)
    return [
      "format": Checkpoint.format, "config": try config.jsonString(), "kind": kind,
      "labels": labelJSON, "provenance": provenance,
    ]
  }
}

/// A checkpoint that cannot be used, with the file, the key and (for shapes) both shapes.
public struct CheckpointError: Error, CustomStringConvertible, Equatable, Sendable {
  public enum Kind: Equatable, Sendable {
    case missingMetadata(key: String)
    case badMetadata(key: String, reason: String)
    case missingTensor(key: String, expected: [Int])
    case unexpectedTensor(key: String, shape: [Int])
    case shapeMismatch(key: String, expected: [Int], found: [Int])
    case nonFinite(key: String, index: Int)
    case badBuffer(key: String, reason: String)
    /// A tensor whose shape does not describe a model this package builds.
    case badTensor(key: String, reason: String)
    case wrongKind(expected: String, found: String)
    /// The file's first bytes say it is no checkpoint (`kind`: `a video (Matroska/WebM)`).
    case notACheckpoint(kind: String)
  }
  public var path: String
  public var kind: Kind
  public init(path: String, _ kind: Kind) {
    self.path = path
    self.kind = kind
  }

  public var description: String {
    switch kind {
    case .missingMetadata(let key):
      return "\(path): not a vcoswin checkpoint: __metadata__ has no '\(key)'"
    case .badMetadata(let key, let reason):
      return "\(path): __metadata__ '\(key)': \(reason)"
    case .missingTensor(let key, let expected):
      return "\(path): missing tensor '\(key)' (expected shape \(expected))"
    case .unexpectedTensor(let key, let shape):
      return
        "\(path): unexpected tensor '\(key)' with shape \(shape) (not a parameter of this model)"
    case .shapeMismatch(let key, let expected, let found):
      return "\(path): tensor '\(key)' has shape \(found) but the model expects \(expected)"
    case .nonFinite(let key, let index):
      return "\(path): tensor '\(key)' holds a NaN or infinite value at element \(index)"
    case .badBuffer(let key, let reason):
      return "\(path): buffer '\(key)': \(reason)"
    case .badTensor(let key, let reason):
      return "\(path): tensor '\(key)': \(reason)"
    case .wrongKind(let expected, let found):
      return "\(path): this is an \(found) checkpoint; a \(expected) checkpoint is needed here"
    case .notACheckpoint(let kind):
      return "\(path): this is \(kind), not a checkpoint"
    }
  }
}

/// Reading, verifying and writing checkpoints.
public enum Checkpoint {
  /// The value of `__metadata__["format"]` in files this package writes.
  public static let format = "vcoswin-checkpoint-1"
  /// Prefix of the optimizer-state tensors a training checkpoint (`last.safetensors`) adds.
  public static let optimizerPrefix = "optimizer."

  /// Reads the metadata of a checkpoint file (config validated, labels counted and distinct).
  public static func info(of file: SafeTensorsFile) throws -> CheckpointInfo {
    let path = file.path
    guard let configText = file.metadata["config"] else {
      throw CheckpointError(path: path, .missingMetadata(key: "config"))
    }
    let config: ModelConfig
    do {
      config = try ModelConfig.fromJSON(configText)
    } catch {
      throw CheckpointError(path: path, .badMetadata(key: "config", reason: "\(error)"))
    }
    if let kind = file.metadata["kind"], kind != config.kind {
      throw CheckpointError(
        path: path,
        .badMetadata(key: "kind", reason: "'\(kind)' but the config has dims \(config.dims)"))
    }
    var labels: [String]? = nil
    if let text = file.metadata["labels"] {
      guard let list = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else {
        throw CheckpointError(
          path: path, .badMetadata(key: "labels", reason: "not a JSON array of strings"))
      }
      guard list.count == config.classes else {
        throw CheckpointError(
          path: path,
          .badMetadata(key: "labels", reason: "\(list.count) labels for \(config.classes) classes"))
      }
      // The names `classify` prints and labels files map to: a repeated one would make two
      // classes indistinguishable (a labels file with one is refused the same way).
      var firstIndex: [String: Int] = [:]
      for (i, name) in list.enumerated() {
        if let first = firstIndex[name] {
          throw CheckpointError(
            path: path,
            .badMetadata(
              key: "labels",
              reason:
                "class name `\(name)` again (index \(i), first at index \(first)); names must be distinct"
            ))
        }
        firstIndex[name] = i
      }
      labels = list
    }
    return CheckpointInfo(
      config: config, labels: labels, provenance: file.metadata["provenance"] ?? "")
  }

  /// Checks a file's tensor header against `config`, strictly: every parameter present with its
  /// exact shape and a floating-point dtype, nothing else except torchvision buffers, which must
  /// hold the index the model computes. Reads no parameter values (`copy` checks they are finite),
  /// so it is cheap enough to run before a model is built.
  public static func verify(_ file: SafeTensorsFile, config: ModelConfig) throws {
    let path = file.path
    let specs = config.parameterSpecs
    var expected: [String: [Int]] = [:]
    for s in specs { expected[s.name] = s.shape }
    // `optimizer.*` tensors are training state (Docs/FORMATS.md), not model parameters.
    for key in file.keys where expected[key] == nil && !key.hasPrefix(Checkpoint.optimizerPrefix) {
      let shape = file.tensors[key]?.shape ?? []
      if ModelConfig.isBufferName(key) {
        try verifyIndexBuffer(file, key: key, config: config)
        continue
      }
      throw CheckpointError(path: path, .unexpectedTensor(key: key, shape: shape))
    }
    for s in specs {
      guard let entry = file.tensors[s.name] else {
        throw CheckpointError(path: path, .missingTensor(key: s.name, expected: s.shape))
      }
      guard entry.shape == s.shape else {
        throw CheckpointError(
          path: path, .shapeMismatch(key: s.name, expected: s.shape, found: entry.shape))
      }
      guard floatingDTypes.contains(entry.dtype) else {
        throw CheckpointError(
          path: path,
          .badTensor(
            key: s.name,
            reason:
              "dtype \(entry.dtype.rawValue); parameters must be floating point (F32, F16, BF16 or F64)"
          ))
      }
    }
  }

  /// Adds torchvision's `relative_position_index` buffers (Int64; 2D `[N·N]`, 3D `[N, N]`) of
  /// every block of a model whose window rule stores them (Swin's), so the file loads into
  /// torchvision with `strict=True`. CoSwin models have no torchvision counterpart and get none.
  public static func addIndexBuffers(to writer: inout SafeTensorsWriter, config: ModelConfig) throws
  {
    guard config.parts.windows.storesIndexBuffers else { return }
    for i in 0..<config.stages {
      let n = config.windows[i].reduce(1, *)
      let values = relativePositionIndexValues(window: config.windows[i])
      for j in 0..<config.depths[i] {
        try writer.add(
          config.blockName(stage: i, block: j) + ".attn.relative_position_index",
          shape: config.dims == 2 ? [n * n] : [n, n], int64s: values)
      }
    }
  }

  /// The dtypes a parameter may have (converted to Float32 on load).
  static let floatingDTypes: Set<DType> = [.f32, .f16, .bf16, .f64]

  /// The dtypes an index buffer's values are checked in.
  static let integerDTypes: Set<DType> = [.i8, .i16, .i32, .i64, .u8, .u16, .u32, .u64]

  /// The `relative_position_index` buffers of `file` stored in floating point (a state dict
  /// cast whole with `.half()`), sorted: `verify` checks their place and shape, not their values.
  public static func floatingIndexBuffers(in file: SafeTensorsFile) -> [String] {
    file.keys.filter {
      ModelConfig.isBufferName($0)
        && !(file.tensors[$0].map { integerDTypes.contains($0.dtype) }
          ?? true)
    }
  }

  /// A torchvision `relative_position_index` buffer: 2D `[N·N]`, 3D `[N, N]`, with the values
  /// of the configured window (time outermost). The index is derived from the window: its
  /// values are checked when it holds integers; a floating-point copy (float16 holds integers
  /// exactly only to 2048, a swin3d_t's index reaches 2534) is checked for place and shape only.
  static func verifyIndexBuffer(_ file: SafeTensorsFile, key: String, config: ModelConfig) throws {
    let path = file.path
    let prefix = String(key.dropLast(".relative_position_index".count))
    guard
      let stage = (0..<config.stages).first(where: { i in
        (0..<config.depths[i]).contains {
          config.blockName(stage: i, block: $0) + ".attn" == prefix
        }
      })
    else {
      throw CheckpointError(
        path: path, .unexpectedTensor(key: key, shape: file.tensors[key]?.shape ?? []))
    }
    let window = config.windows[stage]
    let n = window.reduce(1, *)
    let shape = config.dims == 2 ? [n * n] : [n, n]
    let entry = try file.entry(key)
    guard entry.shape == shape else {
      throw CheckpointError(
        path: path, .shapeMismatch(key: key, expected: shape, found: entry.shape))
    }
    guard integerDTypes.contains(entry.dtype) else { return }
    let found = try file.int64s(key)
    let index = relativePositionIndexValues(window: window)
    if let bad = found.values.indices.first(where: { found.values[$0] != index[$0] }) {
      throw CheckpointError(
        path: path,
        .badBuffer(
          key: key,
          reason:
            "element \(bad) is \(found.values[bad]), expected \(index[bad]) for window \(window)"))
    }
  }

  /// The relative position index of a full window (2 or 3 sizes, time outermost), flattened
  /// `[N·N]` as torchvision stores it: NN's `relativePositionIndex` with a 2D window taken as
  /// `[1, h, w]` (the same values, since time is outermost).
  static func relativePositionIndexValues(window: [Int]) -> [Int64] {
    let w3 = window.count == 2 ? [1] + window : window
    return relativePositionIndex(configured: w3, used: w3).map(Int64.init)
  }

  /// Copies every parameter of `store` (those whose name `include` accepts) from `file` (verify
  /// first), checking each value is finite.
  public static func copy(
    _ file: SafeTensorsFile, into store: ParameterStore, include: (String) -> Bool = { _ in true }
  ) throws {
    for p in store.parameters where include(p.name) {
      guard let entry = file.tensors[p.name] else {
        throw CheckpointError(path: file.path, .missingTensor(key: p.name, expected: p.shape))
      }
      guard entry.shape == p.shape else {
        throw CheckpointError(
          path: file.path, .shapeMismatch(key: p.name, expected: p.shape, found: entry.shape))
      }
      try file.copyFloats(p.name, into: p.value.pointer)
      let v = p.value.pointer
      for i in 0..<p.count where !v[i].isFinite {
        throw CheckpointError(path: file.path, .nonFinite(key: p.name, index: i))
      }
    }
  }

  /// Writes every parameter of `store` and the metadata of `info`, atomically.
  ///
  /// - Parameters:
  ///   - extraMetadata: more `__metadata__` entries (a trainer's run state); they cannot
  ///     override those of `info`.
  ///   - extraTensors: more Float32 tensors under their own names (optimizer state, under
  ///     `optimizerPrefix`). A name that is taken throws.
  public static func write(
    to path: String, info: CheckpointInfo, store: ParameterStore,
    extraMetadata: [String: String] = [:], extraTensors: [String: Tensor] = [:]
  ) throws {
    let metadata = try info.metadata().merging(extraMetadata) { ours, _ in ours }
    var writer = SafeTensorsWriter(metadata: metadata)
    for p in store.parameters {
      try writer.add(p.name, shape: p.shape, floats: UnsafeBufferPointer(p.value.buffer))
    }
    try addIndexBuffers(to: &writer, config: info.config)
    for (name, t) in extraTensors.sorted(by: { $0.key < $1.key }) {
      try writer.add(name, shape: t.shape, floats: UnsafeBufferPointer(t.buffer))
    }
    try writer.write(to: path)
  }

  /// Writes named tensors (PyTorch layouts) and the metadata of `info` (plus `extraMetadata`,
  /// which cannot override it), atomically, after
  /// checking they are exactly the parameters of `info.config`.
  public static func write(
    to path: String, info: CheckpointInfo, tensors: NamedTensors,
    extraMetadata: [String: String] = [:]
  ) throws {
    var writer = SafeTensorsWriter(
      metadata: try info.metadata().merging(extraMetadata) { ours, _ in ours })
    let specs = info.config.parameterSpecs
    let names = Set(specs.map(\.name))
    if let extra = tensors.keys.sorted().first(where: { !names.contains($0) }) {
      throw CheckpointError(
        path: path, .unexpectedTensor(key: extra, shape: tensors[extra]?.shape ?? []))
    }
    for s in specs {
      guard let t = tensors[s.name] else {
        throw CheckpointError(path: path, .missingTensor(key: s.name, expected: s.shape))
      }
      guard t.shape == s.shape else {
        throw CheckpointError(
          path: path, .shapeMismatch(key: s.name, expected: s.shape, found: t.shape))
      }
      if let bad = t.values.firstIndex(where: { !$0.isFinite }) {
        throw CheckpointError(path: path, .nonFinite(key: s.name, index: bad))
      }
      try writer.add(s.name, shape: t.shape, floats: t.values)
    }
    try addIndexBuffers(to: &writer, config: info.config)
    try writer.write(to: path)
  }
}
