import Foundation
import TerminalText
import VideoIO

/// A picture of a timeline: a time axis, a strip of thumbnails, one band per class that is
/// ever on top (each window a cell whose opacity is the class's probability), the merged
/// segments labelled, and optionally the ground truth below them. Drawn as SVG (`svg()`) or as
/// pixels (`raster()`, text through FreeType), from the same layout.
///
/// Class names are never cut: the label column widens to the longest row label (and the
/// picture with it); a segment shows its name (with its probability when that fits too) or,
/// when the name does not fit, nothing, since its colour is its band's; classes that have no
/// band (a truth segment's, say) are named in a legend under the axis. Names, the title and
/// the note are kept with their control characters as escapes (`escapedForTerminal`), as
/// the terminal shows them.
public struct TimelinePicture: Sendable {
  /// A coloured stretch of time.
  public struct Span: Sendable {
    public var name: String
    /// Palette entry (the class index).
    public var colour: Int
    public var start: Double
    public var end: Double
    /// Shown as opacity in bands; printed in segment labels when not nil.
    public var prob: Double?
    public init(name: String, colour: Int, start: Double, end: Double, prob: Double? = nil) {
      self.name = name.escapedForTerminal
      self.colour = colour
      self.start = start
      self.end = end
      self.prob = prob
    }
  }

  /// One class's band: its cells are the windows' stretches with its probability.
  public struct Band: Sendable {
    public var name: String
    public var colour: Int
    public var cells: [Span]
    public init(name: String, colour: Int, cells: [Span]) {
      self.name = name.escapedForTerminal
      self.colour = colour
      self.cells = cells
    }
  }

  public var title: String
  /// Seconds the axis covers, > 0.
  public var duration: Double
  public var thumbnails: [(time: Double, image: RGBImage)]
  public var bands: [Band]
  public var segments: [Span]
  public var truth: [Span]?
  /// A line under the axis (e.g. the agreement with the truth).
  public var note: String?

  public init(
    title: String, duration: Double, thumbnails: [(time: Double, image: RGBImage)], bands: [Band],
    segments: [Span], truth: [Span]? = nil, note: String? = nil
  ) {
    self.title = title.escapedForTerminal
    self.duration = duration > 0 ? duration : 1
    self.thumbnails = thumbnails
    self.bands = bands
    self.segments = segments
    self.truth = truth
    self.note = note?.escapedForTerminal
  }

  /// Category colours (tab10), by class index modulo 10.
  static let palette: [(UInt8, UInt8, UInt8)] = [
    (0x1f, 0x77, 0xb4), (0xff, 0x7f, 0x0e), (0x2c, 0xa0, 0x2c), (0xd6, 0x27, 0x28),
    (0x94, 0x67, 0xbd),
    (0x8c, 0x56, 0x4b), (0xe3, 0x77, 0xc2), (0x7f, 0x7f, 0x7f), (0xbc, 0xbd, 0x22),
    (0x17, 0xbe, 0xcf),
  ]

  static func colour(_ i: Int) -> (UInt8, UInt8, UInt8) { palette[((i % 10) + 10) % 10] }

  // MARK: Layout (pixels; shared by SVG and raster)

  /// Picture width when every row label fits the standard label column (`left`); longer
  /// labels widen the picture (`pictureWidth`).
  public static let width = 960
  /// The standard width of the label column.
  static let left = 150
  static let right = 16
  static let titleHeight = 22
  /// Thumbnail strip height (thumbnails are scaled to it).
  public static let thumbnailHeight = 48
  static let bandHeight = 14
  static let rowHeight = 18
  static let gap = 6

  /// Width of the plot in pixels.
  public static var plotWidth: Int { width - left - right }
  /// Height of a legend line.
  static let legendHeight = 14

  /// The label column: the standard one, or as wide as the longest row label needs (in the
  /// raster font, and at 7 px a character for the SVG's sans-serif 11 px).
  var left: Int {
    let labels = ["frames", "timeline", "truth"] + bands.map(\.name)
    let widest = labels.map { max(RGBImage.textWidth($0, scale: 1), $0.count * 7) }.max() ?? 0
    return max(Self.left, widest + 12)
  }

  /// The width of this picture: the label column, the plot, the right margin.
  public var pictureWidth: Int { left + Self.plotWidth + Self.right }

  /// Classes of the segments and the truth that have no band, each once, in order of first
  /// appearance: the legend names them, since their segments are the only place they appear.
  var legend: [(name: String, colour: Int)] {
    let banded = Set(bands.map(\.name))
    var seen = Set<String>()
    var out: [(name: String, colour: Int)] = []
    for s in segments + (truth ?? []) where !banded.contains(s.name) && !seen.contains(s.name) {
      seen.insert(s.name)
      out.append((s.name, s.colour))
    }
    return out
  }

  /// The legend's entries laid out in lines that fit the plot's width: each entry's x (from
  /// the label column) and line.
  var legendLayout: [(name: String, colour: Int, x: Int, line: Int)] {
    var out: [(name: String, colour: Int, x: Int, line: Int)] = []
    var (x, line) = (0, 0)
    for entry in legend {
      let w = 14 + max(RGBImage.textWidth(entry.name, scale: 1), entry.name.count * 7) + 12
      if x > 0 && x + w > Self.plotWidth { (x, line) = (0, line + 1) }
      out.append((entry.name, entry.colour, x, line))
      x += w
    }
    return out
  }

  /// The text of a segment `w` pixels wide: its name with its probability, else its name,
  /// else nil (never part of a name); `measure` gives a text's width in pixels.
  static func segmentText(_ span: Span, width w: Double, measure: (String) -> Double) -> String? {
    let withProb = span.prob.map { span.name + " " + String(format: "%.2f", $0) }
    for text in [withProb, span.name].compactMap({ $0 }) where measure(text) + 6 <= w {
      return text
    }
    return nil
  }

  /// The top of each row, and the full height.
  struct Rows {
    var thumbs: Int
    var bands: Int
    var segments: Int
    var truth: Int?
    var axis: Int
    var height: Int
  }

  var rows: Rows {
    let thumbs = Self.titleHeight
    let bands = thumbs + (thumbnails.isEmpty ? 0 : Self.thumbnailHeight + Self.gap)
    let segments = bands + self.bands.count * Self.bandHeight + Self.gap
    var next = segments + Self.rowHeight + Self.gap
    var truthTop: Int? = nil
    if truth != nil {
      truthTop = next
      next += Self.rowHeight + Self.gap
    }
    let axis = next
    let legendLines = (legendLayout.map(\.line).max() ?? -1) + 1
    return Rows(
      thumbs: thumbs, bands: bands, segments: segments, truth: truthTop, axis: axis,
      height: axis + 30 + (note == nil ? 0 : 14) + legendLines * Self.legendHeight)
  }

  /// x of time `t` seconds, with the label column `left` (measured once by the caller: `left`
  /// measures every row label).
  func x(_ t: Double, left: Int? = nil) -> Double {
    let left = Double(left ?? self.left)
    guard duration > 0 else { return left }
    return left + min(max(t / duration, 0), 1) * Double(Self.plotWidth)
  }

  /// Tick step in seconds: the smallest of 1-2-5 × 10ⁿ (and minutes) giving at most 10 ticks.
  var tickStep: Double {
    let steps: [Double] = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600]
    return steps.first { duration / $0 <= 10 } ?? (duration / 10).rounded(.up)
  }

  static func clock(_ t: Double, step: Double) -> String {
    if step >= 60 { return ProgressBar.clock(t) }
    return step < 1 ? String(format: "%.1fs", t) : String(format: "%.0fs", t)
  }

  // MARK: SVG

  /// A standalone SVG document; thumbnails are embedded as PNG data.
  /// - Throws: `VideoError` when a thumbnail cannot be encoded.
  public func svg() throws -> String {
    let r = rows
    let W = pictureWidth
    let left = self.left
    var s = """
      <svg xmlns="http://www.w3.org/2000/svg" width="\(W)" height="\(r.height)" \
      viewBox="0 0 \(W) \(r.height)" font-family="sans-serif" font-size="11">
      <rect width="100%" height="100%" fill="white"/>
      <text x="8" y="15" font-size="13" font-weight="bold">\(escape(title))</text>

      """
    func hex(_ c: (UInt8, UInt8, UInt8)) -> String {
      String(format: "#%02x%02x%02x", c.0, c.1, c.2)
    }
    func label(_ text: String, y: Int, height: Int) {
      s +=
        "<text x=\"\(left - 6)\" y=\"\(y + height / 2 + 4)\" text-anchor=\"end\">\(escape(text))</text>\n"
    }
    if !thumbnails.isEmpty {
      label("frames", y: r.thumbs, height: Self.thumbnailHeight)
      for t in thumbnails {
        let png = try ImageFile.encode(t.image, path: "thumbnail").base64EncodedString()
        let w = Double(t.image.width) * Double(Self.thumbnailHeight) / Double(t.image.height)
        s +=
          String(
            format:
              "<image x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" href=\"data:image/png;base64,",
            x(t.time, left: left) - w / 2, r.thumbs, w, Self.thumbnailHeight) + png + "\"/>\n"
      }
    }
    for (i, band) in bands.enumerated() {
      let y = r.bands + i * Self.bandHeight
      label(band.name, y: y, height: Self.bandHeight)
      s +=
        "<rect x=\"\(left)\" y=\"\(y)\" width=\"\(Self.plotWidth)\" height=\"\(Self.bandHeight - 1)\" fill=\"#f4f4f4\"/>\n"
      for c in band.cells where (c.prob ?? 0) > 0.005 {
        s += String(
          format:
            "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"%@\" fill-opacity=\"%.3f\"/>\n",
          x(c.start, left: left), y, max(0.5, x(c.end, left: left) - x(c.start, left: left)),
          Self.bandHeight - 1,
          hex(Self.colour(band.colour)),
          min(1, max(0, c.prob ?? 0)))
      }
    }
    func spanRow(_ spans: [Span], top: Int, name: String) {
      label(name, y: top, height: Self.rowHeight)
      for sp in spans {
        let x0 = x(sp.start, left: left)
        let w = max(0.5, x(sp.end, left: left) - x0)
        s += String(
          format:
            "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"%@\" stroke=\"white\"/>\n",
          x0, top, w, Self.rowHeight, hex(Self.colour(sp.colour)))
        // The name with its probability, else the name (about 6.2 px a character), else nothing.
        if let shown = Self.segmentText(sp, width: w, measure: { Double($0.count) * 6.2 }) {
          s += String(
            format: "<text x=\"%.2f\" y=\"%d\" fill=\"white\">%@</text>\n", x0 + 3, top + 13,
            escape(shown))
        }
      }
    }
    spanRow(segments, top: r.segments, name: "timeline")
    if let truth, let top = r.truth { spanRow(truth, top: top, name: "truth") }
    let axisY = r.axis + 4
    s +=
      "<line x1=\"\(left)\" y1=\"\(axisY)\" x2=\"\(W - Self.right)\" y2=\"\(axisY)\" stroke=\"#444\"/>\n"
    let step = tickStep
    var t = 0.0
    while t <= duration + 1e-9 {
      let px = x(t, left: left)
      s += String(
        format: "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\" stroke=\"#444\"/>\n", px, axisY,
        px, axisY + 4)
      s += String(
        format: "<text x=\"%.2f\" y=\"%d\" text-anchor=\"middle\">%@</text>\n", px, axisY + 16,
        Self.clock(t, step: step))
      t += step
    }
    if let note {
      s += "<text x=\"\(left)\" y=\"\(axisY + 32)\">\(escape(note))</text>\n"
    }
    let legendTop = axisY + 26 + (note == nil ? 0 : 14)
    for e in legendLayout {
      let y = legendTop + e.line * Self.legendHeight
      s +=
        "<rect x=\"\(left + e.x)\" y=\"\(y)\" width=\"10\" height=\"10\" fill=\"\(hex(Self.colour(e.colour)))\"/>"
        + "<text x=\"\(left + e.x + 14)\" y=\"\(y + 9)\">\(escape(e.name))</text>\n"
    }
    return s + "</svg>\n"
  }
}
