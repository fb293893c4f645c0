import ArgumentParser
import Foundation
import Models
import Reports
import SafeTensors
import Training
import VideoIO

/// `vcoswin timeline`: which action happens when in a long video, in one streaming pass.
struct TimelineCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "timeline",
    abstract: "A timeline of actions in a long video: sliding windows, merged segments, pictures.",
    discussion: """
      Windows of the checkpoint's clip (T frames every I frames, spanning T×I frames) start \
      every --stride seconds (or --stride-frames; default half a window) and are classified \
      with the centre crop, as classify does. The video is decoded once, in presentation order; \
      frames are transformed once and kept only while a window needs them, and windows go to \
      the model --batch at a time, so memory does not grow with the length. A video shorter \
      than one window is one window whose frames wrap (frame j·I mod F), as classify samples \
      short videos.

      Segments: each window stands for the time around its centre (from half way to the \
      previous window's centre to half way to the next; the first from 0, the last to the \
      end). Its label is the top class after --smooth K (a centred moving average of the \
      probabilities over K windows). Consecutive windows with the same label merge into a \
      segment; prob is the mean probability of its label. --min-segment S then joins every \
      segment shorter than S seconds, shortest first, to its longer neighbour.

      Output: a table of segments per video; with --json one line per window as it is \
      classified (path, window, start, end, frames [first, last], top), then one line with \
      the segments. --svg/--png draw the timeline (one video); --truth FILE (lines \
      `start end label`, seconds) adds the ground truth and the agreement.
      `-` reads standard input (`ffmpeg -i in.mp4 -f matroska - | vcoswin timeline -`): it is \
      copied to a temporary file first (the reader indexes a file's packets before decoding), \
      so memory stays flat but the disk holds the stream until the end, at most \
      min(64 GiB, 90% of the temporary directory's free space); not streamed yet.

      Examples:
        vcoswin synth --out /tmp/long --long 60 --size 32
        vcoswin timeline /tmp/long/long.mkv --truth /tmp/long/long-truth.txt --png timeline.png
        vcoswin timeline match.mp4 --checkpoint swin3d_t.safetensors --stride 1 --smooth 3 --json
      """)

  @Argument(help: "Videos.")
  var videos: [String]

  @OptionGroup var inference: InferenceArguments

  @Option(
    help:
      "Frames a window spans, a multiple of the clip length (sets the interval; default: clip length × interval)."
  )
  var windowFrames: Int?

  @Option(help: "Seconds between window starts (converted with the video's frame rate).")
  var stride: Double?

  @Option(help: "Frames between window starts (default: half a window).")
  var strideFrames: Int?

  @Option(help: "Labels per window in --json.")
  var top = 3

  @Option(
    help:
      "Moving average of the probabilities over this many windows before the top label (1: none).")
  var smooth = 1

  @Option(help: "Segments shorter than this many seconds join a neighbour (0: keep all).")
  var minSegment = 0.0

  @Flag(help: "One JSON object per window per line, then one with the segments.")
  var json = false

  @Option(help: "Write the timeline picture as SVG (one video).")
  var svg: String?

  @Option(help: "Write the timeline picture as PNG (one video).")
  var png: String?

  @Option(
    help: "Ground-truth segments: lines `start end label` (seconds; label a class name or index).")
  var truth: String?

  /// Largest stride in frames and window span accepted (about 4.6 days at 25 fps).
  static let maxFrames = 10_000_000
  /// Largest duration accepted in seconds (a year).
  static let maxSeconds = 31_536_000.0

  func validate() throws {
    guard !videos.isEmpty else { throw ValidationError("give at least one video.") }
    guard (1...1000).contains(top) else {
      throw ValidationError("--top must be in 1…1000 (got \(top)).")
    }
    guard (1...10_001).contains(smooth) else {
      throw ValidationError("--smooth must be in 1…10001 windows (got \(smooth)).")
    }
    guard minSegment.isFinite, (0...Self.maxSeconds).contains(minSegment) else {
      throw ValidationError(
        "--min-segment must be seconds in 0…\(Int(Self.maxSeconds)) (got \(minSegment)).")
    }
    if let stride {
      guard stride.isFinite, stride > 0, stride <= Self.maxSeconds else {
        throw ValidationError(
          "--stride must be seconds in (0, \(Int(Self.maxSeconds))] (got \(stride)).")
      }
    }
    if let strideFrames, !(1...Self.maxFrames).contains(strideFrames) {
      throw ValidationError("--stride-frames must be in 1…\(Self.maxFrames) (got \(strideFrames)).")
    }
    if stride != nil && strideFrames != nil {
      throw ValidationError("give --stride or --stride-frames, not both.")
    }
    if let windowFrames {
      guard (1...Self.maxFrames).contains(windowFrames) else {
        throw ValidationError(
          "--window-frames must be in 1…\(Self.maxFrames) (got \(windowFrames)).")
      }
      if inference.interval != nil {
        throw ValidationError("give --window-frames or --interval, not both.")
      }
    }
    if inference.clips != 1 || inference.crops != 1 || inference.fullProtocol {
      throw ValidationError(
        "a timeline classifies each window once (centre crop): drop --clips, --crops and --full-protocol."
      )
    }
    if (svg != nil || png != nil || truth != nil) && videos.count != 1 {
      throw ValidationError("--svg, --png and --truth take one video (got \(videos.count)).")
    }
  }

  func run() throws {
    try inference.refuseCheckpoints(amongVideos: videos)
    let loaded = try inference.load()
    let (model, info) = (loaded.model, loaded.info)
    guard info.config.dims == 3 else {
      throw CommandFailure(
        "\(loaded.path): a timeline needs a video model; this is an image checkpoint")
    }
    var data = loaded.data
    if let windowFrames {
      guard windowFrames % data.clipLength == 0 else {
        throw CommandFailure(
          "--window-frames \(windowFrames) is not a multiple of the clip length \(data.clipLength)")
      }
      data.frameInterval = windowFrames / data.clipLength
    }
    // Read the truth first: a bad file is reported before the long pass.
    var truthSegments: [TruthSegment]? = nil
    if let truth {
      let text = try readTextFile(truth, what: "the truth file")
      truthSegments = try TruthSegment.parse(text, path: truth, names: info.labels)
    }
    // Memory of one forward of --batch windows, the batch itself and the ring of one window's
    // frames ([B, 3, T, H, W] and [T·I, 3, H, W] Float32), checked before any pass.
    let sample = [3, data.clipLength, data.size, data.size]
    let window = sample.reduce(4, saturatingProduct)
    let ring = saturatingProduct(
      saturatingProduct(data.frameInterval, 3 * 4),
      saturatingProduct(data.clipLength, data.size * data.size))
    try MemoryBudget.check(
      saturatingSum(
        info.config.inferenceBytes(batch: inference.batch, input: Array(sample.dropFirst())),
        saturatingSum(saturatingProduct(inference.batch, window), ring)),
      what:
        "\(loaded.path): timeline windows of \(sample.dropFirst().map(String.init).joined(separator: "×")), batch \(inference.batch)"
    )
    let transform = ClipTransform.test(size: data.size, normalize: data.normalize)
    var failures = 0
    for video in videos {
      do {
        try timeline(
          video, model: model, labels: info.labels, data: data, transform: transform,
          truth: truthSegments)
      } catch {
        failures += 1
        let message = String(describing: error)
        FileHandle.standardError.write(
          Data("error: \(message.contains(video) ? message : "\(video): \(message)")\n".utf8))
      }
    }
    if failures > 0 {
      throw CommandFailure("\(failures) of \(videos.count) files could not be read")
    }
  }

  /// One video: the pass, the segments, the output.
  private func timeline(
    _ video: String, model: VCoSwinModel, labels: [String], data: DataOptions,
    transform: ClipTransform,
    truth: [TruthSegment]?
  ) throws {
    // `-`: standard input, copied to a bounded temporary file freed on every exit path.
    let copy =
      video == "-"
      ? try StandardInputSpool(
        from: .standardInput, directory: FileManager.default.temporaryDirectory) : nil
    defer { copy?.close() }
    let spool = copy?.path
    let file = spool ?? video
    let reader: VideoReader
    do {
      reader = try VideoReader(path: file, threads: inference.workers)
    } catch {
      guard let spool else { throw error }
      throw CommandFailure(
        "- (standard input): "
          + String(describing: error).replacingOccurrences(of: spool + ": ", with: "")
          .replacingOccurrences(of: spool, with: "-"))
    }
    let (T, I) = (data.clipLength, data.frameInterval)
    let span = T * I
    var S = strideFrames ?? Swift.max(1, span / 2)
    if let stride {
      guard reader.info.fps > 0 else {
        throw CommandFailure(
          "\(video): no frame rate known; give --stride-frames instead of --stride")
      }
      // Clamped as a Double: the frame rate comes from the file and may be huge.
      S = Swift.max(1, Int(Swift.min(Double(Self.maxFrames), (stride * reader.info.fps).rounded())))
    }
    let plan = TimelinePlan(
      clipLength: T, frameInterval: I, strideFrames: S, frameCount: reader.frameCount)
    var runner = TimelineRunner(plan: plan, transform: transform, batch: inference.batch)
    if svg != nil || png != nil { addThumbnails(&runner, reader: reader) }
    let k = Swift.min(top, labels.count)
    let result = try runner.run(
      reader: reader,
      classify: { try model.averagedProbabilities($0, views: 1, batch: inference.batch) },
      onWindow: { w in
        guard json else { return }
        print(
          try jsonLine(
            [
              "path": video, "window": w.index, "start": rounded(w.start), "end": rounded(w.end),
              "frames": [w.firstFrame, w.lastFrame], "top": topList(w.probabilities, k, labels),
            ] as [String: Any]))
      })
    let probs = TimelineSegments.smooth(result.windows.map(\.probabilities), over: smooth)
    let segments = TimelineSegments.segments(
      centres: result.windows.map(\.centre), probabilities: probs, names: labels,
      duration: result.duration,
      minSegment: minSegment)
    let agreement = truth.map { TimelineSegments.agreement(segments, truth: $0) }
    if json {
      var line: [String: Any] = [
        "path": video, "windows": result.windows.count, "window_frames": span, "stride_frames": S,
        "decoded_frames": result.decodedFrames, "duration": rounded(result.duration),
        "segments": segments.map { s in
          [
            "label": s.name, "index": s.label, "start": rounded(s.start), "end": rounded(s.end),
            "prob": rounded(s.prob),
          ]
            as [String: Any]
        },
      ]
      if let agreement { line["agreement"] = rounded(agreement) }
      print(try jsonLine(line))
    } else {
      print(
        "\(video): \(result.windows.count) windows of \(T) frames every \(I) (\(span) frames), stride \(S) frames; \(result.decodedFrames) frames decoded"
      )
      print("     start       end  label                      prob")
      for s in segments {
        print(
          String(format: "  %8.2f  %8.2f  ", s.start, s.end)
            + s.name.padding(toLength: 24, withPad: " ", startingAt: 0)
            + String(format: "  %5.3f", s.prob))
      }
      if let agreement {
        print(
          String(format: "agreement with the truth: %.1f%% of the labelled time", agreement * 100))
      }
    }
    if svg != nil || png != nil {
      let picture = makePicture(
        video, result: result, segments: segments, labels: labels, truth: truth,
        agreement: agreement)
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
  }

  /// Thumbnails for the picture's strip: as many as fit side by side, at evenly spaced times.
  private func addThumbnails(_ runner: inout TimelineRunner, reader: VideoReader) {
    let (w, h) = (Swift.max(1, reader.info.width), Swift.max(1, reader.info.height))
    let th = TimelinePicture.thumbnailHeight
    let tw = Swift.min(4 * th, Swift.max(8, Int((Double(th) * Double(w) / Double(h)).rounded())))
    let count = Swift.max(1, TimelinePicture.plotWidth / (tw + 4))
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
    runner.thumbnailFrames = frames
    runner.thumbnailSize = (tw, th)
  }

  private func makePicture(
    _ video: String, result: TimelineResult, segments: [TimelineSegment], labels: [String],
    truth: [TruthSegment]?,
    agreement: Double?
  ) -> TimelinePicture {
    let stretches = TimelineSegments.coverage(
      centres: result.windows.map(\.centre), duration: result.duration)
    // Bands: classes on top of some window (raw probabilities), at most 12, most often on top first.
    var onTop: [Int: Int] = [:]
    for w in result.windows {
      if let best = topK(w.probabilities, 1).first { onTop[best.index, default: 0] += 1 }
    }
    for s in segments { onTop[s.label, default: 0] += 0 }
    let classes = onTop.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
      .prefix(12).map(\.key).sorted()
    let bands = classes.map { c in
      TimelinePicture.Band(
        name: labels[c], colour: c,
        cells: zip(result.windows, stretches).map { w, s in
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
    let name = URL(fileURLWithPath: video).lastPathComponent
    return TimelinePicture(
      title: "\(name): \(result.windows.count) windows, \(segments.count) segments",
      duration: result.duration, thumbnails: result.thumbnails.map { ($0.time, $0.image) },
      bands: bands,
      segments: segs, truth: truthSpans,
      note: agreement.map {
        String(format: "agreement with the truth: %.1f%% of the labelled time", $0 * 100)
      })
  }
}

/// `[{"label", "index", "prob"}]` of the `k` most probable classes, as `classify --json`.
private func topList(_ probs: [Float], _ k: Int, _ labels: [String]) -> [[String: Any]] {
  topK(probs, k).map { ["label": labels[$0.index], "index": $0.index, "prob": Double($0.prob)] }
}

/// Seconds and probabilities to 6 decimals (JSON stays short and stable).
private func rounded(_ x: Double) -> Double { (x * 1e6).rounded() / 1e6 }
