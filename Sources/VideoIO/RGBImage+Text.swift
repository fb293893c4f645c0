// Text on pictures (contact sheets, timelines, confusion matrices, the demo's sheets): drawn
// with a real font through FreeType (`FontFace`), anti-aliased, in the case it is written.
//
// Geometry at `scale` s: the face at 10·s pixels per em; `(x, y)` is the left end of the line
// at the top of its capital letters (the baseline lies a cap height, about 7·s, below `y`), so
// a line of capitals fills about the 7·s rows below `y`, descenders reach about 2·s further,
// and `textLineHeight` (10·s) is the pitch of lines. Widths are measured from the glyphs'
// advances (6·s per character with the default, monospaced face).

extension RGBImage {
  /// Pixels per em of the face at `scale`.
  static func fontPixels(scale: Int) -> Int { 10 * max(1, scale) }

  /// Height in pixels of one line of text at `scale`: its capitals, descenders and a gap.
  public static func textLineHeight(scale: Int) -> Int { 10 * max(1, scale) }

  /// Width in pixels of `text` at `scale`: the sum of its glyphs' advances (6·s per character
  /// when no font can be loaded; drawing then records the failure, see `textFailure`).
  public static func textWidth(_ text: String, scale: Int) -> Int {
    switch FontFace.shared {
    case .success(let face):
      return face.glyphs(of: text, pixels: fontPixels(scale: scale)).reduce(0) { $0 + $1.advance }
    case .failure:
      return text.unicodeScalars.count * 6 * max(1, scale)
    }
  }

  /// Draws `text` from (`x`, `y`), the left end of the line at the top of its capitals, in
  /// `colour` blended by each pixel's coverage, clipped to the image. A character the face
  /// lacks is drawn as its missing-glyph box. Without a font nothing is drawn and
  /// `textFailure` says why, so writing the image fails instead of showing a picture with its
  /// text missing.
  public mutating func draw(
    text: String, x: Int, y: Int, scale: Int = 1, colour: (UInt8, UInt8, UInt8)
  ) {
    let face: FontFace
    switch FontFace.shared {
    case .success(let loaded): face = loaded
    case .failure(let error):
      if !text.isEmpty, textFailure == nil { textFailure = error.message }
      return
    }
    let em = Self.fontPixels(scale: scale)
    let baseline = y + face.capHeight(pixels: em)
    var pen = x
    let ink = [Int(colour.0), Int(colour.1), Int(colour.2)]
    for glyph in face.glyphs(of: text, pixels: em) {
      let left = pen + glyph.left
      let top = baseline - glyph.top
      for r in 0..<glyph.rows {
        let py = top + r
        guard py >= 0, py < height else { continue }
        for c in 0..<glyph.width {
          let px = left + c
          let a = Int(glyph.coverage[r * glyph.width + c])
          guard a > 0, px >= 0, px < width else { continue }
          let i = (py * width + px) * 3
          // old + (ink − old)·a/255, rounded.
          for k in 0..<3 {
            let old = Int(pixels[i + k])
            pixels[i + k] = UInt8(old + ((ink[k] - old) * a + (ink[k] >= old ? 127 : -127)) / 255)
          }
        }
      }
      pen += glyph.advance
    }
  }
}
