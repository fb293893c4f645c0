import ArgumentParser
import Foundation
import VideoIO

/// `vcoswin-bench decode`: decoding speed (frames per second, decode + resize to 224 short
/// side) and clip sampling speed (32 frames, interval 2, centre crop 224, Float32), per file
/// and thread count. Prints one JSON object per measurement, as `Benchmarks/decode_pyav.py`
/// does, so that `Benchmarks/decode.sh` can put them side by side.
struct DecodeBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "decode",
    abstract: "Decode and clip-sampling speed on video files.",
    discussion: """
      For each file and thread count: `decode_fps` decodes every frame and resizes it to a \
      short side of 224 (RGB24); `decode_fps_cpu` is the same per CPU-second (all threads), \
      which other processes' load does not change; `decode_all_s` is that pass's time; \
      `clips_per_s` (and `clips_per_cpu_s`) samples --clips 32×2 clips at evenly spaced \
      offsets (a fresh reader per clip, as a data loader does: open, packet scan, seek, \
      decode, centre crop 224, Float32); `clip_speedup` = decode_all_s × clips_per_s, how many \
      times faster one clip is than decoding the whole file.

      Examples:
        vcoswin-bench decode --generate /tmp/bench
        vcoswin-bench decode --file /tmp/bench/720p_h264.mp4 --threads 1 --threads 2
      """)

  @Option(help: "Video files to measure (repeatable).")
  var file: [String] = []

  @Option(help: "Write the standard test videos into this folder (if missing) and measure them.")
  var generate: String?

  @Option(help: "Decoder thread counts to measure (repeatable).")
  var threads: [Int] = [1, 2]

  @Option(help: "Clips to sample per measurement.")
  var clips = 12

  @Option(help: "Passes over each measurement; the best is reported.")
  var repeats = 2

  func validate() throws {
    if file.isEmpty && generate == nil {
      throw ValidationError("Give --file FILE or --generate DIR.")
    }
    if threads.contains(where: { $0 < 1 }) || clips < 1 || repeats < 1 {
      throw ValidationError("--threads, --clips and --repeats must be at least 1.")
    }
  }

  func run() throws {
    var files = file
    if let generate { files += try DecodeBench.generateVideos(in: generate) }
    for path in files {
      for t in threads {
        var decodeSeconds = Double.infinity
        var decodeCPU = Double.infinity
        var clipSeconds = Double.infinity
        var clipCPU = Double.infinity
        var frames = 0
        for _ in 0..<repeats {
          let d = try measureDecode(path, threads: t)
          frames = d.frames
          decodeSeconds = min(decodeSeconds, d.seconds)
          decodeCPU = min(decodeCPU, d.cpu)
          let c = try measureClips(path, threads: t)
          clipSeconds = min(clipSeconds, c.seconds)
          clipCPU = min(clipCPU, c.cpu)
        }
        let clipsPerSecond = Double(clips) / clipSeconds
        print(
          "{\"impl\":\"swift\",\"file\":\"\((path as NSString).lastPathComponent)\",\"threads\":\(t),"
            + "\"frames\":\(frames),\"decode_fps\":\(fmt(Double(frames) / decodeSeconds)),"
            + "\"decode_fps_cpu\":\(fmt(Double(frames) / decodeCPU)),"
            + "\"decode_all_s\":\(fmt(decodeSeconds)),\"clips_per_s\":\(fmt(clipsPerSecond)),"
            + "\"clips_per_cpu_s\":\(fmt(Double(clips) / clipCPU)),"
            + "\"clip_speedup\":\(fmt(decodeSeconds * clipsPerSecond))}")
      }
    }
  }

  private func fmt(_ x: Double) -> String { String(format: "%.3f", x) }

  /// Decodes every frame, resized to short side 224; returns (frames, seconds, CPU seconds).
  private func measureDecode(_ path: String, threads: Int) throws
    -> (frames: Int, seconds: Double, cpu: Double)
  {
    let cpuStart = DecodeBench.cpuSeconds()
    let start = DispatchTime.now().uptimeNanoseconds
    let reader = try VideoReader(path: path, threads: threads)
    let size = ClipTransform(shortSide: 224).resizedSize(
      width: reader.info.width, height: reader.info.height)
    var checksum = 0
    try reader.forEachFrame(Array(0..<reader.frameCount), width: size.width, height: size.height) {
      _, image in
      checksum &+= Int(image.pixels[image.pixels.count / 2])
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    if checksum == -1 { print("") }  // keeps the conversion observable
    return (reader.frameCount, seconds, DecodeBench.cpuSeconds() - cpuStart)
  }

  /// CPU time of this process, all threads (user + system).
  static func cpuSeconds() -> Double {
    var usage = rusage()
    #if os(Linux)
      getrusage(RUSAGE_SELF.rawValue, &usage)
    #else
      getrusage(RUSAGE_SELF, &usage)
    #endif
    let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
    let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    return user + system
  }

  /// Samples `clips` 32×2 clips at evenly spaced offsets (mmaction2 test mode, so that the
  /// PyAV script takes the very same frames), each with a fresh reader as a data loader does;
  /// returns (seconds, CPU seconds).
  private func measureClips(_ path: String, threads: Int) throws -> (seconds: Double, cpu: Double) {
    let frames = try VideoReader(path: path).frameCount
    let all = ClipSampler(clipLength: 32, frameInterval: 2, numClips: clips, mode: .test)
      .sample(frameCount: frames)
    let cpuStart = DecodeBench.cpuSeconds()
    let start = DispatchTime.now().uptimeNanoseconds
    for clip in all {
      let reader = try VideoReader(path: path, threads: threads)
      var random = SplitMix64(seed: 0)
      let batch = try reader.readClips([clip], transform: .test(size: 224), random: &random)
      precondition(batch.shape == [1, 3, 32, 224, 224])
    }
    return (
      Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9,
      DecodeBench.cpuSeconds() - cpuStart
    )
  }

  /// Writes `720p_h264.mp4` (1280×720, libx264 when available, else MPEG-4) and
  /// `sd_mpeg4.avi` (640×480, MPEG-4), 600 frames at 30 fps, a keyframe every 60 frames;
  /// H.264 with up to 2 B-frames, as usual in real files.
  static func generateVideos(in folder: String) throws -> [String] {
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let h264 = VideoWriter.Codec.h264.isAvailable
    let specs: [(String, Int, Int, VideoWriter.Codec)] = [
      (h264 ? "720p_h264.mp4" : "720p_mpeg4.mp4", 1280, 720, h264 ? .h264 : .mpeg4),
      ("sd_mpeg4.avi", 640, 480, .mpeg4),
    ]
    var paths: [String] = []
    for (name, w, h, codec) in specs {
      let path = (folder as NSString).appendingPathComponent(name)
      paths.append(path)
      if FileManager.default.fileExists(atPath: path) { continue }
      try writeBenchVideo(
        VideoWriter(
          path: path, width: w, height: h, fps: 30, codec: codec, keyframeInterval: 60,
          bFrames: codec == .h264 ? 2 : 0, threads: 2), frames: 600)
    }
    return paths
  }
}

/// `frames` frames of `drawBenchFrame` into `writer`, then the file finished.
func writeBenchVideo(_ writer: VideoWriter, frames: Int) throws {
  var image = RGBImage(width: writer.width, height: writer.height)
  for t in 0..<frames {
    drawBenchFrame(&image, t: t)
    try writer.append(image)
  }
  try writer.finish()
}

/// Frame `t` of the benchmarks' generated videos, drawn into `image`: moving bands and a
/// drifting checker (motion and texture for the encoder).
func drawBenchFrame(_ image: inout RGBImage, t: Int) {
  let (w, h) = (image.width, image.height)
  image.pixels.withUnsafeMutableBufferPointer { p in
    for y in 0..<h {
      for x in 0..<w {
        let i = (y * w + x) * 3
        let a = (x + 3 * t) & 255
        let b = (y + 2 * t) & 255
        let c = (((x + t) >> 5) ^ ((y - t) >> 5)) & 1
        p[i] = UInt8(a)
        p[i + 1] = UInt8((b + c * 90) & 255)
        p[i + 2] = UInt8((a ^ b) & 255)
      }
    }
  }
}
