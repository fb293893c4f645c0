import Foundation
import VideoIO
import XCTest
import _TestSupport

#if canImport(Glibc)
  import Glibc
#endif

/// Video files whose metadata is hostile: each reads correctly or ends in a `VideoError` naming
/// the file, never a trap or a hang. The committed fixtures are written by
/// `Tools/make_hostile_video_fixtures.py`.
final class HostileVideoTests: TemporaryFolderTestCase {
  private func fixture(_ name: String, _ ext: String) throws -> String {
    try TestFixture.path(
      name + "." + ext, in: .module, writtenBy: "Tools/make_hostile_video_fixtures.py")
  }

  /// Timestamps from about −2^63 to 2^63 (16 frames in two Matroska clusters): their span does
  /// not fit in Int64, so the frames are numbered as decoded, and times stay finite.
  func testTimestampSpanBeyondInt64ReadsInDecodeOrder() throws {
    let reader = try VideoReader(path: try fixture("timestamps_overflow", "mkv"))
    XCTAssertEqual(reader.frameCount, 16)
    XCTAssertTrue(reader.info.duration.isFinite && reader.info.duration >= 0, "\(reader.info)")
    for n in 0..<reader.frameCount { XCTAssertTrue(reader.time(ofFrame: n).isFinite) }
    let frames = try reader.readFrames([15, 0, 7])
    XCTAssertEqual(frames.count, 3)
    XCTAssertTrue(frames.allSatisfy { $0.width == 32 && $0.height == 32 })
  }

  /// A 68-byte PNG whose header claims 2^31 − 1 pixels a side: FFmpeg reports no size, and the
  /// reader refuses it at open (clip geometry would otherwise divide by the zero width).
  func testHeaderWithoutAFrameSizeIsAnError() throws {
    let file = try fixture("size_lie", "png")
    XCTAssertThrowsError(try VideoReader(path: file)) { error in
      XCTAssertEqual((error as? VideoError)?.operation, "no frame size", "\(error)")
      XCTAssertTrue("\(error)".hasPrefix(file + ": "), "\(error)")
    }
  }

  /// A 2×20000 video (a raw YUV4MPEG stream written here, 60 kB a frame): resized to a short
  /// side of 224 its frames would be 224×2240000 (1.5 GB as RGB; 0.5 TB at 4096), so clips
  /// are refused with the sizes named, while frames at their own size still read.
  func testExtremeAspectRatioIsRefusedBeforeResizing() throws {
    let file = path("tall.y4m")
    var bytes = Data("YUV4MPEG2 W2 H20000 F25:1 Ip A1:1 C420jpeg\nFRAME\n".utf8)
    bytes.append(Data(repeating: 128, count: 2 * 20000 + 2 * 10000))
    try bytes.write(to: URL(fileURLWithPath: file))
    let reader = try VideoReader(path: file)
    XCTAssertEqual([reader.info.width, reader.info.height], [2, 20000])
    let sampler = ClipSampler(clipLength: 2)
    XCTAssertThrowsError(try reader.sampleClips(sampler: sampler, transform: .test(size: 224))) {
      XCTAssertTrue("\($0)".contains("224×2240000, more than 67108864 pixels"), "\($0)")
      XCTAssertTrue("\($0)".hasPrefix(file + ": "), "\($0)")
    }
    let small = try reader.sampleClips(sampler: sampler, transform: .test(size: 16))
    XCTAssertEqual(small.shape, [1, 3, 2, 16, 16])
    XCTAssertEqual(try reader.readFrames([0]).first?.height, 20000)
  }

  /// A FIFO is refused before it is opened (opening one blocks until a writer comes).
  func testFIFOIsRefusedWithoutBlocking() throws {
    let fifo = path("stream.mkv")
    XCTAssertEqual(mkfifo(fifo, 0o600), 0)
    let start = Date()
    XCTAssertThrowsError(try VideoReader(path: fifo)) { error in
      XCTAssertTrue("\(error)".contains("FIFO"), "\(error)")
      XCTAssertTrue("\(error)".hasPrefix(fifo + ": "), "\(error)")
    }
    XCTAssertLessThan(Date().timeIntervalSince(start), 5)
  }
}
