import Foundation
import TerminalText

/// One named series of a line plot, optionally with a band around it (e.g. the min–max range
/// over seeds around their mean), drawn shaded in the series' colour under the line.
public struct PlotSeries: Sendable {
  public var name: String
  public var points: [(x: Double, y: Double)]
  /// The band's lower and upper edge at each x (empty: no band).
  public var band: [(x: Double, low: Double, high: Double)]
  public init(
    name: String, points: [(x: Double, y: Double)],
    band: [(x: Double, low: Double, high: Double)] = []
  ) {
    self.name = name
    self.points = points
    self.band = band
  }
}

/// One panel of a line plot: a title, the y-axis label, its series, and optionally a fixed
/// y range (accuracy on 0…1) instead of one fitted to the data.
public struct PlotPanel: Sendable {
  public var title: String
  public var yLabel: String
  public var series: [PlotSeries]
  public var yRange: ClosedRange<Double>?
  public init(
    title: String, yLabel: String, series: [PlotSeries], yRange: ClosedRange<Double>? = nil
  ) {
    self.title = title
    self.yLabel = yLabel
    self.series = series
    self.yRange = yRange
  }
}

/// Draws line plots (e.g. loss and accuracy curves per epoch) as standalone SVG.
public enum LinePlot {
  static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]

  /// An SVG document with one panel per entry of `panels` (title, y-axis label, series),
  /// stacked vertically, sharing the x-axis label.
  public static func svg(
    panels: [(title: String, yLabel: String, series: [PlotSeries])], xLabel: String,
    width: Int = 640, panelHeight: Int = 260
  ) -> String {
    svg(
      panels: panels.map { PlotPanel(title: $0.title, yLabel: $0.yLabel, series: $0.series) },
      xLabel: xLabel,
      width: width, panelHeight: panelHeight)
  }

  /// An SVG document with one panel per entry of `panels`, stacked vertically, sharing the
  /// x-axis label. Axes run over "nice" tick values (1, 2 or 5 × 10ⁿ apart) that cover the
  /// data; when every x is a whole number (epochs), x ticks are whole numbers.
  public static func svg(
    panels: [PlotPanel], xLabel: String, width: Int = 640, panelHeight: Int = 260
  ) -> String {
    let height = panelHeight * panels.count
    var out = """
      <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" \
      viewBox="0 0 \(width) \(height)" font-family="sans-serif" font-size="12">
      <rect width="100%" height="100%" fill="white"/>

      """
    for (k, panel) in panels.enumerated() {
      out += drawPanel(
        panel, xLabel: xLabel, top: Double(k * panelHeight), width: Double(width),
        height: Double(panelHeight))
    }
    return out + "</svg>\n"
  }

  /// Tick values for an axis over `low…high`: multiples of a step of 1, 2 or 5 × 10ⁿ (the one
  /// nearest to a `count`-th of the range), from the largest multiple ≤ `low` to the smallest
  /// ≥ `high`.
  /// With `integers`, the step is at least 1. A range of zero width is widened around its value.
  public static func niceTicks(
    _ low: Double, _ high: Double, count: Int = 5, integers: Bool = false
  ) -> [Double] {
    guard low.isFinite, high.isFinite else { return [0, 1] }
    var (lo, hi) = (Swift.min(low, high), Swift.max(low, high))
    if hi - lo < 1e-12 {
      let pad = integers ? 1 : lo == 0 ? 1 : Swift.max(abs(lo) * 0.1, 1e-12)
      lo = Swift.max(lo - pad, -.greatestFiniteMagnitude)
      hi = Swift.min(hi + pad, .greatestFiniteMagnitude)
    }
    // Each end divided first: `hi − lo` overflows to infinity for ends near ±1.8e308 (values
    // read from a damaged file), and a step of 1 over that range never ended.
    let n = Double(Swift.max(1, count))
    var step = niceNumber(hi / n - lo / n)
    if integers { step = Swift.max(1, step.rounded(.up)) }
    let first = (lo / step + 1e-9).rounded(.down)
    let last = (hi / step - 1e-9).rounded(.up)
    guard last - first <= 100 * n else { return [lo, hi] }  // a step lost to rounding
    let ticks = stride(from: first, through: last, by: 1).map { tidy($0 * step) }
    // Ends near the largest Double: a multiple of the step beyond it is not finite.
    guard ticks.count >= 2, ticks.allSatisfy(\.isFinite), ticks[0] <= lo,
      ticks[ticks.count - 1] >= hi
    else { return [lo, hi] }
    return ticks
  }

  /// The number 1, 2, 5 or 10 × 10ⁿ nearest to `x` (x > 0; Heckbert's "nice numbers").
  static func niceNumber(_ x: Double) -> Double {
    guard x > 0, x.isFinite else { return 1 }
    let base = pow(10, (log10(x)).rounded(.down))
    let f = x / base
    let nice: Double = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10
    return nice * base
  }

  /// Rounds away the floating-point dust of `k · step` (0.30000000000000004 → 0.3).
  static func tidy(_ v: Double) -> Double {
    guard v != 0 else { return 0 }
    let scale = pow(10, 12 - (log10(abs(v))).rounded(.down))
    return (v * scale).rounded() / scale
  }

  private static func drawPanel(
    _ panel: PlotPanel, xLabel: String, top: Double, width: Double, height: Double
  ) -> String {
    let (left, right, ptop, bottom) = (60.0, 150.0, 28.0, 40.0)
    let pw = width - left - right
    let ph = height - ptop - bottom
    let all =
      panel.series.flatMap { series in
        series.points + series.band.flatMap { [(x: $0.x, y: $0.low), (x: $0.x, y: $0.high)] }
      }.filter { $0.y.isFinite && $0.x.isFinite }
    let xs = all.map(\.x)
    let integerX = !xs.isEmpty && xs.allSatisfy { $0 == $0.rounded() }
    let xTicks = niceTicks(xs.min() ?? 0, xs.max() ?? 1, count: 6, integers: integerX)
    let yTicks: [Double]
    if let range = panel.yRange {
      yTicks = niceTicks(range.lowerBound, range.upperBound, count: 5)
    } else {
      yTicks = niceTicks(all.map(\.y).min() ?? 0, all.map(\.y).max() ?? 1, count: 5)
    }
    let (x0, x1) = (xTicks.first ?? 0, xTicks.last ?? 1)
    let (y0, y1) = (yTicks.first ?? 0, yTicks.last ?? 1)
    func px(_ x: Double) -> Double { left + (x - x0) / Swift.max(x1 - x0, 1e-12) * pw }
    func py(_ y: Double) -> Double { top + ptop + (1 - (y - y0) / Swift.max(y1 - y0, 1e-12)) * ph }
    var s = "<g>\n"
    s +=
      "<text x=\"\(left)\" y=\"\(top + 18)\" font-weight=\"bold\">\(escape(panel.title))</text>\n"
    s += String(
      format:
        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#888\"/>\n",
      left, top + ptop, pw, ph)
    let yStep = yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1
    for yv in yTicks {
      s += String(
        format: "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n",
        left, left + pw, py(yv), py(yv))
      s += String(
        format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%@</text>\n",
        left - 4, py(yv) + 4, tick(yv, step: yStep))
    }
    let xStep = xTicks.count > 1 ? xTicks[1] - xTicks[0] : 1
    for xv in xTicks {
      s += String(
        format: "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>\n",
        px(xv), px(xv), top + ptop + ph, top + ptop + ph + 4)
      s += String(
        format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>\n",
        px(xv), top + ptop + ph + 16, tick(xv, step: xStep))
    }
    s += String(
      format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>\n",
      left + pw / 2, top + height - 6, escape(xLabel))
    s += String(
      format:
        "<text transform=\"translate(14 %.1f) rotate(-90)\" text-anchor=\"middle\">%@</text>\n",
      top + ptop + ph / 2, escape(panel.yLabel))
    // Bands first, so that every line is drawn over every band.
    for (i, series) in panel.series.enumerated() {
      let band = series.band.filter { $0.x.isFinite && $0.low.isFinite && $0.high.isFinite }
      guard band.count >= 2 else { continue }
      let edge =
        band.map { String(format: "%.1f,%.1f", px($0.x), py($0.high)) }
        + band.reversed().map { String(format: "%.1f,%.1f", px($0.x), py($0.low)) }
      s +=
        "<polygon fill=\"\(palette[i % palette.count])\" fill-opacity=\"0.18\" stroke=\"none\" "
        + "points=\"\(edge.joined(separator: " "))\"/>\n"
    }
    for (i, series) in panel.series.enumerated() {
      let color = palette[i % palette.count]
      let pts = series.points.filter { $0.y.isFinite }
        .map { String(format: "%.1f,%.1f", px($0.x), py($0.y)) }.joined(separator: " ")
      if !pts.isEmpty {
        s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(pts)\"/>\n"
      }
      let ly = top + ptop + 14 + Double(i) * 18
      s += String(
        format:
          "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%@\" stroke-width=\"2\"/>\n",
        left + pw + 10, left + pw + 28, ly - 4, ly - 4, color)
      s += String(
        format: "<text x=\"%.1f\" y=\"%.1f\">%@</text>\n", left + pw + 32, ly, escape(series.name))
    }
    return s + "</g>\n"
  }

  /// A tick label with as many decimals as the tick step needs (0.2 → 1, 0.05 → 2, 5 → 0).
  static func tick(_ v: Double, step: Double) -> String {
    let decimals = step >= 1 ? 0 : Swift.min(10, Int((-log10(step) - 1e-9).rounded(.up)))
    let text = String(format: "%.\(decimals)f", v)
    return text.hasPrefix("-") && Double(text) == 0 ? String(text.dropFirst()) : text
  }
}

/// Escapes text for SVG/XML: control characters first as visible escapes (`escapedForTerminal`:
/// XML 1.0 does not allow most of them, and a line break in a name would show as a space),
/// then U+FFFE and U+FFFF (not characters in XML 1.0) as `\u{FFFE}`, `\u{FFFF}`, then `&`,
/// `<`, `>` and `"` as entities.
func escape(_ s: String) -> String {
  s.escapedForTerminal.replacingOccurrences(of: "\u{FFFE}", with: "\\u{FFFE}")
    .replacingOccurrences(of: "\u{FFFF}", with: "\\u{FFFF}")
    .replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(
      of: "<", with: "&lt;"
    )
    .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
