import Foundation

// From window probabilities to labelled segments: smoothing, merging, short-segment removal,
// ground-truth files and agreement.
//
// Legend: N windows, K classes; probabilities are [N][K].

/// A stretch of the video with one label.
public struct TimelineSegment: Sendable, Equatable {
  /// Class index and name.
  public var label: Int
  public var name: String
  /// Seconds.
  public var start: Double
  public var end: Double
  /// Mean probability of `label` over the segment's windows (after smoothing).
  public var prob: Double
  /// Windows `first..<last+1` that make the segment.
  public var windows: Range<Int>

  public init(
    label: Int, name: String, start: Double, end: Double, prob: Double, windows: Range<Int>
  ) {
    self.label = label
    self.name = name
    self.start = start
    self.end = end
    self.prob = prob
    self.windows = windows
  }

  public var duration: Double { end - start }
}

public enum TimelineSegments {
  /// The label of a row of class probabilities `[K]`: the most probable class, the lowest index
  /// on a tie (0 for an empty row). File and live timelines label windows by this one rule.
  public static func topClass(_ row: [Float]) -> Int {
    row.indices.max { row[$0] != row[$1] ? row[$0] < row[$1] : $0 > $1 } ?? 0
  }

  /// The name of class `label`: `names[label]`, or the index as text past the names.
  public static func name(of label: Int, in names: [String]) -> String {
    label < names.count ? names[label] : String(label)
  }

  /// Moving average of `probabilities` `[N][K]` over `k` windows, centred: window `i` averages
  /// windows `i − ⌊(k−1)/2⌋ … i + ⌊k/2⌋` that exist (fewer at the ends). `k = 1` returns the
  /// input. Precondition: `k ≥ 1`, rows of one length.
  public static func smooth(_ probabilities: [[Float]], over k: Int) -> [[Float]] {
    precondition(k >= 1, "smoothing window must be >= 1")
    let n = probabilities.count
    guard k > 1, n > 1, let K = probabilities.first?.count else { return probabilities }
    let before = (k - 1) / 2
    let after = k / 2
    return (0..<n).map { i in
      let lo = max(0, i - before)
      let hi = min(n - 1, i + after)
      var row = [Float](repeating: 0, count: K)
      for j in lo...hi {
        precondition(probabilities[j].count == K, "probability rows of different lengths")
        for c in 0..<K { row[c] += probabilities[j][c] }
      }
      let count = Float(hi - lo + 1)
      return row.map { $0 / count }
    }
  }

  /// The stretch of time each window stands for: window `i` covers from the midpoint of its
  /// centre and the previous window's centre to the midpoint with the next one; the first
  /// starts at 0 and the last ends at `duration`. The stretches tile `[0, duration]`.
  public static func coverage(centres: [Double], duration: Double) -> [(start: Double, end: Double)]
  {
    let n = centres.count
    return (0..<n).map { i in
      let start = i == 0 ? 0 : (centres[i - 1] + centres[i]) / 2
      let end = i == n - 1 ? max(duration, centres[i]) : (centres[i] + centres[i + 1]) / 2
      return (start, end)
    }
  }

  /// Merged segments of a timeline.
  ///
  /// 1. Each window's label is the top class of its (smoothed) probabilities; it stands for its
  ///    `coverage` stretch.
  /// 2. Consecutive windows with the same label merge into one segment; its `prob` is the mean
  ///    probability of that label over its windows.
  /// 3. While some segment is shorter than `minSegment` seconds (and there are two or more),
  ///    the shortest (the earliest among equals) joins a neighbour — the longer one (the
  ///    earlier on a tie) — taking its label; same-label neighbours then merge again.
  ///
  /// - Parameters:
  ///   - centres: window centres in seconds `[N]`, ascending.
  ///   - probabilities: `[N][K]`, already smoothed if wanted.
  ///   - names: class names `[K]`.
  public static func segments(
    centres: [Double], probabilities: [[Float]], names: [String], duration: Double,
    minSegment: Double = 0
  ) -> [TimelineSegment] {
    precondition(centres.count == probabilities.count, "one centre per window")
    let stretches = coverage(centres: centres, duration: duration)
    let top = probabilities.map(topClass)
    var runs: [(label: Int, windows: Range<Int>)] = []
    for (i, label) in top.enumerated() {
      if let last = runs.last, last.label == label {
        runs[runs.count - 1].windows = last.windows.lowerBound..<(i + 1)
      } else {
        runs.append((label, i..<(i + 1)))
      }
    }
    func length(_ r: (label: Int, windows: Range<Int>)) -> Double {
      stretches[r.windows.upperBound - 1].end - stretches[r.windows.lowerBound].start
    }
    while minSegment > 0 && runs.count > 1 {
      var shortest = 0
      for i in runs.indices where length(runs[i]) < length(runs[shortest]) { shortest = i }
      guard length(runs[shortest]) < minSegment else { break }
      let left = shortest - 1
      let right = shortest + 1
      let into: Int
      if left < 0 {
        into = right
      } else if right >= runs.count {
        into = left
      } else {
        into = length(runs[right]) > length(runs[left]) ? right : left
      }
      let label = runs[into].label
      let lo = min(runs[into].windows.lowerBound, runs[shortest].windows.lowerBound)
      let hi = max(runs[into].windows.upperBound, runs[shortest].windows.upperBound)
      runs[into] = (label, lo..<hi)
      runs.remove(at: shortest)
      // Merge same-label neighbours the removal brought together.
      var merged: [(label: Int, windows: Range<Int>)] = []
      for r in runs {
        if let last = merged.last, last.label == r.label {
          merged[merged.count - 1].windows = last.windows.lowerBound..<r.windows.upperBound
        } else {
          merged.append(r)
        }
      }
      runs = merged
    }
    return runs.map { r in
      let p =
        r.windows.map { Double(probabilities[$0][r.label]) }.reduce(0, +) / Double(r.windows.count)
      return TimelineSegment(
        label: r.label, name: name(of: r.label, in: names),
        start: stretches[r.windows.lowerBound].start, end: stretches[r.windows.upperBound - 1].end,
        prob: p, windows: r.windows)
    }
  }

  /// Fraction of `[0, duration]` where the segments' label equals the truth's (time outside
  /// every truth segment does not count, in numerator nor denominator).
  public static func agreement(_ segments: [TimelineSegment], truth: [TruthSegment]) -> Double {
    var agree = 0.0
    var total = 0.0
    for t in truth {
      total += max(0, t.end - t.start)
      for s in segments where s.label == t.label {
        agree += max(0, min(s.end, t.end) - max(s.start, t.start))
      }
    }
    return total > 0 ? agree / total : 0
  }
}

/// A ground-truth segment: `start end label` (seconds, class index).
public struct TruthSegment: Sendable, Equatable {
  public var start: Double
  public var end: Double
  public var label: Int
  public init(start: Double, end: Double, label: Int) {
    self.start = start
    self.end = end
    self.label = label
  }

  /// Parses a truth file: one `start end label` per line (seconds; label a class name from
  /// `names` or an index), `#` comments and blank lines allowed.
  /// - Throws: `TimelineError` naming `path` and the line when a line is malformed, a time is
  ///   not finite or `end < start`, or the label is unknown.
  public static func parse(_ text: String, path: String, names: [String]) throws -> [TruthSegment] {
    var out: [TruthSegment] = []
    for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
      if line.isEmpty || line.hasPrefix("#") { continue }
      let where_ = "\(path):\(i + 1)"
      let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
      guard fields.count == 3 else {
        throw TimelineError("\(where_): expected 'start end label', got '\(line.prefix(80))'")
      }
      guard let a = Double(fields[0]), let b = Double(fields[1]), a.isFinite, b.isFinite, a >= 0,
        b >= a
      else {
        throw TimelineError(
          "\(where_): times must be seconds with 0 ≤ start ≤ end, got '\(fields[0]) \(fields[1])'")
      }
      let name = String(fields[2])
      let label: Int
      if let k = names.firstIndex(of: name) {
        label = k
      } else if let k = Int(name), k >= 0, k < names.count {
        label = k
      } else {
        throw TimelineError(
          "\(where_): unknown label '\(name.prefix(60))' (not one of the checkpoint's \(names.count) classes)"
        )
      }
      out.append(TruthSegment(start: a, end: b, label: label))
    }
    return out
  }
}
