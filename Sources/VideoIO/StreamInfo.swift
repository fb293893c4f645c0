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
  /// Frame width and height in pixels, as displayed: a stream whose display matrix turns it by
  /// 90° or 270° (a portrait phone video) reports the stored height as its width.
  public var width: Int
  public var height: Int
  /// Frames per second: the header rate when the timestamps agree with it, otherwise the mean
  /// rate measured from the timestamps. 0 when unknown (a single image with no rate).
  public var fps: Double
  /// Number of frames in presentation order (counted by demuxing every packet).
  public var frames: Int
  /// Seconds from the first frame's start to the last frame's end.
  public var duration: Double
  /// Clockwise degrees (0, 90, 180, 270) the display matrix turns the stored frames (before
  /// a left–right mirror, when it has one); the reader applies the turn and the mirror.
  /// 0 without a matrix, or when its angle is not a multiple of 90° (frames read as stored).
  public var rotation: Int

  /// Stream facts as measured; `width`, `height` as displayed.
  public init(
    path: String, container: String, codec: String, width: Int, height: Int, fps: Double,
    frames: Int, duration: Double, rotation: Int = 0
  ) {
    self.path = path
    self.container = container
    self.codec = codec
    self.width = width
    self.height = height
    self.fps = fps
    self.frames = frames
    self.duration = duration
    self.rotation = rotation
  }

  private enum CodingKeys: String, CodingKey {
    case path, container, codec, width, height, fps, frames, duration, rotation
  }

  /// Decodes the JSON `probe` writes; `rotation` may be absent (0).
  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    path = try c.decode(String.self, forKey: .path)
    container = try c.decode(String.self, forKey: .container)
    codec = try c.decode(String.self, forKey: .codec)
    width = try c.decode(Int.self, forKey: .width)
    height = try c.decode(Int.self, forKey: .height)
    fps = try c.decode(Double.self, forKey: .fps)
    frames = try c.decode(Int.self, forKey: .frames)
    duration = try c.decode(Double.self, forKey: .duration)
    rotation = try c.decodeIfPresent(Int.self, forKey: .rotation) ?? 0
  }
}
