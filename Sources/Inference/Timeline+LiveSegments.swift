import Compute

// Segments of a live timeline, closed as windows arrive.
//
// Legend: N windows so far, K classes.

/// Segments of a stream built window by window, the same as `TimelineSegments.segments` with
/// `minSegment` 0 gives for the windows so far: window `j`'s label is the top class of its
/// centred moving average over `smooth` windows, final once window `j + ⌊smooth/2⌋` has
/// arrived; a segment closes when the label changes, at the midpoint of the two windows'
/// centres. Joining short segments (`--min-segment`) needs the whole timeline: it is applied
/// to the summary only. Memory: the last `smooth` rows `[K]` and the open segment.
public struct LiveSegments {
  public let smooth: Int
  public let names: [String]
  /// The last up to `smooth` windows: centre and probabilities `[K]`; `base` is the number
  /// of the first.
  private var recent: [(centre: Double, probs: [Float])] = []
  private var base = 0
  /// Windows added so far (`N`) and windows labelled so far.
  private var added: Int { base + recent.count }
  private var labelled = 0
  /// The open segment: label, start, sum of its label's (smoothed) probability, windows.
  private var open: (label: Int, start: Double, first: Int, sum: Double, count: Int)?
  private var lastCentre = 0.0

  /// Precondition: `smooth ≥ 1`.
  public init(smooth: Int, names: [String]) {
    precondition(smooth >= 1, "smoothing window must be >= 1")
    (self.smooth, self.names) = (smooth, names)
  }

  /// Adds the next window; returns the segments it closes (at most one per labelled window).
  public mutating func add(centre: Double, probabilities: [Float]) -> [TimelineSegment] {
    recent.append((centre, probabilities))
    var closed: [TimelineSegment] = []
    while labelled + smooth / 2 < added { closed += label(labelled) }
    trim()
    return closed
  }

  /// Labels the windows still waiting (smoothing shortened at the end) and closes the last
  /// segment at `duration`.
  public mutating func finish(duration: Double) -> [TimelineSegment] {
    var closed: [TimelineSegment] = []
    while labelled < added { closed += label(labelled) }
    if let o = open {
      closed.append(segment(o, end: max(duration, lastCentre)))
      open = nil
    }
    return closed
  }

  /// Labels window `j` (all windows it averages are in `recent`).
  private mutating func label(_ j: Int) -> [TimelineSegment] {
    let lo = max(0, j - (smooth - 1) / 2)
    let hi = min(added - 1, j + smooth / 2)
    guard let K = recent.first?.probs.count else { return [] }
    var row = [Float](repeating: 0, count: K)
    for i in lo...hi {
      let p = recent[i - base].probs
      for c in 0..<min(K, p.count) { row[c] += p[c] }
    }
    let n = Float(hi - lo + 1)
    row = row.map { $0 / n }
    let top = TimelineSegments.topClass(row)
    let centre = recent[j - base].centre
    labelled = j + 1
    var closed: [TimelineSegment] = []
    if let o = open, o.label == top {
      open = (o.label, o.start, o.first, o.sum + Double(row[top]), o.count + 1)
    } else {
      let boundary = j == 0 ? 0 : (lastCentre + centre) / 2
      if let o = open { closed.append(segment(o, end: boundary)) }
      open = (top, boundary, j, Double(row[top]), 1)
    }
    lastCentre = centre
    return closed
  }

  private func segment(
    _ o: (label: Int, start: Double, first: Int, sum: Double, count: Int), end: Double
  ) -> TimelineSegment {
    TimelineSegment(
      label: o.label, name: TimelineSegments.name(of: o.label, in: names),
      start: o.start, end: end, prob: o.sum / Double(o.count),
      windows: o.first..<(o.first + o.count))
  }

  /// Keeps the windows a later label can still average: from `labelled − ⌊(smooth−1)/2⌋`.
  private mutating func trim() {
    let keepFrom = max(0, labelled - (smooth - 1) / 2)
    if keepFrom > base {
      recent.removeFirst(keepFrom - base)
      base = keepFrom
    }
  }
}

extension LoadedModel {
  /// The windows of a live timeline: the recipe's clip (T frames every I frames), starting
  /// every `strideFrames` frames, `batch` windows per forward pass.
  public func streamTimelineRunner(strideFrames: Int, realtime: Bool) -> StreamTimelineRunner {
    StreamTimelineRunner(
      clipLength: recipe.clipLength, frameInterval: recipe.frameInterval,
      strideFrames: strideFrames, transform: recipe.testTransform(),
      batch: batch, realtime: realtime)
  }

  /// Class probabilities `[b, K]` of windows `[b, 3, T, H, W]` (one view each).
  public func windowProbabilities(_ x: Tensor) throws -> Tensor {
    try model.probabilities(x, views: 1, batch: batch, precision: precision)
  }
}
