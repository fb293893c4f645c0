import ArgumentParser
import Compute
import Dispatch

#if canImport(Glibc)
  import Glibc
#endif

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

extension BenchClock {
  /// Now, in seconds: monotonic elapsed time, or process CPU time divided by the thread budget.
  func seconds(threads: Int = ThreadBudget.threads) -> Double {
    if self == .wall { return Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return (Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9) / Double(Swift.max(threads, 1))
  }
}
