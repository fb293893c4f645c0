import Dispatch
import Foundation
import Inference
import TerminalText
import Reports
import VideoIO

#if canImport(Glibc)
  import Glibc
#endif

extension TimelineCommand {
  /// One live source (`-`, a URL): read as it arrives; each window's line (`--json`) and each
  /// closed segment are written and flushed at once; SIGINT and SIGTERM end the stream like
  /// its end: the last segment closes and the summary is printed.
  func liveTimeline(_ source: String, _ loaded: LoadedModel, truth: [TruthSegment]?) throws {
    let stop = StreamStop()
    let signals = [SIGINT, SIGTERM].map { number in
      signal(number, SIG_IGN)
      let s = DispatchSource.makeSignalSource(signal: number, queue: .global())
      s.setEventHandler { stop.request() }
      s.resume()
      return s
    }
    defer {
      for (s, number) in zip(signals, [SIGINT, SIGTERM]) {
        s.cancel()
        signal(number, SIG_DFL)
      }
    }
    let stream = try VideoStream(
      source: source, format: live.inputFormat, threads: inference.workers,
      stallTimeout: live.stallTimeout, stop: stop)
    let (T, I) = (loaded.recipe.clipLength, loaded.recipe.frameInterval)
    var S = strideFrames ?? Swift.max(1, T * I / 2)
    if let stride {
      guard let frames = InferenceLimits.strideFrames(seconds: stride, fps: stream.info.fps) else {
        throw CommandFailure(
          "\(source): no frame rate known; give --stride-frames instead of --stride")
      }
      S = frames
    }
    var runner = loaded.streamTimelineRunner(strideFrames: S, realtime: live.realtime)
    if svg != nil || png != nil {
      runner.takeThumbnails(
        of: stream, height: TimelinePicture.thumbnailHeight, across: TimelinePicture.plotWidth)
    }
    let labels = loaded.info.labels
    let k = Swift.min(top, labels.count)
    var segments = LiveSegments(smooth: smooth, names: labels)
    let delay = live.debugDelay
    // Rows print as segments close: the label column is as wide as the widest class name.
    let table = SegmentTable(labels: labels)
    if !json {
      emit(
        "\(source): live, windows of \(T) frames every \(I) (\(runner.span) frames), stride \(S) frames\(live.realtime ? ", realtime" : "")"
          .escapedForTerminal)
      emit(table.header)
    }
    let result = try runner.run(
      stream: stream, stop: stop,
      classify: { x in
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        return try loaded.windowProbabilities(x)
      },
      onWindow: { streamed in
        let w = streamed.window
        if json {
          emit(
            try jsonLine(
              [
                "type": "window", "path": source, "window": w.index, "start": rounded(w.start),
                "end": rounded(w.end), "frames": [w.firstFrame, w.lastFrame],
                "top": topList(w.probabilities, k, labels: labels),
                "latency": rounded(streamed.latency),
              ] as [String: Any]))
        }
        try printSegments(
          segments.add(centre: w.centre, probabilities: w.probabilities), source, table)
      })
    try printSegments(segments.finish(duration: result.duration), source, table)
    try liveSummary(
      result, of: source, strideFrames: S, span: runner.span, labels: labels, truth: truth)
  }

  /// Closed segments as they come: JSON lines (`"type": "segment"`) or table rows.
  private func printSegments(
    _ closed: [TimelineSegment], _ source: String, _ table: SegmentTable
  ) throws {
    for s in closed {
      if json {
        emit(
          try jsonLine(
            s.jsonFields.merging(["type": "segment", "path": source]) { field, _ in field }))
      } else {
        emit(table.row(s))
      }
    }
  }

  /// The summary: the segments of the whole timeline (`--min-segment` applied), the windows
  /// classified and dropped, how the stream ended; then the --svg/--png pictures.
  private func liveSummary(
    _ result: StreamTimelineResult, of source: String, strideFrames S: Int, span: Int,
    labels: [String], truth: [TruthSegment]?
  ) throws {
    let windows = result.windows
    let segments = TimelineSegments.segments(
      centres: windows.map(\.centre),
      probabilities: TimelineSegments.smooth(windows.map(\.probabilities), over: smooth),
      names: labels, duration: result.duration, minSegment: minSegment)
    let agreement = truth.map { TimelineSegments.agreement(segments, truth: $0) }
    let ended = result.end == .stopped ? "stopped" : "end of stream"
    if json {
      emit(
        try timelineSummaryLine(
          path: source, windows: windows.count, dropped: result.dropped, windowFrames: span,
          strideFrames: S, decodedFrames: result.decodedFrames, duration: result.duration,
          segments: segments, agreement: agreement, ended: ended))
    } else {
      if minSegment > 0 {
        emit("segments after --min-segment \(minSegment):")
        let table = SegmentTable(labels: segments.map(\.name))
        for s in segments { emit(table.row(s)) }
      }
      emit(
        "\(source): \(windows.count) windows classified, \(result.dropped) dropped; \(result.decodedFrames) frames decoded; \(ended)"
          .escapedForTerminal)
      if let agreement {
        emit(
          String(format: "agreement with the truth: %.1f%% of the labelled time", agreement * 100))
      }
    }
    try writePictures(
      source, windows: windows, duration: result.duration, thumbnails: result.thumbnails,
      segments: segments, labels: labels, truth: truth, agreement: agreement)
  }
}

/// Prints `line` and flushes standard output at once (a pipe is otherwise block-buffered).
func emit(_ line: String) {
  print(line)
  fflush(nil)  // every C output stream: standard output among them
}
