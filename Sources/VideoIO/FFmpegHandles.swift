import CFFmpeg

#if canImport(Glibc)
  import Glibc
#endif

// Owners of FFmpeg's C handles: each `final class` frees its handle in `deinit`, so a handle
// lives exactly as long as the Swift value that uses it, on every path including errors.

/// An FFmpeg object from an allocator (`av_packet_alloc`, `av_frame_alloc`), released by its
/// matching free function in `deinit`.
final class Owned<Object> {
  let pointer: UnsafeMutablePointer<Object>
  private let release: (UnsafeMutablePointer<UnsafeMutablePointer<Object>?>) -> Void

  init(
    path: String, allocate: () -> UnsafeMutablePointer<Object>?,
    release: @escaping (UnsafeMutablePointer<UnsafeMutablePointer<Object>?>) -> Void
  ) throws {
    guard let p = allocate() else { throw VideoError(path: path, "out of memory") }
    pointer = p
    self.release = release
  }

  deinit {
    var p: UnsafeMutablePointer<Object>? = pointer
    release(&p)
  }
}

/// An `AVPacket`, freed with `av_packet_free`.
typealias Packet = Owned<AVPacket>
/// An `AVFrame`, freed with `av_frame_free`.
typealias Frame = Owned<AVFrame>

extension Owned where Object == AVPacket {
  convenience init(path: String) throws {
    try self.init(path: path, allocate: { av_packet_alloc() }, release: { av_packet_free($0) })
  }
}

extension Owned where Object == AVFrame {
  convenience init(path: String) throws {
    try self.init(path: path, allocate: { av_frame_alloc() }, release: { av_frame_free($0) })
  }
}

/// An input `AVFormatContext` (demuxer), opened with `avformat_open_input` and closed with
/// `avformat_close_input`.
final class InputContext {
  let pointer: UnsafeMutablePointer<AVFormatContext>
  let path: String

  /// Opens `path` and reads its stream information.
  init(path: String) throws {
    FFmpegLog.silenceByDefault()
    self.path = path
    // A FIFO, socket or device is refused before FFmpeg opens it: opening a FIFO blocks until
    // a writer comes (a hang), and none can be indexed before decoding as a file is.
    var st = stat()
    if stat(path, &st) == 0, (st.st_mode & S_IFMT) != S_IFREG, (st.st_mode & S_IFMT) != S_IFDIR {
      let kind: String
      switch st.st_mode & S_IFMT {
      case S_IFIFO: kind = "a FIFO (named pipe)"
      case S_IFSOCK: kind = "a socket"
      default: kind = "a device"
      }
      throw VideoError(
        path: path, "cannot open", detail: "\(kind), not a regular file; save the stream to a file")
    }
    var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
    let status = avformat_open_input(&ctx, path, nil, nil)
    guard status >= 0, let opened = ctx else {
      throw VideoError(path: path, "cannot open", code: status < 0 ? status : vc_averror(EINVAL))
    }
    pointer = opened
    try check(avformat_find_stream_info(opened, nil), path, "cannot read stream information")
  }

  /// Opens a stream `url` (any FFmpeg URL, `pipe:0`; with a device demuxer its device or
  /// source, e.g. `/dev/video0` for `v4l2`, a filter graph for `lavfi`), with the demuxer
  /// `format` when given (`av_find_input_format`, after `CaptureDevices.register()`, e.g.
  /// `v4l2`, `mpegts`), and reads its stream information; every blocking read polls
  /// `interrupt` (`VideoStream`'s stall timeout and stop request).
  init(url: String, format: String?, interrupt: AVIOInterruptCB) throws {
    FFmpegLog.silenceByDefault()
    self.path = url
    var demuxer: UnsafePointer<AVInputFormat>? = nil
    if let format {
      let devices = CaptureDevices.register()
      guard let found = av_find_input_format(format) else {
        throw VideoError(
          path: url, "cannot open",
          detail: "no input format (demuxer or device) named '\(format)' in this FFmpeg"
            + (devices.map { " (capture devices unavailable: \($0))" } ?? ""))
      }
      demuxer = found
    }
    guard var ctx: UnsafeMutablePointer<AVFormatContext>? = avformat_alloc_context() else {
      throw VideoError(path: url, "out of memory")
    }
    ctx?.pointee.interrupt_callback = interrupt
    let status = avformat_open_input(&ctx, url, demuxer, nil)  // frees ctx on failure
    guard status >= 0, let opened = ctx else {
      throw VideoError(path: url, "cannot open", code: status < 0 ? status : vc_averror(EINVAL))
    }
    pointer = opened
    try check(avformat_find_stream_info(opened, nil), url, "cannot read stream information")
  }

  deinit {
    var p: UnsafeMutablePointer<AVFormatContext>? = pointer
    avformat_close_input(&p)
  }

  /// Tells the demuxer to skip the packets of every stream but `index` (audio, subtitles):
  /// reading then touches only the video's data.
  func discardAll(except index: Int) {
    for i in 0..<Int(pointer.pointee.nb_streams) where i != index {
      stream(i).pointee.discard = AVDISCARD_ALL
    }
  }

  /// The stream at `index`. Precondition: `0 <= index < nb_streams`.
  func stream(_ index: Int) -> UnsafeMutablePointer<AVStream> {
    precondition(index >= 0 && index < Int(pointer.pointee.nb_streams))
    guard let s = pointer.pointee.streams[index] else { preconditionFailure("null stream") }
    return s
  }
}

/// An `AVCodecContext`, freed with `avcodec_free_context`.
final class CodecContext {
  let pointer: UnsafeMutablePointer<AVCodecContext>
  init(codec: UnsafePointer<AVCodec>, path: String) throws {
    guard let p = avcodec_alloc_context3(codec) else {
      throw VideoError(path: path, "out of memory")
    }
    pointer = p
  }
  deinit {
    var p: UnsafeMutablePointer<AVCodecContext>? = pointer
    avcodec_free_context(&p)
  }
}

/// A swscale context, reused across frames of the same geometry (`sws_getCachedContext`) and
/// freed with `sws_freeContext`.
final class Scaler {
  private var context: OpaquePointer? = nil
  private let flags: Int32

  /// `flags`: the swscale filter. `SWS_AREA` by default: averaging when shrinking (no
  /// aliasing, and cheaper than swscale's bilinear there), bilinear when enlarging.
  init(flags: Int32 = SWS_AREA) {
    self.flags = flags
  }

  deinit { sws_freeContext(context) }

  /// Converts and scales a source image (`data`/`linesize` planes of `format`) of
  /// `srcWidth`×`srcHeight` into packed RGB24 at `dst`, `dstWidth`×`dstHeight`, row stride
  /// `dstStride` bytes. Precondition: `dst` holds `dstStride * dstHeight` bytes.
  ///
  /// swscale may write a little past the end of a row (it works in pixel pairs and vectors),
  /// so it writes into a padded scratch buffer, copied row by row into `dst`.
  func scaleToRGB24(
    data: [UnsafePointer<UInt8>?], linesize: [Int32], format: AVPixelFormat,
    srcWidth: Int, srcHeight: Int,
    dst: UnsafeMutablePointer<UInt8>, dstWidth: Int, dstHeight: Int, dstStride: Int,
    path: String
  ) throws {
    let stride = (dstWidth * 3 + 63) / 64 * 64 + 64
    let needed = stride * (dstHeight + 2)
    if scratch.count < needed { scratch = [UInt8](repeating: 0, count: needed) }
    try scratch.withUnsafeMutableBufferPointer { buffer in
      guard let base = buffer.baseAddress else { return }
      try scale(
        data: data, linesize: linesize, format: format, srcWidth: srcWidth,
        srcHeight: srcHeight, dstData: [base, nil, nil, nil],
        dstLinesize: [Int32(stride), 0, 0, 0], dstFormat: AV_PIX_FMT_RGB24,
        dstWidth: dstWidth, dstHeight: dstHeight, path: path)
      for y in 0..<dstHeight {
        (dst + y * dstStride).update(from: base + y * stride, count: dstWidth * 3)
      }
    }
  }

  /// Padded output rows for `scaleToRGB24`.
  private var scratch: [UInt8] = []
  /// Padded input rows for `scaleFromRGB24`.
  private var source: [UInt8] = []

  /// Converts `image` (same size) into the planes of an `AVFrame` of format
  /// `frame.format`. The image is first copied into padded rows, since swscale may read a
  /// little past the end of a row. Precondition: `frame` is `image.width`×`image.height`,
  /// with buffers.
  func scaleFromRGB24(_ image: RGBImage, into frame: UnsafeMutablePointer<AVFrame>, path: String)
    throws
  {
    let (w, h) = (image.width, image.height)
    let stride = (w * 3 + 63) / 64 * 64 + 64
    if source.count < stride * (h + 2) { source = [UInt8](repeating: 0, count: stride * (h + 2)) }
    let f = frame.pointee
    try source.withUnsafeMutableBufferPointer { buffer in
      guard let base = buffer.baseAddress else { return }
      image.pixels.withUnsafeBufferPointer { src in
        guard let s = src.baseAddress else { return }
        for y in 0..<h { (base + y * stride).update(from: s + y * w * 3, count: w * 3) }
      }
      try scale(
        data: [UnsafePointer(base), nil, nil, nil], linesize: [Int32(stride), 0, 0, 0],
        format: AV_PIX_FMT_RGB24, srcWidth: w, srcHeight: h,
        dstData: [f.data.0, f.data.1, f.data.2, f.data.3],
        dstLinesize: [f.linesize.0, f.linesize.1, f.linesize.2, f.linesize.3],
        dstFormat: AVPixelFormat(rawValue: f.format), dstWidth: w, dstHeight: h, path: path)
    }
  }

  /// General form: converts and scales between any two pixel formats, plane by plane.
  func scale(
    data: [UnsafePointer<UInt8>?], linesize: [Int32], format: AVPixelFormat,
    srcWidth: Int, srcHeight: Int,
    dstData: [UnsafeMutablePointer<UInt8>?], dstLinesize: [Int32], dstFormat: AVPixelFormat,
    dstWidth: Int, dstHeight: Int, path: String
  ) throws {
    context = sws_getCachedContext(
      context, Int32(srcWidth), Int32(srcHeight), format, Int32(dstWidth), Int32(dstHeight),
      dstFormat, flags, nil, nil, nil)
    guard let ctx = context else {
      throw VideoError(
        path: path, "cannot convert pixels",
        detail: "no conversion from \(pixelFormatName(format)) \(srcWidth)x\(srcHeight)")
    }
    let status = sws_scale(ctx, data, linesize, 0, Int32(srcHeight), dstData, dstLinesize)
    try check(status, path, "cannot convert pixels")
  }
}

/// FFmpeg's name for a pixel format, e.g. `yuv420p`.
func pixelFormatName(_ format: AVPixelFormat) -> String {
  guard let name = av_get_pix_fmt_name(format) else { return "unknown" }
  return String(cString: name)
}

extension AVRational {
  /// The rational as a Double, or nil when the denominator or numerator is 0.
  var doubleValue: Double? {
    guard num != 0, den != 0 else { return nil }
    return Double(num) / Double(den)
  }
}
