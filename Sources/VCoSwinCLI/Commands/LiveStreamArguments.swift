import ArgumentParser

/// The `timeline` options of live sources (`-` and URLs), read as they arrive.
struct LiveStreamArguments: ParsableArguments {
  @Option(
    help:
      "Demuxer of a live source (FFmpeg's name, e.g. mpegts, matroska; default: probed).")
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

  /// Whether `video` is read as a live source: standard input (without pictures, which need
  /// the whole video first), any URL, or anything with --input-format.
  func isLive(_ video: String, pictures: Bool) -> Bool {
    (video == "-" && !pictures) || video.contains("://") || inputFormat != nil
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
