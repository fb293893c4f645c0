// The font of the text in pictures: one TrueType face loaded with FreeType, its glyphs rendered
// anti-aliased (8-bit coverage) at a pixel size and cached.
//
// The face is DejaVu Sans Mono (Debian's fonts-dejavu-core), found at a fixed list of
// distribution paths, or the file `VCOSWIN_FONT` names. A monospaced face keeps the layouts of
// the pictures simple: every character advances the same width (6 px at 10 px).

import CFreeType
import Foundation

/// A font that cannot be loaded: the reason, naming the files tried.
public struct FontError: Error, CustomStringConvertible, Sendable, Equatable {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// One glyph rendered at one pixel size: `coverage[row · width + column]`, 0 … 255, with its
/// placement relative to the pen on the baseline.
struct RenderedGlyph: Sendable {
  /// Bitmap size in pixels.
  var width: Int
  var rows: Int
  /// Pixels from the pen to the bitmap's left column, and from the baseline up to its top row.
  var left: Int
  var top: Int
  /// Pixels the pen moves right after the glyph.
  var advance: Int
  /// `rows × width` coverage bytes, rows top to bottom.
  var coverage: [UInt8]
}

/// A FreeType face with a cache of rendered glyphs. FreeType objects are not thread-safe: every
/// call goes through `lock`.
final class FontFace: @unchecked Sendable {
  /// The environment variable naming a font file to use instead of the default.
  static let fileVariable = "VCOSWIN_FONT"

  /// Where distributions put DejaVu Sans Mono: Debian and Ubuntu (`fonts-dejavu-core`), Fedora,
  /// Arch, Alpine, openSUSE.
  static let candidates = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/dejavu-sans-mono-fonts/DejaVuSansMono.ttf",
    "/usr/share/fonts/TTF/DejaVuSansMono.ttf",
    "/usr/share/fonts/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/DejaVuSansMono.ttf",
  ]

  /// The face every picture uses, loaded on first use; the error says why there is none.
  static let shared: Result<FontFace, FontError> = Result { () throws(FontError) -> FontFace in
    try FontFace(path: locate(environment: ProcessInfo.processInfo.environment))
  }

  /// The font file to load: `VCOSWIN_FONT` when set (it must exist), else the first of
  /// `candidates` that exists.
  static func locate(environment: [String: String]) throws(FontError) -> String {
    if let chosen = environment[fileVariable], !chosen.isEmpty {
      guard FileManager.default.fileExists(atPath: chosen) else {
        throw FontError("\(fileVariable)=\(chosen): no such font file")
      }
      return chosen
    }
    guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) })
    else {
      throw FontError(
        "no font for the picture's text: none of \(candidates.joined(separator: ", ")) exists; "
          + "install fonts-dejavu-core, or set \(fileVariable) to a TrueType file")
    }
    return found
  }

  let path: String
  private let lock = NSLock()
  private var library: FT_Library?
  private var face: FT_Face?
  /// Rendered glyphs by pixel size and character.
  private var glyphs: [Int: [Unicode.Scalar: RenderedGlyph]] = [:]
  /// Cap height (the top of `H` above the baseline) by pixel size.
  private var capHeights: [Int: Int] = [:]

  /// Loads the face in `path` (its first face, for a collection).
  init(path: String) throws(FontError) {
    self.path = path
    var library: FT_Library?
    guard FT_Init_FreeType(&library) == 0, let library else {
      throw FontError("FreeType could not start")
    }
    var face: FT_Face?
    let status = FT_New_Face(library, path, 0, &face)
    guard status == 0, let face else {
      FT_Done_FreeType(library)
      throw FontError("\(path): not a font FreeType can read (FreeType error \(status))")
    }
    self.library = library
    self.face = face
  }

  deinit {
    if let face { FT_Done_Face(face) }
    if let library { FT_Done_FreeType(library) }
  }

  /// The glyph of `scalar` at `pixels` pixels per em (the font's missing-glyph box when the
  /// face has none; an empty glyph when even that cannot be rendered).
  func glyph(_ scalar: Unicode.Scalar, pixels: Int) -> RenderedGlyph {
    lock.lock()
    defer { lock.unlock() }
    return cachedGlyph(scalar, pixels: pixels)
  }

  /// The glyphs of `text` at `pixels` per em, in order, under one lock.
  func glyphs(of text: String, pixels: Int) -> [RenderedGlyph] {
    lock.lock()
    defer { lock.unlock() }
    return text.unicodeScalars.map { cachedGlyph($0, pixels: pixels) }
  }

  /// Pixels from the baseline up to the top of a capital letter at `pixels` per em.
  func capHeight(pixels: Int) -> Int {
    lock.lock()
    defer { lock.unlock() }
    if let known = capHeights[pixels] { return known }
    let top = max(1, cachedGlyph("H", pixels: pixels).top)
    capHeights[pixels] = top
    return top
  }

  /// Call with `lock` held.
  private func cachedGlyph(_ scalar: Unicode.Scalar, pixels: Int) -> RenderedGlyph {
    if let known = glyphs[pixels]?[scalar] { return known }
    let rendered = render(scalar, pixels: pixels)
    glyphs[pixels, default: [:]][scalar] = rendered
    return rendered
  }

  /// Call with `lock` held.
  private func render(_ scalar: Unicode.Scalar, pixels: Int) -> RenderedGlyph {
    let empty = RenderedGlyph(
      width: 0, rows: 0, left: 0, top: 0, advance: (pixels * 6 + 5) / 10, coverage: [])
    guard let face, FT_Set_Pixel_Sizes(face, 0, FT_UInt(pixels)) == 0 else { return empty }
    let index = FT_Get_Char_Index(face, FT_ULong(scalar.value))
    guard FT_Load_Glyph(face, index, vc_ft_load_render()) == 0, let slot = face.pointee.glyph
    else { return empty }
    let bitmap = slot.pointee.bitmap
    let (width, rows) = (Int(bitmap.width), Int(bitmap.rows))
    var coverage = [UInt8](repeating: 0, count: width * rows)
    if Int32(bitmap.pixel_mode) == vc_ft_pixel_mode_gray(), let buffer = bitmap.buffer {
      let pitch = Int(bitmap.pitch)
      for r in 0..<rows {
        // A negative pitch stores rows bottom-up: row r starts at −r·pitch from the last.
        let start = pitch >= 0 ? r * pitch : (rows - 1 - r) * -pitch
        for c in 0..<width { coverage[r * width + c] = buffer[start + c] }
      }
    }
    return RenderedGlyph(
      width: width, rows: rows, left: Int(slot.pointee.bitmap_left),
      top: Int(slot.pointee.bitmap_top), advance: Int((slot.pointee.advance.x + 32) >> 6),
      coverage: coverage)
  }
}
