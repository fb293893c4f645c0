import Foundation

/// A one-line progress bar with rate and ETA, drawn on stderr only when stderr is a terminal.
///
/// Off a terminal it prints nothing (logs and `--json` output stay clean); `finish()` then
/// prints nothing either. Thread-compatible, not thread-safe: update it from one thread.
public final class ProgressBar {
  private let label: String
  private let total: Int
  private let unit: String
  private let start = DispatchTime.now()
  private var lastDraw: UInt64 = 0
  private let enabled: Bool
  private var done = 0
  /// Extra text after the counts (e.g. the running loss).
  public var status = ""

  /// - Parameters:
  ///   - total: the number of steps (> 0 for a bar; 0 shows a counter).
  ///   - enabled: override terminal detection (tests); default: stderr is a terminal.
  public init(_ label: String, total: Int, unit: String = "it", enabled: Bool? = nil) {
    self.label = label
    self.total = total
    self.unit = unit
    self.enabled = enabled ?? (isatty(fileno(stderr)) != 0)
  }

  /// Seconds since the bar was made.
  public var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9 }

  /// Advances by `steps` and redraws at most ten times a second.
  public func advance(_ steps: Int = 1) {
    done += steps
    guard enabled else { return }
    let now = DispatchTime.now().uptimeNanoseconds
    if now - lastDraw < 100_000_000 && done < total { return }
    lastDraw = now
    FileHandle.standardError.write(Data(("\r" + line() + "\u{1B}[K").utf8))
  }

  /// Ends the line (when drawn).
  public func finish() {
    guard enabled else { return }
    FileHandle.standardError.write(Data(("\r" + line() + "\u{1B}[K\n").utf8))
  }

  /// The text of the bar: `label [#####-----] 5/10 2.5 it/s ETA 0:02 status`.
  public func line(width: Int = 24) -> String {
    let secs = Swift.max(elapsed, 1e-9)
    let rate = Double(done) / secs
    var s = label + " "
    if total > 0 {
      let filled = Swift.min(width, width * done / total)
      s += "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
      s += "\(done)/\(total) "
    } else {
      s += "\(done) "
    }
    s += String(format: "%.2f %@/s", rate, unit)
    if total > 0 && rate > 0 && done < total {
      s += " ETA " + ProgressBar.clock(Double(total - done) / rate)
    } else {
      s += " " + ProgressBar.clock(secs)
    }
    if !status.isEmpty { s += " " + status }
    return s
  }

  /// `m:ss` or `h:mm:ss`.
  public static func clock(_ seconds: Double) -> String {
    let t = Int(seconds.rounded())
    let (h, m, sec) = (t / 3600, (t % 3600) / 60, t % 60)
    return h > 0 ? String(format: "%d:%02d:%02d", h, m, sec) : String(format: "%d:%02d", m, sec)
  }
}
