import Foundation
import VideoIO
import XCTest

/// Files that are not readable videos give a `VideoError` naming the file, never a crash.
final class BadInputTests: TemporaryFolderTestCase {
  private func assertFails(_ file: String, _ words: String? = nil, line: UInt = #line) {
    XCTAssertThrowsError(try VideoReader(path: file), line: line) { error in
      guard let e = error as? VideoError else { return XCTFail("not a VideoError: \(error)", line: line) }
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
}
