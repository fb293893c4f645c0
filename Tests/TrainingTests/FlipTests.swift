import Compute
import Foundation
import Synth
import XCTest
import _TestSupport

@testable import Datasets
@testable import Training

/// Horizontal flips with a label map: parsing, the mirror itself, and training samples.
final class FlipTests: XCTestCase {
  let motions = MotionClass.allCases.map(\.name)

  func testLabelMapFromNamesAndNumbers() throws {
    XCTAssertEqual(
      try flipLabelMap(MotionClass.mirrorPairs, labels: motions), [1, 0, 2, 3, 5, 4, 6, 7])
    XCTAssertEqual(try flipLabelMap(" 2 = 3 ", labels: motions), [0, 1, 3, 2, 4, 5, 6, 7])
  }

  func testBadLabelMapsNameThePair() {
    let noPair =
      " (a map must name at least one pair; leave the option out, or use --flip, to flip without one)"
    for (text, expected) in [
      (
        "move_left=sideways",
        "--flip-map: 'move_left=sideways': 'sideways' is not a class name or number below 8"
      ),
      ("move_left", "--flip-map: 'move_left' is not of the form a=b"),
      ("grow=grow", "--flip-map: 'grow=grow' pairs a class with itself or uses a class twice"),
      ("0=1,1=2", "--flip-map: '1=2' pairs a class with itself or uses a class twice"),
      ("0=8", "--flip-map: '0=8': '8' is not a class name or number below 8"),
      ("", "--flip-map: '' holds no pair a=b" + noPair),
      (",,,,", "--flip-map: ',,,,' holds no pair a=b" + noPair),
      (" , ", "--flip-map: ' , ' holds no pair a=b" + noPair),
      ("0=1,,2=3", "--flip-map: '0=1,,2=3' has an empty item between commas"),
      ("0=1,", "--flip-map: '0=1,' has an empty item between commas"),
    ] {
      XCTAssertThrowsError(try flipLabelMap(text, labels: motions), text) { error in
        XCTAssertEqual(String(describing: error), expected)
      }
    }
  }

  /// `flipRows` against a naive mirror `out[…, y, x] = in[…, y, W−1−x]`, odd and even widths.
  func testFlipRowsMirrorsEveryRow() {
    for width in [1, 4, 7] {
      let rows = 6
      let input = (0..<(rows * width)).map { Float($0) }  // [rows, W]
      var flipped = input
      flipRows(&flipped, width: width)
      for y in 0..<rows {
        for x in 0..<width {
          XCTAssertEqual(flipped[y * width + x], input[y * width + width - 1 - x])
        }
      }
      flipRows(&flipped, width: width)
      XCTAssertEqual(flipped, input)
    }
  }

  /// A training sample with flips on is either the sample without flips, label kept, or its
  /// mirror with the label mapped; over a few seeds both happen.
  func testTrainingSamplesFlipWithTheirLabels() throws {
    let folder = try TemporaryFolder("flip")
    defer { folder.remove() }
    let dir = folder.url
    var synth = SynthDataset()
    synth.trainCount = 2
    synth.valCount = 1
    synth.frames = 4
    synth.size = 16
    try synth.render(to: dir)
    let list = dir.appendingPathComponent("train.txt").path
    var options = DataOptions(kind: .video, clipLength: 2, frameInterval: 1, size: 16, minArea: 0.6)
    let plain = try ListDataset(listPath: list, labels: motions, options: options)
    options.flip = true
    options.flipLabels = try flipLabelMap(MotionClass.mirrorPairs, labels: motions)
    let flipping = try ListDataset(listPath: list, labels: motions, options: options)
    var seen = Set<Bool>()
    for seed in UInt64(0)..<12 {
      for i in 0..<2 {
        var r1 = SeededRandom(seed: seed)
        var r2 = SeededRandom(seed: seed)
        let a = try plain.trainingSample(i, rng: &r1)
        let b = try flipping.trainingSample(i, rng: &r2)
        XCTAssertEqual(a.label, i)  // clip i has motion class i: move_left, move_right
        var mirrored = a.values
        flipRows(&mirrored, width: 16)
        if b.values == a.values {
          XCTAssertEqual(b.label, a.label)
          seen.insert(false)
        } else {
          XCTAssertEqual(b.values, mirrored)
          XCTAssertEqual(b.label, 1 - i)
          seen.insert(true)
        }
      }
    }
    XCTAssertEqual(seen, [false, true])
  }
}
