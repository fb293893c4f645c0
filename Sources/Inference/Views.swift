// The views of one input at inference (clips × crops), and the full test protocol a
// checkpoint records, read strictly.

import Datasets
import Foundation
import Models
import SafeTensors

/// The views of one input: `clips` evenly spaced clips (test-mode sampling), each cut into
/// `crops` crops (1: centre, 3: along the long side); their outputs are averaged.
public struct Views: Equatable, Sendable {
  public var clips: Int
  public var crops: Int
  public init(clips: Int = 1, crops: Int = 1) {
    self.clips = clips
    self.crops = crops
  }
  /// `V = clips · crops`.
  public var count: Int { clips * crops }

  /// `12 clips × 1 crop`.
  public var summary: String {
    "\(clips) clip\(clips == 1 ? "" : "s") × \(crops) crop\(crops == 1 ? "" : "s")"
  }

  /// The full test protocol's views a checkpoint records (`test_views`), validated: clips in
  /// 1…`InferenceLimits.maxClips`, crops 1 or 3; nil when absent.
  /// - Throws: `DataOptionsError` naming the file and key when the entry does not parse or is
  ///   out of bounds.
  public static func recorded(in file: SafeTensorsFile) throws -> Views? {
    guard let text = file.metadata[Checkpoint.viewsKey] else { return nil }
    struct Recorded: Decodable {
      var clips: Int
      var crops: Int
    }
    let source = "\(file.path): __metadata__ '\(Checkpoint.viewsKey)'"
    let views: Recorded
    do {
      views = try JSONDecoder().decode(Recorded.self, from: Data(text.utf8))
    } catch {
      throw DataOptionsError(source, "unreadable: \(decodingReason(error))")
    }
    guard (1...InferenceLimits.maxClips).contains(views.clips), views.crops == 1 || views.crops == 3
    else {
      throw DataOptionsError(
        source,
        "clips \(views.clips), crops \(views.crops): clips must be in 1…\(InferenceLimits.maxClips), crops 1 or 3"
      )
    }
    return Views(clips: views.clips, crops: views.crops)
  }
}
