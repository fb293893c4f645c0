import ArgumentParser
import Datasets
import Foundation
import Inference
import Models
import SafeTensors
import VideoIO

/// How `vcoswin sample` crops: the test-time crops and the training crop.
enum SampleCrop: String, ExpressibleByArgument, CaseIterable {
  case center, three, none, random
}

extension ClipSampler.Mode: ExpressibleByArgument {}
extension ClipSampler.OutOfBound: ExpressibleByArgument {}

/// `vcoswin sample`: what the model sees — sampled clips as a tensor, and a contact sheet.
struct SampleCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sample",
    abstract: "Sample clips from a video and write them, as the model sees them, to safetensors.",
    discussion: HelpExamples.protected(
      """
      Frames are chosen as mmaction2's SampleFrames: --clips clips of --clip-len frames, \
      --interval frames apart; test mode spaces clips evenly, train mode draws a random \
      offset per segment from --seed. Frames past the end wrap to the start (--out-of-bound). \
      Each frame is resized so its short side is --size, then cropped: center (one \
      size×size crop), three (three crops along the long side), none (the whole resized \
      frame), random (a random resized crop to size×size and a random horizontal flip).

      Writes tensor `clip` [N,3,T,H,W] Float32, RGB in 0…1 (ImageNet-normalised with \
      --normalize), with N = clips × crops ordered crop-major, and `indices` [N,T] Int64, \
      the frame numbers of each row.

      Examples:
        vcoswin sample Clips/val/0000.mkv --clip-len 8 --interval 2 --size 64 --output /tmp/c.safetensors
        vcoswin sample video.mp4 --clip-len 32 --interval 2 --clips 4 --crop three --output /tmp/c.safetensors --sheet /tmp/c.png
      """))

  @Argument(help: "The video (or image) file.")
  var video: String

  @Option(help: "Frames per clip (T).")
  var clipLen: Int

  @Option(help: "Frames between sampled frames.")
  var interval: Int

  @Option(help: "Clips to sample (N).")
  var clips = 1

  @Option(help: "Short side after resizing, and crop size.")
  var size = 224

  @Option(
    help:
      "Short side after resizing when it differs from the crop (--size), e.g. 256 for torchvision's 256 → 224."
  )
  var resize: Int?

  @Option(help: "Crop: \(SampleCrop.allCases.map(\.rawValue).joined(separator: ", ")).")
  var crop: SampleCrop = .center

  @Option(help: "Clip placement: test (evenly spaced) or train (random, seeded).")
  var mode: ClipSampler.Mode = .test

  @Option(help: "Frames past the end: loop (wrap to the start) or repeat-last.")
  var outOfBound: ClipSampler.OutOfBound = .loop

  @Option(help: "Seed for train-mode sampling and random crops.")
  var seed: UInt64 = 0

  @Flag(help: "Normalise with ImageNet mean and standard deviation.")
  var normalize = false

  @Option(help: "Output safetensors file.")
  var output: String

  @Option(help: "Also write a PNG contact sheet (one row per clip view).")
  var sheet: String?

  @OptionGroup var overwriteOption: OverwriteOption

  @Option(help: "Decoder threads.")
  var threads = ProcessInfo.processInfo.activeProcessorCount

  func validate() throws {
    for (name, value, limit) in [
      ("--clip-len", clipLen, DataOptions.maxClipLength),
      ("--interval", interval, DataOptions.maxFrameInterval),
      ("--clips", clips, InferenceLimits.maxClips), ("--size", size, DataOptions.maxSize),
      ("--threads", threads, 1024),
    ] {
      if value < 1 { throw ValidationError("\(name) must be at least 1 (got \(value)).") }
      if value > limit { throw ValidationError("\(name) must be at most \(limit) (got \(value)).") }
    }
    if let resize, !(size...DataOptions.maxSize).contains(resize) {
      throw ValidationError(
        "--resize must be in --size…\(DataOptions.maxSize) (\(size)…; got \(resize)).")
    }
    // The output holds N · views · 3 · T · size² Float32 values (the long side of `--crop none`
    // is not known before decoding; count it as square).
    let views = crop == .three ? 3 : 1
    let bytes = [clips, views, 3, clipLen, size, size].reduce(4, saturatingProduct)
    do {
      try MemoryBudget.check(
        bytes, what: "sample of \(clips)×\(views) views of \(clipLen)×\(size)² frames")
    } catch {
      throw ValidationError("\(error)")
    }
  }

  func run() throws {
    try overwriteOption.check([("--output", output), ("--sheet", sheet)])
    let mean = normalize ? ClipTransform.imageNetMean : [0, 0, 0]
    let std = normalize ? ClipTransform.imageNetStd : [1, 1, 1]
    let transformCrop: ClipTransform.Crop
    switch crop {
    case .center: transformCrop = .center(size)
    case .three: transformCrop = .three(size)
    case .none: transformCrop = .none
    case .random: transformCrop = .randomResized(size: size)
    }
    let transform = ClipTransform(
      shortSide: crop == .random ? nil : resize ?? size, crop: transformCrop,
      randomFlip: crop == .random,
      mean: mean, std: std)
    let sampler = ClipSampler(
      clipLength: clipLen, frameInterval: interval, numClips: clips, mode: mode,
      outOfBound: outOfBound)
    let reader = try VideoReader(path: video, threads: threads)
    // `validate` counted `--crop none` as square; the video's aspect ratio is known now.
    let out = transform.outputSize(width: reader.info.width, height: reader.info.height)
    let views = crop == .three ? 3 : 1
    try MemoryBudget.check(
      [clips, views, 3, clipLen, out.height, out.width].reduce(4, saturatingProduct),
      what: "\(video): sample of \(clips)×\(views) views of \(clipLen)×\(out.height)×\(out.width)")
    let batch = try reader.sampleClips(sampler: sampler, transform: transform, seed: seed)

    var writer = SafeTensorsWriter(metadata: [
      "source": video, "frames": String(reader.frameCount), "mode": mode.rawValue,
      "crop": crop.rawValue, "normalized": String(normalize),
    ])
    try writer.add("clip", shape: batch.shape, floats: batch.data)
    try writer.add(
      "indices", shape: [batch.count, batch.frames],
      int64s: batch.indices.flatMap { $0.map(Int64.init) })
    try writer.write(to: output)
    printHuman("\(output): clip \(batch.shape), indices [\(batch.count), \(batch.frames)]")
    if let sheet {
      let rows = ContactSheet.frames(of: batch, mean: mean, std: std)
      // Views are crop-major (view = crop · clips + clip); three crops run start, end, centre.
      let cropNames = ["start", "end", "centre"]
      let labels = (0..<batch.count).map { v -> String in
        let clip = "clip \(v % clips)"
        switch crop {
        case .three: return clip + " " + cropNames[min(v / clips, 2)]
        case .center: return clip + " centre"
        case .none: return clip + " whole"
        case .random: return clip + " random"
        }
      }
      let captions = batch.indices.map { $0.map(String.init) }
      try ImageFile.write(
        ContactSheet.render(rows: rows, captions: captions, rowLabels: labels), to: sheet)
      printHuman("\(sheet): \(batch.count) rows of \(batch.frames) frames")
    }
  }
}
