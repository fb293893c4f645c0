import Foundation
import TerminalText

/// Progress of a long loop on stderr: a one-line bar on a terminal, and off a terminal (nohup,
/// `> log`, CI) one plain line every `lineInterval` seconds, so a log shows a run is alive.
///
/// The rate (units per second) and the ETA are held back until `ProgressBar.warmupSteps`
/// advances and `ProgressBar.warmupSeconds` have passed (the first batches come from a
/// prefetch queue and say little), then smoothed over readings about a second apart.
/// Callers advance after a step's work is done, so the bar reaches N/N only when it ends.
/// `keepAlive` keeps it moving through steps that take long (a timer redraws it, or writes a
/// due line, from its own thread); every method holds the bar's lock, so it may be used from
/// that thread and the caller's at once. The label and status are shown with their control
/// characters escaped (`escapedForTerminal`), so that a file name in them cannot break the line.
public final class ProgressBar: @unchecked Sendable {
  /// Where progress goes.
  public enum Mode: Equatable, Sendable {
    /// A bar redrawn in place (`\r`), at most ten times a second.
    case terminal
    /// A plain line every `interval` seconds (none at the start or at the end).
    case lines(interval: Double)
    /// Nothing.
    case silent
  }

  /// Advances before a rate is shown.
  public static let warmupSteps = 3
  /// Seconds before a rate is shown.
  public static let warmupSeconds = 2.0
  /// The default interval of plain progress lines off a terminal.
  public static let defaultLineInterval = 30.0

  private let label: String
  private let total: Int
  private let unit: String
  private let start = DispatchTime.now()
  private var lastDraw: UInt64 = 0
  private var lastLine = 0.0
  public let mode: Mode
  private var done = 0
  private var advances = 0
  private var finished = false
  /// A terminal bar is on the screen (drawn at least once).
  private var drawn = false
  private var windowStart = 0.0
  private var windowDone = 0
  private var smoothed: Double?
  private var statusText = ""
  /// Guards every field: `keepAlive`'s timer draws from its own thread.
  private let lock = NSRecursiveLock()
  private var timer: DispatchSourceTimer?
  /// Extra text after the counts (e.g. the running loss).
  public var status: String {
    get { locked { statusText } }
    set { locked { statusText = newValue } }
  }
  /// Advances and seconds before a rate is shown (tests shorten them).
  public var warmup = (steps: ProgressBar.warmupSteps, seconds: ProgressBar.warmupSeconds)
  /// Where lines go (stderr); tests collect them.
  public var write: (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }

  /// - Parameters:
  ///   - total: the number of units (> 0 for a bar; 0 shows a counter).
  ///   - unit: what is counted (`clip`); rates read `clips/s`.
  ///   - enabled: false: silent; true: a terminal bar; nil: `mode`.
  ///   - mode: nil: a bar when stderr is a terminal, else lines every `lineInterval` seconds.
  public init(
    _ label: String, total: Int, unit: String = "it", enabled: Bool? = nil, mode: Mode? = nil,
    lineInterval: Double = ProgressBar.defaultLineInterval
  ) {
    self.label = label
    self.total = total
    self.unit = unit
    if let enabled {
      self.mode = enabled ? .terminal : .silent
    } else {
      self.mode = mode ?? (isatty(STDERR_FILENO) != 0 ? .terminal : .lines(interval: lineInterval))
    }
  }

  /// Seconds since the bar was made.
  public var elapsed: Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
  }

  /// The smoothed rate in units per second, once warmed up; nil before.
  public var rate: Double? {
    locked {
      if finished { return Double(done) / Swift.max(elapsed, 1e-9) }
      guard advances >= warmup.steps, elapsed >= warmup.seconds else { return nil }
      return smoothed
    }
  }

  deinit { timer?.cancel() }

  /// `body` run while holding the bar's lock.
  private func locked<R>(_ body: () throws -> R) rethrows -> R {
    lock.lock()
    defer { lock.unlock() }
    return try body()
  }

  /// Advances by `steps` (after their work is done) and redraws or writes a line when due.
  public func advance(_ steps: Int = 1) {
    locked { advanceLocked(steps) }
  }

  private func advanceLocked(_ steps: Int) {
    done += steps
    advances += 1
    let now = elapsed
    if now - windowStart >= 1.0 || smoothed == nil {
      let span = now - windowStart
      if span > 0 {
        let r = Double(done - windowDone) / span
        smoothed = smoothed.map { 0.7 * $0 + 0.3 * r } ?? r
      }
      windowStart = now
      windowDone = done
    }
    switch mode {
    case .silent:
      return
    case .terminal:
      let t = DispatchTime.now().uptimeNanoseconds
      if t - lastDraw < 100_000_000 && done < total { return }
      lastDraw = t
      drawn = true
      write("\r" + line() + "\u{1B}[K")
    case .lines(let interval):
      guard now - lastLine >= interval else { return }
      lastLine = now
      write(plainLine() + "\n")
    }
  }

  /// Draws a terminal bar at once, before the first advance (a long first step then shows
  /// what runs and for how long); plain lines and silent bars add nothing.
  public func show() {
    locked {
      guard mode == .terminal, !finished else { return }
      lastDraw = DispatchTime.now().uptimeNanoseconds
      drawn = true
      write("\r" + line() + "\u{1B}[K")
    }
  }

  /// Keeps the bar moving while a step runs long (a forward pass of many views): every
  /// `period` seconds, from a timer thread, a terminal bar already drawn is redrawn (its
  /// elapsed time moves on) and a plain line is written when one is due, as `advance` would,
  /// without advancing. `finish` stops it.
  public func keepAlive(every period: Double = 1) {
    locked {
      guard timer == nil, mode != .silent, !finished else { return }
      let t = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "vcoswin.progress"))
      t.schedule(deadline: .now() + period, repeating: period)
      t.setEventHandler { [weak self] in self?.tick() }
      t.resume()
      timer = t
    }
  }

  /// The timer's redraw or line (`keepAlive`).
  private func tick() {
    locked {
      guard !finished else { return }
      switch mode {
      case .silent:
        return
      case .terminal:
        guard drawn else { return }
        lastDraw = DispatchTime.now().uptimeNanoseconds
        write("\r" + line() + "\u{1B}[K")
      case .lines(let interval):
        let now = elapsed
        guard now - lastLine >= interval else { return }
        lastLine = now
        write(plainLine() + "\n")
      }
    }
  }

  /// Runs `body` (which prints result lines, say on stdout to the same terminal) with a
  /// terminal bar's line cleared first and the bar drawn again after, so that results never
  /// land on the bar's line; other modes just run `body`.
  public func printing(_ body: () throws -> Void) rethrows {
    try locked {
      guard mode == .terminal, drawn, !finished else { return try body() }
      write("\r\u{1B}[K")
      try body()
      write("\r" + line() + "\u{1B}[K")
    }
  }

  /// Ends the bar: a terminal bar is redrawn with the totals and ends its line; plain lines
  /// add nothing (the caller's summary follows).
  public func finish() {
    locked {
      timer?.cancel()
      timer = nil
      finished = true
      if mode == .terminal { write("\r" + line() + "\u{1B}[K\n") }
    }
  }

  private var rateText: String {
    guard let rate else { return "" }
    return String(format: "%.2f %@s/s", rate, unit)
  }

  private var timeText: String {
    if !finished, total > 0, done < total, let rate, rate > 0 {
      return "ETA " + ProgressBar.clock(Double(total - done) / rate)
    }
    return "elapsed " + ProgressBar.clock(elapsed)
  }

  /// The text of the bar: `label [#####-----] 5/10 2.50 clips/s ETA 0:02 status` (no rate and
  /// ETA before the warm-up: `elapsed 0:01` instead).
  public func line(width: Int = 24) -> String {
    locked {
      var s = label.escapedForTerminal + " "
      if total > 0 {
        let filled = Swift.min(width, width * done / total)
        s +=
          "[" + String(repeating: "#", count: filled)
          + String(repeating: "-", count: width - filled) + "] "
        s += "\(done)/\(total) "
      } else {
        s += "\(done) "
      }
      s += [rateText, timeText, statusText.escapedForTerminal].filter { !$0.isEmpty }.joined(
        separator: " ")
      return s
    }
  }

  /// A line for logs: `label: 120/400 clips, 3.21 clips/s, ETA 1:27, loss 1.234`.
  public func plainLine() -> String {
    locked {
      let count = total > 0 ? "\(done)/\(total) \(unit)s" : "\(done) \(unit)s"
      return label.trimmingCharacters(in: .whitespaces).escapedForTerminal + ": "
        + [count, rateText, timeText, statusText.escapedForTerminal].filter { !$0.isEmpty }.joined(
          separator: ", ")
    }
  }

  /// `m:ss` or `h:mm:ss`.
  public static func clock(_ seconds: Double) -> String {
    guard seconds.isFinite, abs(seconds) < 1e9 else { return "--:--" }
    let t = Int(seconds.rounded())
    let (h, m, sec) = (t / 3600, (t % 3600) / 60, t % 60)
    return h > 0 ? String(format: "%d:%02d:%02d", h, m, sec) : String(format: "%d:%02d", m, sec)
  }
}
