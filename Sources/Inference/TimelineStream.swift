import Compute
import Dispatch
import Foundation
import VideoIO

// Timelines of live video: windows placed by frame number as frames arrive (the total is
// unknown), decoded on one thread and classified on another, each window handed out as soon
// as its batch is classified.
//
// Legend (dimension letters), as in Timeline.swift:
//   T  frames a window samples; I  step between them; L = T·I frames a window spans
//   S  stride between window starts, in frames
//   B  windows per forward pass; K classes; H, W the crop size

/// A classified window of a live stream, with when its last frame arrived.
public struct StreamedWindow: Sendable {
  public var window: TimelineWindow
  /// Seconds from the arrival of the window's last frame (when it was decoded) to now, the
  /// moment its classification is handed out. Without `realtime` a slow model makes the
  /// decoder wait, so the lag behind a live source builds up before arrival (in the pipe or
  /// socket buffer): the output falls behind the source by more than `latency` says.
  public var latency: Double
}

/// What one pass over a live stream produced.
public struct StreamTimelineResult: Sendable {
  /// Every classified window (probabilities `[K]` each: the only part that grows).
  public var windows: [TimelineWindow]
  /// Windows complete but never classified (`realtime`: the model was busy).
  public var dropped: Int
  /// Seconds from the first frame to the end of the last.
  public var duration: Double
  public var decodedFrames: Int
  /// Why the stream ended (its end, or a stop request).
  public var end: StreamEnd
  /// The picture's strip (`thumbnails` asked for; else empty), in time order.
  public var thumbnails: [TimelineThumbnail]
}

/// Runs a timeline over a live stream. Window `k` starts at frame `k·S` and samples frames
/// `k·S + j·I` (`j < T`), as `TimelinePlan` places them in a file, and is complete when frame
/// `k·S + (T−1)·I` arrives; its start is that first frame's time and its end the time of its
/// last sampled frame plus `I` frames at the stream's frame rate (a file's end: the time of
/// frame `k·S + L`). A stream that ends before one window has one window whose frames wrap
/// (`j·I mod F`), as in a file.
///
/// Decoding runs on its own thread and never waits for the model when `realtime` is set: a
/// queue holds at most `B` complete windows; a new window arriving at a full queue pushes out
/// the oldest (counted in `dropped`). Without `realtime` the decoder waits for room: every
/// window is classified and latency grows when the model is slower than the stream.
public struct StreamTimelineRunner {
  public var clipLength: Int
  public var frameInterval: Int
  public var strideFrames: Int
  public var transform: ClipTransform
  public var batch: Int
  public var realtime: Bool
  /// Thumbnails to keep for a picture (`takeThumbnails`); nil: none.
  public var thumbnails: ThumbnailLayout?

  /// Precondition: sizes ≥ 1; the transform gives one crop per frame.
  public init(
    clipLength: Int, frameInterval: Int, strideFrames: Int, transform: ClipTransform, batch: Int,
    realtime: Bool
  ) {
    precondition(clipLength >= 1 && frameInterval >= 1 && strideFrames >= 1 && batch >= 1)
    precondition(transform.cropsPerClip == 1, "a timeline classifies one crop per window")
    (self.clipLength, self.frameInterval, self.strideFrames) =
      (clipLength, frameInterval, strideFrames)
    (self.transform, self.batch, self.realtime) = (transform, batch, realtime)
  }

  /// `L = T·I`.
  public var span: Int { clipLength * frameInterval }

  /// Reads `stream` to its end (or a stop request on `stop`) and classifies its windows.
  ///
  /// - Parameters:
  ///   - classify: input `[b, 3, T, H, W]` (b ≤ `batch`) → rows `[b, K]`, on the calling
  ///     thread.
  ///   - onWindow: each classified window in order, on the calling thread, as soon as its
  ///     batch is done.
  /// - Throws: the stream's `VideoError` (stall, read error); whatever `classify` or
  ///   `onWindow` throw (the stream is then stopped first).
  public func run(
    stream: VideoStream, stop: StreamStop, classify: (Tensor) throws -> Tensor,
    onWindow: (StreamedWindow) throws -> Void
  ) throws -> StreamTimelineResult {
    let out = transform.outputSize(width: stream.info.width, height: stream.info.height)
    let (T, H, W) = (clipLength, out.height, out.width)
    let queue = WindowQueue(capacity: batch, realtime: realtime)
    let decoding = StreamDecoding(runner: self, stream: stream, stop: stop, queue: queue)
    let thread = Thread { decoding.run() }
    thread.stackSize = 8 << 20
    thread.start()
    var windows: [TimelineWindow] = []
    // pending: [batch, 3, T, H, W], allocated once; a batch of b ≤ batch windows (the queue
    // holds at most `batch`) is a view of its first b rows, every row overwritten.
    let pending = Tensor(zeros: [batch, 3, T, H, W])
    do {
      while let ready = queue.take() {
        let b = ready.count
        precondition(b <= batch, "the window queue holds at most a batch")
        // input: [b, 3, T, H, W], window r's [3, T, H, W] at r·3·T·H·W.
        let input = Tensor(viewOf: pending, offset: 0, shape: [b, 3, T, H, W])
        for (r, w) in ready.enumerated() {
          w.input.withUnsafeBufferPointer { src in
            guard let s = src.baseAddress else { return }
            (input.pointer + r * 3 * T * H * W).update(from: s, count: 3 * T * H * W)
          }
        }
        let rows = try classify(input)
        guard rows.rank == 2, rows.shape[0] == b, rows.shape[1] >= 1 else {
          throw TimelineError("the classifier returned shape \(rows.shape) for \(b) windows")
        }
        let K = rows.shape[1]
        for (r, w) in ready.enumerated() {
          let window = TimelineWindow(
            index: w.index, firstFrame: w.firstFrame, lastFrame: w.lastFrame, start: w.start,
            end: w.end,
            probabilities: Array(UnsafeBufferPointer(start: rows.pointer + r * K, count: K)))
          windows.append(window)
          let now = DispatchTime.now().uptimeNanoseconds
          try onWindow(
            StreamedWindow(
              window: window, latency: Double(now &- w.arrival) / 1e9))
        }
      }
    } catch {
      stop.request()
      queue.cancel()
      _ = queue.waitFinished()
      throw error
    }
    let finished = queue.waitFinished()
    if let error = finished.error { throw error }
    return StreamTimelineResult(
      windows: windows, dropped: finished.dropped, duration: finished.duration,
      decodedFrames: stream.decodedFrameCount, end: finished.end,
      thumbnails: finished.thumbnails)
  }
}

/// A complete window waiting for the model.
struct ReadyWindow: Sendable {
  var index: Int
  var firstFrame: Int
  var lastFrame: Int
  var start: Double
  var end: Double
  /// `DispatchTime` nanoseconds when its last frame arrived.
  var arrival: UInt64
  /// input: [3, T, H, W].
  var input: [Float]
}

/// The hand-over between the decoding thread and the model: at most `capacity` windows.
final class WindowQueue: @unchecked Sendable {
  private let condition = NSCondition()
  private var pending: [ReadyWindow] = []
  private let capacity: Int
  private let realtime: Bool
  private var cancelled = false
  private var done = false
  private var result = (
    dropped: 0, duration: 0.0, end: StreamEnd.endOfStream, error: Error?.none,
    thumbnails: [TimelineThumbnail]()
  )

  init(capacity: Int, realtime: Bool) { (self.capacity, self.realtime) = (capacity, realtime) }

  /// Adds a window (decoding thread). Realtime: a full queue drops its oldest window; else
  /// waits for room. Returns false when the consumer gave up.
  func put(_ window: ReadyWindow) -> Bool {
    condition.lock()
    defer { condition.unlock() }
    while !realtime && pending.count >= capacity && !cancelled { condition.wait() }
    if cancelled { return false }
    if pending.count >= capacity {
      pending.removeFirst()
      result.dropped += 1
    }
    pending.append(window)
    condition.broadcast()
    return true
  }

  /// Every waiting window (model thread), waiting for one; nil once decoding has finished and
  /// nothing waits.
  func take() -> [ReadyWindow]? {
    condition.lock()
    defer { condition.unlock() }
    while pending.isEmpty && !done { condition.wait() }
    if pending.isEmpty { return nil }
    let taken = pending
    pending.removeAll(keepingCapacity: true)
    condition.broadcast()
    return taken
  }

  /// Decoding has ended (decoding thread), with the picture's thumbnails.
  func finish(
    duration: Double, end: StreamEnd, error: Error?, thumbnails: [TimelineThumbnail] = []
  ) {
    condition.lock()
    (result.duration, result.end, result.error) = (duration, end, error)
    result.thumbnails = thumbnails
    done = true
    condition.broadcast()
    condition.unlock()
  }

  /// The consumer gives up: a waiting `put` returns false.
  func cancel() {
    condition.lock()
    cancelled = true
    condition.broadcast()
    condition.unlock()
  }

  /// Waits for `finish`; the counts and how decoding ended.
  func waitFinished() -> (
    dropped: Int, duration: Double, end: StreamEnd, error: Error?, thumbnails: [TimelineThumbnail]
  ) {
    condition.lock()
    defer { condition.unlock() }
    while !done { condition.wait() }
    return result
  }
}
