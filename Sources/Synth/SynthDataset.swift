import Foundation
import VideoIO

/// Renders the synthetic action dataset: clips of one moving shape each, with mmaction2-style
/// lists, deterministically from a seed.
///
/// Layout under `output`:
/// - `train/NNNN.mkv`, `val/NNNN.mkv` (Matroska): `frames` frames, `size`×`size`, 25 fps;
/// - `train.txt`, `val.txt`: `train/0000.mkv 3` lines, label = motion class;
/// - `motion_labels.txt`: one motion class name per line (label order);
/// - `images/train/NNNN.png`, `images/val/NNNN.png`: one frame of each clip;
/// - `images_train.txt`, `images_val.txt`: `images/train/0000.png 2`, label = shape class;
/// - `shape_labels.txt`: one shape class name per line;
/// - `train_few.txt`: the first `fewTrain` lines of `train.txt` (balanced: 8 divides it);
/// - `pairs_train.txt`, `pairs_val.txt`, `pair_labels.txt`: the shape × motion task
///   (`ShapeMotionTask`), over the same clips.
///
/// Clip `i` of a split has motion class `i mod 8` (balanced) and a random shape; every clip
/// draws from its own generator, seeded from (`seed`, split, `i`), so a clip does not depend
/// on how many others are rendered.
public struct SynthDataset: Sendable {
  public var seed: UInt64 = 0
  public var trainCount = 200
  public var valCount = 64
  /// Frames per clip (≥ 2, so that motion is visible).
  public var frames = 16
  /// Width and height in pixels (≥ 16).
  public var size = 64
  /// `.mpeg4` (small files) or `.ffv1` (lossless, larger).
  public var codec: VideoWriter.Codec = .mpeg4
  /// MPEG-4 quantiser (2 best … 31 worst).
  public var quality = 4
  /// A still PNG (and a line of `images_*.txt`) is written for every `imageEvery`th clip.
  public var imageEvery = 1
  /// Training clips of the smaller motion list `train_few.txt` (the demo's motion task).
  public var fewTrain = 400
  /// The shape × motion task whose lists are written beside the motion lists.
  public var pairTask = ShapeMotionTask.standard

  public init() {}

  /// File extension of the clips.
  public var clipExtension: String { "mkv" }

  /// The scene of clip `index` of a split (`"train"` or `"val"`).
  public func scene(split: String, index: Int) -> Scene {
    var random = SplitMix64(
      seed: seed &* 0x5851_F42D_4C95_7F2D &+ (split == "train" ? 1 : 2) &* 0x1000_0000
        &+ UInt64(index))
    _ = random.next()
    let motion = MotionClass.allCases[index % MotionClass.allCases.count]
    let shape = ShapeClass.allCases[random.below(ShapeClass.allCases.count)]
    return Scene.random(shape: shape, motion: motion, size: size, frames: frames, random: &random)
  }

  /// Renders everything under `output` (created if missing); `progress` is called after each
  /// clip with (clips done, clips in all).
  /// - Throws: `VideoError` or a file-system error naming the path.
  public func render(to output: URL, progress: (Int, Int) -> Void = { _, _ in }) throws {
    precondition(frames >= 2 && size >= 16, "need at least 2 frames of 16×16 pixels")
    let fm = FileManager.default
    for folder in ["train", "val", "images/train", "images/val"] {
      let url = output.appendingPathComponent(folder)
      do {
        try fm.createDirectory(at: url, withIntermediateDirectories: true)
      } catch {
        throw VideoError.fileSystem(path: url.path, "cannot create folder", error)
      }
    }
    let total = trainCount + valCount
    var done = 0
    for (split, count) in [("train", trainCount), ("val", valCount)] {
      var clips = ""
      var images = ""
      var shapes = ""
      var scenes: [(path: String, scene: Scene)] = []
      for i in 0..<count {
        let name = String(format: "%04d", i)
        let scene = scene(split: split, index: i)
        let clip = "\(split)/\(name).\(clipExtension)"
        let writer = try VideoWriter(
          path: output.appendingPathComponent(clip).path, width: size, height: size, fps: 25,
          codec: codec, quality: quality, keyframeInterval: frames)
        // One frame per clip, at a position that varies with the clip, for image training.
        let still = (i * 7 + 3) % frames
        for t in 0..<frames {
          let image = scene.render(frame: t, of: frames, size: size)
          try writer.append(image)
          if t == still && i % imageEvery == 0 {
            try ImageFile.write(
              image, to: output.appendingPathComponent("images/\(split)/\(name).png").path)
          }
        }
        try writer.finish()
        clips += "\(clip) \(scene.motion.rawValue)\n"
        if i % imageEvery == 0 { images += "images/\(split)/\(name).png \(scene.shape.rawValue)\n" }
        shapes += "\(clip) \(scene.shape.rawValue)\n"
        scenes.append((clip, scene))
        done += 1
        progress(done, total)
      }
      try write(clips, output.appendingPathComponent("\(split).txt"))
      if split == "train" {
        let few = clips.split(separator: "\n").prefix(fewTrain).map { $0 + "\n" }.joined()
        try write(few, output.appendingPathComponent("train_few.txt"))
      }
      try write(images, output.appendingPathComponent("images_\(split).txt"))
      // The clips with shape labels: image models train on any of their frames.
      try write(shapes, output.appendingPathComponent("shapes_\(split).txt"))
      try write(
        pairTask.listText(scenes, limit: split == "train" ? pairTask.trainPerClass : nil),
        output.appendingPathComponent("pairs_\(split).txt"))
    }
    try write(
      MotionClass.allCases.map { $0.name + "\n" }.joined(),
      output.appendingPathComponent("motion_labels.txt"))
    try write(
      ShapeClass.allCases.map { $0.name + "\n" }.joined(),
      output.appendingPathComponent("shape_labels.txt"))
    try write(
      pairTask.labelNames.map { $0 + "\n" }.joined(),
      output.appendingPathComponent("pair_labels.txt"))
  }

  private func write(_ text: String, _ url: URL) throws {
    do {
      try text.write(to: url, atomically: true, encoding: .utf8)
    } catch {
      throw VideoError.fileSystem(path: url.path, "cannot write", error)
    }
  }
}
