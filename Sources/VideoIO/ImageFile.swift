import CFFmpeg
import Foundation

/// Still images: PNG (lossless) or JPEG, encoded with libavcodec.
public enum ImageFile {
  /// Writes `image` to `path` as PNG, or as JPEG when the name ends in `.jpg`/`.jpeg`
  /// (quantiser `quality`, 2 best … 31 worst). Read images back with `VideoReader` (a
  /// one-frame video).
  /// - Throws: `VideoError` naming the file.
  public static func write(_ image: RGBImage, to path: String, quality: Int = 3) throws {
    let lower = path.lowercased()
    let jpeg = lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg")
    let bytes = try encode(image, jpeg: jpeg, quality: quality, path: path)
    // An atomic write renames over `path`: a device or FIFO there would be replaced.
    var info = stat()
    if lstat(path, &info) == 0,
      [S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK].contains(info.st_mode & S_IFMT)
    {
      throw VideoError(
        path: path, "cannot write image", detail: "a device or FIFO, not a regular file")
    }
    do {
      try bytes.write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
      throw VideoError.fileSystem(path: path, "cannot write image", error)
    }
  }

  /// The bytes of `image` as a PNG file (or JPEG with quantiser `quality` when `jpeg`), e.g.
  /// to embed in an SVG; `path` names the image in errors.
  /// - Throws: `VideoError` naming `path`, also when text drawn on it is missing
  ///   (`RGBImage.textFailure`).
  public static func encode(
    _ image: RGBImage, jpeg: Bool = false, quality: Int = 3, path: String = "image"
  )
    throws -> Data
  {
    if let reason = image.textFailure {
      throw VideoError(path: path, "cannot draw the picture's text", detail: reason)
    }
    FFmpegLog.silenceByDefault()
    let format = jpeg ? AV_PIX_FMT_YUVJ420P : AV_PIX_FMT_RGB24
    guard let codec = avcodec_find_encoder(jpeg ? AV_CODEC_ID_MJPEG : AV_CODEC_ID_PNG) else {
      throw VideoError(path: path, "no image encoder")
    }
    let encoder = try CodecContext(codec: codec, path: path)
    let ctx = encoder.pointer
    ctx.pointee.width = Int32(image.width)
    ctx.pointee.height = Int32(image.height)
    ctx.pointee.pix_fmt = format
    ctx.pointee.time_base = AVRational(num: 1, den: 25)
    if jpeg {
      ctx.pointee.flags |= AV_CODEC_FLAG_QSCALE
      ctx.pointee.global_quality = Int32(FF_QP2LAMBDA) * Int32(quality)
      ctx.pointee.color_range = AVCOL_RANGE_JPEG
    }
    try check(avcodec_open2(ctx, codec, nil), path, "cannot open image encoder")
    let frame = try Frame(path: path)
    frame.pointer.pointee.format = format.rawValue
    frame.pointer.pointee.width = Int32(image.width)
    frame.pointer.pointee.height = Int32(image.height)
    frame.pointer.pointee.pts = 0
    if jpeg { frame.pointer.pointee.quality = ctx.pointee.global_quality }
    try check(av_frame_get_buffer(frame.pointer, 0), path, "out of memory")
    try Scaler(flags: SWS_BICUBIC).scaleFromRGB24(image, into: frame.pointer, path: path)
    try check(avcodec_send_frame(ctx, frame.pointer), path, "cannot encode image")
    _ = avcodec_send_frame(ctx, nil)
    let packet = try Packet(path: path)
    var bytes = Data()
    while true {
      let status = avcodec_receive_packet(ctx, packet.pointer)
      if status == AVStatus.again || status == AVStatus.eof { break }
      try check(status, path, "cannot encode image")
      if let d = packet.pointer.pointee.data {
        bytes.append(d, count: Int(packet.pointer.pointee.size))
      }
      av_packet_unref(packet.pointer)
    }
    return bytes
  }
}
