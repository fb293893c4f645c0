import XCTest

@testable import Inference

/// Segments closed window by window equal the whole timeline's (`--min-segment` 0).
final class LiveSegmentsTests: XCTestCase {
  func testLiveSegmentsEqualTheWholeTimelines() {
    var seed: UInt64 = 7
    func next() -> Float {
      seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Float(seed >> 40) / Float(1 << 24)
    }
    let names = ["a", "b", "c"]
    for n in [1, 2, 5, 40] {
      // Probabilities [n][3] with runs of one favoured class, so segments are long and short.
      let probs: [[Float]] = (0..<n).map { i in
        var row = (0..<3).map { _ in next() }
        row[(i / 3) % 3] += 0.8
        return row
      }
      let centres = (0..<n).map { 0.32 + 0.32 * Double($0) }
      let duration = 0.32 * Double(n) + 0.64
      for k in [1, 2, 3, 4, 7] {
        let whole = TimelineSegments.segments(
          centres: centres, probabilities: TimelineSegments.smooth(probs, over: k), names: names,
          duration: duration)
        var live = LiveSegments(smooth: k, names: names)
        var closed: [TimelineSegment] = []
        for i in 0..<n { closed += live.add(centre: centres[i], probabilities: probs[i]) }
        closed += live.finish(duration: duration)
        XCTAssertEqual(closed.map(\.label), whole.map(\.label), "n \(n), k \(k)")
        XCTAssertEqual(closed.map(\.windows), whole.map(\.windows), "n \(n), k \(k)")
        for (a, b) in zip(closed, whole) {
          XCTAssertEqual(a.start, b.start, accuracy: 1e-9)
          XCTAssertEqual(a.end, b.end, accuracy: 1e-9)
          XCTAssertEqual(a.prob, b.prob, accuracy: 1e-5)
        }
      }
    }
  }
}
