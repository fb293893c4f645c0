import ArgumentParser
import Distributed
import Foundation
import Inference
import Models

/// `vcoswin features`: pooled features and logits of videos, images or a tensor input.
struct FeaturesCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "features",
    abstract:
      "Pooled features and logits of videos (or images), or of the tensor `input` in a file.",
    discussion: HelpExamples.protected(
      """
      With --input: reads tensor `input`, [B,3,H,W] for an image model or [B,3,T,H,W] for a \
      video model, channels first, and feeds it to the model unchanged (no normalisation); \
      or tensor `clip` of `vcoswin sample`, normalised as the model expects unless sample did; \
      row b of the outputs is entry b.
      With videos: each file is cut into --clips clips × --crops crops exactly as `classify` \
      does (normalised); row b of the outputs is the mean over the views of video b.
      Writes `features` [B,C] (after the final LayerNorm and mean pooling) and `logits` [B,K]. \
      A file that cannot be read is an error naming it, and no output is written. \
      Under mpirun, each process takes a contiguous block of the videos (of the batches, with \
      --input) and rank 0 writes the file, the same as one process's.

      Examples:
        vcoswin features --input clip.safetensors --checkpoint model.safetensors --output f.safetensors
        vcoswin features a.mp4 b.avi --checkpoint model.safetensors --clips 2 --output f.safetensors
        vcoswin sample a.mp4 --clip-len 8 --interval 2 --size 32 --output s.safetensors
        vcoswin features --input s.safetensors --checkpoint model.safetensors --output f.safetensors
      """))

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

  @OptionGroup var overwriteOption: OverwriteOption

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
      guard every.isFinite, every > 0, every <= InferenceLimits.maxSeconds else {
        throw ValidationError(
          "--every must be seconds in (0, \(Int(InferenceLimits.maxSeconds))] (got \(every)).")
      }
      guard input == nil else { throw ValidationError("--every takes videos, not --input.") }
      if inference.clips != 1 || inference.crops != 1 || inference.fullProtocol {
        throw ValidationError(
          "--every takes each window once (centre crop): drop --clips, --crops and --full-protocol."
        )
      }
    }
  }

  func run() throws { try ListShards.reportingOnRoot(extract) }

  /// Features and logits of this rank's block (of videos, or of whole batches of --input
  /// rows); rank 0 gathers the rows in order and writes the file.
  private func extract() throws {
    try inference.refuseCheckpoints(amongVideos: videos)
    try overwriteOption.check([("--output", output)])
    let loaded = try inference.load()
    if let every { return try windowRows(loaded, every: every) }
    let world = Communicator.world
    // Rows [F + K] of this rank's block, then of all (on rank 0): features, then logits.
    let rows: [[Float]]?
    let entries: Int
    if let input {
      let x = try TensorInput.read(
        path: input, for: loaded, processes: try processesOnThisMachine())
      entries = x.count
      // Whole batches per rank: each forward pass is one a single process runs.
      let mine = ShardedWork.block(count: x.count, granule: loaded.batch, on: world)
      rows = try gatherRows {
        guard !mine.isEmpty else { return [] }
        do {
          let out = try loaded.featuresAndLogits(x.tensor(mine))
          let (values, width) = (out.array, out.shape[1])
          return (0..<mine.count).map { Array(values[($0 * width)..<(($0 + 1) * width)]) }
        } catch let e as ModelInputError {
          throw CommandFailure("\(input): \(e)")
        }
      }
    } else {
      entries = videos.count
      // The first unreadable video of the block ends it (and the command).
      let mine = ShardedWork.block(count: videos.count, on: world)
      rows = try gatherRows {
        try videos[mine].map {
          try loaded.featuresAndLogits(ofVideo: $0, threads: inference.workers)
        }
      }
    }
    guard let rows else { return }
    try write(rows, entries: entries, loaded)
  }
}
