import Foundation

/// The shape × motion task: each class is one (shape, motion) pair of a grid, so a clip's
/// class needs both what moves (visible in any frame, what an image model knows) and how it
/// moves (visible only across frames). Clips whose pair is not in the grid are left out.
///
/// Lists are drawn from the rendered clips of `SynthDataset` (their shapes are random, their
/// motions balanced), at most `trainPerClass` training clips per class in clip order (few, as
/// in real action datasets) and every validation clip of a class.
public struct ShapeMotionTask: Sendable, Equatable {
  /// The grid's shapes and motions; class `s · motions.count + m` is (shapes[s], motions[m]).
  public var shapes: [ShapeClass]
  public var motions: [MotionClass]
  /// The most training clips listed per class (tens).
  public var trainPerClass: Int

  /// 3 shapes × 4 motions = 12 classes, at most 24 training clips each. The motions are the
  /// four moves: a horizontal mirror swaps two of them (`flipMap`).
  public static let standard = ShapeMotionTask(
    shapes: [.circle, .triangle, .star], motions: [.moveLeft, .moveRight, .moveUp, .moveDown],
    trainPerClass: 24)

  public init(shapes: [ShapeClass], motions: [MotionClass], trainPerClass: Int) {
    self.shapes = shapes
    self.motions = motions
    self.trainPerClass = trainPerClass
  }

  /// Class names in label order: `shape_motion`, e.g. `circle_move_left`.
  public var labelNames: [String] {
    shapes.flatMap { s in motions.map { "\(s.name)_\($0.name)" } }
  }

  /// The label of (shape, motion), or nil when the pair is not a class.
  public func label(shape: ShapeClass, motion: MotionClass) -> Int? {
    guard let s = shapes.firstIndex(of: shape), let m = motions.firstIndex(of: motion) else {
      return nil
    }
    return s * motions.count + m
  }

  /// The classes a horizontal mirror swaps, as `--flip-map` takes them (`a=b,c=d`): for every
  /// shape, the mirrored motions of `MotionClass.mirrorPairs` that are both in the grid.
  public var flipMap: String {
    let mirror: [(MotionClass, MotionClass)] = [
      (.moveLeft, .moveRight), (.rotateClockwise, .rotateAnticlockwise),
    ]
    return shapes.flatMap { s in
      mirror.filter { motions.contains($0.0) && motions.contains($0.1) }.map {
        "\(s.name)_\($0.0.name)=\(s.name)_\($0.1.name)"
      }
    }.joined(separator: ",")
  }

  /// `path label` lines for the clips of one split whose pair is a class: `clips[i]` is clip
  /// `i`'s path and scene; at most `limit` per class (nil: all), in clip order.
  func listText(_ clips: [(path: String, scene: Scene)], limit: Int?) -> String {
    var taken = [Int](repeating: 0, count: shapes.count * motions.count)
    var text = ""
    for (path, scene) in clips {
      guard let k = label(shape: scene.shape, motion: scene.motion) else { continue }
      if let limit, taken[k] >= limit { continue }
      taken[k] += 1
      text += "\(path) \(k)\n"
    }
    return text
  }
}
