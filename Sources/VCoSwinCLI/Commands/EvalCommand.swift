import ArgumentParser
import Datasets
import Distributed
import Foundation
import Inference
import Reports
import Training

/// `vcoswin eval`: accuracy of a checkpoint on a list, with the confusion matrix.
struct EvalCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "eval",
    abstract:
      "Evaluate a checkpoint on a list: top-1, top-5, mean class accuracy, confusion matrix.",
    discussion: HelpExamples.protected(
      """
      The list's labels (integers, or names of the checkpoint's classes) are checked before \
      any work: a label that is not a class is an error listing each such label, its count \
      and first lines. Entries that cannot be read (missing or corrupt files, malformed \
      lines) are reported, counted as skipped and left out of the accuracies; when more \
      than 20 % of the list is skipped, or every entry, the command fails with the counts. \
      --confusion writes the confusion matrix as SVG or PNG (by its extension); --json \
      includes it too (rows: true classes, columns: predicted). --predictions FILE.jsonl \
      writes one JSON line per entry, in list order: path, line, truth, predicted, correct \
      and the top 5, or error for an entry that could not be read; an existing file is \
      refused unless --overwrite. Under mpirun, each process evaluates a contiguous block of \
      whole batches of the list and rank 0 prints and writes the result, the same as one \
      process's.

      Examples:
        vcoswin eval --list Clips/val.txt --checkpoint runs/video/best.safetensors
        vcoswin eval --list Clips/val.txt --clips 2 --crops 3 --json --confusion confusion.png
        vcoswin eval --list Clips/val.txt --predictions val-predictions.jsonl
      """))

  @Option(
    help: "The list to evaluate (`path label` lines; names from the checkpoint's labels work too).")
  var list: String

  @OptionGroup var inference: InferenceArguments

  @Option(help: "Write the confusion matrix here: .svg or .png.")
  var confusion: String?

  @Flag(help: "One JSON object: top1, top5, mean_class_accuracy, count, skipped, confusion.")
  var json = false

  @Option(help: "Write every entry's prediction here: one JSON object per line, in list order.")
  var predictions: String?

  @OptionGroup var output: OverwriteOption

  @Option(
    help: ArgumentHelp(
      "Seconds between progress lines when stderr is not a terminal.", visibility: .hidden))
  var progressInterval = ProgressBar.defaultLineInterval

  /// More than 20 % of the list skipped fails the command (as in training).
  static let badEntries = BadEntryPolicy.standard

  func validate() throws {
    guard progressInterval > 0, progressInterval <= 86_400 else {
      throw ValidationError("--progress-interval must be in (0, 86400] seconds.")
    }
  }

  func run() throws { try ListShards.reportingOnRoot(evaluateList) }

  /// The evaluation (`ShardedEvaluation`): under `mpirun` each rank runs its block of whole
  /// batches, and rank 0 gathers the rows in list order and reports.
  private func evaluateList() throws {
    let world = Communicator.world
    if let confusion { _ = try ConfusionPictureFormat(path: confusion) }
    try output.check([("--predictions", predictions), ("--confusion", confusion)])
    let loaded = try inference.load()
    let (info, path) = (loaded.info, loaded.path)
    let dataset = try ListDataset(
      listPath: list, labels: info.labels, options: loaded.recipe,
      labelsSource:
        "\(URL(fileURLWithPath: path).lastPathComponent) (\(info.labels.prefix(5).joined(separator: ", "))\(info.labels.count > 5 ? ", …" : ""))"
    )
    try checkLines(of: dataset, warn: world.isRoot)
    let evaluation = ShardedEvaluation(
      model: loaded.model, dataset: dataset, views: loaded.views, batchSize: loaded.batch,
      workers: inference.workers, precision: loaded.precision)
    // Rank 0's bar shows its own block.
    let result = try evaluation.run(on: world) { entries in
      json || !world.isRoot
        ? nil
        : ProgressBar(
          world.isDistributed ? "evaluate (rank 0 of \(world.size))" : "evaluate",
          total: entries, unit: "clip", lineInterval: progressInterval)
    }
    guard let result else { return }
    try report(result, of: dataset, model: path)
  }
}
