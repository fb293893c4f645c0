import Datasets
import Foundation
import VideoIO
import XCTest

final class ListDatasetTests: XCTestCase {
  /// Labels that are not classes are gathered from the errors' kinds, as written: a backtick in
  /// a name (which a message parser would cut short) and an integer out of range.
  func testUnknownLabelsComeFromTypedErrors() throws {
    let list = try ClipList(
      text: "a.avi w`x\nb.avi 5\nc.avi w`x\nd.avi q\ne.avi\n", path: "l.txt",
      labelNames: ["p", "q"], skipBadLines: true)
    XCTAssertEqual(
      ListDataset.unknownLabels(in: list, classes: 2, source: "labels.txt"),
      "l.txt: 3 entries have labels that are not among the 2 classes of labels.txt: "
        + "`w`x` ×2 (lines 1, 3), `5` ×1 (line 2)")
    let unnamed = try ClipList(text: "a.avi walk\nb.avi 0\n", path: "l.txt", skipBadLines: true)
    XCTAssertEqual(
      ListDataset.unknownLabels(in: unnamed, classes: 0, source: nil),
      "l.txt: 1 entry has a label that is a name, and no labels file names the classes: "
        + "`walk` ×1 (line 1); give --labels FILE (one class name per line)")
    let clean = try ClipList(text: "a.avi q\n", path: "l.txt", labelNames: ["p", "q"])
    XCTAssertNil(ListDataset.unknownLabels(in: clean, classes: 2, source: nil))
  }
}
