import Datasets
import Foundation
import Reports
import SafeTensors

/// One epoch's figures: a line of `DIR/metrics.jsonl`.
public struct EpochMetrics: Codable, Sendable, Equatable {
  public var epoch: Int
  public var trainLoss: Double
  public var valTop1: Double
  public var valTop5: Double
  public var lr: Double
  public var seconds: Double
  public var skipped: Int
  /// Fraction of training samples (as augmented, with their flip-mapped labels) whose top
  /// class was the label, during the epoch's training passes; nil in files of earlier versions.
  public var trainTop1: Double?
  /// Training clips (or images) per second of the epoch's training phase; nil in files of
  /// earlier versions.
  public var clipsPerSecond: Double?
  /// Fraction of the epoch's training phase the model spent waiting for the loader (decoding
  /// and augmentation not yet done); on rank 0 for a distributed run; nil in files of earlier
  /// versions.
  public var dataWait: Double?

  public init(
    epoch: Int, trainLoss: Double, valTop1: Double, valTop5: Double, lr: Double,
    seconds: Double, skipped: Int = 0, trainTop1: Double? = nil, clipsPerSecond: Double? = nil,
    dataWait: Double? = nil
  ) {
    self.epoch = epoch
    self.trainLoss = trainLoss
    self.valTop1 = valTop1
    self.valTop5 = valTop5
    self.lr = lr
    self.seconds = seconds
    self.skipped = skipped
    self.trainTop1 = trainTop1
    self.clipsPerSecond = clipsPerSecond
    self.dataWait = dataWait
  }

  enum CodingKeys: String, CodingKey {
    case epoch, lr, seconds, skipped
    case trainLoss = "train_loss"
    case valTop1 = "val_top1"
    case valTop5 = "val_top5"
    case trainTop1 = "train_top1"
    case clipsPerSecond = "clips_per_second"
    case dataWait = "data_wait"
  }

  /// The JSON line (keys sorted, no spaces).
  public var jsonLine: String {
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys]
    return (try? enc.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
  }
}

/// The per-epoch log of a training run: `metrics.jsonl` and its curves `curves.svg`.
public enum MetricsLog {
  /// Rewrites `DIR/metrics.jsonl` with `history` (atomically) and draws `DIR/curves.svg`.
  ///
  /// The whole history is rewritten rather than appended so that a resumed run, which
  /// restarts from its last checkpoint, never leaves lines of epochs it is about to redo.
  /// Throws `AtomicFileError` (`PATH: reason`, one line) when a file cannot be written.
  public static func write(_ history: [EpochMetrics], to dir: URL, title: String) throws {
    let text = history.map(\.jsonLine).joined(separator: "\n") + (history.isEmpty ? "" : "\n")
    try AtomicFile.write(text, to: dir.appendingPathComponent("metrics.jsonl").path)
    try AtomicFile.write(
      curves(history, title: title), to: dir.appendingPathComponent("curves.svg").path)
  }

  /// Loss and accuracy curves per epoch, as SVG.
  public static func curves(_ history: [EpochMetrics], title: String, extra: [PlotSeries] = [])
    -> String
  {
    let loss = PlotSeries(
      name: "train loss", points: history.map { (Double($0.epoch), $0.trainLoss) })
    let top1 = PlotSeries(name: "val top-1", points: history.map { (Double($0.epoch), $0.valTop1) })
    let top5 = PlotSeries(name: "val top-5", points: history.map { (Double($0.epoch), $0.valTop5) })
    let trainTop1 = history.compactMap { m in m.trainTop1.map { (Double(m.epoch), $0) } }
    let train = trainTop1.isEmpty ? [] : [PlotSeries(name: "train top-1", points: trainTop1)]
    return LinePlot.svg(
      panels: [
        PlotPanel(title: "\(title): training loss", yLabel: "loss", series: [loss]),
        PlotPanel(
          title: "\(title): accuracy", yLabel: "accuracy", series: [top1, top5] + train + extra,
          yRange: 0...1),
      ],
      xLabel: "epoch")
  }

  /// Parses a `metrics.jsonl` (for reports and tests); a bad line is an error naming it.
  public static func read(_ url: URL) throws -> [EpochMetrics] {
    let text = try String(contentsOf: url, encoding: .utf8)
    var out: [EpochMetrics] = []
    for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
    where !line.trimmingCharacters(in: .whitespaces).isEmpty {
      do {
        out.append(try JSONDecoder().decode(EpochMetrics.self, from: Data(line.utf8)))
      } catch {
        throw SkippedEntry(index: n, message: "\(url.path):\(n + 1): not a metrics line")
      }
    }
    return out
  }
}
