import VideoIO

// Thumbnails of a live stream for its timeline picture: the length is unknown until the end,
// so frames are kept on a grid of times whose step doubles whenever too many are held, and
// the picture's evenly spaced thumbnails are picked from them at the end.

/// How many thumbnails a timeline picture shows and at what size: `height` pixels high, as
/// wide as the video's aspect gives (8 to `4·height` pixels), as many as fit side by side
/// across `across` pixels (a gap of 4 between).
public struct ThumbnailLayout: Sendable, Equatable {
  public var width: Int
  public var height: Int
  /// `N`: thumbnails in the strip, ≥ 1.
  public var count: Int

  /// Precondition: `height ≥ 1`. A video size of 0 counts as 1.
  public init(videoWidth: Int, videoHeight: Int, height: Int, across: Int) {
    precondition(height >= 1, "thumbnail height must be >= 1")
    let (w, h) = (Swift.max(1, videoWidth), Swift.max(1, videoHeight))
    width = Swift.min(
      4 * height, Swift.max(8, Int((Double(height) * Double(w) / Double(h)).rounded())))
    self.height = height
    count = Swift.max(1, across / (width + 4))
  }

  /// The picture's sample times: `(i + 0.5)·duration / N`, `i < N`.
  public func times(duration: Double) -> [Double] {
    (0..<count).map { (Double($0) + 0.5) * duration / Double(count) }
  }
}

/// Thumbnails of a stream of unknown length in bounded memory: at most `8N + 1` images.
///
/// Grid slot `g` covers times `[g·step, (g+1)·step)`; the first frame in a slot is kept (as a
/// thumbnail of the layout's size). When more than `8N` are held, the odd slots are let go
/// and the step doubles (slot `g` becomes `g/2`), so the kept frames stay spread over the
/// whole stream, one per slot where frames arrived. Until then every frame is kept (the step
/// is one frame); after a doubling at `8N + 1` slots, `step ≤ duration / 4N`. At the end,
/// each of the layout's sample times `t` takes the kept frame nearest it (the earlier on a
/// tie), each frame once, and stands at `t` in the strip, as a file's thumbnails stand at the
/// sample times: the frame shown is within `step / 2 ≤ duration / 8N` of `t` (an eighth of
/// the spacing of the sample times), and a stream of at most `8N` frames is never thinned.
struct StreamThumbnails {
  let layout: ThumbnailLayout
  /// Seconds between grid slots (starts at one frame).
  private(set) var step: Double
  /// Kept thumbnails with their grid slot, in time order.
  private(set) var kept: [(slot: Int, thumbnail: TimelineThumbnail)] = []
  /// The first slot not yet taken.
  private var nextSlot = 0

  /// Images held at most before thinning: `8N`.
  var capacity: Int { 8 * layout.count }

  /// Precondition: `frameSeconds > 0`.
  init(layout: ThumbnailLayout, frameSeconds: Double) {
    precondition(frameSeconds > 0, "frame duration must be > 0")
    (self.layout, step) = (layout, frameSeconds)
  }

  /// Offers frame `number` at `time` seconds (times increasing); `image` makes its thumbnail
  /// (called only when the frame is kept).
  mutating func offer(number: Int, time: Double, image: () throws -> RGBImage) rethrows {
    // A hostile timestamp (beyond ±1e15 steps, or not finite) gets no thumbnail: no trap.
    let q = (time / step).rounded(.down)
    guard q.isFinite, abs(q) < 1e15 else { return }
    let slot = Int(q)
    guard slot >= nextSlot else { return }
    kept.append((slot, TimelineThumbnail(time: time, frame: number, image: try image())))
    nextSlot = slot + 1
    while kept.count > capacity {
      kept = kept.filter { $0.slot % 2 == 0 }.map { ($0.slot / 2, $0.thumbnail) }
      step *= 2
      nextSlot = (nextSlot + 1) / 2
    }
  }

  /// The strip: for each of the layout's sample times over `duration`, the kept frame nearest
  /// it, each frame once, with `time` set to the sample time it stands for.
  func strip(duration: Double) -> [TimelineThumbnail] {
    guard !kept.isEmpty else { return [] }
    var chosen: [TimelineThumbnail] = []
    var i = 0
    for t in layout.times(duration: duration) {
      while i + 1 < kept.count
        && abs(kept[i + 1].thumbnail.time - t) < abs(kept[i].thumbnail.time - t)
      {
        i += 1
      }
      guard chosen.last?.frame != kept[i].thumbnail.frame else { continue }
      var thumbnail = kept[i].thumbnail
      thumbnail.time = t
      chosen.append(thumbnail)
    }
    return chosen
  }
}

extension StreamTimelineRunner {
  /// Asks the pass for the thumbnails of a timeline picture of `stream` (`ThumbnailLayout`):
  /// `height` pixels high, as many as fit across `width` pixels, evenly spaced over the
  /// stream's duration once it has ended.
  public mutating func takeThumbnails(of stream: VideoStream, height: Int, across width: Int) {
    thumbnails = ThumbnailLayout(
      videoWidth: stream.info.width, videoHeight: stream.info.height, height: height,
      across: width)
  }
}
