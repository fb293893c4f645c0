import ArgumentParser
import Datasets
import Distributed
import Foundation
import Inference
import Reports

/// `vcoswin classify`: action labels of videos (or images, with an image model).
struct ClassifyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "classify",
    abstract: "Classify videos: the top-k labels with their probabilities.",
    discussion: HelpExamples.protected(
      """
      Each video is cut into --clips evenly spaced clips and --crops crops per clip; the class \
      probabilities of all views are averaged. Any file FFmpeg reads works, of any length or \
      size: short videos loop. A file that cannot be read prints an error line and the others \
      go on (exit status 1 at the end); with --json it also gets a line of its own, \
      {"path", "error"}. A folder stands for the videos in it (not in its subfolders), by name: \
      files whose first bytes are a video (an image, for an image model) or whose extension is \
      a video's. --list LIST adds the files of a list (`path` or `path label` lines, as eval \
      reads them; a label is shown as "truth" in the JSON). Under mpirun, each process \
      classifies a contiguous block of the inputs and rank 0 prints every result in the order \
      given. `-` reads the video from standard input (copied to a bounded temporary file \
      first; once, and not under mpirun). Progress goes \
      to stderr when there are several inputs, or one whose views take several forward passes \
      (--full-protocol): a bar on a terminal, else a line every 30 s with the rate and ETA.

      Examples:
        vcoswin classify Clips/val/0003.mkv
        vcoswin classify a.mp4 b.mkv --checkpoint runs/video/best.safetensors --top 3 --clips 4 --crops 3
        vcoswin classify Clips/val/*.mkv --json
        vcoswin classify Clips/val --top 1
        vcoswin classify --list Clips/val.txt --json > predictions.jsonl
        ffmpeg -i in.mp4 -f matroska - | vcoswin classify -
      """))

  @Argument(help: "Videos to classify, folders of videos, or `-` (standard input).")
  var videos: [String] = []

  @Option(help: "A list of files to classify: `path` or `path label` lines (as eval reads).")
  var list: String?

  @OptionGroup var inference: InferenceArguments

  @Option(help: "Labels to print per video.")
  var top = 5

  @Flag(
    help:
      "One JSON object per input per line: path, top [{label, index, prob}] (truth from --list), or path, error."
  )
  var json = false

  @Option(
    help: ArgumentHelp(
      "Seconds between progress lines when stderr is not a terminal.", visibility: .hidden))
  var progressInterval = ProgressBar.defaultLineInterval

  func validate() throws {
    guard !videos.isEmpty || list != nil else {
      throw ValidationError("give at least one video, a folder, or --list LIST.")
    }
    guard progressInterval > 0, progressInterval <= 86_400 else {
      throw ValidationError("--progress-interval must be in (0, 86400] seconds.")
    }
    guard videos.filter({ $0 == "-" }).count <= 1 else {
      throw ValidationError("`-` (standard input) can be given once.")
    }
    guard top >= 1 else { throw ValidationError("--top must be at least 1 (got \(top)).") }
  }

  func run() throws { try ListShards.reportingOnRoot(classifyVideos) }

  /// Classifies this rank's block of the inputs (all of them in one process). One process
  /// prints each input's lines as it goes; under `mpirun` rank 0 gathers each input's output
  /// and error text and prints them in the order of the inputs.
  private func classifyVideos() throws {
    try inference.refuseCheckpoints(amongVideos: videos)
    let loaded = try inference.load()
    let world = Communicator.world
    if world.isDistributed, videos.contains("-") {
      throw CommandFailure("- (standard input): not under mpirun; give the video as a file")
    }
    let inputs = try self.inputs(
      labels: loaded.info.labels, images: loaded.info.config.dims == 2)
    let block = ShardedWork.block(count: inputs.count, on: world)
    let progress = world.isRoot ? progressBar(block.count, loaded, ranks: world.size) : nil
    // Per input: (stdout text, stderr text); printed at once by one process, else sent.
    var failures = 0
    var part = ShardWriter()
    let parts = try ShardedWork.gather(on: world) {
      // Drawn at once, and moving during long forward passes (the full protocol's views).
      progress?.show()
      progress?.keepAlive()
      defer { progress?.finish() }  // the timer stops on every exit
      for (i, input) in inputs[block].enumerated() {
        // Views counted: say which video they belong to.
        if block.count > 1, loaded.views.count > 1 {
          progress?.status = "video \(i + 1) of \(block.count)"
        }
        let (out, err) = try classify(input, loaded, progress: progress)
        if world.isDistributed {
          part.string(out)
          part.string(err)
        } else if let progress {
          progress.printing { failures += show(out, err) }
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
      throw CommandFailure.failed(failures, of: inputs.count, "could not be classified")
    }
  }

  /// The progress of `count` inputs of `V` views each, counted in views (in videos when
  /// V = 1), or nil when they take a single forward pass (nothing to follow).
  private func progressBar(_ count: Int, _ loaded: LoadedModel, ranks: Int) -> ProgressBar? {
    guard count * loaded.forwardPassesPerInput >= 2 else { return nil }
    let views = loaded.views.count
    return ProgressBar(
      ranks > 1 ? "classify (rank 0 of \(ranks))" : "classify", total: count * views,
      unit: views == 1 ? "video" : "view", lineInterval: progressInterval)
  }

  /// Prints one video's result lines on stdout and its error line on stderr; 1 for an error.
  private func show(_ out: String, _ err: String) -> Int {
    if !err.isEmpty { FileHandle.standardError.write(Data(err.utf8)) }
    if !out.isEmpty { print(out, terminator: "") }
    return err.isEmpty ? 0 : 1
  }

  /// One input's lines: (stdout text, stderr text); an unreadable video gives an error line
  /// (and with --json a line `{"path", "error"}`). `progress` advances by the input's views.
  private func classify(_ input: ClassifyInput, _ loaded: LoadedModel, progress: ProgressBar?)
    throws -> (String, String)
  {
    let video = input.path
    let probs: [Float]
    // `-`: standard input, copied to a bounded temporary file freed on every exit path.
    let copy =
      video == "-"
      ? try StandardInputSpool(
        from: .standardInput, directory: FileManager.default.temporaryDirectory) : nil
    defer { copy?.close() }
    var viewsDone = 0
    do {
      probs = try loaded.probabilities(ofVideo: copy?.path ?? video) { n in
        viewsDone += n
        progress?.advance(n)
      }
    } catch {
      progress?.advance(loaded.views.count - viewsDone)
      let message = copy?.describe(error) ?? "\(error)"
      return (
        json ? try jsonLine(["path": video, "error": message]) + "\n" : "",
        "error: \(oneLine(message))\n"
      )
    }
    let (labels, k) = (loaded.info.labels, Swift.min(top, loaded.info.config.classes))
    if json {
      var line: [String: Any] = ["path": video, "top": topList(probs, k, labels: labels)]
      if let label = input.label { line["truth"] = ["label": labels[label], "index": label] }
      return (try jsonLine(line) + "\n", "")
    }
    return (topClassesText(of: video, topK(probs, k), labels: labels), "")
  }
}
