import VideoIO
import XCTest
import _TestSupport

/// Crops, flips and normalisation read the right pixels: a lossless video whose pixel (x, y)
/// has red = x and green = y tells where every output value came from.
final class ClipTransformTests: TemporaryFolderTestCase {
  private func coordinateVideo(width: Int, height: Int, frames: Int = 3) throws -> VideoReader {
    let file = path("coords.mkv")
    let writer = try VideoWriter(path: file, width: width, height: height, codec: .ffv1)
    for t in 0..<frames {
      var image = RGBImage(width: width, height: height)
      for y in 0..<height {
        for x in 0..<width { image[x, y] = (UInt8(x), UInt8(y), UInt8(t * 10)) }
      }
      try writer.append(image)
    }
    try writer.finish()
    return try VideoReader(path: file)
  }

  /// Value of channel `c` at (view, t, y, x) of a batch.
  private func value(_ b: ClipBatch, _ view: Int, _ c: Int, _ t: Int, _ y: Int, _ x: Int) -> Float {
    let (T, H, W) = (b.frames, b.height, b.width)
    return b.data[(((view * 3 + c) * T + t) * H + y) * W + x]
  }

  func testCenterAndThreeCropsReadTheRightRegion() throws {
    let reader = try coordinateVideo(width: 100, height: 60)
    var random = SplitMix64(seed: 0)
    let center = try reader.readClips(
      [[0, 2]], transform: ClipTransform(crop: .center(40)), random: &random)
    XCTAssertEqual(center.shape, [1, 3, 2, 40, 40])
    // Left (100 − 40) / 2 = 30, top (60 − 40) / 2 = 10.
    XCTAssertEqual(value(center, 0, 0, 0, 5, 7) * 255, 37, accuracy: 1e-3)
    XCTAssertEqual(value(center, 0, 1, 1, 5, 7) * 255, 15, accuracy: 1e-3)
    XCTAssertEqual(value(center, 0, 2, 1, 0, 0) * 255, 20, accuracy: 1e-3)

    let three = try reader.readClips(
      [[1]], transform: ClipTransform(crop: .three(60)), random: &random)
    XCTAssertEqual(three.shape, [3, 3, 1, 60, 60])
    // mmaction2 order along the long side: start, end, centre.
    XCTAssertEqual((0..<3).map { value(three, $0, 0, 0, 0, 0) * 255 }, [0, 40, 20])
    XCTAssertEqual(three.indices, [[1], [1], [1]])
  }

  func testResizeShortSideKeepsAspectRatio() {
    let t = ClipTransform(shortSide: 224, crop: .none)
    XCTAssertEqual(t.resizedSize(width: 1280, height: 720).width, 398)  // 1280·224/720 = 398.2
    XCTAssertEqual(t.resizedSize(width: 175, height: 143).width, 274)  // 274.1
    XCTAssertEqual(t.resizedSize(width: 143, height: 175).height, 274)
    XCTAssertEqual(t.outputSize(width: 1280, height: 720).height, 224)
    XCTAssertEqual(
      ClipTransform(shortSide: 32, crop: .center(28)).outputSize(width: 64, height: 48).width, 28)
  }

  func testFlipAndNormalisation() throws {
    let reader = try coordinateVideo(width: 32, height: 16)
    let mean: [Float] = [0.5, 0.25, 0.125]
    let std: [Float] = [0.5, 2, 4]
    var flipped = 0
    for seed in 0..<16 {
      let batch = try reader.sampleClips(
        sampler: ClipSampler(clipLength: 1),
        transform: ClipTransform(crop: .none, randomFlip: true, mean: mean, std: std),
        seed: UInt64(seed))
      let r0 = value(batch, 0, 0, 0, 3, 0) * std[0] + mean[0]
      let g = value(batch, 0, 1, 0, 3, 0) * std[1] + mean[1]
      XCTAssertEqual(g * 255, 3, accuracy: 1e-3)
      if abs(r0 * 255 - 31) < 1e-3 {
        flipped += 1
      } else {
        XCTAssertEqual(r0 * 255, 0, accuracy: 1e-3)
      }
    }
    XCTAssertTrue((3...13).contains(flipped), "about half the clips are flipped, got \(flipped)/16")
  }

  func testRandomResizedCropIsSeededAndInside() throws {
    let reader = try coordinateVideo(width: 120, height: 80)
    let sampler = ClipSampler(clipLength: 2, frameInterval: 1, numClips: 2, mode: .train)
    let transform = ClipTransform(crop: .randomResized(size: 24))
    let a = try reader.sampleClips(sampler: sampler, transform: transform, seed: 5)
    let b = try reader.sampleClips(sampler: sampler, transform: transform, seed: 5)
    let c = try reader.sampleClips(sampler: sampler, transform: transform, seed: 6)
    XCTAssertEqual(a.shape, [2, 3, 2, 24, 24])
    XCTAssertEqual(a.data, b.data)
    XCTAssertNotEqual(a.data, c.data)
    // Red grows left to right and green top to bottom inside the crop: it is an unflipped,
    // resized region of the frame.
    for v in 0..<2 {
      XCTAssertLessThan(value(a, v, 0, 0, 12, 0), value(a, v, 0, 0, 12, 23))
      XCTAssertLessThan(value(a, v, 1, 0, 0, 12), value(a, v, 1, 0, 23, 12))
      // The same crop for every frame of a clip.
      XCTAssertEqual(value(a, v, 0, 0, 5, 5), value(a, v, 0, 1, 5, 5))
    }
  }
}

extension ClipTransformTests {
  /// Short side S, then a centre crop C < S (torchvision's `resize(S)` + `center_crop(C)`,
  /// mmaction2's `Resize(scale=(-1, S))` + `CenterCrop(C)`): a 200×100 frame at short side 50
  /// is 100×50; the 40×40 crop starts at left (100 − 40) / 2 = 30, top (50 − 40) / 2 = 5, so
  /// output (x, y) averages source columns 2(30 + x) and 2(30 + x) + 1, rows 2(5 + y) and
  /// 2(5 + y) + 1.
  func testShortSideThenSmallerCentreCrop() throws {
    let file = path("wide.mkv")
    let writer = try VideoWriter(path: file, width: 200, height: 100, codec: .ffv1)
    var image = RGBImage(width: 200, height: 100)
    for y in 0..<100 {
      for x in 0..<200 { image[x, y] = (UInt8(x), UInt8(y), 0) }
    }
    try writer.append(image)
    try writer.finish()
    let reader = try VideoReader(path: file)
    var random = SplitMix64(seed: 0)
    let batch = try reader.readClips(
      [[0]], transform: .test(size: 40, shortSide: 50, normalize: false), random: &random)
    XCTAssertEqual(batch.shape, [1, 3, 1, 40, 40])
    let (H, W) = (batch.height, batch.width)
    for (x, y) in [(0, 0), (7, 3), (39, 39), (20, 11)] {
      let red = batch.data[(0 * H + y) * W + x] * 255
      let green = batch.data[((1 * 1) * H + y) * W + x] * 255
      XCTAssertEqual(red, Float(2 * (30 + x)) + 0.5, accuracy: 1, "x \(x)")
      XCTAssertEqual(green, Float(2 * (5 + y)) + 0.5, accuracy: 1, "y \(y)")
    }
  }
}
