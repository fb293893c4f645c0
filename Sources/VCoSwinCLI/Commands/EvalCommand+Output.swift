import Datasets
import Foundation
import Inference
import Reports

extension EvalCommand {
  /// Warns about the list's malformed lines (on rank 0) and fails as `badEntries` says
  /// (no entry, or too many malformed lines).
  func checkLines(of dataset: ListDataset, warn: Bool) throws {
    let bad = dataset.list.badLines
    if warn {
      for line in bad { printHumanError("warning: \(line) (skipped)") }
    }
    try Self.badEntries.checkLines(of: dataset.list)
  }

  /// Rank 0's report: a warning per skipped entry, the failure when more than
  /// `badEntries` allows of the list (or all of it) was skipped, the confusion picture, the
  /// predictions file, and the accuracies as text or one JSON line.
  func report(_ r: EvaluationResult, of dataset: ListDataset, model path: String) throws {
    let bad = dataset.list.badLines
    let total = dataset.count + bad.count
    for s in r.skipped { printHumanError("warning: \(s.message) (skipped)") }
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
    try writePredictions(r, of: dataset)
    if json {
      print(
        try jsonLine([
          "top1": r.top1, "top5": r.top5, "mean_class_accuracy": r.meanClassAccuracy,
          "count": r.count, "skipped": skipped,
          "confusion": ["labels": r.confusion.labels, "counts": r.confusion.counts],
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
