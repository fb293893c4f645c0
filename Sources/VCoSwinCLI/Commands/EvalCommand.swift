import ArgumentParser
import Distributed
import Foundation
import Models
import Reports
import SafeTensors
import Training
import VideoIO

/// `vcoswin eval`: accuracy of a checkpoint on a list, with the confusion matrix.
struct EvalCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "eval",
    abstract:
      "Evaluate a checkpoint on a list: top-1, top-5, mean class accuracy, confusion matrix.",
    discussion: """
      The list's labels (integers, or names of the checkpoint's classes) are checked before \
      any work: a label that is not a class is an error listing each such label, its count \
      and first lines. Entries that cannot be read (missing or corrupt files, malformed \
      lines) are reported, counted as skipped and left out of the accuracies; when more \
      than 20 % of the list is skipped, or every entry, the command fails with the counts. \
      --confusion writes the confusion matrix as SVG or PNG (by its extension). Under \
      mpirun, each process evaluates a contiguous block of whole batches of the list and \
      rank 0 prints and writes the result, the same as one process's.

      Examples:
        vcoswin eval --list Clips/val.txt --checkpoint runs/video/best.safetensors
        vcoswin eval --list Clips/val.txt --clips 2 --crops 3 --json \\
            --confusion confusion.png
      """)

  @Option(
    help: "The list to evaluate (`path label` lines; names from the checkpoint's labels work too).")
  var list: String

  @OptionGroup var inference: InferenceArguments

  @Option(help: "Write the confusion matrix here: .svg or .png.")
  var confusion: String?

  @Flag(help: "One JSON object: top1, top5, mean_class_accuracy, count, skipped.")
  var json = false

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

  /// The evaluation; under `mpirun` each rank runs its block of whole batches
  /// (`shardRange`), and rank 0 gathers the rows in list order and reports.
  private func evaluateList() throws {
    let world = Communicator.world
    if let confusion { _ = try ConfusionPictureFormat(path: confusion) }
    let loaded = try inference.load()
    let (model, info, data, path) = (loaded.model, loaded.info, loaded.data, loaded.path)
    let dataset: ListDataset
    do {
      dataset = try ListDataset(
        listPath: list, labels: info.labels, options: data,
        labelsSource:
          "\(URL(fileURLWithPath: path).lastPathComponent) (\(info.labels.prefix(5).joined(separator: ", "))\(info.labels.count > 5 ? ", …" : ""))"
      )
    } catch let error as TrainingError {
      throw CommandFailure(error.message)
    }
    let bad = dataset.list.badLines
    if world.isRoot {
      for line in bad { FileHandle.standardError.write(Data("warning: \(line) (skipped)\n".utf8)) }
    }
    let total = dataset.count + bad.count
    try Self.badEntries.checkLines(of: dataset.list)
    let mine = shardRange(
      count: dataset.count, rank: world.rank, size: world.size,
      granule: evaluationEntriesPerBatch(batchSize: inference.batch, views: loaded.views))
    // Rank 0's bar shows its own block.
    let bar =
      json || !world.isRoot
      ? nil
      : ProgressBar(
        world.isDistributed ? "evaluate (rank 0 of \(world.size))" : "evaluate", total: mine.count,
        unit: "clip", lineInterval: progressInterval)
    let parts = try ListShards.gather {
      try evaluationRows(
        model: model, dataset: dataset, entries: mine, clips: loaded.clips, crops: loaded.crops,
        batchSize: inference.batch, workers: inference.workers, progress: bar
      ).encoded()
    }
    bar?.finish()
    guard let parts else { return }
    let r = summarize(
      EvaluationRows(concatenating: try parts.map(EvaluationRows.init(decoding:))), dataset: dataset
    )
    for s in r.skipped {
      FileHandle.standardError.write(Data("warning: \(s.message) (skipped)\n".utf8))
    }
    let skipped = r.skipped.count + bad.count
    if r.count == 0 || Self.badEntries.isTooMany(skipped, of: total) {
      let what = [
        r.skipped.isEmpty ? nil : "\(r.skipped.count) unreadable",
        bad.isEmpty ? nil : "\(bad.count) malformed",
      ].compactMap { $0 }.joined(separator: ", ")
      let first = r.skipped.first?.message ?? bad.first.map { "\($0)" } ?? "none"
      throw CommandFailure(
        r.count == 0
          ? "\(list): every entry was skipped (\(what)); nothing was evaluated; first: \(first)"
          : "\(list): \(skipped) of \(total) entries were skipped (\(what); \(Self.badEntries.limitText)); first: \(first)"
      )
    }
    if let confusion {
      // Atomic, and a failure is one line naming the file.
      try writeConfusion(
        r.confusion,
        title:
          "\(URL(fileURLWithPath: path).lastPathComponent) on \(URL(fileURLWithPath: list).lastPathComponent)",
        to: confusion)
    }
    if json {
      print(
        try jsonLine([
          "top1": r.top1, "top5": r.top5, "mean_class_accuracy": r.meanClassAccuracy,
          "count": r.count,
          "skipped": skipped,
        ]))
    } else {
      print(
        String(
          format: "top-1 %.4f  top-5 %.4f  mean class accuracy %.4f  (%d evaluated, %d skipped)",
          r.top1, r.top5, r.meanClassAccuracy, r.count, skipped))
      print(r.confusion.text, terminator: "")
    }
  }
}
