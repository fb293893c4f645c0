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
    let svg = LinePlot.svg(
      panels: [("Loss", "loss", [loss]), ("Accuracy", "top-1", [acc])], xLabel: "epoch")
    XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 2)
    XCTAssertTrue(svg.contains("val &lt;top1&gt;"))
    XCTAssertFalse(svg.contains("nan"))
    let xml = try XMLDocument(xmlString: svg)
    XCTAssertEqual(xml.rootElement()?.name, "svg")
  }

  func testProgressBarLine() {
    let bar = ProgressBar("train", total: 10, unit: "clip", enabled: false)
    bar.advance(5)
    bar.status = "loss 0.5"
    // Before the warm-up: no rate and no ETA, the elapsed time instead.
    var line = bar.line(width: 10)
    XCTAssertTrue(line.hasPrefix("train [#####-----] 5/10 elapsed 0:00 loss 0.5"), line)
    XCTAssertFalse(line.contains("/s"), line)
    bar.warmup = (1, 0)
    line = bar.line(width: 10)
    XCTAssertTrue(line.hasPrefix("train [#####-----] 5/10 "), line)
    XCTAssertTrue(line.contains(" clips/s ETA "), line)
    XCTAssertTrue(line.hasSuffix("loss 0.5"))
    XCTAssertEqual(ProgressBar.clock(3725), "1:02:05")
    XCTAssertEqual(ProgressBar.clock(65), "1:05")
  }

  /// Off a terminal: a plain line at each interval, with counts, clips/s, ETA and status;
  /// none at the start or at the end.
  func testProgressLinesOffATerminal() {
    let bar = ProgressBar("epoch 1/2", total: 6, unit: "clip", mode: .lines(interval: 0.02))
    bar.warmup = (2, 0)
    var lines: [String] = []
    bar.write = { lines.append($0) }
    for _ in 0..<3 {
      Thread.sleep(forTimeInterval: 0.03)
      bar.status = "loss 1.000"
      bar.advance(2)
    }
    bar.finish()
    XCTAssertEqual(lines.count, 3, "\(lines)")
    XCTAssertTrue(lines[0].hasPrefix("epoch 1/2: 2/6 clips, "), lines[0])
    XCTAssertFalse(lines[0].contains("clips/s"), lines[0])  // one advance: not warmed up
    XCTAssertTrue(lines[1].hasPrefix("epoch 1/2: 4/6 clips, "), lines[1])
    XCTAssertTrue(lines[1].contains(" clips/s, ETA "), lines[1])
    XCTAssertTrue(lines[1].hasSuffix(", loss 1.000\n"), lines[1])
    XCTAssertTrue(lines.allSatisfy { !$0.contains("\r") })
  }

  /// On a terminal: `show` draws the bar before the first advance, and `printing` clears its
  /// line before the caller's output and draws it again after; off a terminal both add nothing.
  func testBarMakesRoomForPrintedLines() {
    let bar = ProgressBar("classify", total: 4, unit: "video", mode: .terminal)
    var writes: [String] = []
    bar.write = { writes.append($0) }
    var printed = false
    bar.printing { printed = true }  // nothing drawn yet: nothing to clear
    XCTAssertTrue(printed)
    XCTAssertEqual(writes, [])
    bar.show()
    XCTAssertEqual(writes.count, 1)
    XCTAssertTrue(writes[0].hasPrefix("\rclassify [------------------------] 0/4 "), writes[0])
    bar.advance()
    writes = []
    bar.printing { writes.append("RESULT") }
    XCTAssertEqual(writes.count, 3, "\(writes)")
    XCTAssertEqual(writes[0], "\r\u{1B}[K")
    XCTAssertEqual(writes[1], "RESULT")
    XCTAssertTrue(writes[2].hasPrefix("\rclassify [######------------------] 1/4 "), writes[2])
    bar.finish()
    XCTAssertTrue(writes.last?.hasSuffix("\n") ?? false)

    let lines = ProgressBar("classify", total: 4, unit: "video", mode: .lines(interval: 30))
    var plain: [String] = []
    lines.write = { plain.append($0) }
    lines.show()
    lines.printing { plain.append("RESULT") }
    XCTAssertEqual(plain, ["RESULT"])
  }

  /// `keepAlive`: through a long step without advances, plain lines still come when due (and
  /// a terminal bar is redrawn); `finish` stops the timer.
  func testKeepAliveWritesDueLinesWithoutAdvances() {
    let bar = ProgressBar("classify", total: 12, unit: "view", mode: .lines(interval: 0.05))
    let lock = NSLock()
    var lines: [String] = []
    bar.write = { text in lock.withLock { lines.append(text) } }
    bar.keepAlive(every: 0.01)
    Thread.sleep(forTimeInterval: 0.3)
    bar.finish()
    let count = lock.withLock { lines.count }
    XCTAssertGreaterThanOrEqual(count, 2, "\(lines)")
    XCTAssertTrue(lock.withLock { lines.allSatisfy { $0.hasPrefix("classify: 0/12 views, ") } })
    Thread.sleep(forTimeInterval: 0.1)
    XCTAssertEqual(lock.withLock { lines.count }, count)

    let terminal = ProgressBar("classify", total: 12, unit: "view", mode: .terminal)
    var draws = 0
    terminal.write = { _ in lock.withLock { draws += 1 } }
    terminal.show()
    terminal.keepAlive(every: 0.01)
    Thread.sleep(forTimeInterval: 0.2)
    terminal.finish()
    XCTAssertGreaterThanOrEqual(lock.withLock { draws }, 3)
  }

  /// Nice tick values: steps of 1, 2 or 5 × 10ⁿ covering the range; whole epochs.
  func testNiceTicks() {
    let cases: [(Double, Double, Bool, [Double])] = [
      (0, 1, false, [0, 0.2, 0.4, 0.6, 0.8, 1]),
      (0.0884, 0.93, false, [0, 0.2, 0.4, 0.6, 0.8, 1]),
      (0.41, 0.47, false, [0.41, 0.42, 0.43, 0.44, 0.45, 0.46, 0.47]),
      (1.234, 2.31, false, [1.2, 1.4, 1.6, 1.8, 2, 2.2, 2.4]),
      (0.5, 0.5, false, [0.44, 0.46, 0.48, 0.5, 0.52, 0.54, 0.56]),
      (-3, 7, false, [-4, -2, 0, 2, 4, 6, 8]),
      (120, 980, false, [0, 200, 400, 600, 800, 1000]),
      (1, 3, true, [1, 2, 3]),
      (1, 10, true, [0, 2, 4, 6, 8, 10]),
      (1, 40, true, [0, 5, 10, 15, 20, 25, 30, 35, 40]),
      (1, 1, true, [0, 1, 2]),
    ]
    for (lo, hi, integers, expected) in cases {
      let ticks = LinePlot.niceTicks(lo, hi, count: integers ? 6 : 5, integers: integers)
      XCTAssertEqual(ticks, expected, "\(lo)…\(hi)")
      XCTAssertLessThanOrEqual(ticks.first ?? .nan, lo)
      XCTAssertGreaterThanOrEqual(ticks.last ?? .nan, hi)
    }
    XCTAssertEqual(LinePlot.tick(0.6000000000000001, step: 0.2), "0.6")
    XCTAssertEqual(LinePlot.tick(0.05, step: 0.05), "0.05")
    XCTAssertEqual(LinePlot.tick(4, step: 2), "4")
  }

  /// Epochs are whole-number ticks, accuracy panels run over 0…1, and no tick has more
  /// digits than its step needs.
  func testCurvesUseNiceTicks() throws {
    let loss = PlotSeries(name: "loss", points: [(1, 2.0884), (2, 1.31), (3, 0.9), (4, 0.4)])
    let acc = PlotSeries(name: "top-1", points: [(1, 0.41), (2, 0.52), (3, 0.6), (4, 0.63)])
    let svg = LinePlot.svg(
      panels: [
        PlotPanel(title: "loss", yLabel: "loss", series: [loss]),
        PlotPanel(title: "accuracy", yLabel: "accuracy", series: [acc], yRange: 0...1),
      ], xLabel: "epoch")
    let labels = svg.components(separatedBy: "\">").compactMap {
      $0.components(separatedBy: "</text>").first
    }
    .filter { Double($0) != nil }
    for text in ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0", "1", "2", "3", "4"] {
      XCTAssertTrue(labels.contains(text), "\(text) in \(labels)")
    }
    XCTAssertFalse(labels.contains { $0.contains(".") && $0.count > 4 }, "\(labels)")
    _ = try XMLDocument(xmlString: svg)
  }

  /// The confusion matrix names the classes on both axes, and its title fits at 2 classes.
  func testConfusionMatrixNamesBothAxes() throws {
    var m = ConfusionMatrix(labels: ["left", "right"])
    m.add(truth: 0, predicted: 1)
    let title = "best.safetensors on a rather long validation list name.txt"
    let svg = m.svg(title: title)
    XCTAssertEqual(svg.components(separatedBy: ">left</text>").count - 1, 2)
    XCTAssertEqual(svg.components(separatedBy: ">right</text>").count - 1, 2)
    _ = try XMLDocument(xmlString: svg)
    let width = try XCTUnwrap(
      Double(
        svg.components(separatedBy: "width=\"").dropFirst().first?.prefix { $0 != "\"" } ?? ""), svg
    )
    XCTAssertGreaterThanOrEqual(width, 10 + Double(title.count) * 8)
  }
}
