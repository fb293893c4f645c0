import Foundation
import VideoIO
import XCTest

@testable import Reports

/// The timeline picture: the same layout as SVG and as pixels.
final class TimelinePictureTests: XCTestCase {
  func picture(truth: Bool) -> TimelinePicture {
    let thumb = RGBImage(width: 48, height: 48, fill: (0, 200, 0))
    return TimelinePicture(
      title: "clip.mkv", duration: 10, thumbnails: [(2.5, thumb), (7.5, thumb)],
      bands: [
        .init(
          name: "move_left", colour: 0,
          cells: [.init(name: "move_left", colour: 0, start: 0, end: 5, prob: 0.9)]),
        .init(
          name: "grow", colour: 6,
          cells: [.init(name: "grow", colour: 6, start: 5, end: 10, prob: 0.5)]),
      ],
      segments: [
        .init(name: "move_left", colour: 0, start: 0, end: 5, prob: 0.9),
        .init(name: "grow", colour: 6, start: 5, end: 10, prob: 0.5),
      ],
      truth: truth
        ? [
          .init(name: "move_left", colour: 0, start: 0, end: 6),
          .init(name: "grow", colour: 6, start: 6, end: 10),
        ] : nil,
      note: truth ? "agreement 90%" : nil)
  }

  func testTimelinePictureSVGHasThumbnailsBandsSegmentsAndTruth() throws {
    let svg = try picture(truth: true).svg()
    XCTAssertTrue(svg.hasPrefix("<svg"))
    XCTAssertEqual(svg.components(separatedBy: "data:image/png;base64,").count - 1, 2)
    XCTAssertTrue(svg.contains("fill-opacity=\"0.900\""))
    XCTAssertTrue(svg.contains(">move_left 0.90<"))
    XCTAssertTrue(svg.contains(">truth<"))
    XCTAssertTrue(svg.contains(">agreement 90%<"))
    XCTAssertFalse(try picture(truth: false).svg().contains(">truth<"))
  }

  func testTimelinePictureRasterLayout() {
    let with = picture(truth: true).raster()
    let without = picture(truth: false).raster()
    XCTAssertEqual(with.width, TimelinePicture.width)
    XCTAssertGreaterThan(with.height, without.height)
    let p = picture(truth: true)
    let rows = p.rows
    // A thumbnail pixel at 2.5 s, the first band at full colour × 0.9 over white.
    XCTAssertEqual(with[Int(p.x(2.5)), rows.thumbs + 10].1, 200)
    let c = with[Int(p.x(1)), rows.bands + 5]
    XCTAssertEqual(Int(c.0), Int((244 * 0.1 + 0x1f * 0.9).rounded()), accuracy: 1)
    // Segment row in the class colour.
    XCTAssertEqual(with[Int(p.x(4.9)) - 2, rows.segments + 1].0, 0x1f)
  }
}
