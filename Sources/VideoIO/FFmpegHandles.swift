import CFFmpeg

// Owners of FFmpeg's C handles: each `final class` frees its handle in `deinit`, so a handle
// lives exactly as long as the Swift value that uses it, on every path including errors.

/// An `AVPacket`, freed with `av_packet_free`.
final class Packet {
  let pointer: UnsafeMutablePointer<AVPacket>
  init(path: String) throws {
    guard let p = av_packet_alloc() else { throw VideoError(path: path, "out of memory") }
    pointer = p
  }
  deinit {
    var p: UnsafeMutablePointer<AVPacket>? = pointer
    av_packet_free(&p)
  }
}

/// An `AVFrame`, freed with `av_frame_free`.
final class Frame {
  let pointer: UnsafeMutablePointer<AVFrame>
  init(path: String) throws {
    guard let p = av_frame_alloc() else { throw VideoError(path: path, "out of memory") }
    pointer = p
  }
  deinit {
    var p: UnsafeMutablePointer<AVFrame>? = pointer
    av_frame_free(&p)
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
    var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
    let status = avformat_open_input(&ctx, path, nil, nil)
    guard status >= 0, let opened = ctx else {
      throw VideoError(path: path, "cannot open", code: status < 0 ? status : vc_averror(EINVAL))
    }
    pointer = opened
    try check(avformat_find_stream_info(opened, nil), path, "cannot read stream information")
  }

  deinit {
    var p: UnsafeMutablePointer<AVFormatContext>? = pointer
    avformat_close_input(&p)
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

  /// `flags`: the swscale filter (`SWS_BILINEAR` by default, as bilinear resizing in
  /// mmaction2) plus accurate rounding and full chroma interpolation.
  init(flags: Int32 = SWS_BILINEAR) {
    self.flags = flags | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT
  }

  deinit { sws_freeContext(context) }

  /// Converts and scales a source image (`data`/`linesize` planes of `format`) of
  /// `srcWidth`×`srcHeight` into packed RGB24 at `dst`, `dstWidth`×`dstHeight`, row stride
  /// `dstStride` bytes. Precondition: `dst` holds `dstStride * dstHeight` bytes.
  func scaleToRGB24(
    data: [UnsafePointer<UInt8>?], linesize: [Int32], format: AVPixelFormat,
    srcWidth: Int, srcHeight: Int,
    dst: UnsafeMutablePointer<UInt8>, dstWidth: Int, dstHeight: Int, dstStride: Int,
    path: String
  ) throws {
    try scale(
      data: data, linesize: linesize, format: format, srcWidth: srcWidth, srcHeight: srcHeight,
      dstData: [dst, nil, nil, nil], dstLinesize: [Int32(dstStride), 0, 0, 0],
      dstFormat: AV_PIX_FMT_RGB24, dstWidth: dstWidth, dstHeight: dstHeight, path: path)
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
