import ArgumentParser

/// What a benchmark times: elapsed wall time, or process CPU time divided by the threads
/// (an estimate of the unloaded elapsed time when other processes share the cores).
enum BenchClock: String, ExpressibleByArgument, CaseIterable, CustomStringConvertible {
  case wall, cpu

  var description: String { rawValue }

  /// The help of every benchmark's `--clock`.
  static let help = ArgumentHelp(
    "What to time: wall (elapsed) or cpu (process CPU time / threads).",
    discussion: "cpu estimates the unloaded elapsed time when other processes share the cores.")
}
