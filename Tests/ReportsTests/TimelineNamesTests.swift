import Foundation
import VideoIO
import XCTest

@testable import Reports

/// Class names in the timeline picture are never cut: the label column widens, a segment too
/// narrow for its name shows none (its colour is its band's), and classes without a band are
/// named in a legend.
final class TimelineNamesTests: XCTestCase {
  let inGame = "passing American football (in game)"
  let notInGame = "passing American football (not in game)"
  let truthOnly = "catching or throwing frisbee"

  func picture() -> TimelinePicture {
    TimelinePicture(
      title: "game.mp4: 3 windows, 3 segments", duration: 10, thumbnails: [],
      bands: [
        .init(
          name: inGame, colour: 0,
          cells: [.init(name: inGame, colour: 0, start: 0, end: 5, prob: 1)]),
        .init(
          name: notInGame, colour: 1,
          cells: [.init(name: notInGame, colour: 1, start: 5, end: 10, prob: 1)]),
      ],
      segments: [
        .init(name: inGame, colour: 0, start: 0, end: 9.9, prob: 0.9),
        .init(name: notInGame, colour: 1, start: 9.9, end: 10, prob: 0.8),
      ],
      truth: [
        .init(name: inGame, colour: 0, start: 0, end: 5),
        .init(name: truthOnly, colour: 7, start: 5, end: 10),
      ])
  }

  func testLongNamesWidenTheLabelColumn() throws {
    let p = picture()
    XCTAssertGreaterThanOrEqual(p.left, RGBImage.textWidth(notInGame, scale: 1) + 12)
    XCTAssertGreaterThanOrEqual(p.left, notInGame.count * 7 + 12)
    XCTAssertEqual(p.pictureWidth, p.left + TimelinePicture.plotWidth + 16)
    let image = p.raster()
    XCTAssertEqual(image.width, p.pictureWidth)
    XCTAssertNil(image.textFailure)
    // The row label of the second band starts inside the picture: ink left of the plot.
    let y = p.rows.bands + TimelinePicture.bandHeight + 6
    let inked = (0..<p.left).filter { image[$0, y].0 < 128 }
    XCTAssertGreaterThan(inked.first ?? 0, 0)
    XCTAssertLessThan(inked.first ?? p.left, p.left - RGBImage.textWidth(notInGame, scale: 1))

    let svg = try p.svg()
    XCTAssertTrue(svg.contains(">\(notInGame)</text>"), "the band label in full")
    XCTAssertTrue(svg.contains(">\(inGame) 0.90</text>"), "a wide segment: name and probability")
    // The narrow segment shows no part of its name: no text but the whole name anywhere.
    let texts = svg.components(separatedBy: "<text").dropFirst().compactMap {
      $0.split(separator: ">", maxSplits: 1).last?.components(separatedBy: "</text").first
    }
    for text in texts where notInGame.hasPrefix(text) || text.hasPrefix("passing") {
      XCTAssertTrue([inGame, notInGame, inGame + " 0.90"].contains(text), text)
    }
    // The truth-only class is named in the legend, in full.
    XCTAssertEqual(p.legend.map(\.name), [truthOnly])
    XCTAssertTrue(svg.contains(">\(truthOnly)</text>"))
    XCTAssertGreaterThan(image.height, p.rows.axis + 30)
  }

  /// A standard picture (short names) keeps the standard width and no legend.
  func testShortNamesKeepTheStandardLayout() {
    let p = TimelinePicture(
      title: "t", duration: 4, thumbnails: [],
      bands: [.init(name: "grow", colour: 6, cells: [])],
      segments: [.init(name: "grow", colour: 6, start: 0, end: 4, prob: 0.5)])
    XCTAssertEqual(p.pictureWidth, TimelinePicture.width)
    XCTAssertTrue(p.legend.isEmpty)
  }
}
