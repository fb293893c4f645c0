import Foundation
import VideoIO

/// A long synthetic video for timelines: segments of known motion classes, one after the
/// other, each `clipsPerSegment[i]` clips of `clipFrames` frames long, moving at the speeds of
/// the dataset's clips (the speeds the models were trained on).
///
/// Segment `i` plays motion `motions[i]` for `clipsPerSegment[i]` clips. The truth is exact in
/// frames: segment `i` covers frames `[Σ_{j<i} c_j·clipFrames, Σ_{j≤i} c_j·clipFrames)`, i.e.
/// seconds `frame / fps`.
public struct SynthLongVideo: Sendable {
  public var motions: [MotionClass]
  public var clipsPerSegment: [Int]
  public var clipFrames = 16
  public var size = 32
  public var fps = 25
  public var seed: UInt64 = 0
  public var codec: VideoWriter.Codec = .mpeg4
  public var quality = 4

  /// Precondition: one clip count (≥ 1) per motion.
  public init(motions: [MotionClass], clipsPerSegment: [Int]) {
    precondition(
      motions.count == clipsPerSegment.count && clipsPerSegment.allSatisfy { $0 >= 1 },
      "one clip count >= 1 per segment")
    self.motions = motions
    self.clipsPerSegment = clipsPerSegment
  }

  /// About `seconds` of video: segments of 2…4 clips, each a motion different from the
  /// previous one, drawn from `seed`. Precondition: `seconds > 0`.
  public static func random(seconds: Double, seed: UInt64, clipFrames: Int = 16, fps: Int = 25)
    -> SynthLongVideo
  {
    precondition(seconds > 0, "seconds must be positive")
    var random = SplitMix64(seed: seed &+ 0x7157_11E5)
    let wanted = max(1, Int((seconds * Double(fps) / Double(clipFrames)).rounded()))
    var motions: [MotionClass] = []
    var counts: [Int] = []
    var total = 0
    while total < wanted {
      var m = MotionClass.allCases[random.below(MotionClass.allCases.count)]
      while m == motions.last { m = MotionClass.allCases[random.below(MotionClass.allCases.count)] }
      let c = min(2 + random.below(3), wanted - total)
      motions.append(m)
      counts.append(c)
      total += c
    }
    var video = SynthLongVideo(motions: motions, clipsPerSegment: counts)
    video.seed = seed
    video.clipFrames = clipFrames
    video.fps = fps
    return video
  }

  /// Frames in the video.
  public var frameCount: Int { clipsPerSegment.reduce(0, +) * clipFrames }

  /// The true segments: (start, end) in seconds and the motion.
  public var truth: [(start: Double, end: Double, motion: MotionClass)] {
    var out: [(Double, Double, MotionClass)] = []
    var frame = 0
    for (m, c) in zip(motions, clipsPerSegment) {
      let next = frame + c * clipFrames
      out.append((Double(frame) / Double(fps), Double(next) / Double(fps), m))
      frame = next
    }
    return out
  }

  /// The truth as a file for `vcoswin timeline --truth`: `start end label` lines.
  public var truthText: String {
    truth.map { String(format: "%.3f %.3f ", $0.start, $0.end) + $0.motion.name }.joined(
      separator: "\n") + "\n"
  }

  /// Renders the video to `path` (Matroska, `size`×`size`, `fps`), one frame in memory at a time.
  ///
  /// With `continuous` (the default) each segment is one scene whose motion goes on for the
  /// whole segment at the speed of a `clipFrames`-frame clip: translations wrap around the
  /// frame (a torus), and for grow/shrink the radius starts small enough that the shape stays
  /// in the frame. Otherwise each clip of a segment is a fresh scene (a cut every clip).
  /// - Throws: `VideoError` naming the file.
  public func render(to path: String, continuous: Bool = true) throws {
    let writer = try VideoWriter(
      path: path, width: size, height: size, fps: fps, codec: codec, quality: quality,
      keyframeInterval: clipFrames)
    var random = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ 3)
    for (m, c) in zip(motions, clipsPerSegment) {
      let shape = ShapeClass.allCases[random.below(ShapeClass.allCases.count)]
      if continuous {
        var scene = Scene.random(
          shape: shape, motion: m, size: size, frames: clipFrames, random: &random)
        let n = c * clipFrames
        let half = Double(n - 1) / 2
        if m == .grow || m == .shrink {
          // Largest radius (at one end of the segment) 0.42 of the frame.
          scene.radius = min(scene.radius, 0.42 * Double(size) * exp(-scene.growth * half))
          scene.centre = (Double(size) / 2, Double(size) / 2)
        }
        for t in 0..<n {
          try writer.append(scene.render(at: Double(t) - half, size: size, wrap: true))
        }
      } else {
        for _ in 0..<c {
          let scene = Scene.random(
            shape: shape, motion: m, size: size, frames: clipFrames, random: &random)
          for t in 0..<clipFrames {
            try writer.append(scene.render(frame: t, of: clipFrames, size: size))
          }
        }
      }
    }
    try writer.finish()
  }
}
