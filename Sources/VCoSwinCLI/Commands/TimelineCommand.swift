import ArgumentParser
import Datasets
import Foundation
import Inference

/// `vcoswin timeline`: which action happens when in a long video, in one streaming pass.
struct TimelineCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "timeline",
    abstract: "A timeline of actions in a long video: sliding windows, merged segments, pictures.",
    discussion: HelpExamples.protected(
      """
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
      classified (type "window", path, window, start, end, frames [first, last], top), then \
      one with the segments (type "summary"). --svg/--png draw the timeline (one video); \
      --truth FILE (lines `start end label`, seconds) adds the ground truth and the agreement.

      Live sources, `-` (standard input), URLs (udp://, tcp://, rtsp://, http(s)://) and, \
      with --input-format, capture devices (v4l2 for /dev/video0) or lavfi filter graphs, are \
      decoded as packets arrive (times from timestamps); each window's line (with latency: \
      seconds from its last frame's arrival) and each closed segment print at once; end of \
      stream, SIGINT or SIGTERM print the summary (exit 0). Without --realtime every window \
      is classified, so a model slower than the stream falls behind and latency grows \
      without bound. --svg/--png of a live source are drawn when it ends, from thumbnails \
      kept as frames pass (at most 8 times the strip's count, whatever the length).

      Examples:
        vcoswin synth --out /tmp/long --long 60 --size 32
        vcoswin timeline /tmp/long/long.mkv --truth /tmp/long/long-truth.txt --png timeline.png
        vcoswin timeline match.mp4 --checkpoint swin3d_t.safetensors --stride 1 --smooth 3 --json
        vcoswin timeline udp://127.0.0.1:5000 --realtime --json
        vcoswin timeline /dev/video0 --input-format v4l2 --realtime
      """))

  @Argument(help: "Videos.")
  var videos: [String]

  @OptionGroup var inference: InferenceArguments

  @OptionGroup(title: "Live sources") var live: LiveStreamArguments

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

  @OptionGroup var output: OverwriteOption

  @Option(
    help: "Ground-truth segments: lines `start end label` (seconds; label a class name or index).")
  var truth: String?

  func validate() throws {
    guard !videos.isEmpty else { throw ValidationError("give at least one video.") }
    let (maxFrames, maxSeconds) = (InferenceLimits.maxFrames, InferenceLimits.maxSeconds)
    for (name, value, range, unit) in [
      ("--top", top, 1...1000, ""), ("--smooth", smooth, 1...10_001, " windows"),
      ("--stride-frames", strideFrames, 1...maxFrames, ""),
      ("--window-frames", windowFrames, 1...maxFrames, ""),
    ] as [(String, Int?, ClosedRange<Int>, String)] {
      if let value, !range.contains(value) {
        throw ValidationError(
          "\(name) must be in \(range.lowerBound)…\(range.upperBound)\(unit) (got \(value)).")
      }
    }
    guard minSegment.isFinite, (0...maxSeconds).contains(minSegment) else {
      throw ValidationError(
        "--min-segment must be seconds in 0…\(Int(maxSeconds)) (got \(minSegment)).")
    }
    if let stride, !(stride.isFinite && stride > 0 && stride <= maxSeconds) {
      throw ValidationError("--stride must be seconds in (0, \(Int(maxSeconds))] (got \(stride)).")
    }
    if stride != nil && strideFrames != nil {
      throw ValidationError("give --stride or --stride-frames, not both.")
    }
    if windowFrames != nil && inference.interval != nil {
      throw ValidationError("give --window-frames or --interval, not both.")
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
    try output.check([("--svg", svg), ("--png", png)])
    var loaded = try inference.load()
    guard loaded.info.config.dims == 3 else {
      throw CommandFailure(
        "\(loaded.path): a timeline needs a video model; this is an image checkpoint")
    }
    if let windowFrames { try loaded.span(windowFrames: windowFrames) }
    // Read the truth first: a bad file is reported before the long pass.
    let truth = try self.truth.map {
      try TruthSegment.parse(
        readTextFile($0, what: "the truth file"), path: $0, names: loaded.info.labels)
    }
    try loaded.checkTimelineMemory()
    var failures = 0
    for video in videos {
      do {
        if live.isLive(video) {
          try liveTimeline(video, loaded, truth: truth)
        } else {
          try timeline(video, loaded, truth: truth)
        }
      } catch {
        failures += 1
        printHumanError("error: \(errorText(error, naming: video))")
      }
    }
    if failures > 0 {
      throw CommandFailure.failed(failures, of: videos.count, "could not be read")
    }
  }
}
