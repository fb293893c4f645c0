import ArgumentParser
import Compute
import Datasets
import Distributed
import Foundation
import Inference
import Models

/// Options shared by `classify`, `eval`, `features` and `timeline`: the checkpoint and its
/// class names, the views, and how clips are cut.
struct InferenceArguments: ParsableArguments {
  @Option(
    help:
      "Model checkpoint (default: $VCOSWIN_MODEL, else the shipped Clips/default-model.safetensors)."
  )
  var checkpoint: String?

  @Option(help: ArgumentHelp(labelsOptionHelp))
  var labels: String?

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

  @Option(
    help:
      "Crop size (default: as the checkpoint records, else 64); a recorded short side keeps its ratio to the crop."
  )
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

  /// Loads the model by `LoadedModel.load`'s rules with these options (after setting the
  /// thread budget) and, on rank 0, logs which checkpoint it is on stderr.
  func load() throws -> LoadedModel {
    ThreadBudget.configure(threads: threads)
    var request = try ModelRequest(
      checkpoint: checkpoint, clipLength: clipLen, frameInterval: interval, size: size,
      views: Views(clips: clips, crops: crops), fullProtocol: fullProtocol, batch: batch,
      processes: processesOnThisMachine())
    request.labels = try labels.map(readLabelsNamingFile)
    let loaded = try LoadedModel.load(request)
    if Communicator.world.isRoot {
      printHumanError("checkpoint: \(loaded.summary)")
    }
    return loaded
  }
}

/// One JSON object as a line (keys sorted).
func jsonLine(_ object: Any) throws -> String {
  String(
    decoding: try JSONSerialization.data(
      withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
}

/// An inference command run by every rank of `Communicator.world` (one rank without
/// `mpirun`): each rank runs its part (`ShardedWork`), and only rank 0 prints and writes files.
enum ListShards {
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
