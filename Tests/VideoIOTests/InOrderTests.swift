import Foundation
import VideoIO
import XCTest
import _TestSupport

/// `VideoReader.forEachFrameInOrder`: one pass, every frame decoded once, the right frames.
final class InOrderTests: TemporaryFolderTestCase {
  /// Every wanted frame shows its own number; each frame is decoded exactly once.
  func testTimelineInOrderPassDecodesEachFrameOnce() throws {
    let cases: [(String, VideoWriter.Codec, Int)] = [
      ("a.mkv", .ffv1, 0), ("b.mp4", .mpeg4, 2), ("c.avi", .mpeg4, 0),
    ]
    for (name, codec, bFrames) in cases {
      let file = try writePatternVideo(
        name, frames: 37, codec: codec, keyframeInterval: 6, bFrames: bFrames)
      let reader = try VideoReader(path: file)
      XCTAssertEqual(reader.decodedFrameCount, 0, name)
      var seen: [Int] = []
      try reader.forEachFrameInOrder(wanted: { $0 % 3 != 1 }) { frame in
        XCTAssertEqual(Pattern.number(try frame.rgb()), frame.number, name)
        seen.append(frame.number)
      }
      XCTAssertEqual(seen, (0..<37).filter { $0 % 3 != 1 }, name)
      XCTAssertEqual(reader.decodedFrameCount, 37, "\(name): each frame decoded exactly once")
      // A second pass decodes everything once more (the reader goes back to the start).
      try reader.forEachFrameInOrder(wanted: { $0 == 36 }) {
        XCTAssertEqual(Pattern.number(try $0.rgb()), 36)
      }
      XCTAssertEqual(reader.decodedFrameCount, 74, name)
    }
  }

  /// `planar` gives the values `readClips` gives for the same frame and transform.
  func testTimelinePlanarMatchesReadClips() throws {
    let file = try writePatternVideo("p.mkv", frames: 6, width: 80, height: 48, codec: .ffv1)
    let reader = try VideoReader(path: file)
    let transform = ClipTransform.test(size: 32)
    var random = SplitMix64(seed: 0)
    let batch = try reader.readClips([[4]], transform: transform, random: &random)
    var planar = [Float](repeating: -9, count: 3 * 32 * 32)
    try reader.forEachFrameInOrder(wanted: { $0 == 4 }) { frame in
      try planar.withUnsafeMutableBufferPointer { b in
        guard let base = b.baseAddress else { return }
        try frame.planar(transform, into: base)
      }
    }
    XCTAssertEqual(planar, batch.data)
  }

  /// A turned stream (display matrix 90°) through the reused buffers: every frame's `planar`
  /// equals `readClips` of that frame, for one transform and then another (the reader's scratch
  /// made again), and `rgb` turns each frame as `readFrames` does.
  func testTurnedFramesReuseBuffersAndMatchReadClips() throws {
    let file = path("turned.mp4")
    let writer = try VideoWriter(
      path: file, width: 80, height: 48, codec: .mpeg4, quality: 2, keyframeInterval: 4,
      rotation: 90)
    for i in 0..<9 { try writer.append(Pattern.image(i, width: 80, height: 48)) }
    try writer.finish()
    let reader = try VideoReader(path: file)
    XCTAssertEqual([reader.info.width, reader.info.height], [48, 80])
    for transform in [ClipTransform.test(size: 32), ClipTransform.test(size: 24, threeCrop: true)] {
      let side = transform.outputSize(width: 48, height: 80).width
      var expected: [[Float]] = []
      var expectedRGB: [RGBImage] = []
      for n in 0..<reader.frameCount {
        var random = SplitMix64(seed: 0)
        let views = try reader.readClips([[n]], transform: transform, random: &random).data
        expected.append(Array(views[0..<(3 * side * side)]))  // the first crop
        expectedRGB += try reader.readFrames([n], width: 30, height: 50)
      }
      var planar = [Float](repeating: -9, count: 3 * side * side)
      try reader.forEachFrameInOrder(wanted: { _ in true }) { frame in
        try planar.withUnsafeMutableBufferPointer { b in
          guard let base = b.baseAddress else { return }
          try frame.planar(transform, into: base)
        }
        XCTAssertEqual(planar, expected[frame.number], "frame \(frame.number), size \(side)")
        XCTAssertEqual(try frame.rgb(width: 30, height: 50), expectedRGB[frame.number])
      }
    }
  }
}
