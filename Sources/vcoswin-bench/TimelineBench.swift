import ArgumentParser
import Foundation
import VideoIO

/// `vcoswin-bench cut-windows`: the naive way to a timeline, for comparison — every window cut
/// out beforehand as its own file (frames `k·S ..< k·S + L`, re-encoded with MPEG-4 in
/// Matroska as `vcoswin synth` writes), to run `vcoswin classify` on each (Docs/BENCHMARKS.md).
struct TimelineCutBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cut-windows",
    abstract: "Cut a video into the timeline's windows, one file each (the naive baseline).",
    discussion: """
      Example (the default model's window: 8 frames every 2 = 16 frames, stride 8):
        vcoswin-bench cut-windows long.mkv --out /tmp/windows --window-frames 16 --stride-frames 8
        vcoswin classify /tmp/windows/*.mkv --json
      """)

  @Argument(help: "Video to cut.")
  var video: String

  @Option(help: "Output folder (created if missing).")
  var out: String

  @Option(help: "Frames per window (clip length × interval).")
  var windowFrames = 16

  @Option(help: "Frames between window starts.")
  var strideFrames = 8

  func validate() throws {
    guard (1...100_000).contains(windowFrames), (1...100_000).contains(strideFrames) else {
      throw ValidationError("--window-frames and --stride-frames must be in 1…100000.")
    }
  }

  func run() throws {
    let reader = try VideoReader(path: video)
    let (L, S, F) = (windowFrames, strideFrames, reader.frameCount)
    let count = F < L ? 1 : (F - L) / S + 1
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    let fps = max(1, Int(reader.info.fps.rounded()))
    var open: [Int: VideoWriter] = [:]
    var next = 0
    try reader.forEachFrameInOrder(wanted: { _ in true }) { frame in
      let n = frame.number
      while next < count && next * S <= n {
        open[next] = try VideoWriter(
          path: String(format: "%@/w%06d.mkv", out, next), width: reader.info.width,
          height: reader.info.height,
          fps: fps, codec: .mpeg4, quality: 4, keyframeInterval: L)
        next += 1
      }
      let image = try frame.rgb()
      for (k, writer) in open {
        try writer.append(image)
        if n == k * S + L - 1 || n == F - 1 {
          try writer.finish()
          open[k] = nil
        }
      }
    }
    print("\(out): \(count) windows of \(L) frames, stride \(S)")
  }
}

/// `vcoswin-bench frames`: the per-frame conversions of a pass over a whole video, without a
/// model — `rgb`: every frame decoded and resized to a short side of 224 (`forEachFrame`, as
/// `decode` measures); `planar`: every frame through the timeline's test transform (short side
/// 224, centre crop 224, Float32: `forEachFrameInOrder` + `planar`, the timeline's frame
/// loop). On an upright and a turned (display matrix, 90°) copy of the same video, where
/// turning adds a copy per frame. Prints one JSON object per file: frames per CPU-second of
/// each pass (the best of `--repeats`) and an FNV-1a hash of everything each pass produced
/// (one more pass, not timed), which two builds must agree on.
struct TimelineFramesBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "frames",
    abstract: "Per-frame conversion speed of whole-video passes, upright and turned.",
    discussion: """
      Example:
        vcoswin-bench frames --generate /tmp/frames --repeats 3
      """)

  @Option(help: "Video files to measure (repeatable).")
  var file: [String] = []

  @Option(
    help: "Write upright.mp4 and turned.mp4 (640×480 MPEG-4, 300 frames; turned: 90°) here.")
  var generate: String?

  @Option(help: "Passes over each measurement; the best is reported.")
  var repeats = 3

  func validate() throws {
    if file.isEmpty && generate == nil {
      throw ValidationError("Give --file FILE or --generate DIR.")
    }
    if !(1...100).contains(repeats) { throw ValidationError("--repeats must be in 1…100.") }
  }

  func run() throws {
    var files = file
    if let generate { files += try Self.generateVideos(in: generate) }
    for path in files {
      var (rgbCPU, planarCPU) = (Double.infinity, Double.infinity)
      var frames = 0
      // Timed passes, then one untimed pass of each that hashes what it produced.
      for pass in 0...repeats {
        let hashing = pass == repeats
        let reader = try VideoReader(path: path)
        frames = reader.frameCount
        let size = ClipTransform(shortSide: 224).resizedSize(
          width: reader.info.width, height: reader.info.height)
        var rgbHash = FNV1a()
        var start = DecodeBench.cpuSeconds()
        try reader.forEachFrame(Array(0..<frames), width: size.width, height: size.height) {
          _, image in if hashing { rgbHash.add(image.pixels) }
        }
        if !hashing { rgbCPU = min(rgbCPU, DecodeBench.cpuSeconds() - start) }

        let transform = ClipTransform.test(size: 224)
        // frame: [3, H, W] Float32, the timeline's ring slot
        var frame = [Float](repeating: 0, count: 3 * 224 * 224)
        var planarHash = FNV1a()
        start = DecodeBench.cpuSeconds()
        try frame.withUnsafeMutableBufferPointer { slot in
          guard let base = slot.baseAddress else { return }
          try reader.forEachFrameInOrder(wanted: { _ in true }) { decoded in
            try decoded.planar(transform, into: base)
            if hashing { planarHash.add(UnsafeRawBufferPointer(slot)) }
          }
        }
        if !hashing {
          planarCPU = min(planarCPU, DecodeBench.cpuSeconds() - start)
          continue
        }
        print(
          "{\"file\":\"\((path as NSString).lastPathComponent)\",\"frames\":\(frames),"
            + "\"rgb_fps_cpu\":\(String(format: "%.1f", Double(frames) / rgbCPU)),"
            + "\"planar_fps_cpu\":\(String(format: "%.1f", Double(frames) / planarCPU)),"
            + "\"rgb_hash\":\"\(String(rgbHash.value, radix: 16))\","
            + "\"planar_hash\":\"\(String(planarHash.value, radix: 16))\"}")
      }
    }
  }

  /// Writes `upright.mp4` and `turned.mp4` (the same 640×480 MPEG-4 frames, 300 at 30 fps, a
  /// keyframe every 30; `turned.mp4` with a display matrix of 90°) unless present.
  static func generateVideos(in folder: String) throws -> [String] {
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    var paths: [String] = []
    for (name, rotation) in [("upright.mp4", 0), ("turned.mp4", 90)] {
      let path = (folder as NSString).appendingPathComponent(name)
      paths.append(path)
      if FileManager.default.fileExists(atPath: path) { continue }
      try writeBenchVideo(
        VideoWriter(
          path: path, width: 640, height: 480, fps: 30, codec: .mpeg4, keyframeInterval: 30,
          rotation: rotation), frames: 300)
    }
    return paths
  }
}

/// FNV-1a over bytes: a checksum of a pass's outputs, to compare two builds.
struct FNV1a {
  private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

  mutating func add<Bytes: Sequence<UInt8>>(_ bytes: Bytes) {
    for b in bytes { value = (value ^ UInt64(b)) &* 0x100_0000_01b3 }
  }
}
