import CFFmpeg

/// Reads the video stream of any file FFmpeg can demux and decode (mp4/h264, avi/mpeg4,
/// msmpeg4, cinepak, mkv, webm, mjpeg, ffv1, and image files such as PNG or JPEG, which read
/// as one-frame videos), by frame number.
///
/// Opening scans every packet once (no decoding) to build the frame index: frame `n` is the
/// `n`-th frame in presentation order, whatever the frame rate or decode order. Reading a set
/// of frames seeks to the keyframe at or before the first wanted frame, decodes forward, and
/// converts only the wanted frames; frames in between are decoded (they must be) but never
/// converted. Memory does not grow with the file's length: only one decoded frame is held.
///
/// Frames are read as displayed: a display matrix on the stream (a portrait phone video) is
/// applied as the `ffmpeg` command does, and `info` reports the displayed size.
///
/// Not thread-safe: use one reader per thread.
public final class VideoReader {
  /// The file path as given.
  public let path: String
  /// Stream facts; `info.frames` is the number of readable frame numbers.
  public let info: StreamInfo
  /// Decoder threads (FFmpeg frame and slice threading).
  public let threads: Int
  /// How the stream's display matrix turns stored frames; frames are read as displayed.
  let orientation: DisplayOrientation

  private var input: InputContext
  private var decoder: CodecContext
  private let streamIndex: Int
  private let timeBase: AVRational
  let index: FrameIndex
  private let packet: Packet
  private let received: Frame
  /// The last decoded frame, moved out of `received`; what callers see.
  let current: Frame
  /// Pixel conversion, reused across frames.
  let scaler = Scaler()
  /// `scale`'s buffer for a turned stream — packed RGB24, the output scaled in stored
  /// orientation before it is turned — reused frame after frame (grown when a larger output
  /// is asked for), so turning allocates nothing per frame.
  var turnScratch: [UInt8] = []
  /// `DecodedFrame.planar`'s transform, geometry, lookup table and RGB24 buffer, made at the
  /// first frame and reused while the transform stays the same.
  var planarScratch: PlanarScratch?
  /// Number of the frame in `current`, nil when none since the last seek.
  private var lastNumber: Int?
  private var inputEnded = false
  private var flushSent = false
  /// The last decode error met while skipping a corrupt packet, for the message when no frame
  /// at all can be decoded.
  private var lastDecodeError: Int32 = 0
  /// False once a seek "succeeded" but left nothing to decode; from then on the reader
  /// reopens the file instead of seeking. (FFmpeg's image2 demuxer, reading one image file,
  /// resets its image number on a seek but not the file position, which the packet scan
  /// left at the end: every read after the seek is end of file.)
  private var seekWorks = true

  /// Decoding forward through at most this many frames is preferred to a seek.
  private let continueWithin = 8

  /// Frames the decoder has returned since the reader was opened (every decoded frame,
  /// converted or not): what tests and benchmarks count to show a pass decodes each frame once.
  public private(set) var decodedFrameCount = 0

  /// Opens `path` and scans its packets.
  ///
  /// - Parameter threads: decoder threads, ≥ 1 (0 lets FFmpeg choose).
  /// - Throws: `VideoError` naming the file when it cannot be opened (a FIFO or device is
  ///   refused before opening), has no video stream, no decoder, no frames, or no frame size.
  public init(path: String, threads: Int = 1) throws {
    precondition(threads >= 0, "threads must be >= 0")
    self.path = path
    self.threads = threads
    let input = try InputContext(path: path)
    let best = av_find_best_stream(input.pointer, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
    guard best >= 0 else { throw VideoError(path: path, "no video stream") }
    streamIndex = Int(best)
    input.discardAll(except: streamIndex)
    let stream = input.stream(streamIndex)
    timeBase = stream.pointee.time_base
    orientation = DisplayOrientation(stream: stream)
    decoder = try VideoReader.openDecoder(stream: stream, threads: threads, path: path)
    index = try FrameIndex(
      scanning: input, streamIndex: streamIndex,
      reorders: (stream.pointee.codecpar?.pointee.video_delay ?? 0) > 0)
    guard index.count > 0 else { throw VideoError(path: path, "no video frames") }
    packet = try Packet(path: path)
    received = try Frame(path: path)
    current = try Frame(path: path)
    self.input = input
    info = VideoReader.describe(
      input: input, stream: stream, index: index, orientation: orientation, path: path)
    // Clip geometry is planned from the header's size: a header that gives none (a damaged or
    // lying image header FFmpeg could not open) cannot be sampled.
    guard info.width > 0, info.height > 0 else {
      throw VideoError(
        path: path, "no frame size",
        detail: "the stream gives \(info.width)×\(info.height) pixels; the file is damaged")
    }
  }

  /// Number of frames (presentation order).
  public var frameCount: Int { index.count }

  /// Presentation time of frame `n` in seconds from the first frame.
  /// Precondition: `0 <= n < frameCount`.
  public func time(ofFrame n: Int) -> Double {
    precondition(n >= 0 && n < frameCount, "frame \(n) out of range 0..<\(frameCount)")
    if index.sequential { return info.fps > 0 ? Double(n) / info.fps : 0 }
    return Double(index.pts[n] - index.pts[0]) * (timeBase.doubleValue ?? 0)
  }

  // MARK: Decoding by frame number

  /// Decodes the frames `numbers` (any order, repeats allowed) and calls `body` once per
  /// distinct number, in ascending order, with the decoded frame (valid only during the call).
  ///
  /// A frame that cannot be decoded (corrupt data, a file cut short) is replaced by the next
  /// decodable one, or at the end by the last one decoded.
  /// Precondition: every number is in `0..<frameCount`.
  func decode(_ numbers: [Int], _ body: (Int, UnsafeMutablePointer<AVFrame>) throws -> Void)
    throws
  {
    for n in numbers {
      precondition(n >= 0 && n < frameCount, "frame \(n) out of range 0..<\(frameCount)")
    }
    let wanted = Array(Set(numbers)).sorted()
    wantedNumbers = Set(wanted)
    defer {
      wantedNumbers = nil
      decoder.pointer.pointee.skip_frame = AVDISCARD_DEFAULT
    }
    var i = 0
    while i < wanted.count {
      let target = wanted[i]
      var keyPosition = -1
      if needsSeek(to: target) {
        keyPosition = index.sequential ? 0 : index.keyframePosition(atOrBefore: target)
        try seek(keyPosition: keyPosition)
      }
      var firstAfterSeek = keyPosition >= 0
      var emitted = false
      while !emitted {
        guard try receiveNext() else {
          if firstAfterSeek && keyPosition > 0 {
            // Nothing decodes after this keyframe: start one keyframe earlier.
            keyPosition -= 1
            try seek(keyPosition: keyPosition)
            continue
          }
          if firstAfterSeek && seekWorks && !index.sequential {
            // Nothing at all after a seek to the first keyframe: the demuxer did not move
            // back. Read from the start of a reopened file, now and for later seeks.
            seekWorks = false
            try seek(keyPosition: 0)
            continue
          }
          break
        }
        guard let n = lastNumber else { continue }
        if firstAfterSeek, n > target, keyPosition > 0 {
          // The demuxer landed after the wanted keyframe: step one keyframe back.
          keyPosition -= 1
          try seek(keyPosition: keyPosition)
          continue
        }
        firstAfterSeek = false
        if n < target { continue }
        while i < wanted.count && wanted[i] <= n {
          try body(wanted[i], current.pointer)
          i += 1
        }
        emitted = true
      }
      if !emitted {
        // End of stream before `target`: the last decoded frame stands in for the rest.
        guard lastNumber != nil else {
          throw VideoError(
            path: path, "no frame could be decoded",
            detail: lastDecodeError < 0
              ? VideoError.message(for: lastDecodeError) : "the stream ended")
        }
        while i < wanted.count {
          try body(wanted[i], current.pointer)
          i += 1
        }
      }
    }
  }

  /// Decodes the whole stream once from its start and calls `body` for every frame number
  /// `n` in `0..<frameCount` with `wanted(n)`, ascending, with the decoded frame (valid only
  /// during the call). Every frame is decoded exactly once (`decodedFrameCount` grows by the
  /// frames the stream holds); only one decoded frame is held at a time.
  ///
  /// A frame that cannot be decoded is replaced by the next decodable one, or at the end by
  /// the last one decoded, as in `decode(_:_:)`.
  func decodeInOrder(
    wanted: (Int) -> Bool, _ body: (Int, UnsafeMutablePointer<AVFrame>) throws -> Void
  ) throws {
    try seek(keyPosition: 0)
    var next = 0
    var first = true
    while next < frameCount {
      guard try receiveNext() else {
        if first && seekWorks && !index.sequential {
          // Nothing after the seek to the start (see `seekWorks`): read a reopened file.
          seekWorks = false
          try seek(keyPosition: 0)
          continue
        }
        break
      }
      first = false
      guard let n = lastNumber, n >= next else { continue }
      while next <= n && next < frameCount {
        if wanted(next) { try body(next, current.pointer) }
        next += 1
      }
    }
    guard next < frameCount else { return }
    guard lastNumber != nil else {
      throw VideoError(
        path: path, "no frame could be decoded",
        detail: lastDecodeError < 0 ? VideoError.message(for: lastDecodeError) : "the stream ended")
    }
    while next < frameCount {
      if wanted(next) { try body(next, current.pointer) }
      next += 1
    }
  }

  /// Whether reaching `target` needs a seek rather than decoding forward from where we are.
  private func needsSeek(to target: Int) -> Bool {
    guard let last = lastNumber, target > last, !(inputEnded && flushSent),
      !maybeDropped.contains(target)
    else { return true }
    if index.sequential { return false }
    let key = index.keyframes[index.keyframePosition(atOrBefore: target)]
    return key > last + 1 && target - last > continueWithin
  }

  /// Positions the demuxer at keyframe `keyPosition` of the index (or the start of the file)
  /// and empties the decoder.
  private func seek(keyPosition: Int) throws {
    var sought = false
    if !index.sequential && seekWorks {
      let ts = index.keyframeSeekTimestamps[keyPosition]
      sought =
        av_seek_frame(input.pointer, Int32(streamIndex), ts, AVSEEK_FLAG_BACKWARD) >= 0
    }
    if sought {
      avcodec_flush_buffers(decoder.pointer)
    } else {
      try reopen()
    }
    lastNumber = nil
    maybeDropped.removeAll(keepingCapacity: true)
    inputEnded = false
    flushSent = false
    av_frame_unref(current.pointer)
    startNumber = sought ? index.keyframes[keyPosition] : 0
  }

  /// Frame number assumed for the first decoded frame without a known timestamp.
  private var startNumber = 0

  /// The frames the current `decode` call wants. Packets of other frames are sent with
  /// `skip_frame = AVDISCARD_NONREF`: the decoder drops them if no other frame refers to
  /// them (B-frames), since they would never be converted anyway.
  private var wantedNumbers: Set<Int>?
  /// Frames sent with `AVDISCARD_NONREF` since the last seek: possibly dropped, so a later
  /// call that wants one of them must seek back to it.
  private var maybeDropped = Set<Int>()

  /// Reopens the file at its start (for demuxers that cannot seek, and for files without
  /// usable timestamps).
  private func reopen() throws {
    let fresh = try InputContext(path: path)
    fresh.discardAll(except: streamIndex)
    decoder = try VideoReader.openDecoder(
      stream: fresh.stream(streamIndex), threads: threads, path: path)
    input = fresh
  }

  /// Decodes the next frame into `current` and sets `lastNumber`; false at the end of the
  /// stream. EAGAIN and EOF are normal flow; a corrupt packet is skipped.
  private func receiveNext() throws -> Bool {
    var errors = 0
    while true {
      let status = avcodec_receive_frame(decoder.pointer, received.pointer)
      if status >= 0 {
        decodedFrameCount += 1
        av_frame_unref(current.pointer)
        av_frame_move_ref(current.pointer, received.pointer)
        lastNumber = number(of: current.pointer)
        return true
      }
      if status == AVStatus.eof { return false }
      if status != AVStatus.again {
        lastDecodeError = status
        errors += 1
        if errors > 1000 { throw VideoError(path: path, "cannot decode", code: status) }
        continue
      }
      if inputEnded {
        if flushSent { return false }
        flushSent = true
        _ = avcodec_send_packet(decoder.pointer, nil)
        continue
      }
      if av_read_frame(input.pointer, packet.pointer) < 0 {
        inputEnded = true
        continue
      }
      defer { av_packet_unref(packet.pointer) }
      guard Int(packet.pointer.pointee.stream_index) == streamIndex else { continue }
      if let wanted = wantedNumbers, !index.sequential {
        let p = packet.pointer.pointee
        let n = index.numberOfPts[p.pts != vc_nopts_value() ? p.pts : p.dts]
        let skip = n.map { !wanted.contains($0) } ?? false
        if skip, let n { maybeDropped.insert(n) }
        decoder.pointer.pointee.skip_frame = skip ? AVDISCARD_NONREF : AVDISCARD_DEFAULT
      }
      let sent = avcodec_send_packet(decoder.pointer, packet.pointer)
      if sent < 0 && sent != AVStatus.again {
        lastDecodeError = sent
      }
    }
  }

  /// The presentation number of a decoded frame: from its timestamp when the index knows it,
  /// otherwise one after the previous frame.
  private func number(of frame: UnsafeMutablePointer<AVFrame>) -> Int {
    let next = lastNumber.map { $0 + 1 } ?? startNumber
    if index.sequential { return next }
    var ts = frame.pointee.best_effort_timestamp
    if ts == vc_nopts_value() { ts = frame.pointee.pts }
    return index.numberOfPts[ts] ?? next
  }

  // MARK: Opening

  static func openDecoder(
    stream: UnsafeMutablePointer<AVStream>, threads: Int, path: String
  ) throws -> CodecContext {
    guard let params = stream.pointee.codecpar else {
      throw VideoError(path: path, "no codec parameters")
    }
    guard let codec = avcodec_find_decoder(params.pointee.codec_id) else {
      let name = String(cString: avcodec_get_name(params.pointee.codec_id))
      throw VideoError(path: path, "no decoder", detail: "codec \(name) is not supported")
    }
    let context = try CodecContext(codec: codec, path: path)
    try check(
      avcodec_parameters_to_context(context.pointer, params), path, "cannot set up decoder")
    context.pointer.pointee.thread_count = Int32(threads)
    context.pointer.pointee.thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE
    context.pointer.pointee.pkt_timebase = stream.pointee.time_base
    try check(avcodec_open2(context.pointer, codec, nil), path, "cannot open decoder")
    return context
  }

  private static func describe(
    input: InputContext, stream: UnsafeMutablePointer<AVStream>, index: FrameIndex,
    orientation: DisplayOrientation, path: String
  ) -> StreamInfo {
    let fmt = input.pointer.pointee
    let container = fmt.iformat.map { String(cString: $0.pointee.name) } ?? "unknown"
    let params = stream.pointee.codecpar.pointee
    let codec = String(cString: avcodec_get_name(params.codec_id))
    let tb = stream.pointee.time_base.doubleValue ?? 0
    let frames = index.count
    var measured: Double? = nil
    var duration = 0.0
    if !index.sequential, frames > 0, tb > 0 {
      let span = index.pts[frames - 1] - index.pts[0]
      if frames > 1 && span > 0 { measured = Double(frames - 1) / (Double(span) * tb) }
      let last =
        index.lastDuration > 0 ? index.lastDuration : (frames > 1 ? span / Int64(frames - 1) : 0)
      duration = (Double(span) + Double(last)) * tb  // a packet duration may be up to Int64.max
    }
    let header =
      stream.pointee.avg_frame_rate.doubleValue ?? stream.pointee.r_frame_rate.doubleValue
    var fps = measured ?? header ?? 0
    if let h = header, h > 0, h < 1000 {
      if let m = measured {
        if abs(h - m) / m < 0.01 { fps = h }
      } else {
        fps = h
      }
    }
    if duration <= 0 {
      if fps > 0 {
        duration = Double(frames) / fps
      } else if fmt.duration > 0 {
        duration = Double(fmt.duration) / Double(vc_time_base())
      }
    }
    let shown = orientation.displayedSize(width: Int(params.width), height: Int(params.height))
    return StreamInfo(
      path: path, container: container, codec: codec, width: shown.width,
      height: shown.height, fps: fps, frames: frames, duration: duration,
      rotation: orientation.rotation)
  }
}
