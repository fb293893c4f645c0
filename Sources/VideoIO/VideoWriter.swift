import CFFmpeg
import Foundation

/// Writes RGB frames to a video file with libavcodec/libavformat.
///
/// The container comes from the file extension (`.mkv`, `.avi`, `.mp4`, …). Codecs:
/// FFV1 (lossless RGB: decoded pixels equal the written ones), MPEG-4 part 2 (small,
/// lossy), H.264 (through libx264 when this FFmpeg build has it), Motion JPEG, MS-MPEG-4 v3,
/// Cinepak and VP9 (libvpx).
///
/// Usage: `append` frames of the writer's size, then `finish()`; a writer dropped without
/// `finish()` still closes its file, but a lost trailer may leave it unreadable.
public final class VideoWriter {
  /// Video codecs the writer can use.
  public enum Codec: String, Sendable, CaseIterable {
    /// Lossless FFV1 in RGB (`bgr0`).
    case ffv1
    /// MPEG-4 part 2, 4:2:0, constant quantiser `quality` (2 best … 31 worst; default 4).
    case mpeg4
    /// H.264 through libx264, 4:2:0, constant rate factor `quality` (default 23).
    /// Width and height must be even.
    case h264
    /// Motion JPEG, 4:2:0, quantiser `quality` (default 4).
    case mjpeg
    /// Microsoft MPEG-4 v3 (`msmpeg4`, for `.avi`), quantiser `quality` (default 4).
    case msmpeg4
    /// Cinepak (for `.avi`/`.mov`), RGB.
    case cinepak
    /// VP9 through libvpx (for `.webm`/`.mkv`), constant quality `quality` (default 32).
    case vp9

    /// The default codec for a path: `.mkv` → FFV1, anything else → MPEG-4.
    public static func `default`(forPath path: String) -> Codec {
      path.lowercased().hasSuffix(".mkv") ? .ffv1 : .mpeg4
    }

    /// Whether this FFmpeg build can encode with it.
    public var isAvailable: Bool { avcodec_find_encoder_by_name(encoderName) != nil }

    var encoderName: String {
      switch self {
      case .h264: return "libx264"
      case .vp9: return "libvpx-vp9"
      default: return rawValue
      }
    }

    var pixelFormat: AVPixelFormat {
      switch self {
      case .ffv1: return AV_PIX_FMT_BGR0
      case .mpeg4, .h264, .msmpeg4, .vp9: return AV_PIX_FMT_YUV420P
      case .mjpeg: return AV_PIX_FMT_YUVJ420P
      case .cinepak: return AV_PIX_FMT_RGB24
      }
    }
  }

  public let path: String
  public let width: Int
  public let height: Int
  /// Frames written so far.
  public private(set) var frameCount = 0

  private let output: OutputContext
  private let encoder: CodecContext
  private let stream: UnsafeMutablePointer<AVStream>
  private let frame: Frame
  private let packet: Packet
  private let scaler = Scaler(flags: SWS_BICUBIC)
  private var finished = false
  private var lastPts: Int64 = -1

  /// Creates the file and writes its header.
  ///
  /// - Parameters:
  ///   - width, height: frame size in pixels, ≥ 1.
  ///   - fps: nominal frame rate; the default time base is `1/fps` (frame `i` at pts `i`).
  ///   - timeBase: a finer time base `1/timeBase` for explicit timestamps (variable frame
  ///     rate), or nil for `1/fps`.
  ///   - quality: codec quantiser or rate factor (see `Codec`), nil for the default.
  ///   - keyframeInterval: frames between keyframes (group of pictures).
  ///   - bFrames: consecutive B-frames allowed (decode order then differs from presentation
  ///     order); MPEG-4 and H.264 only.
  ///   - threads: encoder threads.
  ///   - rotation: clockwise degrees a player should turn the frames (a display matrix on
  ///     the stream, as a phone writes for a portrait recording); 0 writes none. Stored by
  ///     MP4/MOV (`.mp4`, `.mov`); other containers may drop it.
  ///   - mirrored: the display matrix also mirrors the turned frames left–right.
  /// - Throws: `VideoError` naming the file when the container or codec is unknown or the
  ///   file cannot be written.
  public init(
    path: String, width: Int, height: Int, fps: Int = 25, codec: Codec? = nil,
    timeBase: Int? = nil, quality: Int? = nil, keyframeInterval: Int = 12, bFrames: Int = 0,
    threads: Int = 1, rotation: Int = 0, mirrored: Bool = false
  ) throws {
    precondition(width >= 1 && height >= 1 && fps >= 1, "size and fps must be positive")
    FFmpegLog.silenceByDefault()
    self.path = path
    self.width = width
    self.height = height
    let codec = codec ?? Codec.default(forPath: path)
    output = try OutputContext(path: path)
    guard let encoderCodec = avcodec_find_encoder_by_name(codec.encoderName) else {
      throw VideoError(
        path: path, "no encoder", detail: "this FFmpeg build has no \(codec.encoderName)")
    }
    guard let s = avformat_new_stream(output.pointer, nil) else {
      throw VideoError(path: path, "cannot add a video stream")
    }
    stream = s
    encoder = try CodecContext(codec: encoderCodec, path: path)
    let ctx = encoder.pointer
    ctx.pointee.width = Int32(width)
    ctx.pointee.height = Int32(height)
    ctx.pointee.pix_fmt = codec.pixelFormat
    ctx.pointee.time_base = AVRational(num: 1, den: Int32(timeBase ?? fps))
    ctx.pointee.framerate = AVRational(num: Int32(fps), den: 1)
    ctx.pointee.gop_size = Int32(keyframeInterval)
    ctx.pointee.max_b_frames = codec == .mpeg4 || codec == .h264 ? Int32(bFrames) : 0
    ctx.pointee.thread_count = Int32(threads)
    // Same frames, same bytes: no version strings, random ids or dates in the file.
    ctx.pointee.flags |= AV_CODEC_FLAG_BITEXACT
    output.pointer.pointee.flags |= AVFMT_FLAG_BITEXACT
    switch codec {
    case .mpeg4, .mjpeg, .msmpeg4:
      ctx.pointee.flags |= AV_CODEC_FLAG_QSCALE
      ctx.pointee.global_quality = Int32(FF_QP2LAMBDA) * Int32(quality ?? 4)
      if codec == .mjpeg { ctx.pointee.color_range = AVCOL_RANGE_JPEG }
    case .h264:
      av_opt_set(ctx.pointee.priv_data, "preset", "veryfast", 0)
      av_opt_set(ctx.pointee.priv_data, "crf", String(quality ?? 23), 0)
    case .vp9:
      ctx.pointee.bit_rate = 0
      av_opt_set(ctx.pointee.priv_data, "crf", String(quality ?? 32), 0)
      av_opt_set(ctx.pointee.priv_data, "deadline", "realtime", 0)
      av_opt_set(ctx.pointee.priv_data, "cpu-used", "8", 0)
    case .ffv1, .cinepak:
      break
    }
    if output.pointer.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 {
      ctx.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
    }
    try check(avcodec_open2(ctx, encoderCodec, nil), path, "cannot open \(codec.rawValue) encoder")
    try check(
      avcodec_parameters_from_context(stream.pointee.codecpar, ctx), path,
      "cannot set stream parameters")
    stream.pointee.time_base = ctx.pointee.time_base
    stream.pointee.avg_frame_rate = ctx.pointee.framerate
    if rotation % 360 != 0 || mirrored {
      try check(
        vc_stream_set_display_matrix(stream, Double(rotation), mirrored ? 1 : 0), path,
        "cannot set the display matrix")
    }
    frame = try Frame(path: path)
    frame.pointer.pointee.format = codec.pixelFormat.rawValue
    frame.pointer.pointee.width = Int32(width)
    frame.pointer.pointee.height = Int32(height)
    try check(av_frame_get_buffer(frame.pointer, 0), path, "out of memory")
    packet = try Packet(path: path)
    try output.open()
    try check(avformat_write_header(output.pointer, nil), path, "cannot write header")
  }

  deinit {
    if !finished { try? finish() }
  }

  /// Encodes one frame. `pts` is in the writer's time base (see `init`); by default one
  /// after the previous frame. Precondition: `image` is `width`×`height`; `pts` increases.
  public func append(_ image: RGBImage, pts: Int64? = nil) throws {
    precondition(!finished, "append after finish")
    precondition(
      image.width == width && image.height == height, "frame size differs from the writer's")
    let t = pts ?? lastPts + 1
    precondition(t > lastPts, "timestamps must increase")
    try check(av_frame_make_writable(frame.pointer), path, "cannot write frame")
    try scaler.scaleFromRGB24(image, into: frame.pointer, path: path)
    frame.pointer.pointee.pts = t
    // With a fixed quantiser, the encoder takes each frame's quality.
    frame.pointer.pointee.quality = encoder.pointer.pointee.global_quality
    lastPts = t
    try check(avcodec_send_frame(encoder.pointer, frame.pointer), path, "cannot encode frame")
    try drain()
    frameCount += 1
  }

  /// Flushes the encoder, writes the trailer and closes the file.
  public func finish() throws {
    guard !finished else { return }
    finished = true
    defer { output.close() }
    try check(avcodec_send_frame(encoder.pointer, nil), path, "cannot flush encoder")
    try drain()
    try check(av_write_trailer(output.pointer), path, "cannot write trailer")
  }

  private func drain() throws {
    while true {
      let status = avcodec_receive_packet(encoder.pointer, packet.pointer)
      if status == AVStatus.again || status == AVStatus.eof { return }
      try check(status, path, "cannot encode frame")
      av_packet_rescale_ts(
        packet.pointer, encoder.pointer.pointee.time_base, stream.pointee.time_base)
      packet.pointer.pointee.stream_index = stream.pointee.index
      let written = av_interleaved_write_frame(output.pointer, packet.pointer)
      av_packet_unref(packet.pointer)
      try check(written, path, "cannot write packet")
    }
  }
}

/// An output `AVFormatContext` (muxer) and its file, freed with `avformat_free_context`.
final class OutputContext {
  let pointer: UnsafeMutablePointer<AVFormatContext>
  let path: String
  private var isOpen = false

  init(path: String) throws {
    self.path = path
    var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
    let status = avformat_alloc_output_context2(&ctx, nil, nil, path)
    guard status >= 0, let c = ctx else {
      throw VideoError(
        path: path, "unknown container", detail: "cannot tell the format from the file name")
    }
    pointer = c
  }

  func open() throws {
    guard pointer.pointee.oformat.pointee.flags & AVFMT_NOFILE == 0 else { return }
    try check(avio_open(&pointer.pointee.pb, path, AVIO_FLAG_WRITE), path, "cannot create file")
    isOpen = true
  }

  func close() {
    if isOpen { avio_closep(&pointer.pointee.pb) }
    isOpen = false
  }

  deinit {
    close()
    avformat_free_context(pointer)
  }
}
