import Foundation

/// One named series of a line plot.
public struct PlotSeries: Sendable {
  public var name: String
  public var points: [(x: Double, y: Double)]
  public init(name: String, points: [(x: Double, y: Double)]) {
    self.name = name
    self.points = points
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
    let height = panelHeight * panels.count
    var out = """
      <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" \
      viewBox="0 0 \(width) \(height)" font-family="sans-serif" font-size="12">
      <rect width="100%" height="100%" fill="white"/>

      """
    for (k, panel) in panels.enumerated() {
      out += drawPanel(panel, xLabel: xLabel, top: Double(k * panelHeight), width: Double(width),
                       height: Double(panelHeight))
    }
    return out + "</svg>\n"
  }

  private static func drawPanel(
    _ panel: (title: String, yLabel: String, series: [PlotSeries]), xLabel: String, top: Double,
    width: Double, height: Double
  ) -> String {
    let (left, right, ptop, bottom) = (60.0, 150.0, 28.0, 40.0)
    let pw = width - left - right
    let ph = height - ptop - bottom
    let all = panel.series.flatMap { $0.points }.filter { $0.y.isFinite && $0.x.isFinite }
    var (x0, x1) = (all.map(\.x).min() ?? 0, all.map(\.x).max() ?? 1)
    var (y0, y1) = (all.map(\.y).min() ?? 0, all.map(\.y).max() ?? 1)
    if x1 - x0 < 1e-12 { x0 -= 0.5; x1 += 0.5 }
    if y1 - y0 < 1e-12 { y0 -= 0.5; y1 += 0.5 }
    let pad = (y1 - y0) * 0.05
    y0 -= pad
    y1 += pad
    func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * pw }
    func py(_ y: Double) -> Double { top + ptop + (1 - (y - y0) / (y1 - y0)) * ph }
    var s = "<g>\n"
    s += "<text x=\"\(left)\" y=\"\(top + 18)\" font-weight=\"bold\">\(escape(panel.title))</text>\n"
    s += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#888\"/>\n",
                left, top + ptop, pw, ph)
    for i in 0...4 {
      let yv = y0 + (y1 - y0) * Double(i) / 4
      let xv = x0 + (x1 - x0) * Double(i) / 4
      s += String(format: "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n",
                  left, left + pw, py(yv), py(yv))
      s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%@</text>\n",
                  left - 4, py(yv) + 4, tick(yv))
      s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>\n",
                  px(xv), top + ptop + ph + 16, tick(xv))
    }
    s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>\n",
                left + pw / 2, top + height - 6, escape(xLabel))
    s += String(format: "<text transform=\"translate(14 %.1f) rotate(-90)\" text-anchor=\"middle\">%@</text>\n",
                top + ptop + ph / 2, escape(panel.yLabel))
    for (i, series) in panel.series.enumerated() {
      let color = palette[i % palette.count]
      let pts = series.points.filter { $0.y.isFinite }
        .map { String(format: "%.1f,%.1f", px($0.x), py($0.y)) }.joined(separator: " ")
      if !pts.isEmpty {
        s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(pts)\"/>\n"
      }
      let ly = top + ptop + 14 + Double(i) * 18
      s += String(format: "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%@\" stroke-width=\"2\"/>\n",
                  left + pw + 10, left + pw + 28, ly - 4, ly - 4, color)
      s += String(format: "<text x=\"%.1f\" y=\"%.1f\">%@</text>\n", left + pw + 32, ly, escape(series.name))
    }
    return s + "</g>\n"
  }

  static func tick(_ v: Double) -> String {
    abs(v) >= 100 || v == v.rounded() ? String(format: "%.0f", v) : String(format: "%.3g", v)
  }
}

/// Escapes text for SVG/XML.
func escape(_ s: String) -> String {
  s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
    .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
