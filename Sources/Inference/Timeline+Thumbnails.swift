// Which frames a timeline keeps as thumbnails for its picture, and at what size.

import VideoIO

extension TimelineRunner {
  /// Asks the pass for thumbnails of `reader`'s video: `height` pixels high, as wide as the
  /// video's aspect gives (8 to `4·height` pixels), as many as fit side by side across `width`
  /// pixels (a gap of 4 between), at evenly spaced times — for each time `t` the last frame
  /// shown at or before it (each frame once).
  public mutating func takeThumbnails(of reader: VideoReader, height: Int, across width: Int) {
    let (w, h) = (Swift.max(1, reader.info.width), Swift.max(1, reader.info.height))
    let tw = Swift.min(
      4 * height, Swift.max(8, Int((Double(height) * Double(w) / Double(h)).rounded())))
    let count = Swift.max(1, width / (tw + 4))
    let duration = Swift.max(reader.info.duration, reader.time(ofFrame: reader.frameCount - 1))
    var frames: [Int] = []
    for i in 0..<count {
      let t = (Double(i) + 0.5) * duration / Double(count)
      // The last frame shown at or before t (binary search over presentation times).
      var (lo, hi) = (0, reader.frameCount - 1)
      while lo < hi {
        let mid = (lo + hi + 1) / 2
        if reader.time(ofFrame: mid) <= t { lo = mid } else { hi = mid - 1 }
      }
      if frames.last != lo { frames.append(lo) }
    }
    thumbnailFrames = frames
    thumbnailSize = (tw, height)
  }
}
