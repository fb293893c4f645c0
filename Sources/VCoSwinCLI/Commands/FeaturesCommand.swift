import ArgumentParser
import Compute
import Distributed
import Foundation
import Models
import SafeTensors
import Training
import VideoIO

/// `vcoswin features`: pooled features and logits of videos, images or a tensor input.
struct FeaturesCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "features",
    abstract:
      "Pooled features and logits of videos (or images), or of the tensor `input` in a file.",
    discussion: """
      With --input: reads tensor `input`, [B,3,H,W] for an image model or [B,3,T,H,W] for a
      video model, channels first, and feeds it to the model unchanged (no normalisation);
      or tensor `clip` of `vcoswin sample`, normalised as the model expects unless sample did;
      row b of the outputs is entry b.
      With videos: each file is cut into --clips clips × --crops crops exactly as `classify`
      does (normalised); row b of the outputs is the mean over the views of video b.
      Writes `features` [B,C] (after the final LayerNorm and mean pooling) and `logits` [B,K].
      A file that cannot be read is an error naming it, and no output is written.
      Under mpirun, each process takes a contiguous block of the videos (of the batches, with \
      --input) and rank 0 writes the file, the same as one process's.

      Examples:
        vcoswin features --input clip.safetensors --checkpoint model.safetensors --output f.safetensors
        vcoswin features a.mp4 b.avi --checkpoint model.safetensors --clips 2 --output f.safetensors
        vcoswin sample a.mp4 --clip-len 8 --interval 2 --size 32 --output s.safetensors
        vcoswin features --input s.safetensors --checkpoint model.safetensors --output f.safetensors
      """)

  @Argument(help: "Videos (or images, with an image model).")
  var videos: [String] = []

  @Option(
    help:
      "safetensors file holding the tensor `input`, or `clip` as `vcoswin sample` writes it (instead of videos)."
  )
  var input: String?

  @Option(help: "Output safetensors file.")
  var output: String

  @OptionGroup var inference: InferenceArguments

  @Option(
    help: ArgumentHelp(
      "Per-window rows every this many seconds along each video (the windows of `vcoswin timeline`); also writes times, frames and video.",
      valueName: "seconds"))
  var every: Double?

  func validate() throws {
    guard (input == nil) != videos.isEmpty else {
      throw ValidationError("give either videos or --input X.safetensors (not both).")
    }
    if let every {
      guard every.isFinite, every > 0, every <= TimelineCommand.maxSeconds else {
        throw ValidationError(
          "--every must be seconds in (0, \(Int(TimelineCommand.maxSeconds))] (got \(every)).")
      }
      guard input == nil else { throw ValidationError("--every takes videos, not --input.") }
      if inference.clips != 1 || inference.crops != 1 || inference.fullProtocol {
        throw ValidationError(
          "--every takes each window once (centre crop): drop --clips, --crops and --full-protocol."
        )
      }
    }
  }

  /// Features and logits of `x` `[B, 3, (T,) H, W]`, run `batch` entries at a time; rows of
  /// `views` consecutive entries are averaged.
  private func run(
    _ model: VCoSwinModel, _ x: Tensor, views: Int, into features: inout [Float],
    _ logits: inout [Float]
  ) throws {
    let c = model.config
    let (f, k) = (c.featureDim, c.classes)
    let b = x.shape[0]
    let per = x.count / b
    var start = 0
    while start < b {
      let n = min(inference.batch, b - start)
      let part = Tensor(viewOf: x, offset: start * per, shape: [n] + x.shape.dropFirst())
      let out = try model.forward(part, training: false)
      for r in 0..<n {
        let row = (start + r) / views
        for i in 0..<f { features[row * f + i] += out.features.pointer[r * f + i] / Float(views) }
        for i in 0..<k { logits[row * k + i] += out.logits.pointer[r * k + i] / Float(views) }
      }
      start += n
    }
  }

  /// The tensor to feed from `--input`: `input` unchanged, or `sample`'s `clip` `[N, 3, T, H, W]`
  /// (with `T = 1` taken as images `[N, 3, H, W]` for an image model), normalised with ImageNet
  /// mean and std when the model expects it and `sample` did not (`__metadata__` `normalized`).
  private func modelInput(_ file: SafeTensorsFile, normalize: Bool, dims: Int) throws -> (
    shape: [Int], values: [Float]
  ) {
    if file.tensors["input"] != nil { return try file.floats("input") }
    guard file.tensors["clip"] != nil else {
      throw CommandFailure(
        "\(file.path): holds neither tensor 'input' nor 'clip' (from vcoswin sample)")
    }
    var (shape, values) = try file.floats("clip")
    if shape.count == 5, shape[2] == 1, dims == 2 { shape.remove(at: 2) }
    guard let normalized = file.metadata["normalized"].flatMap(Bool.init) else {
      throw CommandFailure(
        "\(file.path): tensor 'clip' without __metadata__ 'normalized' (true or false)")
    }
    if normalize && !normalized {
      let plane = shape.count >= 2 ? shape.dropFirst(2).reduce(1, *) : 0
      for i in 0..<values.count {
        let c = (i / plane) % 3
        values[i] = (values[i] - ClipTransform.imageNetMean[c]) / ClipTransform.imageNetStd[c]
      }
    }
    return (shape, values)
  }

  func run() throws { try ListShards.reportingOnRoot(extract) }

  /// Features and logits of this rank's block (of videos, or of whole batches of --input
  /// rows); rank 0 gathers the rows in order and writes the file.
  private func extract() throws {
    try inference.refuseCheckpoints(amongVideos: videos)
    let loaded = try inference.load()
    if let every { return try windowRows(loaded, every: every) }
    let world = Communicator.world
    let (model, info, data, path) = (loaded.model, loaded.info, loaded.data, loaded.path)
    let (f, k) = (info.config.featureDim, info.config.classes)
    var rows = 0
    // Rows of this rank's block, then of all: features [rows, F], logits [rows, K].
    var features: [Float] = []
    var logits: [Float] = []
    let parts: [[UInt8]]?
    if let input {
      let file = try SafeTensorsFile.read(path: input)
      let (shape, values) = try modelInput(file, normalize: data.normalize, dims: info.config.dims)
      guard shape.count == info.config.dims + 2, shape[0] >= 1 else {
        throw CommandFailure(
          "\(input): tensor 'input' has shape \(shape); this \(info.kind) checkpoint needs \(info.config.dims == 2 ? "[B,3,H,W]" : "[B,3,T,H,W]")"
        )
      }
      if let bad = values.firstIndex(where: { !$0.isFinite }) {
        throw CommandFailure(
          "\(input): the input tensor holds a NaN or infinite value at element \(bad)")
      }
      let chunk = info.config.inferenceBytes(
        batch: Swift.min(inference.batch, shape[0]), input: Array(shape.dropFirst(2)))
      try MemoryBudget.check(
        chunk, what: "\(input): tensor 'input' \(shape) at batch \(inference.batch)",
        processes: processesOnThisMachine())
      rows = shape[0]
      // Whole batches per rank: each forward pass is one a single process runs.
      let mine = shardRange(
        count: rows, rank: world.rank, size: world.size, granule: inference.batch)
      parts = try ListShards.gather {
        var w = ShardWriter()
        guard !mine.isEmpty else { return w.bytes }
        let per = values.count / rows
        // x [n, 3, (T,) H, W]: this rank's rows
        let x = Tensor(
          shape: [mine.count] + shape.dropFirst(),
          values: Array(values[(mine.lowerBound * per)..<(mine.upperBound * per)]))
        var partFeatures = [Float](repeating: 0, count: mine.count * f)
        var partLogits = [Float](repeating: 0, count: mine.count * k)
        do {
          try run(model, x, views: 1, into: &partFeatures, &partLogits)
        } catch let e as ModelInputError {
          throw CommandFailure("\(input): \(e)")
        }
        w.floats(partFeatures)
        w.floats(partLogits)
        return w.bytes
      }
    } else {
      rows = videos.count
      let views = loaded.views
      let mine = shardRange(count: videos.count, rank: world.rank, size: world.size)
      parts = try ListShards.gather {
        // The first unreadable video of the block ends it (and the command).
        var w = ShardWriter()
        for video in videos[mine] {
          var rowFeatures = [Float](repeating: 0, count: f)
          var rowLogits = [Float](repeating: 0, count: k)
          do {
            let reader = try VideoReader(path: video, threads: inference.workers)
            let values = try ListDataset.views(
              reader: reader, options: data, clips: loaded.clips, crops: loaded.crops)
            try run(
              model, stack([values], shape: data.sampleShape), views: views, into: &rowFeatures,
              &rowLogits)
          } catch {
            let message = String(describing: error)
            throw CommandFailure(message.contains(video) ? message : "\(video): \(message)")
          }
          w.floats(rowFeatures)
          w.floats(rowLogits)
        }
        return w.bytes
      }
    }
    guard let parts else { return }
    for bytes in parts {
      var r = ShardReader(bytes)
      while !r.isAtEnd {
        features += try r.floats()
        logits += try r.floats()
      }
    }
    guard features.count == rows * f, logits.count == rows * k else {
      throw CommandFailure(
        "features: the ranks sent \(features.count / Swift.max(1, f)) rows for \(rows) entries")
    }
    let labels = String(decoding: try JSONEncoder().encode(info.labels), as: UTF8.self)
    var metadata = ["checkpoint": path, "labels": labels]
    if let input {
      metadata["input"] = input
    } else {
      metadata["videos"] = String(decoding: try JSONEncoder().encode(videos), as: UTF8.self)
    }
    var writer = SafeTensorsWriter(metadata: metadata)
    try writer.add("features", shape: [rows, f], floats: features)
    try writer.add("logits", shape: [rows, k], floats: logits)
    try writer.write(to: output)
    print("\(output): features [\(rows), \(f)], logits [\(rows), \(k)]")
  }

  /// `--every`: one row per timeline window of each video (one streaming pass per video),
  /// windows `every` seconds apart (rounded to frames with the video's frame rate). Writes
  /// `features` [N, F], `logits` [N, K], `times` [N, 2] (start, end seconds), `frames` [N, 2]
  /// (first and last sampled frame, int64) and `video` [N] (index into the `videos` metadata).
  private func windowRows(_ loaded: LoadedModel, every: Double) throws {
    let (model, info, data) = (loaded.model, loaded.info, loaded.data)
    guard info.config.dims == 3 else {
      throw CommandFailure(
        "\(loaded.path): --every needs a video model; this is an image checkpoint")
    }
    let (f, k) = (info.config.featureDim, info.config.classes)
    // Rows of all videos: features [N, F], logits [N, K], times [N, 2], frames [N, 2], video [N].
    var features: [Float] = []
    var logits: [Float] = []
    var times: [Float] = []
    var frames: [Int64] = []
    var owner: [Int64] = []
    // This rank's block of videos; per window: features, logits, times, then frames and video.
    let world = Communicator.world
    let mine = shardRange(count: videos.count, rank: world.rank, size: world.size)
    let parts = try ListShards.gather {
      var part = ShardWriter()
      for v in mine {
        let video = videos[v]
        do {
          let reader = try VideoReader(path: video, threads: inference.workers)
          guard reader.info.fps > 0 else {
            throw CommandFailure("\(video): no frame rate known for --every")
          }
          let stride = Swift.min(
            TimelineCommand.maxFrames, Swift.max(1, Int((every * reader.info.fps).rounded())))
          let plan = TimelinePlan(
            clipLength: data.clipLength, frameInterval: data.frameInterval, strideFrames: stride,
            frameCount: reader.frameCount)
          let runner = TimelineRunner(
            plan: plan, transform: .test(size: data.size, normalize: data.normalize),
            batch: inference.batch)
          let result = try runner.run(reader: reader) { x in
            // One row [F + K] per window: features, then logits.
            let out = try model.forward(x, training: false)
            let b = x.shape[0]
            let rows = Tensor(zeros: [b, f + k])
            for r in 0..<b {
              (rows.pointer + r * (f + k)).update(from: out.features.pointer + r * f, count: f)
              (rows.pointer + r * (f + k) + f).update(from: out.logits.pointer + r * k, count: k)
            }
            return rows
          }
          for w in result.windows {
            part.floats(Array(w.probabilities[0..<f]))
            part.floats(Array(w.probabilities[f...]))
            part.floats([Float(w.start), Float(w.end)])
            for value in [w.firstFrame, w.lastFrame, v] { part.int(value) }
          }
        } catch {
          let message = String(describing: error)
          throw CommandFailure(message.contains(video) ? message : "\(video): \(message)")
        }
      }
      return part.bytes
    }
    guard let parts else { return }
    for bytes in parts {
      var r = ShardReader(bytes)
      while !r.isAtEnd {
        features += try r.floats()
        logits += try r.floats()
        times += try r.floats()
        frames += [Int64(try r.int()), Int64(try r.int())]
        owner.append(Int64(try r.int()))
      }
    }
    let n = owner.count
    let labels = String(decoding: try JSONEncoder().encode(info.labels), as: UTF8.self)
    let metadata = [
      "checkpoint": loaded.path, "labels": labels, "every": String(every),
      "videos": String(decoding: try JSONEncoder().encode(videos), as: UTF8.self),
    ]
    var writer = SafeTensorsWriter(metadata: metadata)
    try writer.add("features", shape: [n, f], floats: features)
    try writer.add("logits", shape: [n, k], floats: logits)
    try writer.add("times", shape: [n, 2], floats: times)
    try writer.add("frames", shape: [n, 2], int64s: frames)
    try writer.add("video", shape: [n], int64s: owner)
    try writer.write(to: output)
    print(
      "\(output): \(n) windows of \(videos.count) video(s), features [\(n), \(f)], logits [\(n), \(k)], times and frames [\(n), 2]"
    )
  }
}
