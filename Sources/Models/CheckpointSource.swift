// Opening any checkpoint a command takes: this package's safetensors checkpoints, and foreign
// state dicts (PyTorch `.pth` zip archives or safetensors with torchvision, official Swin /
// Video Swin or mmaction2 names), converted in memory (Docs/FORMATS.md, "Foreign checkpoints").

import Foundation
import SafeTensors
import TerminalText
import TorchCheckpoint

/// A checkpoint opened for use: its tensors under this package's names, what it says about
/// itself, and (for a foreign file) the layout it was converted from.
public struct OpenedCheckpoint: Sendable {
  /// The tensors and `__metadata__`, as a checkpoint of this package would hold them (a foreign
  /// file gets the metadata its import would write).
  public var file: SafeTensorsFile
  /// Config, labels and provenance.
  public var info: CheckpointInfo
  /// The layout a foreign state dict was converted from; nil for this package's checkpoints.
  public var layout: CheckpointLayout?
  /// The path it was read from.
  public var path: String { file.path }

  /// Every parameter of `info.config`, converted to Float32 (PyTorch layouts), by name.
  public func floatTensors() throws -> NamedTensors {
    var out: NamedTensors = [:]
    for spec in info.config.parameterSpecs {
      let t = try file.floats(spec.name)
      out[spec.name] = (t.shape, t.values)
    }
    return out
  }

  /// The `__metadata__` entries besides `CheckpointInfo`'s that a written copy keeps (the
  /// recorded data recipe and test views).
  public var recipeMetadata: [String: String] {
    file.metadata.filter { [Checkpoint.recipeKey, Checkpoint.viewsKey].contains($0.key) }
  }
}

/// Float32 tensors by name, each with its PyTorch-layout shape.
public typealias NamedTensors = [String: (shape: [Int], values: [Float])]

extension Checkpoint {
  /// `__metadata__` key of the data recipe an imported model was evaluated with (the JSON of
  /// `DataOptions`, as in a training checkpoint's `training.data`).
  public static let recipeKey = "data"
  /// `__metadata__` key of the full test protocol's views, `{"clips": N, "crops": M}`.
  public static let viewsKey = "test_views"

  /// Opens a checkpoint, whatever its format, and verifies its tensor header against its config
  /// (names, shapes, floating-point dtypes) before anything is allocated for a model.
  ///
  /// - A file whose first bytes say it is something else (a video, an image, text; see
  ///   `FileKind`) is refused as such: `clip.mkv: this is a video (Matroska/WebM), not a
  ///   checkpoint`.
  /// - A safetensors file with a `config` in `__metadata__` is this package's checkpoint.
  /// - A PyTorch `.pth` (zip archive), or a safetensors file without `config`, is a foreign
  ///   state dict: its layout is detected and renamed (`ForeignLayouts`), the architecture is
  ///   read from its shapes (or taken from `preset`), and the metadata an import writes is
  ///   added: labels `class_i`, provenance, and the evaluation recipe of the layout's release
  ///   (`CheckpointLayout.releasedRecipe`: e.g. torchvision Swin3D 32 frames at interval 2,
  ///   short side 256, crop 224, 12 clips; official Video Swin short side 224, 4 clips × 3
  ///   crops).
  /// - `relative_position_index` buffers stored in floating point are not checked against the
  ///   window (`verifyIndexBuffer`); `note` is then called once with a sentence saying so
  ///   (by default printed to standard error as `note: …`).
  public static func open(
    path: String, preset: String? = nil, note: (String) -> Void = Checkpoint.printNote
  ) throws -> OpenedCheckpoint {
    let opened = try openVerified(path: path, preset: preset)
    let floating = floatingIndexBuffers(in: opened.file)
    if let first = floating.first, let dtype = opened.file.tensors[first]?.dtype {
      let count =
        floating.count == 1
        ? "1 relative_position_index buffer is"
        : "\(floating.count) relative_position_index buffers are"
      note(
        "\(path): \(count) \(dtype.rawValue), not integers: ignored (the index is derived from the window)"
      )
    }
    return opened
  }

  /// Writes `note: text` to standard error, its control characters (from the path) escaped:
  /// `open`'s default for its notes.
  public static func printNote(_ text: String) {
    FileHandle.standardError.write(Data("note: \(text.escapedForTerminal)\n".utf8))
  }

  /// `open` without its notes.
  static func openVerified(path: String, preset: String?) throws -> OpenedCheckpoint {
    // A video, an image or any other recognised format is named for what it is.
    if let kind = FileKind.recognise(path: path),
      ![.safeTensors, .zipArchive, .pickle].contains(kind.category)
    {
      throw CheckpointError(path: path, .notACheckpoint(kind: kind.description))
    }
    let raw: SafeTensorsFile
    if TorchCheckpointFile.isTorchSaveFile(path: path) {
      raw = try TorchCheckpointFile.read(path: path)
    } else {
      raw = try SafeTensorsFile.read(path: path)
      if raw.metadata["config"] != nil {
        if let preset {
          throw CheckpointError(
            path: path,
            .badMetadata(
              key: "config",
              reason:
                "a vcoswin checkpoint fixes its architecture; --preset '\(preset)' applies to foreign state dicts only"
            ))
        }
        let info = try Checkpoint.info(of: raw)
        try verify(raw, config: info.config)
        return OpenedCheckpoint(file: raw, info: info, layout: nil)
      }
    }
    return try foreign(raw, preset: preset)
  }

  /// Whether `path` is a checkpoint rather than a video: `torch.save` output (zip or legacy
  /// pickle) or a safetensors file (any safetensors file holds tensors, never a video).
  public static func isCheckpointFile(path: String) -> Bool {
    TorchCheckpointFile.isTorchSaveFile(path: path)
      || SafeTensorsFile.looksLikeSafeTensors(path: path)
  }

  /// Converts a foreign state dict (raw names) into this package's form (see `open`).
  static func foreign(_ raw: SafeTensorsFile, preset: String?) throws -> OpenedCheckpoint {
    let (layout, renamed) = try ForeignLayouts.normalise(raw)
    let config = try TorchvisionImport.config(of: renamed, preset: preset)
    try verify(renamed, config: config)
    var provenance: [String: Any] = [
      "imported_from": URL(fileURLWithPath: raw.path).lastPathComponent, "layout": layout.rawValue,
    ]
    if let preset { provenance["preset"] = preset }
    let info = CheckpointInfo(config: config, labels: nil, provenance: try jsonText(provenance))
    var metadata = try info.metadata()
    let recipe = layout.releasedRecipe(config: config)
    metadata[recipeKey] = try jsonText(recipe.dataFields)
    metadata[viewsKey] = try jsonText(["clips": recipe.clips, "crops": recipe.crops])
    let file = SafeTensorsFile(path: raw.path, metadata: metadata, tensors: renamed.tensors)
    return OpenedCheckpoint(file: file, info: info, layout: layout)
  }

  /// Compact JSON with sorted keys.
  static func jsonText(_ object: Any) throws -> String {
    String(
      decoding: try JSONSerialization.data(
        withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
  }
}
