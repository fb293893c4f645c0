import Foundation
import XCTest
import _TestSupport

@testable import VideoIO

/// Videos with a display matrix (portrait phone recordings) are read as displayed: turned
/// and mirrored as `ffmpeg` does by default, with width and height swapped for 90° and 270°.
final class RotationTests: TemporaryFolderTestCase {
  /// An asymmetric picture: no turn or mirror of it equals another.
  private let source = Pattern.image(0x4B1D, width: 64, height: 48)

  /// `image` turned `clockwise` degrees (a multiple of 90), then mirrored left–right.
  private func turned(_ image: RGBImage, clockwise: Int, mirrored: Bool = false) -> RGBImage {
    let quarter = ((clockwise / 90) % 4 + 4) % 4
    let (w, h) = (image.width, image.height)
    let (ow, oh) = quarter % 2 == 1 ? (h, w) : (w, h)
    var out = RGBImage(width: ow, height: oh)
    for y in 0..<oh {
      for x in 0..<ow {
        let xm = mirrored ? ow - 1 - x : x
        switch quarter {
        case 1: out[x, y] = image[y, h - 1 - xm]
        case 2: out[x, y] = image[w - 1 - xm, h - 1 - y]
        case 3: out[x, y] = image[w - 1 - y, xm]
        default: out[x, y] = image[xm, y]
        }
      }
    }
    return out
  }

  private func crop(_ image: RGBImage, x: Int, y: Int, width: Int, height: Int) -> RGBImage {
    var out = RGBImage(width: width, height: height)
    for j in 0..<height {
      for i in 0..<width { out[i, j] = image[x + i, y + j] }
    }
    return out
  }

  /// Mean absolute difference per channel value, 0…255 (infinite when the sizes differ).
  private func difference(_ a: RGBImage, _ b: RGBImage) -> Double {
    guard a.width == b.width, a.height == b.height else { return .infinity }
    let total = zip(a.pixels, b.pixels).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }
    return Double(total) / Double(a.pixels.count)
  }

  private func writeTurnedVideo(rotation: Int, mirrored: Bool) throws -> String {
    let file = path("turned-\(rotation)-\(mirrored).mp4")
    let writer = try VideoWriter(
      path: file, width: source.width, height: source.height, codec: .mpeg4, quality: 2,
      rotation: rotation, mirrored: mirrored)
    for _ in 0..<3 { try writer.append(source) }
    try writer.finish()
    return file
  }

  private func assertUpright(rotation: Int, mirrored: Bool, line: UInt = #line) throws {
    let file = try writeTurnedVideo(rotation: rotation, mirrored: mirrored)
    let reader = try VideoReader(path: file)
    let expected = turned(source, clockwise: rotation, mirrored: mirrored)
    XCTAssertEqual(reader.info.width, expected.width, "width", line: line)
    XCTAssertEqual(reader.info.height, expected.height, "height", line: line)
    XCTAssertEqual(reader.info.rotation, rotation % 360, "rotation", line: line)

    // Whole frames: close to the expected picture (codec tolerance), far from every other
    // turn or mirror of it.
    for frame in try reader.readFrames([2, 0]) {
      XCTAssertLessThan(difference(frame, expected), 6, "upright", line: line)
      for other in [0, 90, 180, 270] {
        for m in [false, true] {
          let wrong = turned(source, clockwise: other, mirrored: m)
          if wrong == expected { continue }
          XCTAssertGreaterThan(difference(frame, wrong), 40, "\(other)° \(m)", line: line)
        }
      }
    }

    // Three crops along the displayed long side (regions map through the turn), in
    // mmaction2's order: start, end, centre.
    let side = min(expected.width, expected.height)
    let batch = try reader.sampleClips(
      sampler: ClipSampler(clipLength: 2, frameInterval: 1),
      transform: ClipTransform(crop: .three(side)))
    let views = ContactSheet.frames(of: batch)
    let slack = max(expected.width, expected.height) - side
    for (k, offset) in [0, slack, slack / 2].enumerated() {
      let tall = expected.height > expected.width
      let want = crop(
        expected, x: tall ? 0 : offset, y: tall ? offset : 0, width: side, height: side)
      XCTAssertLessThan(difference(views[k][0], want), 6, "crop \(k)", line: line)
    }
  }

  func testRotated90ReadsUprightWithSwappedSize() throws {
    try assertUpright(rotation: 90, mirrored: false)
  }

  func testRotated270ReadsUprightWithSwappedSize() throws {
    try assertUpright(rotation: 270, mirrored: false)
  }

  func testRotated180AndMirroredMatrices() throws {
    try assertUpright(rotation: 180, mirrored: false)
    try assertUpright(rotation: 90, mirrored: true)
    try assertUpright(rotation: 270, mirrored: true)
    try assertUpright(rotation: 0, mirrored: true)
  }

  /// The matrices phones write, as FFmpeg's MP4 demuxer gives them (16.16 fixed point, the
  /// `tkhd` matrix row by row): checked literally, so that a writer and a reader that agreed
  /// on a wrong sign could not pass the tests above.
  func testPhoneMatricesTurnAsPlayersDo() {
    let one: Int32 = 1 << 16
    func orientation(_ a: Int32, _ b: Int32, _ c: Int32, _ d: Int32) -> DisplayOrientation {
      let matrix: [Int32] = [a, b, 0, c, d, 0, 0, 0, 1 << 30]
      return matrix.withUnsafeBufferPointer { DisplayOrientation(matrix: $0.baseAddress!) }
    }
    // Upright portrait (ffprobe: "rotation of -90.00 degrees"): turn 90° clockwise.
    let portrait = orientation(0, one, -one, 0)
    XCTAssertEqual([portrait.rotation, portrait.transposed ? 1 : 0], [90, 1])
    XCTAssertFalse(portrait.mirrored)
    XCTAssertEqual(orientation(0, -one, one, 0).rotation, 270)
    XCTAssertEqual(orientation(-one, 0, 0, -one).rotation, 180)
    XCTAssertEqual(orientation(one, 0, 0, one), .identity)
    // 45° is not a quarter turn: frames stay as stored.
    let h = Int32(46341)  // 2^16 / √2
    XCTAssertEqual(orientation(h, h, -h, h), .identity)
  }

  func testOddAngleIsNotApplied() throws {
    let file = path("odd.mp4")
    let writer = try VideoWriter(
      path: file, width: source.width, height: source.height, codec: .mpeg4, quality: 2,
      rotation: 45)
    try writer.append(source)
    try writer.finish()
    let reader = try VideoReader(path: file)
    XCTAssertEqual([reader.info.width, reader.info.height, reader.info.rotation], [64, 48, 0])
    XCTAssertLessThan(difference(try reader.readFrames([0])[0], source), 6)
  }

  func testNoMatrixReadsAsStored() throws {
    let file = try writeTurnedVideo(rotation: 0, mirrored: false)
    let reader = try VideoReader(path: file)
    XCTAssertEqual(reader.info.rotation, 0)
    XCTAssertEqual([reader.info.width, reader.info.height], [64, 48])
    XCTAssertLessThan(difference(try reader.readFrames([1])[0], source), 6)
  }
}
