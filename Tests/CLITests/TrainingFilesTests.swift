import Foundation
import XCTest
import _TestSupport

/// The `__metadata__` strings of a safetensors file (read without the package's reader).
func safetensorsMetadata(_ path: String) throws -> [String: String] {
  let data = try Data(contentsOf: URL(fileURLWithPath: path))
  let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
  let header = try XCTUnwrap(
    JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as? [String: Any])
  return try XCTUnwrap(header["__metadata__"] as? [String: String])
}

/// Provenance without the folders of the machine, write errors as one line, and a test run
/// that fails (not skips) when the binary is missing.
final class TrainingFilesTests: TemporaryFolderTestCase {
  /// The shipped model records file names and checksums, not the paths of the machine that made it.
  func testShippedModelProvenanceHasNoPaths() throws {
    let provenance = try XCTUnwrap(
      try safetensorsMetadata(clips("default-model.safetensors"))["provenance"])
    XCTAssertFalse(provenance.contains("/"), provenance)
  }

  /// `eval --confusion` into a folder that does not exist: one line naming the file.
  func testConfusionWriteErrorIsOneLine() throws {
    let list = folder.appendingPathComponent("two.txt").path
    try "\(clips("val/0000.mkv")) 0\n\(clips("val/0001.mkv")) 1\n".write(
      toFile: list, atomically: true, encoding: .utf8)
    let target = folder.appendingPathComponent("no/such/folder/confusion.svg").path
    let run = try runVCoSwin(
      [
        "eval", "--list", list, "--checkpoint", clips("default-model.safetensors"), "--json",
        "--confusion", target,
      ],
      bundleOf: Self.self)
    XCTAssertFalse(run.crashed)
    XCTAssertEqual(run.status, 1)
    XCTAssertEqual(run.diagnostics.split(separator: "\n").count, 1, run.stderr)
    XCTAssertTrue(run.diagnostics.hasPrefix("error: \(target): "), run.stderr)
  }

  /// Without the binary, CLI tests fail rather than skip; `make test` builds it.
  func testMissingBinaryIsAFailure() throws {
    XCTAssertThrowsError(try vcoswinBinary(near: folder)) { error in
      XCTAssertFalse(error is XCTSkip, "\(error)")
    }
    XCTAssertNoThrow(try vcoswinBinary(near: Bundle(for: Self.self).bundleURL))
  }
}
