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

  func testMissingEmptyRandomAndTextFiles() throws {
    assertFails(path("missing.mp4"), "No such file")
    FileManager.default.createFile(atPath: path("empty.mp4"), contents: Data())
    assertFails(path("empty.mp4"))
    var random = SplitMix64(seed: 1)
    let noise = Data((0..<5000).map { _ in UInt8(random.below(256)) })
    FileManager.default.createFile(atPath: path("noise.mp4"), contents: noise)
    assertFails(path("noise.mp4"))
    try "just some text\nnot a video\n".write(toFile: path("notes.txt"), atomically: true, encoding: .utf8)
    assertFails(path("notes.txt"))
  }

  func testTruncatedMP4() throws {
    let file = try writePatternVideo("whole.mp4", frames: 30, codec: .mpeg4)
    let data = try Data(contentsOf: URL(fileURLWithPath: file))
    try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path("half.mp4")))
    assertFails(path("half.mp4"))
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

  func testAudioOnlyFile() throws {
    try writeSilentWAV(path("sound.wav"))
    assertFails(path("sound.wav"), "no video stream")
  }

  /// A valid 8 kHz mono 16-bit PCM WAV file of 0.1 s of silence.
  func writeSilentWAV(_ file: String) throws {
    let samples = 800
    var d = Data()
    func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
    func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
    d.append(contentsOf: Array("RIFF".utf8)); u32(UInt32(36 + samples * 2))
    d.append(contentsOf: Array("WAVEfmt ".utf8)); u32(16); u16(1); u16(1); u32(8000); u32(16000)
    u16(2); u16(16)
    d.append(contentsOf: Array("data".utf8)); u32(UInt32(samples * 2))
    d.append(Data(count: samples * 2))
    try d.write(to: URL(fileURLWithPath: file))
  }
}
