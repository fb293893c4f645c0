// Bounds on what one inference run accepts, and the conversion of a stride in seconds to frames.

/// Bounds on the views and the spans of inference, checked where options and files enter.
public enum InferenceLimits {
  /// Most clips per video.
  public static let maxClips = 256
  /// Largest stride in frames and window span accepted (about 4.6 days at 25 fps).
  public static let maxFrames = 10_000_000
  /// Largest duration accepted in seconds (a year).
  public static let maxSeconds = 31_536_000.0

  /// Frames between window starts for a stride of `seconds` at `fps` frames per second:
  /// `clamp(round(seconds · fps), 1, maxFrames)`, clamped as a Double first (the frame rate
  /// comes from the file and may be huge). Nil when the frame rate is unknown (`fps` ≤ 0 or not
  /// a number). Precondition: `seconds` is finite and > 0.
  public static func strideFrames(seconds: Double, fps: Double) -> Int? {
    precondition(seconds.isFinite && seconds > 0, "a stride is a positive number of seconds")
    guard fps > 0 else { return nil }
    return Swift.max(1, Int(Swift.min(Double(maxFrames), (seconds * fps).rounded())))
  }
}
