import ArgumentParser
import Datasets
import Distributed
import Foundation
import Inference

/// `vcoswin classify`: action labels of videos (or images, with an image model).
struct ClassifyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "classify",
    abstract: "Classify videos: the top-k labels with their probabilities.",
    discussion: """
      Each video is cut into --clips evenly spaced clips and --crops crops per clip; the class
      probabilities of all views are averaged. Any file FFmpeg reads works, of any length or
      size: short videos loop. A file that cannot be read prints an error line and the others
      go on (exit status 1 at the end). Under mpirun, each process classifies a contiguous \
      block of the videos and rank 0 prints every result in the order given. `-` reads the \
      video from standard input (copied to a bounded temporary file first; once, and not \
      under mpirun).

      Examples:
        vcoswin classify Clips/val/0003.mkv
        vcoswin classify a.mp4 b.mkv --checkpoint runs/video/best.safetensors --top 3 --clips 4 --crops 3
        vcoswin classify Clips/val/*.mkv --json
        ffmpeg -i in.mp4 -f matroska - | vcoswin classify -
      """)

  @Argument(help: "Videos to classify.")
  var videos: [String]

  @OptionGroup var inference: InferenceArguments

  @Option(help: "Labels to print per video.")
  var top = 5

  @Flag(help: "One JSON object per video per line: path, top [{label, index, prob}].")
  var json = false

  func validate() throws {
    guard !videos.isEmpty else { throw ValidationError("give at least one video.") }
    guard videos.filter({ $0 == "-" }).count <= 1 else {
      throw ValidationError("`-` (standard input) can be given once.")
    }
    guard top >= 1 else { throw ValidationError("--top must be at least 1 (got \(top)).") }
  }

  func run() throws { try ListShards.reportingOnRoot(classifyVideos) }

  /// Classifies this rank's block of `videos` (all of them in one process). One process
  /// prints each video's lines as it goes; under `mpirun` rank 0 gathers each video's
  /// output and error text and prints them in the order of `videos`.
  private func classifyVideos() throws {
    try inference.refuseCheckpoints(amongVideos: videos)
    let loaded = try inference.load()
    let world = Communicator.world
    if world.isDistributed, videos.contains("-") {
      throw CommandFailure("- (standard input): not under mpirun; give the video as a file")
    }
    // Per video: (stdout text, stderr text); printed at once by one process, else sent.
    var failures = 0
    var part = ShardWriter()
    let parts = try ShardedWork.gather(on: world) {
      for video in videos[ShardedWork.block(count: videos.count, on: world)] {
        let (out, err) = try classify(video, loaded)
        if world.isDistributed {
          part.string(out)
          part.string(err)
        } else {
          failures += show(out, err)
        }
      }
      return part.bytes
    }
    guard let parts else { return }
    if world.isDistributed {
      for bytes in parts {
        var r = ShardReader(bytes)
        while !r.isAtEnd { failures += show(try r.string(), try r.string()) }
      }
    }
    if failures > 0 {
      throw CommandFailure.failed(failures, of: videos.count, "could not be classified")
    }
  }

  /// Prints one video's result lines on stdout and its error line on stderr; 1 for an error.
  private func show(_ out: String, _ err: String) -> Int {
    if !err.isEmpty { FileHandle.standardError.write(Data(err.utf8)) }
    if !out.isEmpty { print(out, terminator: "") }
    return err.isEmpty ? 0 : 1
  }

  /// One video's lines: (stdout text, stderr text); an unreadable video gives an error line.
  private func classify(_ video: String, _ loaded: LoadedModel) throws -> (String, String) {
    let probs: [Float]
    // `-`: standard input, copied to a bounded temporary file freed on every exit path.
    let copy =
      video == "-"
      ? try StandardInputSpool(
        from: .standardInput, directory: FileManager.default.temporaryDirectory) : nil
    defer { copy?.close() }
    do {
      probs = try loaded.probabilities(ofVideo: copy?.path ?? video)
    } catch {
      return ("", "error: \(copy?.describe(error) ?? "\(error)")\n")
    }
    let (labels, k) = (loaded.info.labels, Swift.min(top, loaded.info.config.classes))
    if json {
      return (try jsonLine(["path": video, "top": topList(probs, k, labels: labels)]) + "\n", "")
    }
    var out = video + "\n"
    for (rank, b) in topK(probs, k).enumerated() {
      let name = labels[b.index].padding(toLength: 24, withPad: " ", startingAt: 0)
      out += "  \(rank + 1). \(name) " + String(format: "%6.2f%%", Double(b.prob) * 100) + "\n"
    }
    return (out, "")
  }
}
