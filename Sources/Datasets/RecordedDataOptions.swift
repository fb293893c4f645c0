// The data options a checkpoint records, read strictly: a training run's `training.data`, or the
// evaluation recipe an import writes under `data` (Docs/FORMATS.md). Every value is checked
// against bounds where it enters, so a damaged or hostile checkpoint is an error, never a crash
// or an unbounded allocation further on.

import Foundation
import Models
import SafeTensors

/// Data options or test views that cannot be used: where they came from, the field, the value.
public struct DataOptionsError: Error, CustomStringConvertible, Equatable, Sendable {
  /// The file (and metadata key) or the option the value came from.
  public var source: String
  public var reason: String
  public init(_ source: String, _ reason: String) {
    self.source = source
    self.reason = reason
  }
  public var description: String { "\(source): \(reason)" }
}

extension DataOptions {
  /// Largest crop size accepted from a checkpoint or an option (pixels per side).
  public static let maxSize = 4096
  /// Largest clip length accepted (frames).
  public static let maxClipLength = 1024
  /// Largest step between sampled frames.
  public static let maxFrameInterval = 1000

  /// Throws `DataOptionsError` naming `source`, the field and its value when a value is out of
  /// bounds: size 1…`maxSize`, resize (when given) size…`maxSize`, clip length
  /// 1…`maxClipLength`, interval 1…`maxFrameInterval`, min area in (0, 1], a flip-label map that
  /// is a permutation of the classes' labels.
  public func validate(source: String) throws {
    for (field, value, limit) in [
      ("size", size, Self.maxSize), ("clip_length", clipLength, Self.maxClipLength),
      ("frame_interval", frameInterval, Self.maxFrameInterval),
    ] where !(1...limit).contains(value) {
      throw DataOptionsError(source, "\(field) \(value) is outside 1…\(limit)")
    }
    if let resize, !(size...Self.maxSize).contains(resize) {
      throw DataOptionsError(
        source, "resize \(resize) is outside \(size)…\(Self.maxSize) (the crop size up)")
    }
    guard minArea > 0, minArea <= 1 else {
      throw DataOptionsError(source, "min_area \(minArea) is outside (0, 1]")
    }
    if let map = flipLabels {
      guard Set(map).count == map.count, map.allSatisfy({ (0..<map.count).contains($0) }) else {
        throw DataOptionsError(
          source, "flip_labels \(map.prefix(16)) is not a permutation of 0…\(map.count - 1)")
      }
    }
  }

  /// The data options `file` records, validated: `training.data` when a `training` block is
  /// present, else the import recipe under `data`; nil when neither is. A block that is present
  /// but does not parse, or holds a value out of bounds, is an error naming the file and key.
  public static func recorded(in file: SafeTensorsFile) throws -> DataOptions? {
    let decoder = JSONDecoder()
    let options: DataOptions
    let source: String
    if let text = file.metadata["training"] {
      source = "\(file.path): __metadata__ 'training'"
      struct Training: Decodable { var data: DataOptions }
      do {
        options = try decoder.decode(Training.self, from: Data(text.utf8)).data
      } catch {
        throw DataOptionsError(source, "unreadable: \(decodingReason(error))")
      }
    } else if let text = file.metadata[Checkpoint.recipeKey] {
      source = "\(file.path): __metadata__ '\(Checkpoint.recipeKey)'"
      do {
        options = try decoder.decode(DataOptions.self, from: Data(text.utf8))
      } catch {
        throw DataOptionsError(source, "unreadable: \(decodingReason(error))")
      }
    } else {
      return nil
    }
    try options.validate(source: source)
    return options
  }
}

/// One short phrase for a JSON decoding error: the missing or mistyped key.
package func decodingReason(_ error: Error) -> String {
  guard let e = error as? DecodingError else { return "not valid JSON" }
  func path(_ c: [CodingKey]) -> String { c.map(\.stringValue).joined(separator: ".") }
  switch e {
  case .keyNotFound(let key, let ctx):
    return "no '\((ctx.codingPath + [key]).map(\.stringValue).joined(separator: "."))'"
  case .typeMismatch(_, let ctx): return "'\(path(ctx.codingPath))' has the wrong type"
  case .valueNotFound(_, let ctx): return "'\(path(ctx.codingPath))' is null"
  case .dataCorrupted(let ctx):
    return ctx.codingPath.isEmpty ? "not valid JSON" : "'\(path(ctx.codingPath))' is invalid"
  @unknown default: return "not valid JSON"
  }
}
