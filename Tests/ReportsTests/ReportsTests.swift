import XCTest
#if canImport(FoundationXML)
  import FoundationXML
#endif

@testable import Reports

final class ReportsTests: XCTestCase {
  func testConfusionMatrixAccuracies() {
    var m = ConfusionMatrix(labels: ["a", "b", "c"])
    // a: 3 right, 1 wrong; b: 1 right, 1 wrong; c: none.
    for _ in 0..<3 { m.add(truth: 0, predicted: 0) }
    m.add(truth: 0, predicted: 2)
    m.add(truth: 1, predicted: 1)
    m.add(truth: 1, predicted: 0)
    XCTAssertEqual(m.total, 6)
    XCTAssertEqual(m.accuracy, 4.0 / 6.0, accuracy: 1e-12)
    XCTAssertEqual(m.meanClassAccuracy, (0.75 + 0.5) / 2, accuracy: 1e-12)
    let lines = m.text.split(separator: "\n")
    XCTAssertEqual(lines.count, 4)
    XCTAssertTrue(lines[1].hasSuffix("3    0    1"), String(lines[1]))
    let svg = m.svg()
    XCTAssertTrue(svg.hasPrefix("<svg"))
    XCTAssertEqual(svg.components(separatedBy: "<rect").count - 1, 1 + 9)
  }

  func testLinePlotDrawsEverySeries() throws {
    let loss = PlotSeries(name: "train loss", points: [(1, 2.0), (2, 1.0), (3, 0.5)])
    let acc = PlotSeries(name: "val <top1>", points: [(1, 0.2), (2, 0.6), (3, .nan)])
    let svg = LinePlot.svg(panels: [("Loss", "loss", [loss]), ("Accuracy", "top-1", [acc])], xLabel: "epoch")
    XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 2)
    XCTAssertTrue(svg.contains("val &lt;top1&gt;"))
    XCTAssertFalse(svg.contains("nan"))
    let xml = try XMLDocument(xmlString: svg)
    XCTAssertEqual(xml.rootElement()?.name, "svg")
  }

  func testProgressBarLine() {
    let bar = ProgressBar("train", total: 10, enabled: false)
    bar.advance(5)
    bar.status = "loss 0.5"
    let line = bar.line(width: 10)
    XCTAssertTrue(line.hasPrefix("train [#####-----] 5/10 "), line)
    XCTAssertTrue(line.contains("ETA"))
    XCTAssertTrue(line.hasSuffix("loss 0.5"))
    XCTAssertEqual(ProgressBar.clock(3725), "1:02:05")
    XCTAssertEqual(ProgressBar.clock(65), "1:05")
  }
}
