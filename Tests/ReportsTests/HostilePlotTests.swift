import Reports
import XCTest

/// Plot axes over values read from a damaged file (a training state's history): extreme but
/// finite ends give a few ticks at once, never an endless or giant list.
final class HostilePlotTests: XCTestCase {
  func testTicksOverExtremeRanges() {
    let cases: [(Double, Double, Bool)] = [
      (-1e308, 1e308, false), (-Double.greatestFiniteMagnitude, .greatestFiniteMagnitude, false),
      (-9.2e18, 9.2e18, true), (1e30, 1e30 + 1e14, false), (0, 1e308, false),
      (-Double.greatestFiniteMagnitude, 0, true), (5e-324, 1e-323, false),
    ]
    for (low, high, integers) in cases {
      let start = Date()
      let ticks = LinePlot.niceTicks(low, high, count: 5, integers: integers)
      XCTAssertLessThan(Date().timeIntervalSince(start), 1, "\(low)…\(high)")
      XCTAssertGreaterThanOrEqual(ticks.count, 2, "\(low)…\(high): \(ticks)")
      XCTAssertLessThanOrEqual(ticks.count, 500, "\(low)…\(high): \(ticks.count) ticks")
      XCTAssertTrue(ticks.allSatisfy(\.isFinite), "\(low)…\(high): \(ticks)")
      XCTAssertLessThanOrEqual(ticks.first ?? .infinity, low, "\(low)…\(high): \(ticks)")
      XCTAssertGreaterThanOrEqual(ticks.last ?? -.infinity, high, "\(low)…\(high): \(ticks)")
    }
    // Ordinary ranges are unchanged.
    XCTAssertEqual(LinePlot.niceTicks(0, 1, count: 5), [0, 0.2, 0.4, 0.6, 0.8, 1])
    XCTAssertEqual(LinePlot.niceTicks(1, 10, count: 6, integers: true), [0, 2, 4, 6, 8, 10])
  }

  func testCurvesOfAHistoryWithExtremeLosses() {
    let svg = LinePlot.svg(
      panels: [
        PlotPanel(
          title: "loss", yLabel: "loss",
          series: [PlotSeries(name: "train", points: [(1, -1e308), (2, 1e308), (3, 0.5)])])
      ], xLabel: "epoch")
    XCTAssertTrue(svg.hasPrefix("<svg"))
  }
}
