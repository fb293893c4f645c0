/// Facts about a file's video stream, as `vcoswin probe` reports them.
///
/// `frames`, `duration` and `fps` come from the packet timestamps of the whole stream (a
/// packet scan), not from the container header, which may lie or lack them: a truncated file
/// reports the frames it really holds, a variable-frame-rate file its mean rate.
public struct StreamInfo: Codable, Sendable, Equatable {
  /// The file path as given.
  public var path: String
  /// The demuxer's short name, e.g. `matroska,webm`, `mov,mp4,m4a,3gp,3g2,mj2`, `avi`.
  public var container: String
  /// The codec's short name, e.g. `h264`, `mpeg4`, `ffv1`, `png`.
  public var codec: String
  /// Frame width and height in pixels.
  public var width: Int
  public var height: Int
  /// Frames per second: the header rate when the timestamps agree with it, otherwise the mean
  /// rate measured from the timestamps. 0 when unknown (a single image with no rate).
  public var fps: Double
  /// Number of frames in presentation order (counted by demuxing every packet).
  public var frames: Int
  /// Seconds from the first frame's start to the last frame's end.
  public var duration: Double

  public init(
    path: String, container: String, codec: String, width: Int, height: Int, fps: Double,
    frames: Int, duration: Double
  ) {
    self.path = path
    self.container = container
    self.codec = codec
    self.width = width
    self.height = height
    self.fps = fps
    self.frames = frames
    self.duration = duration
  }
}
