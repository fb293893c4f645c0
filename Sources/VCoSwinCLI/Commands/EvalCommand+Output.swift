import Datasets
import Foundation
import Inference
import Reports

extension EvalCommand {
  /// Warns about the list's malformed lines (on rank 0) and fails when the list holds no
  /// entry, or more than `maxBadFraction` of its lines (or all) are malformed.
  func checkLines(of dataset: ListDataset, warn: Bool) throws {
    let bad = dataset.list.badLines
    if warn {
      for line in bad { FileHandle.standardError.write(Data("warning: \(line) (skipped)\n".utf8)) }
    }
    let total = dataset.count + bad.count
    if total == 0 {
      throw CommandFailure("\(list): no entries (the list holds only blank lines and comments)")
    }
    if Double(bad.count) > Self.maxBadFraction * Double(total) || dataset.count == 0 {
      throw CommandFailure(
        "\(list): \(bad.count) of \(total) lines are malformed (more than \(Int(Self.maxBadFraction * 100))%); first: \(bad.first.map { "\($0)" } ?? "none")"
      )
    }
  }

  /// Rank 0's report: a warning per skipped entry, the failure when more than
  /// `maxBadFraction` of the list (or all of it) was skipped, the confusion picture, and the
  /// accuracies as text or one JSON line.
  func report(_ r: EvaluationResult, of dataset: ListDataset, model path: String) throws {
    let bad = dataset.list.badLines
    let total = dataset.count + bad.count
    for s in r.skipped {
      FileHandle.standardError.write(Data("warning: \(s.message) (skipped)\n".utf8))
    }
    let skipped = r.skipped.count + bad.count
    if r.count == 0 || Double(skipped) > Self.maxBadFraction * Double(total) {
      let what = [
        r.skipped.isEmpty ? nil : "\(r.skipped.count) unreadable",
        bad.isEmpty ? nil : "\(bad.count) malformed",
      ].compactMap { $0 }.joined(separator: ", ")
      let first = r.skipped.first?.message ?? bad.first.map { "\($0)" } ?? "none"
      throw CommandFailure(
        r.count == 0
          ? "\(list): every entry was skipped (\(what)); nothing was evaluated; first: \(first)"
          : "\(list): \(skipped) of \(total) entries were skipped (\(what); more than \(Int(Self.maxBadFraction * 100))%); first: \(first)"
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
          "count": r.count, "skipped": skipped,
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
