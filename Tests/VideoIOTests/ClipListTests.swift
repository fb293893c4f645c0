import VideoIO
import XCTest

final class ClipListTests: XCTestCase {
  func testParsesPathsLabelsCommentsAndNames() throws {
    let text = """
      # a comment
      train/0000.avi 3
      /abs/clip one.mp4 grow   # spaces in the path, a label name

      train/0002.avi\t0
      """
    let list = try ClipList(text: text, path: "/data/list.txt", labelNames: ["a", "b", "c", "d", "grow"])
    XCTAssertEqual(list.entries, [
      .init(path: "/data/train/0000.avi", label: 3, line: 2),
      .init(path: "/abs/clip one.mp4", label: 4, line: 3),
      .init(path: "/data/train/0002.avi", label: 0, line: 5),
    ])
  }

  func testErrorsNameFileAndLine() {
    func message(_ text: String, names: [String] = [], classes: Int? = nil) -> String {
      do {
        _ = try ClipList(text: text, path: "l.txt", labelNames: names, classCount: classes)
        return "no error"
      } catch { return String(describing: error) }
    }
    XCTAssertEqual(message("a.avi 1\nb.avi\n"), "l.txt:2: expected `path label`")
    XCTAssertEqual(message("a.avi x"), "l.txt:1: label `x` is not an integer")
    XCTAssertEqual(message("a.avi x", names: ["y"]), "l.txt:1: unknown label `x`")
    XCTAssertEqual(message("\n\na.avi 9", classes: 8), "l.txt:3: label 9 out of range 0..<8")
    XCTAssertEqual(message("a.avi -1"), "l.txt:1: label -1 out of range ≥ 0")
    XCTAssertThrowsError(try ClipList(contentsOf: "/no/such/list.txt")) {
      XCTAssertEqual(String(describing: $0), "/no/such/list.txt: cannot read the list")
    }
  }
}
