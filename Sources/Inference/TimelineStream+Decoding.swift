import Dispatch
import VideoIO

// The decoding side of a live timeline: frames in, complete windows out to the queue.
//
// Legend: T, I, L = T·I, S as in TimelineStream.swift; H, W the crop; one frame [3, H, W].

/// The decoding thread's work: transforms each wanted frame once into a ring of `L` frame
/// slots and, when a window's last frame arrives, copies its `T` frames out to the queue.
/// Memory: the ring `[L, 3, H, W]`, at most `B + 1` windows `[3, T, H, W]` and, for a
/// picture, at most `8N + 1` thumbnails (`StreamThumbnails`), whatever the length of the
/// stream.
final class StreamDecoding: @unchecked Sendable {
  private let runner: StreamTimelineRunner
  private let stream: VideoStream
  private let stop: StreamStop
  private let queue: WindowQueue

  init(runner: StreamTimelineRunner, stream: VideoStream, stop: StreamStop, queue: WindowQueue) {
    (self.runner, self.stream, self.stop, self.queue) = (runner, stream, stop, queue)
  }

  /// The consumer gave up.
  private struct Cancelled: Error {}

  /// Whether some window samples frame `n`: `k·S ≤ n ≤ k·S + (T−1)·I` and `I | n − k·S`
  /// for some `k ≥ 0`; every frame before `L` is kept too (a stream shorter than one window
  /// wraps them).
  func isWanted(_ n: Int) -> Bool {
    let (S, I, L) = (runner.strideFrames, runner.frameInterval, runner.span)
    if n < L { return true }
    let reach = L - I
    let lo = max(0, (n - reach + S - 1) / S)
    let hi = n / S
    guard lo <= hi else { return false }
    for k in lo...hi where (n - k * S) % I == 0 { return true }
    return false
  }

  /// Reads the stream to its end and always finishes the queue (with the error, if any).
  func run() {
    let (T, I, S, L) = (runner.clipLength, runner.frameInterval, runner.strideFrames, runner.span)
    let out = runner.transform.outputSize(width: stream.info.width, height: stream.info.height)
    let plane = out.height * out.width
    let frameSize = 3 * plane
    // ring: [L, 3, H, W]; frame n in slot n mod L. times: [L] seconds of the frame in a slot.
    var ring = [Float](repeating: 0, count: L * frameSize)
    var times = [Double](repeating: 0, count: L)
    var nextWindow = 0
    var frames = 0
    var lastTime = 0.0
    let step = stream.frameSeconds
    var strip = runner.thumbnails.map { StreamThumbnails(layout: $0, frameSeconds: step) }

    /// Window of frame numbers `sampled` ([T]) out of the ring: input [3, T, H, W].
    func window(_ k: Int, sampled: [Int], first: Int, end: Double, arrival: UInt64)
      -> ReadyWindow
    {
      var input = [Float](repeating: 0, count: 3 * T * plane)
      ring.withUnsafeBufferPointer { r in
        input.withUnsafeMutableBufferPointer { d in
          guard let src = r.baseAddress, let dst = d.baseAddress else { return }
          for (t, m) in sampled.enumerated() {
            for c in 0..<3 {
              (dst + (c * T + t) * plane).update(
                from: src + (m % L) * frameSize + c * plane, count: plane)
            }
          }
        }
      }
      return ReadyWindow(
        index: k, firstFrame: first, lastFrame: sampled.max() ?? first,
        start: times[first % L], end: end, arrival: arrival, input: input)
    }

    do {
      let end = try stream.forEachFrame { frame, time in
        let arrival = DispatchTime.now().uptimeNanoseconds
        let n = frame.number
        frames = n + 1
        lastTime = time
        if let layout = runner.thumbnails {
          try strip?.offer(number: n, time: time) {
            try frame.rgb(width: layout.width, height: layout.height)
          }
        }
        guard isWanted(n) else { return }
        try ring.withUnsafeMutableBufferPointer { r in
          guard let base = r.baseAddress else { return }
          try frame.planar(runner.transform, into: base + (n % L) * frameSize)
        }
        times[n % L] = time
        while nextWindow * S + (T - 1) * I <= n {
          let s = nextWindow * S
          let sampled = (0..<T).map { s + $0 * I }
          let ready = window(
            nextWindow, sampled: sampled, first: s,
            end: times[sampled[T - 1] % L] + Double(I) * step,
            arrival: arrival)
          guard queue.put(ready) else { throw Cancelled() }
          nextWindow += 1
        }
      }
      if nextWindow == 0 && frames > 0 {
        // Shorter than one window: one window of frames j·I mod F (all kept, F < L).
        let sampled = (0..<T).map { ($0 * I) % frames }
        _ = queue.put(
          window(
            0, sampled: sampled, first: 0, end: lastTime + step,
            arrival: DispatchTime.now().uptimeNanoseconds))
      }
      let duration = frames > 0 ? lastTime + step : 0
      queue.finish(
        duration: duration, end: end, error: nil,
        thumbnails: strip?.strip(duration: duration) ?? [])
    } catch is Cancelled {
      queue.finish(
        duration: lastTime + step, end: .stopped, error: nil,
        thumbnails: strip?.strip(duration: lastTime + step) ?? [])
    } catch {
      queue.finish(duration: lastTime + step, end: .endOfStream, error: error)
    }
  }
}
