import ArgumentParser
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
    abstract: "Evaluate a checkpoint on a list: top-1, top-5, mean class accuracy, confusion matrix.",
    discussion: """
      Entries that cannot be read are reported, counted as skipped and left out of the
      accuracies. --confusion writes the confusion matrix as SVG.

      Examples:
        vcoswin eval --list Clips/val.txt --checkpoint runs/video/best.safetensors
        vcoswin eval --list Clips/val.txt --clips 2 --crops 3 --json --confusion confusion.svg
      """)

  @Option(help: "The list to evaluate (`path label` lines; names from the checkpoint's labels work too).")
  var list: String

  @OptionGroup var inference: InferenceArguments

  @Option(help: "Write the confusion matrix as SVG here.")
  var confusion: String?

  @Flag(help: "One JSON object: top1, top5, mean_class_accuracy, count, skipped.")
  var json = false

  func run() throws {
    let loaded = try inference.load()
    let (model, info, data, path) = (loaded.model, loaded.info, loaded.data, loaded.path)
    let dataset = try ListDataset(listPath: list, labels: info.labels, options: data)
    for bad in dataset.list.badLines { FileHandle.standardError.write(Data("warning: \(bad) (skipped)\n".utf8)) }
    let bar = json ? nil : ProgressBar("evaluate", total: dataset.count, unit: "clip")
    let r = try evaluate(
      model: model, dataset: dataset, clips: loaded.clips, crops: loaded.crops, batchSize: inference.batch,
      workers: inference.workers, progress: bar)
    bar?.finish()
    for s in r.skipped { FileHandle.standardError.write(Data("warning: \(s.message) (skipped)\n".utf8)) }
    if let confusion {
      // Atomic, and a failure is one line naming the file (AtomicFileError).
      try AtomicFile.write(
        r.confusion.svg(title: "\(URL(fileURLWithPath: path).lastPathComponent) on \(URL(fileURLWithPath: list).lastPathComponent)"),
        to: confusion)
    }
    let skipped = r.skipped.count + dataset.list.badLines.count
    if json {
      print(try jsonLine([
        "top1": r.top1, "top5": r.top5, "mean_class_accuracy": r.meanClassAccuracy, "count": r.count,
        "skipped": skipped,
      ]))
    } else {
      print(String(format: "top-1 %.4f  top-5 %.4f  mean class accuracy %.4f  (%d evaluated, %d skipped)",
                   r.top1, r.top5, r.meanClassAccuracy, r.count, skipped))
      print(r.confusion.text, terminator: "")
    }
    if r.count == 0 { throw CommandFailure("\(list): no entry could be evaluated") }
  }
}
