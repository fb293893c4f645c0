import ArgumentParser
import Compute
import Distributed
import Foundation
import Models
import SafeTensors
import Training

/// Options shared by `classify` and `eval`: the checkpoint, the views, and how clips are cut.
struct InferenceArguments: ParsableArguments {
  @Option(
    help:
      "Model checkpoint (default: $VCOSWIN_MODEL, else the shipped Clips/default-model.safetensors)."
  )
  var checkpoint: String?

  @Option(help: "Clips per video (evenly spaced); their probabilities are averaged.")
  var clips = 1

  @Option(help: "Crops per clip: 1 (centre) or 3 (three crops along the long side).")
  var crops = 1

  @Flag(
    help:
      "Use the full test protocol the checkpoint records (imported Video Swin: 4 clips × 3 crops).")
  var fullProtocol = false

  @Option(help: "Frames per clip (default: as the checkpoint records, else 8).")
  var clipLen: Int?

  @Option(help: "Step between sampled frames (default: as the checkpoint records, else 2).")
  var interval: Int?

  @Option(help: "Crop size (default: as the checkpoint records, else 64).")
  var size: Int?

  @Option(help: "Entries per forward pass.")
  var batch = 8

  @Option(
    help:
      "Threads for the model (BLAS and parallel loops); by default the cores, divided among the processes mpirun starts on this machine."
  )
  var threads = defaultTrainingThreads()

  @Option(help: "Decoding threads.")
  var workers = 1

  func validate() throws {
    for (name, value, range) in [
      ("--clips", clips, 1...InferenceLimits.maxClips),
      ("--clip-len", clipLen, 1...DataOptions.maxClipLength),
      ("--interval", interval, 1...DataOptions.maxFrameInterval),
      ("--size", size, 1...DataOptions.maxSize),
      ("--batch", batch, 1...1024), ("--threads", threads, 1...1024),
      ("--workers", workers, 1...64),
    ] as [(String, Int?, ClosedRange<Int>)] {
      if let value, !range.contains(value) {
        throw ValidationError(
          "\(name) must be in \(range.lowerBound)…\(range.upperBound) (got \(value)).")
      }
    }
    guard crops == 1 || crops == 3 else {
      throw ValidationError("--crops must be 1 or 3 (got \(crops)).")
    }
    if fullProtocol && (clips != 1 || crops != 1) {
      throw ValidationError(
        "--full-protocol takes the views the checkpoint records; drop --clips and --crops.")
    }
  }

  /// Refuses inputs that are checkpoints (a forgotten `--checkpoint`): `.safetensors` files
  /// with a model config, and PyTorch `.pth` files.
  func refuseCheckpoints(amongVideos videos: [String]) throws {
    for video in videos where Checkpoint.isCheckpointFile(path: video) {
      throw CommandFailure(
        "\(video): this is a model checkpoint, not a video; give it with --checkpoint \(video)")
    }
  }

  /// The checkpoint to use: `--checkpoint`, `$VCOSWIN_MODEL`, or the shipped default model
  /// (`Clips/default-model.safetensors` in the current folder or beside the build folder).
  func checkpointPath() throws -> String {
    if let checkpoint { return checkpoint }
    if let env = ProcessInfo.processInfo.environment["VCOSWIN_MODEL"], !env.isEmpty { return env }
    let name = "Clips/default-model.safetensors"
    if let found = shippedFile(name) { return found.path }
    throw CommandFailure(
      "no --checkpoint given and no default model found (\(name)); give --checkpoint or set VCOSWIN_MODEL"
    )
  }

  /// Loads the model and works out the data options and views: explicit flags, else what the
  /// checkpoint records (a training run's `training.data` or an import's recipe), else defaults.
  /// Any checkpoint format `Checkpoint.open` takes. The tensor header is verified and the
  /// memory of one forward estimated before the model is built.
  func load() throws -> LoadedModel {
    ThreadBudget.configure(threads: threads)
    let path = try checkpointPath()
    let opened = try Checkpoint.open(path: path)
    let info = opened.info
    var data = DataOptions(kind: info.config.dims == 2 ? .image : .video)
    if let recorded = try DataOptions.recorded(in: opened.file) { data = recorded }
    data.kind = info.config.dims == 2 ? .image : .video
    if let clipLen { data.clipLength = clipLen }
    if let interval { data.frameInterval = interval }
    if let size { data.size = size }
    var views = (clips: clips, crops: crops)
    if fullProtocol {
      guard let recorded = try DataOptions.recordedViews(in: opened.file) else {
        throw CommandFailure(
          "\(path): records no full test protocol; give --clips and --crops instead")
      }
      views = recorded
    }
    let sizes = Array(data.sampleShape.dropFirst())
    let perForward = info.config.inferenceBytes(
      batch: Swift.min(batch, views.clips * views.crops), input: sizes)
    let clipTensor = saturatingProduct(
      views.clips * views.crops, data.sampleShape.reduce(4, saturatingProduct))
    try MemoryBudget.check(
      saturatingSum(perForward, clipTensor),
      what:
        "\(path) at \(sizes.map(String.init).joined(separator: "×")) per view, \(views.clips * views.crops) views, batch \(batch)",
      processes: processesOnThisMachine())
    let model = try VCoSwinModel.loaded(opened)
    let named = info.labels.first.map { !$0.hasPrefix("class_") } ?? false
    let labels =
      named
      ? "labels \(info.labels.prefix(3).joined(separator: ", "))\(info.labels.count > 3 ? ", …" : "")"
      : "no label names recorded (class_0…)"
    let source = opened.layout.map { ", converted from the \($0.summary) layout" } ?? ""
    if Communicator.world.isRoot {
      FileHandle.standardError.write(
        Data(
          "checkpoint: \(path) (\(info.kind) model, \(info.config.classes) classes; \(labels)\(source))\n"
            .utf8))
    }
    return LoadedModel(
      model: model, info: info, data: data, path: path, clips: views.clips, crops: views.crops)
  }
}

/// A model ready for inference, with the data options and views it runs with.
struct LoadedModel {
  var model: VCoSwinModel
  var info: CheckpointInfo
  var data: DataOptions
  var path: String
  /// Clips per video and crops per clip.
  var clips: Int
  var crops: Int
  var views: Int { clips * crops }
}

/// One JSON object as a line (keys sorted).
func jsonLine(_ object: Any) throws -> String {
  String(
    decoding: try JSONSerialization.data(
      withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
}

/// An inference command's list shared between the ranks of `Communicator.world` (one rank
/// without `mpirun`): each rank runs its part, rank 0 gathers the parts in rank order, and
/// only rank 0 prints and writes files.
enum ListShards {
  /// Runs `work` (this rank's part, as bytes) and gathers every rank's part on rank 0, in rank
  /// order; `nil` on the other ranks. An error in `work` travels to rank 0, which throws the
  /// first in rank order (the one a single process meets first, for contiguous parts); the
  /// other ranks then return `nil` quietly. Without MPI: `[work()]`, and `work`'s error as is.
  static func gather(_ work: () throws -> [UInt8]) throws -> [[UInt8]]? {
    let world = Communicator.world
    guard world.isDistributed else { return [try work()] }
    // Payload: 0 and the part, or 1 and the error's text.
    var payload: [UInt8]
    do {
      payload = [0] + (try work())
    } catch {
      payload = [1] + Array(String(describing: error).utf8)
    }
    guard let parts = try world.gather(bytes: payload, root: 0) else { return nil }
    if let failed = parts.first(where: { $0.first != 0 }) {
      throw CommandFailure(String(decoding: failed.dropFirst(), as: UTF8.self))
    }
    return parts.map { Array($0.dropFirst()) }
  }

  /// Runs a command's `body` so that only rank 0 reports, then ends MPI. On another rank an
  /// error the ranks share (bad options, an unreadable checkpoint or list: rank 0 meets the
  /// same and prints it) ends the process with status 1 and no message; a `DistributedError`
  /// (a rank that died or stalled) is still printed, since it is this rank's own news.
  static func reportingOnRoot(_ body: () throws -> Void) throws {
    let world = Communicator.world
    if world.isRoot {
      try body()
    } else {
      do {
        try body()
      } catch let error as DistributedError {
        throw error
      } catch {
        Foundation.exit(1)
      }
    }
    world.finalize()
  }
}
