import Datasets
import Foundation
import Training

/// The clip length, frame interval and crop size a fine-tuning run trains at, and where each
/// came from: the option when given, else what the `--init` checkpoint records (an import's
/// evaluation recipe, or the data options of the run that trained it), else the default.
struct FinetuneDataRecipe: Equatable {
  /// Defaults when neither an option nor the checkpoint gives a value.
  static let defaultClipLength = 8
  static let defaultFrameInterval = 2
  static let defaultSize = 64

  var clipLength: Int
  var frameInterval: Int
  var size: Int
  /// `recipe: …`: each value and its source, for people.
  var line: String

  /// - Parameters:
  ///   - clipLength, frameInterval, size: `--clip-len`, `--interval`, `--size` (nil: not given).
  ///   - recorded: the data options `checkpoint` records (nil: none).
  init(
    clipLength: Int?, frameInterval: Int?, size: Int?, recorded: DataOptions?, checkpoint: String
  ) {
    var fromOptions: [String] = []
    var fromCheckpoint: [String] = []
    var byDefault: [String] = []
    func pick(_ name: String, _ option: String, _ given: Int?, _ kept: Int?, _ fallback: Int)
      -> Int
    {
      if let given {
        fromOptions.append("\(name) \(given) (\(option))")
        return given
      }
      if let kept {
        fromCheckpoint.append("\(name) \(kept)")
        return kept
      }
      byDefault.append("\(name) \(fallback)")
      return fallback
    }
    self.clipLength = pick(
      "clip length", "--clip-len", clipLength, recorded?.clipLength, Self.defaultClipLength)
    self.frameInterval = pick(
      "interval", "--interval", frameInterval, recorded?.frameInterval, Self.defaultFrameInterval)
    self.size = pick("size", "--size", size, recorded?.size, Self.defaultSize)
    var parts: [String] = []
    if !fromCheckpoint.isEmpty {
      parts.append("\(Self.list(fromCheckpoint)) recorded in \(checkpoint)")
    }
    parts += fromOptions
    if !byDefault.isEmpty {
      parts.append(
        "\(Self.list(byDefault)) by default"
          + (recorded == nil ? " (\(checkpoint) records no recipe)" : ""))
    }
    line = "recipe: " + parts.joined(separator: "; ")
  }

  /// `a`, `a and b`, `a, b and c`.
  private static func list(_ items: [String]) -> String {
    items.count < 2
      ? items.joined()
      : items.dropLast().joined(separator: ", ") + " and " + items[items.count - 1]
  }
}
