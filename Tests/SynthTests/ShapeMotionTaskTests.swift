import Foundation
import XCTest

@testable import Synth
import VideoIO

/// The shape × motion task's classes, mirror pairs and lists.
final class ShapeMotionTaskTests: XCTestCase {
  func testClassesAreTheGridInShapeMajorOrder() {
    let task = ShapeMotionTask.standard
    XCTAssertEqual(task.labelNames.count, 12)
    XCTAssertEqual(task.labelNames[0], "circle_move_left")
    XCTAssertEqual(task.labelNames[5], "triangle_move_right")
    XCTAssertEqual(task.label(shape: .star, motion: .moveDown), 11)
    XCTAssertNil(task.label(shape: .square, motion: .moveLeft))
    XCTAssertNil(task.label(shape: .circle, motion: .grow))
    XCTAssertEqual(
      task.flipMap,
      "circle_move_left=circle_move_right,triangle_move_left=triangle_move_right,"
        + "star_move_left=star_move_right")
  }

  /// Only clips of the grid's pairs are listed, at most `limit` per class, in clip order.
  func testListsKeepTheGridsClipsUpToTheLimit() {
    var task = ShapeMotionTask.standard
    task.trainPerClass = 2
    var r = SplitMix64(seed: 1)
    let pairs: [(ShapeClass, MotionClass)] = [
      (.circle, .moveLeft), (.square, .moveLeft), (.circle, .moveLeft), (.circle, .grow),
      (.circle, .moveLeft), (.star, .moveUp),
    ]
    let clips = pairs.enumerated().map { i, p in
      (
        path: "train/\(i).mkv",
        scene: Scene.random(shape: p.0, motion: p.1, size: 16, frames: 2, random: &r)
      )
    }
    XCTAssertEqual(
      task.listText(clips, limit: task.trainPerClass),
      "train/0.mkv 0\ntrain/2.mkv 0\ntrain/5.mkv 10\n")
    XCTAssertEqual(
      task.listText(clips, limit: nil),
      "train/0.mkv 0\ntrain/2.mkv 0\ntrain/4.mkv 0\ntrain/5.mkv 10\n")
  }
}
