import Foundation
import Reports
import SafeTensors
import TerminalText
import VideoIO

/// The picture formats `eval --confusion` writes, by file extension.
enum ConfusionPictureFormat: String, CaseIterable {
  case svg, png

  /// The format a path's extension names, or an error naming the path and the extensions
  /// that work (never SVG bytes under another name).
  init(path: String) throws {
    let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
    guard let format = ConfusionPictureFormat(rawValue: ext) else {
      throw CommandFailure(
        "--confusion \(path): unknown picture extension \(ext.isEmpty ? "(none)" : "." + ext); use .svg or .png"
      )
    }
    self = format
  }
}

extension ConfusionMatrix {
  /// The matrix as a raster image, drawn like `svg(title:)`: title, class names on both axes
  /// (rows: true, columns: predicted, written upwards), row-normalised shades, counts in the
  /// cells. Names are drawn through FreeType, as written (`RGBImage.draw(text:)`), with their
  /// control characters as escapes (`escapedForTerminal`), as the SVG and the terminal show them.
  func image(title raw: String) -> RGBImage {
    let (title, labels) = (raw.escapedForTerminal, labels.map(\.escapedForTerminal))
    let k = counts.count
    let scale = 2
    let lineHeight = RGBImage.textLineHeight(scale: scale)
    let cell = Swift.max(
      40, RGBImage.textWidth(String(counts.flatMap { $0 }.max() ?? 0), scale: 1) + 8)
    // The widest name as drawn: the margins hold every name whole.
    let longest = labels.map { RGBImage.textWidth($0, scale: scale) }.max() ?? 0
    let left = 10 + lineHeight + 6 + longest + 8
    let top = 10 + lineHeight + 8 + lineHeight + 6 + longest + 8
    let grid = cell * k
    let width = Swift.max(left + grid + 10, 20 + RGBImage.textWidth(title, scale: scale))
    var image = RGBImage(width: width, height: top + grid + 10, fill: (255, 255, 255))
    let black: (UInt8, UInt8, UInt8) = (0, 0, 0)
    let grey: (UInt8, UInt8, UInt8) = (90, 90, 90)
    image.draw(text: title, x: 10, y: 10, scale: scale, colour: black)
    let predicted = "predicted"
    image.draw(
      text: predicted, x: left + (grid - RGBImage.textWidth(predicted, scale: scale)) / 2,
      y: 10 + lineHeight + 8, scale: scale, colour: grey)
    image.drawUpwards(text: "true", x: 10, centerY: top + grid / 2, scale: scale, colour: grey)
    for t in 0..<k {
      let name = labels[t]
      let w = RGBImage.textWidth(name, scale: scale)
      image.draw(
        text: name, x: left - 8 - w, y: top + t * cell + (cell - lineHeight) / 2 + scale,
        scale: scale, colour: black)
      image.drawUpwards(
        text: name, x: left + t * cell + (cell - lineHeight) / 2 + scale, bottom: top - 8,
        scale: scale, colour: black)
      let n = Swift.max(1, counts[t].reduce(0, +))
      for p in 0..<k {
        let f = Double(counts[t][p]) / Double(n)
        let colour = ConfusionMatrix.shade(f)
        image.fill(
          x: left + p * cell, y: top + t * cell, width: cell, height: cell, colour: colour,
          border: (204, 204, 204))
        let text = String(counts[t][p])
        let countScale = RGBImage.textWidth(text, scale: 2) + 6 <= cell ? 2 : 1
        let tw = RGBImage.textWidth(text, scale: countScale)
        image.draw(
          text: text, x: left + p * cell + (cell - tw) / 2 + countScale,
          y: top + t * cell + (cell - 7 * countScale) / 2, scale: countScale,
          colour: f > 0.6 ? (255, 255, 255) : black)
      }
    }
    return image
  }
}

extension RGBImage {
  /// Fills a rectangle (clipped to the image), with a one-pixel border.
  mutating func fill(
    x: Int, y: Int, width w: Int, height h: Int, colour: (UInt8, UInt8, UInt8),
    border: (UInt8, UInt8, UInt8)
  ) {
    for py in Swift.max(0, y)..<Swift.min(height, y + h) {
      for px in Swift.max(0, x)..<Swift.min(width, x + w) {
        let edge = px == x || py == y || px == x + w - 1 || py == y + h - 1
        let c = edge ? border : colour
        let i = (py * width + px) * 3
        pixels[i] = c.0
        pixels[i + 1] = c.1
        pixels[i + 2] = c.2
      }
    }
  }

  /// Draws `text` turned a quarter left (read bottom to top), its baseline side at `x`, its
  /// last character ending at `bottom`.
  mutating func drawUpwards(
    text: String, x: Int, bottom: Int, scale: Int, colour: (UInt8, UInt8, UInt8)
  ) {
    let w = RGBImage.textWidth(text, scale: scale)
    let h = RGBImage.textLineHeight(scale: scale)
    var strip = RGBImage(width: w, height: h, fill: (255, 255, 255))
    strip.draw(text: text, x: 0, y: 0, scale: scale, colour: colour)
    // Strip pixel (sx, sy) goes to (x + sy, bottom - sx): a quarter turn anticlockwise.
    for sy in 0..<h {
      for sx in 0..<w {
        let si = (sy * w + sx) * 3
        guard strip.pixels[si] != 255 || strip.pixels[si + 1] != 255 || strip.pixels[si + 2] != 255
        else { continue }
        let (px, py) = (x + sy, bottom - sx)
        guard px >= 0, py >= 0, px < width, py < height else { continue }
        let i = (py * width + px) * 3
        pixels[i] = strip.pixels[si]
        pixels[i + 1] = strip.pixels[si + 1]
        pixels[i + 2] = strip.pixels[si + 2]
      }
    }
  }

  /// `drawUpwards` centred on `centerY`.
  mutating func drawUpwards(
    text: String, x: Int, centerY: Int, scale: Int, colour: (UInt8, UInt8, UInt8)
  ) {
    drawUpwards(
      text: text, x: x, bottom: centerY + RGBImage.textWidth(text, scale: scale) / 2, scale: scale,
      colour: colour)
  }
}

/// Writes `matrix` to `path` as SVG or PNG, by its extension (checked before any work with
/// `ConfusionPictureFormat(path:)`); atomic, a failure is one line naming the file.
func writeConfusion(_ matrix: ConfusionMatrix, title: String, to path: String) throws {
  switch try ConfusionPictureFormat(path: path) {
  case .svg:
    try AtomicFile.write(matrix.svg(title: title), to: path)
  case .png:
    try ImageFile.write(matrix.image(title: title), to: path)
  }
}
