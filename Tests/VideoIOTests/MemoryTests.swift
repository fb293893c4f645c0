import Foundation
import VideoIO
import XCTest
import _TestSupport

/// Decoding a long file holds one frame at a time: resident memory after reading 4N frames
/// is not larger than after N by anything like the frames' size.
final class MemoryTests: TemporaryFolderTestCase {
  private func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else {
      return 0
    }
    let fields = text.split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
  }

  func testMemoryDoesNotGrowWithLength() throws {
    #if !os(Linux)
      throw XCTSkip("reads /proc")
    #endif
    let (w, h, n) = (160, 120, 150)
    let file = try writePatternVideo(
      "long.avi", frames: 4 * n, width: w, height: h, codec: .mpeg4, keyframeInterval: 50)
    func decode(_ count: Int) throws -> Int {
      let reader = try VideoReader(path: file, threads: 2)
      let frames = try reader.readFrames(Array(0..<count).filter { $0 % 50 == 49 })
      XCTAssertEqual(frames.map(Pattern.number), Array(0..<count).filter { $0 % 50 == 49 })
      _ = try reader.sampleClips(
        sampler: ClipSampler(clipLength: count / 10, frameInterval: 10),
        transform: ClipTransform(shortSide: 32, crop: .none))
      return residentBytes()
    }
    _ = try decode(n)  // warm up allocator pools and codec tables
    let small = try decode(n)
    let large = try decode(4 * n)
    // 3N more decoded frames would be 3 · 150 · 160·120·1.5 bytes ≈ 13 MB if kept.
    XCTAssertLessThan(large - small, 6_000_000, "resident set grew by \(large - small) bytes")
  }
}
