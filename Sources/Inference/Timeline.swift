import Compute
import Foundation
import VideoIO

// Timelines of long videos: fixed-length windows slide over the video in one streaming pass;
// each frame is decoded once, transformed once, and kept in a ring buffer only while a window
// still needs it; complete windows go to the model in batches.
//
// Legend (dimension letters):
//   F  frames in the video (presentation order)
//   T  frames a window samples (the checkpoint's clip length)
//   I  step between the sampled frames (the checkpoint's frame interval)
//   L  = T·I, frames a window spans
//   S  stride between window starts, in frames
//   N  windows in the video
//   B  windows per forward pass
//   K  classes
//   H, W  crop size the model sees

/// Where the windows of a timeline are: window `k` starts at frame `k·S` and samples frames
/// `k·S + j·I`, `j = 0..<T`, spanning `L = T·I` frames; windows are placed while they fit
/// (`k·S + L ≤ F`), so the last up to `S − 1` frames start no window of their own.
///
/// A video shorter than one window (`F < L`) has exactly one window whose frame numbers wrap
/// modulo `F`, as `ClipSampler` does for short videos in test mode (offset 0, `loop`): frame
/// `j·I mod F`.
public struct TimelinePlan: Sendable, Equatable {
  /// `T` ≥ 1.
  public var clipLength: Int
  /// `I` ≥ 1.
  public var frameInterval: Int
  /// `S` ≥ 1.
  public var strideFrames: Int
  /// `F` ≥ 1.
  public var frameCount: Int

  /// Precondition: every value ≥ 1.
  public init(clipLength: Int, frameInterval: Int, strideFrames: Int, frameCount: Int) {
    precondition(
      clipLength >= 1 && frameInterval >= 1 && strideFrames >= 1 && frameCount >= 1,
      "timeline sizes must be >= 1")
    self.clipLength = clipLength
    self.frameInterval = frameInterval
    self.strideFrames = strideFrames
    self.frameCount = frameCount
  }

  /// `L = T·I`, frames one window spans.
  public var span: Int { clipLength * frameInterval }

  /// True when the video is shorter than one window (one wrapped window).
  public var wraps: Bool { frameCount < span }

  /// `N`: windows in the video, ≥ 1.
  public var windowCount: Int { wraps ? 1 : (frameCount - span) / strideFrames + 1 }

  /// First frame of window `k` (its start).
  public func start(of k: Int) -> Int { wraps ? 0 : k * strideFrames }

  /// Frames `[T]` window `k` samples, in clip order. Precondition: `0 ≤ k < N`.
  public func frames(of k: Int) -> [Int] {
    precondition(k >= 0 && k < windowCount, "window \(k) out of range 0..<\(windowCount)")
    let s = start(of: k)
    return (0..<clipLength).map { (s + $0 * frameInterval) % frameCount }
  }

  /// The frame whose arrival completes window `k` (its largest frame number).
  public func lastFrame(of k: Int) -> Int {
    wraps ? (frames(of: 0).max() ?? 0) : start(of: k) + span - frameInterval
  }

  /// Whether some window samples frame `n`.
  public func isWanted(_ n: Int) -> Bool {
    guard n >= 0 && n < frameCount else { return false }
    if wraps {
      return n < span && (0..<clipLength).contains { ($0 * frameInterval) % frameCount == n }
    }
    // Windows k with k·S ≤ n ≤ k·S + (T−1)·I.
    let reach = span - frameInterval
    let lo = max(0, (n - reach + strideFrames - 1) / strideFrames)
    let hi = min(windowCount - 1, n / strideFrames)
    guard lo <= hi else { return false }
    for k in lo...hi where (n - k * strideFrames) % frameInterval == 0 { return true }
    return false
  }

  /// Frame slots the ring buffer needs: `min(L, F)` (a frame is overwritten by the one `L`
  /// later, when no window still waiting can need it).
  public var ringSlots: Int { min(span, frameCount) }
}

/// One classified window.
public struct TimelineWindow: Sendable, Equatable {
  /// Window number `k`.
  public var index: Int
  /// First and last frame the window samples (for a wrapped window: 0 and the largest).
  public var firstFrame: Int
  public var lastFrame: Int
  /// Seconds from the first frame's presentation time: the window's first frame, and the
  /// frame just after its span (the end of the video for the last frames).
  public var start: Double
  public var end: Double
  /// The classifier's row for the window: class probabilities `[K]` in a timeline (any
  /// per-window row the `classify` closure returns, e.g. features and logits).
  public var probabilities: [Float]

  public init(
    index: Int, firstFrame: Int, lastFrame: Int, start: Double, end: Double, probabilities: [Float]
  ) {
    self.index = index
    self.firstFrame = firstFrame
    self.lastFrame = lastFrame
    self.start = start
    self.end = end
    self.probabilities = probabilities
  }

  /// Seconds at the middle of the window.
  public var centre: Double { (start + end) / 2 }
}

/// A thumbnail taken during the pass.
public struct TimelineThumbnail: Sendable {
  /// Seconds where the picture shows it: the frame's presentation time; in a live stream's
  /// strip, the sample time it stands for (`StreamThumbnails`: the frame is near it).
  public var time: Double
  public var frame: Int
  public var image: RGBImage
}

/// What one pass over a video produced.
public struct TimelineResult: Sendable {
  public var windows: [TimelineWindow]
  public var thumbnails: [TimelineThumbnail]
  /// Seconds from the first frame to the end of the last.
  public var duration: Double
  /// Frames the reader decoded during the pass (each frame once: `F`).
  public var decodedFrames: Int
}

/// Runs one streaming pass of a timeline over a video.
public struct TimelineRunner {
  public var plan: TimelinePlan
  /// The test transform (one crop) that turns a frame into model input.
  public var transform: ClipTransform
  /// `B`: windows per forward pass, ≥ 1.
  public var batch: Int
  /// Frames to keep as thumbnails (any order), and their size in pixels.
  public var thumbnailFrames: [Int] = []
  public var thumbnailSize: (width: Int, height: Int) = (48, 48)

  /// Precondition: `batch ≥ 1`; the transform gives one crop per frame.
  public init(plan: TimelinePlan, transform: ClipTransform, batch: Int) {
    precondition(batch >= 1, "batch must be >= 1")
    precondition(transform.cropsPerClip == 1, "a timeline classifies one crop per window")
    self.plan = plan
    self.transform = transform
    self.batch = batch
  }

  /// Decodes `reader` once in presentation order and classifies every window.
  ///
  /// - Parameters:
  ///   - classify: input `[B, 3, T, H, W]` (B ≤ `batch`) → probabilities `[B, K]` (or any
  ///     rows `[B, X]` to keep per window).
  ///   - onWindow: called for each classified window, in order, as soon as its batch is done
  ///     (streaming output).
  /// - Returns: the windows (their probabilities: `N·K` floats, the only part that grows with
  ///   the length), the thumbnails, the duration and the frames decoded.
  /// - Throws: `VideoError` naming the file; whatever `classify` or `onWindow` throw.
  public func run(
    reader: VideoReader, classify: (Tensor) throws -> Tensor,
    onWindow: (TimelineWindow) throws -> Void = { _ in }
  ) throws -> TimelineResult {
    precondition(reader.frameCount == plan.frameCount, "the plan is for another frame count")
    let (T, F) = (plan.clipLength, plan.frameCount)
    let out = transform.outputSize(width: reader.info.width, height: reader.info.height)
    let (H, W) = (out.height, out.width)
    let frameSize = 3 * H * W
    let slots = plan.ringSlots
    // ring: [slots, 3, H, W]; frame n lives in slot n mod slots.
    var ring = [Float](repeating: 0, count: slots * frameSize)
    // pending: [B, 3, T, H, W], the batch being filled.
    let pending = Tensor(zeros: [batch, 3, T, H, W])
    var pendingWindows: [(index: Int, frames: [Int])] = []
    var windows: [TimelineWindow] = []
    windows.reserveCapacity(plan.windowCount)
    var thumbnails: [TimelineThumbnail] = []
    let thumbWanted = Set(thumbnailFrames)
    var nextWindow = 0
    let decodedBefore = reader.decodedFrameCount
    let duration = reader.info.duration

    func endTime(ofFrame e: Int) -> Double {
      e < F ? reader.time(ofFrame: e) : max(duration, reader.time(ofFrame: F - 1))
    }

    func flush() throws {
      guard !pendingWindows.isEmpty else { return }
      let b = pendingWindows.count
      let input = Tensor(viewOf: pending, offset: 0, shape: [b, 3, T, H, W])
      let probs = try classify(input)
      guard probs.rank == 2, probs.shape[0] == b, probs.shape[1] >= 1 else {
        throw TimelineError("the classifier returned shape \(probs.shape) for \(b) windows")
      }
      let K = probs.shape[1]
      for (r, w) in pendingWindows.enumerated() {
        let s = plan.start(of: w.index)
        let first = plan.wraps ? 0 : s
        let last = plan.lastFrame(of: w.index)
        let window = TimelineWindow(
          index: w.index, firstFrame: first, lastFrame: last, start: reader.time(ofFrame: first),
          end: plan.wraps ? endTime(ofFrame: F) : endTime(ofFrame: s + plan.span),
          probabilities: Array(UnsafeBufferPointer(start: probs.pointer + r * K, count: K)))
        windows.append(window)
        try onWindow(window)
      }
      pendingWindows.removeAll(keepingCapacity: true)
    }

    try ring.withUnsafeMutableBufferPointer { ringBuffer in
      guard let ringBase = ringBuffer.baseAddress else { return }
      try reader.forEachFrameInOrder(wanted: { plan.isWanted($0) || thumbWanted.contains($0) }) {
        frame in
        let n = frame.number
        if thumbWanted.contains(n) {
          let image = try frame.rgb(width: thumbnailSize.width, height: thumbnailSize.height)
          thumbnails.append(
            TimelineThumbnail(time: reader.time(ofFrame: n), frame: n, image: image))
        }
        // Only wanted frames and thumbnails arrive; a thumbnail may be wanted too.
        guard !thumbWanted.contains(n) || plan.isWanted(n) else { return }
        try frame.planar(transform, into: ringBase + (n % slots) * frameSize)
        // Every window whose last frame has now arrived is complete: copy it into the batch.
        while nextWindow < plan.windowCount && plan.lastFrame(of: nextWindow) <= n {
          let frames = plan.frames(of: nextWindow)
          let b = pendingWindows.count
          // Slot layout [3, H, W] → batch entry b, time t of [B, 3, T, H, W].
          for (t, m) in frames.enumerated() {
            let src = ringBase + (m % slots) * frameSize
            for c in 0..<3 {
              (pending.pointer + ((b * 3 + c) * T + t) * H * W).update(
                from: src + c * H * W, count: H * W)
            }
          }
          pendingWindows.append((nextWindow, frames))
          nextWindow += 1
          if pendingWindows.count == batch { try flush() }
        }
      }
    }
    try flush()
    guard windows.count == plan.windowCount else {
      throw TimelineError(
        "\(reader.path): only \(windows.count) of \(plan.windowCount) windows could be read")
    }
    thumbnails.sort { $0.frame < $1.frame }
    return TimelineResult(
      windows: windows, thumbnails: thumbnails, duration: max(duration, endTime(ofFrame: F)),
      decodedFrames: reader.decodedFrameCount - decodedBefore)
  }
}

/// A timeline that cannot be computed (bad options or input), with a sentence saying why.
public struct TimelineError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}
