import CFFmpeg
import Dispatch
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

// Live video: a pipe or network stream decoded as its packets arrive, with no index and no
// seek; frames are timed by their presentation timestamps.

/// A request to stop reading a stream (SIGINT, SIGTERM, or a failed consumer), safe to set
/// from any thread; a blocking read sees it within about 0.1 s (`AVIOInterruptCB`).
public final class StreamStop: Sendable {
  private let flag = Atomic<Bool>(false)
  public init() {}
  /// Asks every read that polls this flag to end.
  public func request() { flag.store(true, ordering: .relaxed) }
  public var isRequested: Bool { flag.load(ordering: .relaxed) }
}

/// How a stream's reading ended without an error.
public enum StreamEnd: Sendable, Equatable {
  /// The source ended (end of file, closed pipe or connection).
  case endOfStream
  /// `StreamStop.request()` was called (a signal).
  case stopped
}

/// The state FFmpeg's interrupt callback reads: the stop request, and the time of the last
/// data, so that a source silent for longer than the stall timeout ends the read.
final class StreamWatch {
  let stop: StreamStop
  /// Nanoseconds of silence that end the read.
  let stallNanos: UInt64
  /// The demuxer whose byte position shows progress (set before opening).
  var context: UnsafeMutablePointer<AVFormatContext>?
  var lastPosition: Int64 = -1
  var lastProgress = DispatchTime.now().uptimeNanoseconds
  /// True once the callback ended a read for silence.
  var stalled = false

  init(stop: StreamStop, stallSeconds: Double) {
    self.stop = stop
    stallNanos = UInt64(max(0.001, stallSeconds) * 1e9)
  }

  /// Notes progress now (a packet or frame arrived).
  func progressed() { lastProgress = DispatchTime.now().uptimeNanoseconds }

  /// True when the read must end: a stop request, or no new bytes for the stall timeout.
  func shouldInterrupt() -> Bool {
    if stop.isRequested { return true }
    let now = DispatchTime.now().uptimeNanoseconds
    if let pb = context?.pointee.pb, pb.pointee.pos != lastPosition {
      lastPosition = pb.pointee.pos
      lastProgress = now
    }
    if now > lastProgress && now - lastProgress > stallNanos {
      stalled = true
      return true
    }
    return false
  }
}

/// Reads the video stream of a pipe (`-`, standard input) or any URL FFmpeg opens (`udp://`,
/// `tcp://`, `rtp://`, `rtsp://`, `http(s)://`, a file read as a stream), decoding packets as
/// they arrive: no index, no seek, one pass. Frame `n` is the `n`-th frame the decoder
/// returns (presentation order); its time is its `best_effort_timestamp` in seconds from the
/// first frame's, or, when a frame has none (or it does not increase), the previous time plus
/// one frame at the stream's frame rate (25 fps when the stream gives none).
///
/// Every blocking read polls an interrupt callback: a source that sends no data for
/// `stallTimeout` seconds ends with an error naming it, and `StreamStop.request()` (from a
/// signal handler's source, another thread) ends the read cleanly. Frames go through the same
/// conversion code as a file's (`DecodedFrame`, `FrameConverting`).
///
/// Not thread-safe: use it from one thread (the stop request may come from any).
public final class VideoStream: FrameConverting {
  /// The source as given (`-` for standard input).
  public let path: String
  /// Stream facts from the header: `frames` and `duration` are 0 (unknown for a live stream).
  public let info: StreamInfo
  let orientation: DisplayOrientation
  let scaler = Scaler()
  var turnScratch: [UInt8] = []
  var planarScratch: PlanarScratch?
  /// Frames the decoder has returned.
  public private(set) var decodedFrameCount = 0

  private let watch: StreamWatch
  private let input: InputContext
  private let decoder: CodecContext
  private let streamIndex: Int
  private let timeBase: Double
  private let packet: Packet
  private let received: Frame
  private var firstTimestamp: Int64?
  private var lastTime: Double?
  private let stallSeconds: Double
  /// The source as messages name it.
  private let name: String
  /// Standard input's file status flags before they were made non-blocking (−1: untouched),
  /// restored when the stream is freed (a terminal or pipe shared with other programs).
  private let stdinFlags: Int32

  deinit {
    if stdinFlags >= 0 { _ = fcntl(0, F_SETFL, stdinFlags) }
  }

  /// Opens `source` (`-`: standard input, made non-blocking so the stall timeout and stop
  /// request apply to it too) and reads its stream information.
  ///
  /// - Parameters:
  ///   - format: the demuxer's name (`av_find_input_format`), e.g. `mpegts`; nil: probed.
  ///   - threads: decoder threads, ≥ 0 (0 lets FFmpeg choose).
  ///   - stallTimeout: seconds without data that end the read with an error, > 0.
  /// - Throws: `VideoError` naming the source when it cannot be opened, stalls, has no video
  ///   stream, no decoder or no frame size.
  public init(
    source: String, format: String? = nil, threads: Int = 1, stallTimeout: Double = 10,
    stop: StreamStop = StreamStop()
  ) throws {
    precondition(threads >= 0 && stallTimeout > 0, "threads >= 0, stall timeout > 0")
    path = source
    let name = source == "-" ? "- (standard input)" : source
    self.name = name
    stallSeconds = stallTimeout
    let watch = StreamWatch(stop: stop, stallSeconds: stallTimeout)
    self.watch = watch
    let url = source == "-" ? "pipe:0" : source
    let flags = source == "-" ? fcntl(0, F_GETFL) : -1
    if flags >= 0 { _ = fcntl(0, F_SETFL, flags | O_NONBLOCK) }
    stdinFlags = flags
    var callback = AVIOInterruptCB()
    callback.callback = { opaque in
      guard let opaque else { return 0 }
      return Unmanaged<StreamWatch>.fromOpaque(opaque).takeUnretainedValue().shouldInterrupt()
        ? 1 : 0
    }
    callback.opaque = Unmanaged.passUnretained(watch).toOpaque()
    do {
      input = try InputContext(url: url, format: format, interrupt: callback)
    } catch var error as VideoError {
      error.path = name  // `pipe:0` is `-` to the user
      throw Self.explain(error, watch: watch, source: name, seconds: stallTimeout)
    }
    watch.context = input.pointer
    let best = av_find_best_stream(input.pointer, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
    guard best >= 0 else { throw VideoError(path: name, "no video stream") }
    streamIndex = Int(best)
    input.discardAll(except: streamIndex)
    let stream = input.stream(streamIndex)
    timeBase = stream.pointee.time_base.doubleValue ?? 0
    orientation = DisplayOrientation(stream: stream)
    decoder = try VideoReader.openDecoder(stream: stream, threads: threads, path: name)
    packet = try Packet(path: source)
    received = try Frame(path: source)
    let params = stream.pointee.codecpar.pointee
    guard params.width > 0, params.height > 0 else {
      throw VideoError(path: name, "no frame size")
    }
    let header =
      stream.pointee.avg_frame_rate.doubleValue ?? stream.pointee.r_frame_rate.doubleValue
    let fps = header.flatMap { $0 > 0 && $0 < 1000 ? $0 : nil } ?? 0
    let container = input.pointer.pointee.iformat.map { String(cString: $0.pointee.name) }
    let shown = orientation.displayedSize(width: Int(params.width), height: Int(params.height))
    info = StreamInfo(
      path: source, container: container ?? "unknown",
      codec: String(cString: avcodec_get_name(params.codec_id)), width: shown.width,
      height: shown.height, fps: fps, frames: 0, duration: 0, rotation: orientation.rotation)
  }

  /// Seconds one frame lasts at the stream's frame rate (1/25 when unknown).
  public var frameSeconds: Double { info.fps > 0 ? 1 / info.fps : 0.04 }

  /// Decodes the stream as it arrives and calls `body(frame, seconds)` for every frame, in
  /// presentation order, with its time in seconds from the first frame. The frame is valid
  /// only during the call. A packet that cannot be decoded is skipped.
  /// Memory: one packet and one decoded frame, whatever the length.
  /// - Returns: how the stream ended (its end, or a stop request).
  /// - Throws: `VideoError` naming the source when it stalls for longer than the timeout,
  ///   a read fails, or it ends before any frame could be decoded; whatever `body` throws.
  public func forEachFrame(_ body: (DecodedFrame, Double) throws -> Void) throws -> StreamEnd {
    var number = 0
    var inputEnded = false
    func drain() throws {
      while true {
        let status = avcodec_receive_frame(decoder.pointer, received.pointer)
        if status == AVStatus.again || status == AVStatus.eof { return }
        guard status >= 0 else { return }  // a decode error: skip to the next packet
        defer { av_frame_unref(received.pointer) }
        watch.progressed()
        decodedFrameCount += 1
        try body(
          DecodedFrame(reader: self, frame: received.pointer, number: number),
          time(of: received.pointer))
        number += 1
        if watch.stop.isRequested { return }
      }
    }
    while !inputEnded {
      if watch.stop.isRequested { return .stopped }
      let status = av_read_frame(input.pointer, packet.pointer)
      if status < 0 {
        if watch.stop.isRequested { return .stopped }
        if status != AVStatus.eof && status != vc_averror(EIO) || watch.stalled {
          throw Self.explain(
            VideoError(path: name, "cannot read", code: status), watch: watch, source: name,
            seconds: stallSeconds)
        }
        inputEnded = true
        _ = avcodec_send_packet(decoder.pointer, nil)
      } else {
        defer { av_packet_unref(packet.pointer) }
        guard Int(packet.pointer.pointee.stream_index) == streamIndex else { continue }
        watch.progressed()
        _ = avcodec_send_packet(decoder.pointer, packet.pointer)
      }
      try drain()
    }
    guard number > 0 else {
      throw VideoError(path: name, "no frame could be decoded", detail: "the stream ended")
    }
    return watch.stop.isRequested ? .stopped : .endOfStream
  }

  /// Seconds of `frame` from the first frame: its timestamp, or one frame after the previous.
  private func time(of frame: UnsafeMutablePointer<AVFrame>) -> Double {
    var ts = frame.pointee.best_effort_timestamp
    if ts == vc_nopts_value() { ts = frame.pointee.pts }
    var t: Double
    // A span that does not fit in Int64 (a hostile or damaged stream) counts as no timestamp.
    if ts != vc_nopts_value(), timeBase > 0,
      case let (span, overflow) = ts.subtractingReportingOverflow(firstTimestamp ?? ts), !overflow
    {
      if firstTimestamp == nil { firstTimestamp = ts }
      t = Double(span) * timeBase
    } else {
      t = lastTime.map { $0 + frameSeconds } ?? 0
    }
    if let last = lastTime, !(t > last) { t = last + frameSeconds }
    lastTime = t
    return t
  }

  /// `error`, or the stall error when the watch ended the read for silence.
  private static func explain(
    _ error: VideoError, watch: StreamWatch, source: String, seconds: Double
  ) -> VideoError {
    guard watch.stalled else { return error }
    return VideoError(
      path: source, "stalled",
      detail: "no data for \(seconds) s (the stall timeout); the source stopped sending")
  }
}
