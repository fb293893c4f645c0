import ArgumentParser
import Datasets
import Foundation
import Synth
import VideoIO

/// The codecs the synthetic dataset is written with (Matroska files); help lists exactly these.
enum SynthCodec: String, ExpressibleByArgument, CaseIterable {
  case mpeg4, ffv1

  var codec: VideoWriter.Codec {
    switch self {
    case .mpeg4: return .mpeg4
    case .ffv1: return .ffv1
    }
  }
}

/// `vcoswin synth`: renders the synthetic motion/shape dataset.
struct SynthCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "synth",
    abstract: "Render the synthetic action dataset (moving shapes) with its lists.",
    discussion: HelpExamples.protected(
      """
      Each clip shows one shape (circle, square, triangle, star, cross, crescent) of random \
      colour, size and texture on a gradient or smooth-noise background, moving one way: \
      move left/right/up/down, rotate clockwise/anticlockwise, grow, shrink. The motion is \
      the action label (train.txt, val.txt, motion_labels.txt). Position, size and angle \
      follow one distribution at every frame of every class, so no single frame tells the \
      motion. The clips with their shape labels are in shapes_train.txt and shapes_val.txt; \
      one frame of every --image-every'th clip is also saved as PNG (images_train.txt, \
      images_val.txt, shape_labels.txt). A horizontal flip swaps move_left/move_right and \
      the rotations: train with --flip-map \(MotionClass.mirrorPairs). The same seed gives \
      the same dataset.

      Examples:
        vcoswin synth --out Clips --overwrite --seed 0 --train 200 --val 64 --frames 16 --size 64
        vcoswin synth --out /tmp/synth --train 16 --val 8 --codec ffv1
        vcoswin synth --out /tmp/long --long 600 --size 32   # long.mkv + long-truth.txt
      """))

  @Option(
    help:
      "Output folder (created if missing); one that holds a dataset (or long.mkv with --long) is refused unless --overwrite."
  )
  var out: String

  @OptionGroup var output: OverwriteOption

  /// What a render writes in `--out` (files and folders), checked before any work.
  static let datasetNames = [
    "train", "val", "images", "train.txt", "val.txt", "train_few.txt", "images_train.txt",
    "images_val.txt", "shapes_train.txt", "shapes_val.txt", "pairs_train.txt", "pairs_val.txt",
    "motion_labels.txt", "shape_labels.txt", "pair_labels.txt",
  ]
  static let longNames = ["long.mkv", "long-truth.txt"]

  @Option(help: "Seed.")
  var seed: UInt64 = 0

  @Option(help: "Training clips.")
  var train = 200

  @Option(help: "Validation clips.")
  var val = 64

  @Option(help: "Frames per clip (at least 2).")
  var frames = 16

  @Option(help: "Width and height in pixels (at least 16).")
  var size = 64

  @Option(
    help: "Clip codec of the Matroska files: mpeg4 (small, lossy at --quality) or ffv1 (lossless).")
  var codec: SynthCodec = .mpeg4

  @Option(help: "MPEG-4 quantiser, 2 (best) to 31 (smallest files).")
  var quality = 4

  @Option(help: "Save one frame as PNG (images_*.txt) for every Nth clip.")
  var imageEvery = 1

  @Option(
    help: ArgumentHelp(
      "Instead of the dataset: one long video of about this many seconds, segments of 2–4 clips of one motion each (long.mkv, long-truth.txt for `timeline --truth`).",
      valueName: "seconds"))
  var long: Double?

  func validate() throws {
    if let long, !(long.isFinite && long > 0 && long <= 86_400) {
      throw ValidationError("--long must be seconds in (0, 86400] (got \(long)).")
    }
    if train < 0 || val < 0 { throw ValidationError("--train and --val cannot be negative.") }
    if frames < 2 { throw ValidationError("--frames must be at least 2 (motion needs two).") }
    if size < 16 { throw ValidationError("--size must be at least 16.") }
    // The encoders refuse larger frames only after the folders are made, with a bare
    // "Invalid argument"; a clip of more frames is not a clip.
    if size > DataOptions.maxSize {
      throw ValidationError("--size must be at most \(DataOptions.maxSize) (got \(size)).")
    }
    if frames > 100_000 {
      throw ValidationError("--frames must be at most 100000 (got \(frames)).")
    }
    if !(2...31).contains(quality) { throw ValidationError("--quality must be in 2...31.") }
    if imageEvery < 1 { throw ValidationError("--image-every must be at least 1.") }
  }

  func run() throws {
    try output.checkFolder(
      out, option: "--out", holding: long == nil ? Self.datasetNames : Self.longNames)
    if let long {
      var video = SynthLongVideo.random(seconds: long, seed: seed, clipFrames: frames)
      video.size = size
      video.codec = codec.codec
      video.quality = quality
      let folder = URL(fileURLWithPath: out)
      do {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try video.truthText.write(
          to: folder.appendingPathComponent("long-truth.txt"), atomically: true, encoding: .utf8)
      } catch {
        throw CommandFailure("\(out): cannot write (\(error.localizedDescription))")
      }
      try video.render(to: folder.appendingPathComponent("long.mkv").path)
      printHuman(
        "\(out)/long.mkv: \(video.frameCount) frames at \(size)x\(size), \(video.motions.count) segments (long-truth.txt)"
      )
      return
    }
    var dataset = SynthDataset()
    dataset.seed = seed
    dataset.trainCount = train
    dataset.valCount = val
    dataset.frames = frames
    dataset.size = size
    dataset.codec = codec.codec
    dataset.quality = quality
    dataset.imageEvery = imageEvery
    let folder = URL(fileURLWithPath: out)
    try dataset.render(to: folder) { done, total in
      if done == total || done % max(total / 10, 1) == 0 {
        FileHandle.standardError.write(Data("synth: \(done)/\(total) clips\n".utf8))
      }
    }
    printHuman("\(out): \(train) train and \(val) val clips of \(frames) frames at \(size)x\(size)")
  }
}
