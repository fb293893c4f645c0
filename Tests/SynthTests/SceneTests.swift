import Foundation
import XCTest

@testable import Synth
import VideoIO

/// The synthetic motion classes: each moves one thing, and a single frame cannot tell them
/// apart.
final class SceneTests: XCTestCase {
  let size = 32
  let frames = 16
  var offsets: [Double] { (0..<frames).map { Double($0) - Double(frames - 1) / 2 } }

  func scene(_ motion: MotionClass, _ index: Int) -> Scene {
    var r = SplitMix64(seed: 0xC0FFEE &+ UInt64(index) &* 0x9E37_79B9)
    return Scene.random(
      shape: ShapeClass.allCases[index % ShapeClass.allCases.count], motion: motion, size: size,
      frames: frames,
      random: &r)
  }

  /// Over the clip, a move changes only x or y (in its direction), a rotation only the
  /// angle, grow and shrink only the radius.
  func testEachMotionChangesOnlyItsAxis() {
    for motion in MotionClass.allCases {
      for i in 0..<20 {
        let poses = offsets.map { scene(motion, i).pose(at: $0) }
        let (first, last) = (poses.first!, poses.last!)
        let change = [
          last.x - first.x, last.y - first.y, log(last.radius / first.radius),
          last.angle - first.angle,
        ]
        let expected: [Double] =
          switch motion {
          case .moveLeft: [-1, 0, 0, 0]
          case .moveRight: [1, 0, 0, 0]
          case .moveUp: [0, -1, 0, 0]
          case .moveDown: [0, 1, 0, 0]
          case .rotateClockwise: [0, 0, 0, 1]
          case .rotateAnticlockwise: [0, 0, 0, -1]
          case .grow: [0, 0, 1, 0]
          case .shrink: [0, 0, -1, 0]
          }
        for (c, e) in zip(change, expected) {
          if e == 0 {
            XCTAssertEqual(c, 0, accuracy: 1e-12, "\(motion.name) \(change)")
          } else {
            XCTAssertGreaterThan(c * e, 0.3, "\(motion.name) \(change)")
          }
        }
      }
    }
  }

  /// Pooled over clips and frames, x, y and the log radius of every class follow one
  /// distribution: the two-sample Kolmogorov–Smirnov distance between any class and the rest
  /// stays below 0.05 (1200 clips of 16 frames per class; a class whose frames differ in
  /// size or position, as grow's radii from a fixed-size rotation's, gives 0.2 or more).
  func testSingleFramesDoNotRevealTheMotion() {
    var pooled: [[[Double]]] = []  // [class][x, y, log r][samples]
    for motion in MotionClass.allCases {
      var values: [[Double]] = [[], [], []]
      for i in 0..<1200 {
        let s = scene(motion, i)
        for u in offsets {
          let p = s.pose(at: u)
          values[0].append(p.x)
          values[1].append(p.y)
          values[2].append(log(p.radius))
        }
      }
      pooled.append(values)
    }
    for (k, motion) in MotionClass.allCases.enumerated() {
      for (axis, name) in ["x", "y", "log radius"].enumerated() {
        let rest = pooled.indices.filter { $0 != k }.flatMap { pooled[$0][axis] }
        let d = ksDistance(pooled[k][axis], rest)
        XCTAssertLessThan(
          d, 0.05, "\(motion.name): \(name) differs from the other classes (KS \(d))")
      }
    }
  }

  /// The largest gap between the empirical distribution functions of `a` and `b`.
  func ksDistance(_ a: [Double], _ b: [Double]) -> Double {
    let (x, y) = (a.sorted(), b.sorted())
    var (i, j, d) = (0, 0, 0.0)
    while i < x.count && j < y.count {
      let v = min(x[i], y[j])
      while i < x.count && x[i] <= v { i += 1 }
      while j < y.count && y[j] <= v { j += 1 }
      d = max(d, abs(Double(i) / Double(x.count) - Double(j) / Double(y.count)))
    }
    return d
  }
}
