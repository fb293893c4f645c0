import Foundation
import VideoIO
import XCTest
import _TestSupport

/// JPEG stills of realistic size decode: FFmpeg's image2 demuxer takes a JPEG whose end lies past
/// the 2 KB that format probing reads (a PNG or a tiny JPEG gets a `_pipe` demuxer), and its
/// seek leaves the file at the end, so a reader that only seeks decoded nothing.
final class StillImageTests: TemporaryFolderTestCase {
  /// The number the committed fixtures show as a 4×4 block pattern (see `Pattern`).
  private let fixtureNumber = 0xB6E5

  private func fixture(_ name: String) throws -> String {
    try TestFixture.path(name + ".jpg", in: .module, writtenBy: "PIL")
  }

  /// A pattern image with seeded noise, so that the JPEG is larger than the first probe read.
  private func noisyPattern(_ number: Int, width: Int, height: Int, seed: UInt64) -> RGBImage {
    var image = Pattern.image(number, width: width, height: height)
    var random = SplitMix64(seed: seed)
    for i in image.pixels.indices {
      let v = Int(image.pixels[i]) + random.below(25) - 12
      image.pixels[i] = UInt8(max(0, min(255, v)))
    }
    return image
  }

  private func fileSize(_ file: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: file)
    return (attributes[.size] as? NSNumber)?.intValue ?? 0
  }

  /// JPEGs written by PIL (baseline and progressive, 4:2:0 and 4:4:4, 224 and 320×240 px).
  func testJPEGsFromAnotherEncoderDecode() throws {
    let sizes = [
      "pil_224x224_baseline_420": (224, 224), "pil_224x224_progressive_444": (224, 224),
      "pil_320x240_baseline_444": (320, 240), "pil_320x240_progressive_420": (320, 240),
    ]
    for (name, size) in sizes.sorted(by: { $0.key < $1.key }) {
      let reader = try VideoReader(path: try fixture(name))
      XCTAssertEqual(reader.frameCount, 1, name)
      XCTAssertEqual(reader.info.width, size.0, name)
      XCTAssertEqual(reader.info.height, size.1, name)
      let frames = try reader.readFrames([0, 0])
      XCTAssertEqual(frames.count, 2, name)
      XCTAssertEqual(frames.first.map(Pattern.number), fixtureNumber, name)
      // A second read (a seek back to the start) decodes too.
      XCTAssertEqual(
        try reader.readFrames([0], width: 56, height: 56).map(Pattern.number), [fixtureNumber], name
      )
    }
  }

  /// JPEGs this package writes, as `vcoswin sample --sheet x.jpg` does.
  func testJPEGsWrittenByThePackageDecode() throws {
    for (width, height) in [(224, 224), (200, 112), (331, 257)] {
      let file = path("still-\(width)x\(height).jpg")
      let number = 0x5A3C ^ width
      try ImageFile.write(noisyPattern(number, width: width, height: height, seed: 1), to: file)
      XCTAssertGreaterThan(try fileSize(file), 2048, "must not fit FFmpeg's first probe read")
      let reader = try VideoReader(path: file)
      XCTAssertEqual(reader.info.width, width)
      XCTAssertEqual(reader.info.height, height)
      XCTAssertEqual(try reader.readFrames([0]).map(Pattern.number), [number], file)
    }

    // A contact sheet of sampled clips, saved as JPEG and read back.
    let video = try writePatternVideo("v.mkv", frames: 12, width: 112, height: 96, codec: .ffv1)
    let batch = try VideoReader(path: video).sampleClips(
      sampler: ClipSampler(clipLength: 4, frameInterval: 2, numClips: 2),
      transform: ClipTransform(shortSide: 96, crop: .three(96)))
    let sheet = path("sheet.jpg")
    try ImageFile.write(ContactSheet.render(rows: ContactSheet.frames(of: batch)), to: sheet)
    XCTAssertGreaterThan(try fileSize(sheet), 2048)
    let reader = try VideoReader(path: sheet)
    XCTAssertEqual(try reader.readFrames([0]).first?.width, reader.info.width)
  }

  /// Image lists (pretraining) read JPEGs through the same sampler and transforms.
  func testListOfJPEGsSamplesLikeImagePretraining() throws {
    var lines: [String] = []
    for i in 0..<3 {
      let name = "img \(i).jpg"
      try ImageFile.write(
        noisyPattern(0x1111 * (i + 1), width: 256, height: 192, seed: UInt64(i)), to: path(name))
      lines.append("\(name) \(i)")
    }
    try lines.joined(separator: "\n").write(
      toFile: path("images.txt"), atomically: true, encoding: .utf8)
    let list = try ClipList(contentsOf: path("images.txt"), classCount: 3)
    for entry in list.entries {
      let reader = try VideoReader(path: entry.path)
      let batch = try reader.sampleClips(
        sampler: ClipSampler(clipLength: 1, mode: .train),
        transform: ClipTransform(shortSide: 96, crop: .center(96)), seed: 5)
      XCTAssertEqual(batch.shape, [1, 3, 1, 96, 96])
      XCTAssertEqual(Pattern.number(batch, view: 0, t: 0), 0x1111 * (entry.label + 1), entry.path)
    }
  }
}
