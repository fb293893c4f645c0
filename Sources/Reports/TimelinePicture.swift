import Foundation
import VideoIO

/// A picture of a timeline: a time axis, a strip of thumbnails, one band per class that is
/// ever on top (each window a cell whose opacity is the class's probability), the merged
/// segments labelled, and optionally the ground truth below them. Drawn as SVG (`svg()`) or as
/// pixels (`raster()`, same layout, the 5×7 bitmap font), from the same layout.
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
      self.name = name
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
      self.name = name
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
    self.title = title
    self.duration = duration > 0 ? duration : 1
    self.thumbnails = thumbnails
    self.bands = bands
    self.segments = segments
    self.truth = truth
    self.note = note
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

  /// Picture width; the plot spans `left ..< width − right`.
  public static let width = 960
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
    return Rows(
      thumbs: thumbs, bands: bands, segments: segments, truth: truthTop, axis: axis,
      height: axis + 30 + (note == nil ? 0 : 14))
  }

  /// x of time `t` seconds.
  func x(_ t: Double) -> Double {
    guard duration > 0 else { return Double(Self.left) }
    return Double(Self.left) + min(max(t / duration, 0), 1) * Double(Self.plotWidth)
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
    let W = Self.width
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
        "<text x=\"\(Self.left - 6)\" y=\"\(y + height / 2 + 4)\" text-anchor=\"end\">\(escape(text))</text>\n"
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
            x(t.time) - w / 2, r.thumbs, w, Self.thumbnailHeight) + png + "\"/>\n"
      }
    }
    for (i, band) in bands.enumerated() {
      let y = r.bands + i * Self.bandHeight
      label(band.name, y: y, height: Self.bandHeight)
      s +=
        "<rect x=\"\(Self.left)\" y=\"\(y)\" width=\"\(Self.plotWidth)\" height=\"\(Self.bandHeight - 1)\" fill=\"#f4f4f4\"/>\n"
      for c in band.cells where (c.prob ?? 0) > 0.005 {
        s += String(
          format:
            "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"%@\" fill-opacity=\"%.3f\"/>\n",
          x(c.start), y, max(0.5, x(c.end) - x(c.start)), Self.bandHeight - 1,
          hex(Self.colour(band.colour)),
          min(1, max(0, c.prob ?? 0)))
      }
    }
    func spanRow(_ spans: [Span], top: Int, name: String) {
      label(name, y: top, height: Self.rowHeight)
      for sp in spans {
        let x0 = x(sp.start)
        let w = max(0.5, x(sp.end) - x0)
        s += String(
          format:
            "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"%@\" stroke=\"white\"/>\n",
          x0, top, w, Self.rowHeight, hex(Self.colour(sp.colour)))
        let text = sp.prob.map { String(format: "%@ %.2f", sp.name, $0) } ?? sp.name
        // The name with its probability, else as much of the name as fits (about 6.2 px a character).
        let fits = Int((w - 6) / 6.2)
        let shown = text.count <= fits ? text : String(sp.name.prefix(fits))
        if shown.count >= 3 {
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
      "<line x1=\"\(Self.left)\" y1=\"\(axisY)\" x2=\"\(W - Self.right)\" y2=\"\(axisY)\" stroke=\"#444\"/>\n"
    let step = tickStep
    var t = 0.0
    while t <= duration + 1e-9 {
      let px = x(t)
      s += String(
        format: "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\" stroke=\"#444\"/>\n", px, axisY,
        px, axisY + 4)
      s += String(
        format: "<text x=\"%.2f\" y=\"%d\" text-anchor=\"middle\">%@</text>\n", px, axisY + 16,
        Self.clock(t, step: step))
      t += step
    }
    if let note {
      s += "<text x=\"\(Self.left)\" y=\"\(axisY + 32)\">\(escape(note))</text>\n"
    }
    return s + "</svg>\n"
  }
}
