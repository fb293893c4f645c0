// What a training run tells people: warnings (malformed lines, unreadable entries — each once
// per run, though met every epoch — skipped optimizer steps), one line per epoch, and progress
// (a bar on a terminal, a line every `progressInterval` seconds otherwise). In a distributed
// run only the process that owns the console (rank 0) speaks.

import Datasets
import Foundation
import Reports
import TerminalText
import VideoIO

/// The messages and progress of a training run.
public final class TrainingConsole {
  /// Messages for people (progress lines, skipped entries); stderr by default.
  public var log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
  /// Show progress: a bar when stderr is a terminal, otherwise a line every
  /// `progressInterval` seconds.
  public var showProgress = true
  /// Seconds between progress lines when stderr is not a terminal.
  public var progressInterval = ProgressBar.defaultLineInterval
  /// Whether this process speaks (it owns the console).
  public let speaks: Bool
  /// `list path \0 index` of every entry reported already.
  private var reported = Set<String>()

  public init(speaks: Bool = true) { self.speaks = speaks }

  /// A message for people, from the owner only: one line, its control characters (from a list
  /// line or a path it quotes) escaped.
  func note(_ message: String) {
    if speaks { log(message.escapedForTerminal) }
  }

  /// `warning: LIST:LINE: … (skipped)` for each malformed line of `list`.
  func malformedLines(of list: ClipList) {
    for e in list.badLines { note("warning: \(e) (skipped)") }
  }

  /// `warning: … (skipped)` for each entry of `list` that could not be read, the first time it
  /// is met in the run.
  func skipped(_ entries: [SkippedEntry], of list: ClipList) {
    for s in entries where reported.insert("\(list.path)\u{0}\(s.index)").inserted {
      note("warning: \(s.message) (skipped)")
    }
  }

  /// A warning naming (up to 10 of) the classes the training list has no entry of.
  func classesWithoutEntries(_ empty: [Int], labels: [String], list: ClipList) {
    guard !empty.isEmpty else { return }
    let names =
      empty.prefix(10).map { labels[$0] }.joined(separator: ", ") + (empty.count > 10 ? ", …" : "")
    note(
      "warning: \(empty.count) of \(labels.count) classes have no entries in \(list.path): \(names)"
    )
  }

  /// How the effective batch is made, when several processes train.
  func processes(_ size: Int, options: TrainOptions) {
    guard size > 1 else { return }
    note(
      "\(size) processes × batch \(options.batchSize) × accumulate "
        + "\(options.accumulate) = effective batch \(options.globalBatchSize * options.accumulate)"
    )
  }

  /// A progress bar over `total` clips, or nil when progress is not shown.
  func progress(_ title: String, total: Int) -> ProgressBar? {
    guard speaks && showProgress else { return nil }
    return ProgressBar(title, total: total, unit: "clip", lineInterval: progressInterval)
  }

  /// The warning for an optimizer step skipped because of a non-finite gradient norm.
  func stepSkipped(epoch: Int, step: Int, norm: Float) {
    note("warning: epoch \(epoch), step \(step): the gradient norm is \(norm); the step is skipped")
  }

  /// The line of an epoch of `epochs`: losses, accuracies, time, speed and data wait.
  func epochDone(_ m: EpochMetrics, of epochs: Int) {
    note(
      String(
        format:
          "epoch %d/%d  loss %.4f  train top-1 %.3f  val top-1 %.3f  top-5 %.3f  (%.1f s, %.1f clips/s, %.0f%% waiting for data)",
        m.epoch, epochs, m.trainLoss, m.trainTop1 ?? 0, m.valTop1, m.valTop5, m.seconds,
        m.clipsPerSecond ?? 0, 100 * (m.dataWait ?? 0)))
  }
}
