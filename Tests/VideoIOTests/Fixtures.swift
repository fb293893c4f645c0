import Foundation
import VideoIO
import XCTest
import _TestSupport

/// Test videos whose frame `i` shows the number `i` as a 4×4 grid of black/white blocks
/// (bit `k` of `i` at block `k`, row-major), so that any decoded frame tells which frame it is,
/// even after lossy coding or resizing.
enum Pattern {
  static let bits = 16

  /// The pattern image of frame `number`, `width`×`height`.
  static func image(_ number: Int, width: Int, height: Int) -> RGBImage {
    var image = RGBImage(width: width, height: height)
    for y in 0..<height {
      for x in 0..<width {
        let k = (y * 4 / height) * 4 + x * 4 / width
        let on = (number >> k) & 1 == 1
        image[x, y] = on ? (235, 235, 235) : (20, 20, 20)
      }
    }
    return image
  }

  /// Reads the number from an RGB image (block centres, threshold at mid-grey).
  static func number(_ image: RGBImage) -> Int {
    number(width: image.width, height: image.height) { x, y in Float(image[x, y].1) / 255 }
  }

  /// Reads the number from one frame of a planar `[3, T, H, W]` view (green channel).
  static func number(_ batch: ClipBatch, view: Int, t: Int) -> Int {
    let (T, H, W) = (batch.frames, batch.height, batch.width)
    let plane = T * H * W
    let base = view * 3 * plane + plane + t * H * W
    return number(width: W, height: H) { x, y in batch.data[base + y * W + x] }
  }

  static func number(width: Int, height: Int, _ value: (Int, Int) -> Float) -> Int {
    var n = 0
    for k in 0..<bits {
      let x = ((k % 4) * 2 + 1) * width / 8
      let y = ((k / 4) * 2 + 1) * height / 8
      if value(x, y) > 0.5 { n |= 1 << k }
    }
    return n
  }
}

/// Pattern videos written into each test's temporary folder.
extension TemporaryFolderTestCase {
  /// Writes a pattern video of `frames` frames; `pts(i)` gives explicit timestamps in
  /// 1/`timeBase` units (variable frame rate) when set.
  @discardableResult
  func writePatternVideo(
    _ name: String, frames: Int, width: Int = 64, height: Int = 48,
    codec: VideoWriter.Codec? = nil, keyframeInterval: Int = 5, bFrames: Int = 0,
    timeBase: Int? = nil, pts: ((Int) -> Int64)? = nil
  ) throws -> String {
    let p = path(name)
    let writer = try VideoWriter(
      path: p, width: width, height: height, fps: 25, codec: codec, timeBase: timeBase,
      keyframeInterval: keyframeInterval, bFrames: bFrames)
    for i in 0..<frames {
      try writer.append(Pattern.image(i, width: width, height: height), pts: pts?(i))
    }
    try writer.finish()
    return p
  }
}
