import Datasets
import Foundation
import Inference
import Models
import Reports
import SafeTensors
import TerminalText
import Training
import VideoIO

/// Figures over seeds: the mean and the range of a list of numbers.
struct SeedSpread {
  var mean: Double
  var min: Double
  var max: Double

  init(_ values: [Double]) {
    mean = values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
    min = values.min() ?? 0
    max = values.max() ?? 0
  }

  /// `81.2%` for one seed, `81.2% (78.8–84.4)` for several.
  func text(seeds: Int) -> String {
    seeds == 1
      ? String(format: "%.1f%%", mean * 100)
      : String(format: "%.1f%% (%.1f–%.1f)", mean * 100, min * 100, max * 100)
  }
}

/// The mean of `values` (0 for none).
func average(_ values: [Double]) -> Double {
  values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
}

extension DemoCommand {
  /// The printed summary: the recipe, per task and model the last-epoch and mean-over-epochs
  /// validation top-1 (mean and range over the seeds), the curves' means per epoch, the image
  /// model and the frame-averaging baseline, and the Must-show checks on the main task.
  func printSummary(_ results: [DemoSeedResult], settings: DemoSettings, seconds: Double) {
    let n = results.count
    print("")
    print(
      "recipe, inflated: \(FinetuneRecipe.describe(settings.recipe, dropPath: settings.dropPath)); "
        + "epochs: " + settings.tasks.map { "\($0.title) \($0.epochs)" }.joined(separator: ", "))
    print(
      "recipe, random init: the same; the published backbone rate ×0.1 is replaced by ×1 "
        + "(Docs/INFLATION.md, ablations); finetune's embedding slope ε = \(settings.embedSlope)")
    print(
      "seeds: \(results.map { String($0.seed) }.joined(separator: ", "))"
        + (n > 1 ? " (figures: mean, and min–max over the seeds)" : ""))
    print("")
    // Per task, a row per model (the task's name on its first); the table's columns are as
    // wide as their widest entry, with each task's per-epoch lines under its rows.
    let rows = settings.tasks.indices.map { k -> [[String]] in
      let runs = results.map { $0.tasks[k] }
      let task = settings.tasks[k]
      let head =
        "\(task.title)\(task.main ? ", main" : "") (\(String(format: "%.1f%%", (runs.first?.chance ?? 0) * 100)))"
      return [
        ("inflated", runs.map { $0.inflated.map(\.valTop1) }),
        ("random init", runs.map { $0.random.map(\.valTop1) }),
      ].enumerated().map { i, model in
        let last = SeedSpread(model.1.map { $0.last ?? 0 })
        let meanOver = SeedSpread(model.1.map(average))
        return [i == 0 ? head : "", model.0, last.text(seeds: n), meanOver.text(seeds: n)]
      }
    }
    let header = ["task (chance)", "model", "last epoch", "mean over epochs"]
    let widths = TextTable.widths(of: [header] + rows.flatMap { $0 }, columns: 4)
    let alignments = [TextTable.Alignment](repeating: .left, count: 4)
    print(TextTable.line(header, widths: widths, alignments: alignments, separator: "   "))
    for k in settings.tasks.indices {
      let runs = results.map { $0.tasks[k] }
      for row in rows[k] {
        print(TextTable.line(row, widths: widths, alignments: alignments, separator: "   "))
      }
      for (name, curves) in [
        ("inflated", runs.map { $0.inflated.map(\.valTop1) }),
        ("random init", runs.map { $0.random.map(\.valTop1) }),
      ] {
        let epochs = curves.map(\.count).min() ?? 0
        let means = (0..<epochs).map { e in average(curves.map { $0[e] }) }
        print(
          "  \(name) per epoch\(n > 1 ? " (mean)" : ""): "
            + means.map { String(format: "%.1f", $0 * 100) }.joined(separator: " "))
      }
    }
    print("")
    print(
      "image model, 6 shapes (val top-1): \(SeedSpread(results.map(\.imageTop1)).text(seeds: n))")
    if let main = settings.tasks.first(where: { $0.main }) {
      print(
        "image model on \(main.title), frames averaged: "
          + SeedSpread(results.map(\.framesAveragedTop1)).text(seeds: n))
      print(mustShow(results))
    }
    var stages: [String: Double] = [:]
    for r in results { for (name, t) in r.times { stages[name, default: 0] += t } }
    print(
      "time\(n > 1 ? " (all seeds)" : ""): "
        + results[0].times.map { String(format: "%@ %.0f s", $0.0, stages[$0.0] ?? 0) }
        .joined(separator: ", ") + String(format: "; total %.0f s", seconds))
  }

  /// The main task's checks, per seed: inflated last epoch and mean over epochs at least 10
  /// points above random initialisation's, and no epoch after the first at chance (below
  /// 1.5 × chance).
  func mustShow(_ results: [DemoSeedResult]) -> String {
    var failures: [String] = []
    for r in results {
      guard let main = r.main else { continue }
      let a = main.inflated.map(\.valTop1)
      let b = main.random.map(\.valTop1)
      if (a.last ?? 0) < (b.last ?? 0) + 0.1 { failures.append("seed \(r.seed): last epoch") }
      if average(a) < average(b) + 0.1 { failures.append("seed \(r.seed): mean over epochs") }
      if a.dropFirst().contains(where: { $0 < 1.5 * main.chance }) {
        failures.append("seed \(r.seed): an epoch after the first at chance")
      }
    }
    return failures.isEmpty
      ? "main task, every seed: inflated ≥ random init + 10 points (last epoch and mean over epochs), no epoch after the first at chance"
      : "main task, not met: " + failures.joined(separator: "; ")
  }

  /// One seed's JSON object (`seed` only with several seeds).
  func jsonObject(_ r: DemoSeedResult, withSeed: Bool) -> [String: Any] {
    var o: [String: Any] = [
      "image_top1": r.imageTop1, "frames_averaged_top1": r.framesAveragedTop1,
      "chance": r.main?.chance ?? 0,
      "video_tasks": r.tasks.map { t -> [String: Any] in
        func model(_ h: [EpochMetrics]) -> [String: Any] {
          ["val_top1_per_epoch": h.map(\.valTop1), "val_top1": h.last?.valTop1 ?? 0]
        }
        return [
          "name": t.task.name, "main": t.task.main, "chance": t.chance,
          "inflated": model(t.inflated), "random_init": model(t.random),
        ]
      },
    ]
    if withSeed { o["seed"] = Int(r.seed) }
    return o
  }

  /// The final JSON object: one seed's, or with several seeds the means over them (per epoch
  /// for the curves) with every seed's object under `seeds`.
  func jsonObject(_ results: [DemoSeedResult]) -> [String: Any] {
    guard results.count > 1 else { return jsonObject(results[0], withSeed: false) }
    var mean = results[0]
    mean.imageTop1 = average(results.map(\.imageTop1))
    mean.framesAveragedTop1 = average(results.map(\.framesAveragedTop1))
    for k in mean.tasks.indices {
      func meanCurve(_ pick: (DemoTaskResult) -> [EpochMetrics]) -> [EpochMetrics] {
        let curves = results.map { pick($0.tasks[k]) }
        return (0..<(curves.map(\.count).min() ?? 0)).map { e in
          var m = curves[0][e]
          m.valTop1 = average(curves.map { $0[e].valTop1 })
          return m
        }
      }
      mean.tasks[k].inflated = meanCurve(\.inflated)
      mean.tasks[k].random = meanCurve(\.random)
    }
    var o = jsonObject(mean, withSeed: false)
    o["seeds"] = results.map { jsonObject($0, withSeed: true) }
    return o
  }

  /// `inflated-vs-random.svg` (one panel per task: mean line and min–max band over the seeds
  /// per model, and chance), and for the first seed's main task the confusion matrix and a
  /// contact sheet of validation clips with their top-3 predictions.
  func writeFigures(_ results: [DemoSeedResult], settings: DemoSettings, report: URL) throws {
    let panels = settings.tasks.indices.map { k -> PlotPanel in
      let runs = results.map { $0.tasks[k] }
      func series(_ name: String, _ pick: (DemoTaskResult) -> [EpochMetrics]) -> PlotSeries {
        let curves: [[Double]] = runs.map { pick($0).map(\.valTop1) }
        let epochs = curves.map(\.count).min() ?? 0
        var points: [(x: Double, y: Double)] = []
        var band: [(x: Double, low: Double, high: Double)] = []
        for e in 0..<epochs {
          let values = curves.map { $0[e] }
          points.append((Double(e + 1), average(values)))
          if results.count > 1 {
            band.append((Double(e + 1), values.min() ?? 0, values.max() ?? 0))
          }
        }
        return PlotSeries(name: name, points: points, band: band)
      }
      let epochs = Double(settings.tasks[k].epochs)
      let chance = runs.first?.chance ?? 0
      return PlotPanel(
        title: "\(settings.tasks[k].title): validation top-1"
          + (results.count > 1 ? " (mean, min–max over \(results.count) seeds)" : ""),
        yLabel: "top-1",
        series: [
          series("inflated", \.inflated), series("random init", \.random),
          PlotSeries(name: "chance", points: [(1, chance), (epochs, chance)]),
        ], yRange: 0...1)
    }
    try AtomicFile.write(
      LinePlot.svg(panels: panels, xLabel: "epoch"),
      to: report.appendingPathComponent("inflated-vs-random.svg").path)
    guard let first = results.first, let main = first.main else { return }
    let labels = try ClipList.labelNames(contentsOf: settings.file(main.task.labels))
    let best = first.mainFolder.appendingPathComponent("best.safetensors").path
    let (model, info) = try VCoSwinModel.load(path: best)
    let data = DataOptions(
      kind: .video, clipLength: settings.clipLen, frameInterval: settings.interval,
      size: settings.size, minArea: 1)
    let valSet = try ListDataset(
      listPath: settings.file(main.task.val), labels: labels, options: data)
    let result = try evaluate(model: model, dataset: valSet, clips: 1, crops: 1, batchSize: 16)
    try AtomicFile.write(
      result.confusion.svg(title: "Video CoSwin (inflated) on \(main.task.title)"),
      to: report.appendingPathComponent("confusion.svg").path)
    try predictionSheet(
      dataset: valSet, result: result, labels: info.labels, count: 6,
      to: report.appendingPathComponent("predictions.png").path)
  }
}
