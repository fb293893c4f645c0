import Datasets
import Foundation
import Inference
import SafeTensors

extension EvalCommand {
  /// Classes in the `top` list of each `--predictions` line (all of them when K is smaller):
  /// the classes top-5 accuracy looks at.
  static let predictionsTop = 5

  /// One JSON line per entry of the list, in list order: an evaluated entry's prediction
  /// (`path`, `line`, `truth`, `predicted` = the top class with its probability, `correct`,
  /// `top`), or an unreadable entry's `error` in place of `predicted`, `correct` and `top`.
  /// Malformed lines of the list (no path and label to speak of) have no line.
  static func predictionLines(_ r: EvaluationResult, of dataset: ListDataset) throws -> String {
    let labels = dataset.labels
    let k = Swift.min(predictionsTop, labels.count)
    let errors = Dictionary(r.skipped.map { ($0.index, $0.message) }) { first, _ in first }
    var text = ""
    for (index, entry) in dataset.list.entries.enumerated() {
      var line: [String: Any] = [
        "path": entry.path, "line": entry.line,
        "truth": ["label": labels[entry.label], "index": entry.label],
      ]
      if let probs = r.probabilities[index] {
        let top = topList(probs, k, labels: labels)
        line["top"] = top
        line["predicted"] = top[0]
        line["correct"] = (top[0]["index"] as? Int) == entry.label
      } else {
        line["error"] = errors[index] ?? "not evaluated"
      }
      text += try jsonLine(line) + "\n"
    }
    return text
  }

  /// Writes `predictionLines` to `--predictions` atomically (temporary file, then rename).
  /// - Throws: `CommandFailure` naming the file.
  func writePredictions(_ r: EvaluationResult, of dataset: ListDataset) throws {
    guard let predictions else { return }
    do {
      try AtomicFile.write(try Self.predictionLines(r, of: dataset), to: predictions)
    } catch {
      throw CommandFailure("\(error)")
    }
  }
}
