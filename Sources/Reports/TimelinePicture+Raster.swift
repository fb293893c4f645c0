import Foundation
import VideoIO

extension TimelinePicture {
  /// The picture as pixels, same layout as `svg()` (text through FreeType, `RGBImage.draw`);
  /// write it with `ImageFile.write` for a PNG.
  public func raster() -> RGBImage {
    let r = rows
    let left = self.left
    var image = RGBImage(width: pictureWidth, height: r.height, fill: (255, 255, 255))
    let ink: (UInt8, UInt8, UInt8) = (30, 30, 30)
    image.draw(text: title, x: 8, y: 6, colour: ink)

    // Row labels end 6 px left of the plot; the column is as wide as the longest needs.
    func label(_ text: String, y: Int, height: Int) {
      image.draw(
        text: text, x: left - 6 - RGBImage.textWidth(text, scale: 1), y: y + (height - 7) / 2,
        colour: ink)
    }
    if !thumbnails.isEmpty {
      label("frames", y: r.thumbs, height: Self.thumbnailHeight)
      for t in thumbnails {
        let h = Self.thumbnailHeight
        let w = max(1, t.image.width * h / max(1, t.image.height))
        let x0 = Int(x(t.time, left: left).rounded()) - w / 2
        for y in 0..<h {
          let sy = min(t.image.height - 1, y * t.image.height / h)
          for xx in 0..<w {
            let px = x0 + xx
            guard px >= 0, px < image.width else { continue }
            let sx = min(t.image.width - 1, xx * t.image.width / w)
            image[px, r.thumbs + y] = t.image[sx, sy]
          }
        }
      }
    }
    for (i, band) in bands.enumerated() {
      let y = r.bands + i * Self.bandHeight
      label(band.name, y: y, height: Self.bandHeight)
      fill(
        &image, x0: Double(left), x1: Double(left + Self.plotWidth), y: y,
        height: Self.bandHeight - 1,
        colour: (244, 244, 244), alpha: 1)
      for c in band.cells {
        fill(
          &image, x0: x(c.start, left: left), x1: x(c.end, left: left), y: y,
          height: Self.bandHeight - 1,
          colour: Self.colour(band.colour), alpha: min(1, max(0, c.prob ?? 0)))
      }
    }
    func spanRow(_ spans: [Span], top: Int, name: String) {
      label(name, y: top, height: Self.rowHeight)
      for sp in spans {
        let x0 = x(sp.start, left: left)
        let x1 = x(sp.end, left: left)
        fill(
          &image, x0: x0, x1: x1, y: top, height: Self.rowHeight, colour: Self.colour(sp.colour),
          alpha: 1)
        // A white line between segments.
        fill(
          &image, x0: x1 - 1, x1: x1, y: top, height: Self.rowHeight, colour: (255, 255, 255),
          alpha: 1)
        // The name with its probability, else the name, else nothing (the colour is its band's).
        let measure = { (text: String) in Double(RGBImage.textWidth(text, scale: 1)) }
        if let text = Self.segmentText(sp, width: x1 - x0, measure: measure) {
          image.draw(
            text: text, x: Int(x0) + 3, y: top + (Self.rowHeight - 7) / 2, colour: (255, 255, 255))
        }
      }
    }
    spanRow(segments, top: r.segments, name: "timeline")
    if let truth, let top = r.truth { spanRow(truth, top: top, name: "truth") }
    let axisY = r.axis + 4
    fill(
      &image, x0: Double(left), x1: Double(left + Self.plotWidth), y: axisY, height: 1,
      colour: (68, 68, 68), alpha: 1)
    let step = tickStep
    var t = 0.0
    while t <= duration + 1e-9 {
      let px = x(t, left: left)
      fill(
        &image, x0: px.rounded(.down), x1: px.rounded(.down) + 1, y: axisY, height: 5,
        colour: (68, 68, 68), alpha: 1)
      let text = Self.clock(t, step: step)
      image.draw(
        text: text, x: Int(px) - RGBImage.textWidth(text, scale: 1) / 2, y: axisY + 8, colour: ink)
      t += step
    }
    if let note { image.draw(text: note, x: left, y: axisY + 22, colour: ink) }
    let legendTop = axisY + 20 + (note == nil ? 0 : 14)
    for e in legendLayout {
      let y = legendTop + e.line * Self.legendHeight
      fill(
        &image, x0: Double(left + e.x), x1: Double(left + e.x + 10), y: y, height: 10,
        colour: Self.colour(e.colour), alpha: 1)
      image.draw(text: e.name, x: left + e.x + 14, y: y + 1, colour: ink)
    }
    return image
  }

  /// Blends `colour` at opacity `alpha` over columns `[x0, x1)` (fractional edges covered in
  /// proportion) and rows `y ..< y + height`.
  private func fill(
    _ image: inout RGBImage, x0: Double, x1: Double, y: Int, height: Int,
    colour: (UInt8, UInt8, UInt8), alpha: Double
  ) {
    guard alpha > 0, x1 > x0 else { return }
    let first = max(0, Int(x0.rounded(.down)))
    let last = min(image.width - 1, Int(x1.rounded(.up)) - 1)
    guard first <= last else { return }
    for px in first...last {
      let cover = min(x1, Double(px + 1)) - max(x0, Double(px))
      let a = alpha * min(1, max(0, cover))
      guard a > 0 else { continue }
      for py in max(0, y)..<min(image.height, y + height) {
        let old = image[px, py]
        func mix(_ o: UInt8, _ n: UInt8) -> UInt8 {
          UInt8((Double(o) * (1 - a) + Double(n) * a).rounded())
        }
        image[px, py] = (mix(old.0, colour.0), mix(old.1, colour.1), mix(old.2, colour.2))
      }
    }
  }
}
