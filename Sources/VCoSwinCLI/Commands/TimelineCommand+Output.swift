import Foundation
import Inference
import Reports
import SafeTensors
import VideoIO

extension TimelineCommand {
  /// One video file: the pass, the segments, the output.
  func timeline(_ video: String, _ loaded: LoadedModel, truth: [TruthSegment]?) throws {
    let reader = try VideoReader(path: video, threads: inference.workers)
    var S = strideFrames ?? Swift.max(1, loaded.recipe.clipLength * loaded.recipe.frameInterval / 2)
    if let stride {
      guard let frames = InferenceLimits.strideFrames(seconds: stride, fps: reader.info.fps) else {
        throw CommandFailure(
          "\(video): no frame rate known; give --stride-frames instead of --stride")
      }
      S = frames
    }
    var runner = loaded.timelineRunner(for: reader, strideFrames: S)
    if svg != nil || png != nil {
      runner.takeThumbnails(
        of: reader, height: TimelinePicture.thumbnailHeight, across: TimelinePicture.plotWidth)
    }
    let labels = loaded.info.labels
    let k = Swift.min(top, labels.count)
    let result = try loaded.timeline(runner, reader: reader) { w in
      guard json else { return }
      print(
        try jsonLine(
          [
            "type": "window", "path": video, "window": w.index, "start": rounded(w.start),
            "end": rounded(w.end),
            "frames": [w.firstFrame, w.lastFrame],
            "top": topList(w.probabilities, k, labels: labels),
          ] as [String: Any]))
    }
    try report(result, of: video, plan: runner.plan, labels: labels, truth: truth)
  }

  /// The segments of `result` and their output: one JSON line or a table, then the pictures.
  private func report(
    _ result: TimelineResult, of video: String, plan: TimelinePlan, labels: [String],
    truth: [TruthSegment]?
  ) throws {
    let probs = TimelineSegments.smooth(result.windows.map(\.probabilities), over: smooth)
    let segments = TimelineSegments.segments(
      centres: result.windows.map(\.centre), probabilities: probs, names: labels,
      duration: result.duration, minSegment: minSegment)
    let agreement = truth.map { TimelineSegments.agreement(segments, truth: $0) }
    let (T, I, S) = (plan.clipLength, plan.frameInterval, plan.strideFrames)
    if json {
      print(
        try timelineSummaryLine(
          path: video, windows: result.windows.count, dropped: 0, windowFrames: plan.span,
          strideFrames: S, decodedFrames: result.decodedFrames, duration: result.duration,
          segments: segments, agreement: agreement))
    } else {
      printHuman(
        "\(video): \(result.windows.count) windows of \(T) frames every \(I) (\(plan.span) frames), stride \(S) frames; \(result.decodedFrames) frames decoded"
      )
      let table = SegmentTable(labels: segments.map(\.name))
      print(table.header)
      for s in segments { print(table.row(s)) }
      if let agreement {
        print(
          String(format: "agreement with the truth: %.1f%% of the labelled time", agreement * 100))
      }
    }
    try writePictures(
      video, windows: result.windows, duration: result.duration, thumbnails: result.thumbnails,
      segments: segments, labels: labels, truth: truth, agreement: agreement)
  }

  /// The --svg and --png pictures of a timeline (a file's or a live source's), when asked for.
  func writePictures(
    _ video: String, windows: [TimelineWindow], duration: Double,
    thumbnails: [TimelineThumbnail], segments: [TimelineSegment], labels: [String],
    truth: [TruthSegment]?, agreement: Double?
  ) throws {
    guard svg != nil || png != nil else { return }
    let picture = makePicture(
      video, windows: windows, duration: duration, thumbnails: thumbnails, segments: segments,
      labels: labels, truth: truth, agreement: agreement)
    if let svg {
      let text = try picture.svg()
      do {
        try AtomicFile.write(text, to: svg)  // refuses a device or FIFO at the path
      } catch {
        throw CommandFailure("\(error)")  // names the file
      }
    }
    if let png { try ImageFile.write(picture.raster(), to: png) }
  }

  private func makePicture(
    _ video: String, windows: [TimelineWindow], duration: Double,
    thumbnails: [TimelineThumbnail], segments: [TimelineSegment], labels: [String],
    truth: [TruthSegment]?, agreement: Double?
  ) -> TimelinePicture {
    let stretches = TimelineSegments.coverage(
      centres: windows.map(\.centre), duration: duration)
    // Bands: classes on top of some window (raw probabilities), at most 12, most often on top first.
    var onTop: [Int: Int] = [:]
    for w in windows {
      if let best = topK(w.probabilities, 1).first { onTop[best.index, default: 0] += 1 }
    }
    for s in segments { onTop[s.label, default: 0] += 0 }
    let classes = onTop.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
      .prefix(12).map(\.key).sorted()
    let bands = classes.map { c in
      TimelinePicture.Band(
        name: labels[c], colour: c,
        cells: zip(windows, stretches).map { w, s in
          TimelinePicture.Span(
            name: labels[c], colour: c, start: s.start, end: s.end, prob: Double(w.probabilities[c])
          )
        })
    }
    let segs = segments.map {
      TimelinePicture.Span(
        name: $0.name, colour: $0.label, start: $0.start, end: $0.end, prob: $0.prob)
    }
    let truthSpans = truth.map { t in
      t.map {
        TimelinePicture.Span(name: labels[$0.label], colour: $0.label, start: $0.start, end: $0.end)
      }
    }
    // A file by its name; a live source (`-`, a URL, a device) as given.
    let name = live.isLive(video) ? video : URL(fileURLWithPath: video).lastPathComponent
    return TimelinePicture(
      title: "\(name): \(windows.count) windows, \(segments.count) segments",
      duration: duration, thumbnails: thumbnails.map { ($0.time, $0.image) },
      bands: bands,
      segments: segs, truth: truthSpans,
      note: agreement.map {
        String(format: "agreement with the truth: %.1f%% of the labelled time", $0 * 100)
      })
  }
}

/// Seconds and probabilities to 6 decimals (JSON stays short and stable).
func rounded(_ x: Double) -> Double { (x * 1e6).rounded() / 1e6 }

extension TimelineSegment {
  /// The segment's fields in `timeline --json`: `label`, `index`, `start`, `end`, `prob`.
  var jsonFields: [String: Any] {
    [
      "label": name, "index": label, "start": rounded(start), "end": rounded(end),
      "prob": rounded(prob),
    ]
  }
}

/// The summary line of `timeline --json` (`"type": "summary"`), for a file and a live source
/// alike; `ended` (how a live source ended) and `agreement` only when given.
func timelineSummaryLine(
  path: String, windows: Int, dropped: Int, windowFrames: Int, strideFrames: Int,
  decodedFrames: Int, duration: Double, segments: [TimelineSegment], agreement: Double?,
  ended: String? = nil
) throws -> String {
  var line: [String: Any] = [
    "type": "summary", "path": path, "windows": windows, "dropped": dropped,
    "window_frames": windowFrames, "stride_frames": strideFrames,
    "decoded_frames": decodedFrames, "duration": rounded(duration),
    "segments": segments.map(\.jsonFields),
  ]
  if let ended { line["ended"] = ended }
  if let agreement { line["agreement"] = rounded(agreement) }
  return try jsonLine(line)
}
