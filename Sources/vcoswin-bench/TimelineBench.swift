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
