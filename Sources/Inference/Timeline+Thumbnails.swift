// Which frames a timeline keeps as thumbnails for its picture, and at what size.

import VideoIO

extension TimelineRunner {
  /// Asks the pass for thumbnails of `reader`'s video (`ThumbnailLayout`: `height` pixels
  /// high, as many as fit across `width` pixels) at evenly spaced times — for each time `t`
  /// the last frame shown at or before it (each frame once).
  public mutating func takeThumbnails(of reader: VideoReader, height: Int, across width: Int) {
    let layout = ThumbnailLayout(
      videoWidth: reader.info.width, videoHeight: reader.info.height, height: height,
      across: width)
    let duration = Swift.max(reader.info.duration, reader.time(ofFrame: reader.frameCount - 1))
    var frames: [Int] = []
    for t in layout.times(duration: duration) {
      // The last frame shown at or before t (binary search over presentation times).
      var (lo, hi) = (0, reader.frameCount - 1)
      while lo < hi {
        let mid = (lo + hi + 1) / 2
        if reader.time(ofFrame: mid) <= t { lo = mid } else { hi = mid - 1 }
      }
      if frames.last != lo { frames.append(lo) }
    }
    thumbnailFrames = frames
    thumbnailSize = (layout.width, layout.height)
  }
}
