import Foundation
import XCTest
import _TestSupport

@testable import VideoIO

/// Text on pictures: a real font (FreeType, DejaVu Sans Mono), anti-aliased, in the case it is
/// written; a missing font is an error when the picture is written.
final class TextRenderingTests: TemporaryFolderTestCase {
  /// `text` drawn black at (4, 4) on a white image just large enough.
  func drawn(_ text: String, scale: Int = 1) -> RGBImage {
    var image = RGBImage(
      width: RGBImage.textWidth(text, scale: scale) + 8,
      height: RGBImage.textLineHeight(scale: scale) + 8, fill: (255, 255, 255))
    image.draw(text: text, x: 4, y: 4, scale: scale, colour: (0, 0, 0))
    return image
  }

  /// Rows `rows` of `image` that hold any ink.
  func inkedRows(_ image: RGBImage) -> [Int] {
    (0..<image.height).filter { y in (0..<image.width).contains { image[$0, y].0 < 200 } }
  }

  func testTextKeepsItsCaseAndIsAntiAliased() throws {
    _ = try FontFace.shared.get()  // the font is installed (fonts-dejavu-core)
    let lower = drawn("best.safetensors")
    let upper = drawn("BEST.SAFETENSORS")
    XCTAssertEqual(lower.width, upper.width, "a monospaced face: one width per character")
    XCTAssertNotEqual(lower.pixels, upper.pixels, "lower case is drawn as lower case")
    XCTAssertNil(lower.textFailure)
    // Coverage between none and full: grey edge pixels, not only black and white.
    let greys = Set(lower.pixels).filter { $0 > 20 && $0 < 235 }
    XCTAssertGreaterThan(greys.count, 10)
    // Characters advance 6 px at 10 px per em, 12 px at scale 2.
    XCTAssertEqual(RGBImage.textWidth("abc", scale: 1), 18)
    XCTAssertEqual(RGBImage.textWidth("abc", scale: 2), 36)
  }

  /// `y` is the top of the capitals: `H` inks rows y … y + 6 (about 7 px at scale 1), and a
  /// descender reaches below the baseline but within the line height.
  func testTextSitsOnItsLine() {
    let capitals = inkedRows(drawn("HE"))
    XCTAssertEqual(capitals.first, 4)
    XCTAssertEqual(capitals.last.map { $0 - 4 + 1 } ?? 0, 7, accuracy: 1)
    let descender = inkedRows(drawn("gy"))
    XCTAssertGreaterThan(descender.last ?? 0, capitals.last ?? 0)
    XCTAssertLessThan(descender.last ?? 99, 4 + RGBImage.textLineHeight(scale: 1))
  }

  /// Names outside ASCII are drawn, not replaced by a question mark.
  func testUnicodeIsDrawn() {
    XCTAssertNotEqual(drawn("café").pixels, drawn("cafe").pixels)
  }

  /// The font file: `VCOSWIN_FONT` when set (a missing file is an error naming it), else the
  /// first distribution path that exists; none at all is an error naming the paths and the
  /// package to install. An image whose text could not be drawn is not written.
  func testMissingFontIsAnErrorWhenThePictureIsWritten() throws {
    XCTAssertThrowsError(try FontFace.locate(environment: ["VCOSWIN_FONT": "/no/such.ttf"])) {
      XCTAssertEqual("\($0)", "VCOSWIN_FONT=/no/such.ttf: no such font file")
    }
    XCTAssertEqual(
      try FontFace.locate(environment: [:]), "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
    XCTAssertThrowsError(try FontFace(path: "/etc/hostname")) {
      XCTAssertTrue("\($0)".hasPrefix("/etc/hostname: not a font FreeType can read"), "\($0)")
    }
    var image = RGBImage(width: 8, height: 8)
    image.textFailure = "no font for the picture's text: …"
    let png = path("sheet.png")
    XCTAssertThrowsError(try ImageFile.write(image, to: png)) {
      XCTAssertEqual(
        "\($0)", "\(png): cannot draw the picture's text: no font for the picture's text: …")
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: png))
    // A contact sheet of such frames carries the failure on.
    XCTAssertNotNil(ContactSheet.render(rows: [[image]]).textFailure)
  }
}
