import Foundation
import VideoIO
import XCTest
import _TestSupport

/// Files that are not readable videos give a `VideoError` naming the file, never a crash.
final class BadInputTests: TemporaryFolderTestCase {
  private func assertFails(_ file: String, _ words: String? = nil, line: UInt = #line) {
    XCTAssertThrowsError(try VideoReader(path: file), line: line) { error in
      guard let e = error as? VideoError else {
        return XCTFail("not a VideoError: \(error)", line: line)
      }
      XCTAssertTrue(e.description.hasPrefix(file + ": "), e.description, line: line)
      XCTAssertFalse(e.description.contains("\n"), line: line)
      if let words { XCTAssertTrue(e.description.contains(words), e.description, line: line) }
    }
  }

  // Every kind of bad file (missing, empty, random bytes, truncated, audio only, text) is
  // checked through the command line in CLITests; here, the library's error itself.
  func testMissingFile() {
    assertFails(path("missing.mp4"), "cannot open: No such file or directory")
  }

  func testTruncatedMatroskaKeepsTheFramesItHas() throws {
    // Matroska has no index up front: a cut file still reads, with the frames it holds.
    let file = try writePatternVideo("whole.mkv", frames: 30, codec: .ffv1)
    let data = try Data(contentsOf: URL(fileURLWithPath: file))
    try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path("half.mkv")))
    let reader = try VideoReader(path: path("half.mkv"))
    XCTAssertGreaterThan(reader.frameCount, 5)
    XCTAssertLessThan(reader.frameCount, 30)
    let last = reader.frameCount - 1
    XCTAssertEqual(try reader.readFrames([last, 0]).map(Pattern.number), [last, 0])
  }

  func testCorruptBytesInTheMiddle() throws {
    // Garbage over a stretch of packets: the frames before it are exact, every frame number
    // still yields a frame (a neighbour stands in for undecodable ones), nothing crashes.
    // (Matroska: its index is at the end, so the stretch hits frame data only.)
    let file = try writePatternVideo("whole.mkv", frames: 40, codec: .mpeg4, keyframeInterval: 10)
    var data = try Data(contentsOf: URL(fileURLWithPath: file))
    var random = SplitMix64(seed: 3)
    let start = data.count * 6 / 10
    for i in start..<(start + data.count / 20) { data[i] = UInt8(random.below(256)) }
    try data.write(to: URL(fileURLWithPath: path("corrupt.mkv")))
    let reader = try VideoReader(path: path("corrupt.mkv"))
    let numbers = Array(0..<reader.frameCount)
    let frames = try reader.readFrames(numbers)
    XCTAssertEqual(frames.count, numbers.count)
    XCTAssertEqual(frames.prefix(10).map(Pattern.number), Array(0..<10))
  }
}
