import ArgumentParser

/// The `timeline` options of live sources (`-` and URLs), read as they arrive.
struct LiveStreamArguments: ParsableArguments {
  @Option(
    help: """
      Demuxer or capture device of a live source (FFmpeg's name, e.g. mpegts, matroska; v4l2 \
      for /dev/video0; lavfi for a filter graph such as testsrc=rate=8; default: probed).
      """)
  var inputFormat: String?

  @Option(help: "Seconds without data after which a live source ends with an error.")
  var stallTimeout = 10.0

  @Flag(
    help: """
      Live sources: when the model is slower than the stream, drop whole windows (counted as \
      `dropped`) instead of falling behind; the stream keeps being read. Without it every \
      window is classified and the latency grows while the model is slower than the stream.
      """)
  var realtime = false

  /// Seconds every forward pass is made slower by (tests of --realtime).
  @Option(help: .hidden)
  var debugDelay = 0.0

  /// Whether `video` is read as a live source: standard input, any URL, or anything with
  /// --input-format (a capture device, a `lavfi` filter graph).
  func isLive(_ video: String) -> Bool {
    video == "-" || video.contains("://") || inputFormat != nil
  }

  func validate() throws {
    guard stallTimeout.isFinite, stallTimeout > 0, stallTimeout <= 86_400 else {
      throw ValidationError("--stall-timeout must be seconds in (0, 86400] (got \(stallTimeout)).")
    }
    guard debugDelay.isFinite, (0...60).contains(debugDelay) else {
      throw ValidationError("--debug-delay must be seconds in 0…60 (got \(debugDelay)).")
    }
  }
}
