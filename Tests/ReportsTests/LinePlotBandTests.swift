import Foundation
#if canImport(FoundationXML)
  import FoundationXML
#endif
import XCTest

@testable import Reports

/// A series' band (min–max over seeds around the mean line) is drawn as one shaded polygon.
final class LinePlotBandTests: XCTestCase {
  func testBandIsOnePolygonUnderItsLineAndWidensTheAxis() throws {
    let mean = PlotSeries(
      name: "inflated", points: [(1, 0.5), (2, 0.7), (3, 0.8)],
      band: [(1, 0.4, 0.6), (2, 0.6, 0.8), (3, 0.75, 1.4)])
    let plain = PlotSeries(name: "random init", points: [(1, 0.1), (2, 0.2), (3, 0.3)])
    let svg = LinePlot.svg(
      panels: [PlotPanel(title: "t", yLabel: "top-1", series: [mean, plain])], xLabel: "epoch")
    XCTAssertEqual(svg.components(separatedBy: "<polygon").count - 1, 1)
    XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 2)
    // Drawn before the lines, so every line stays visible.
    let polygon = try XCTUnwrap(svg.range(of: "<polygon"))
    let line = try XCTUnwrap(svg.range(of: "<polyline"))
    XCTAssertLessThan(polygon.lowerBound, line.lowerBound)
    // Six corners: upper edge forward, lower edge back.
    let points = try XCTUnwrap(
      svg.components(separatedBy: "<polygon")[1].components(separatedBy: "points=\"")[1]
        .split(separator: "\"").first)
    XCTAssertEqual(points.split(separator: " ").count, 6)
    // The band's 1.4 is inside the fitted y axis (ticks up to at least 1.4).
    XCTAssertTrue(svg.contains(">1.4<") || svg.contains(">1.5<"), svg)
    XCTAssertNotNil(try? XMLDocument(xmlString: svg))
  }
}
