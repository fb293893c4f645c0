import Foundation
import XCTest
import _TestSupport

/// A file that is not a checkpoint, given where one is expected, is named for what it is by
/// every command that takes a checkpoint.
final class CheckpointKindTests: TemporaryFolderTestCase {

  func assertRefused(_ arguments: [String], _ message: String, line: UInt = #line) throws {
    let r = try runVCoSwin(arguments, bundleOf: Self.self, seconds: 120)
    XCTAssertFalse(r.crashed || r.hung, "\(arguments): \(r.stderr)", line: line)
    XCTAssertEqual(r.status, 1, "\(arguments): \(r.stderr)", line: line)
    XCTAssertTrue(r.stderr.contains("error: " + message), "\(arguments): \(r.stderr)", line: line)
  }

  func testVideosAndImagesAreNotCheckpoints() throws {
    let video = clips("val/0000.mkv")
    let image = clips("images/val/0000.png")
    let videoMessage = "\(video): this is a video (Matroska/WebM), not a checkpoint"
    try assertRefused(["classify", clips("val/0001.mkv"), "--checkpoint", video], videoMessage)
    try assertRefused(["info", video], videoMessage)
    try assertRefused(
      ["import", "--from", video, "--out", path("x.safetensors")], videoMessage)
    try assertRefused(
      ["inflate", "--from", image, "--to", path("y.safetensors")],
      "\(image): this is an image (PNG), not a checkpoint")
    try assertRefused(
      [
        "finetune", "--train", clips("val.txt"), "--val", clips("val.txt"), "--init", video,
        "--out", path("run"), "--epochs", "1",
      ], videoMessage)
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.safetensors")))
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("y.safetensors")))
  }
}
