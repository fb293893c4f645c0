import Foundation
@testable import Models
import SafeTensors
import XCTest
import _TestSupport

/// `--recompute-activations` trains to the same weights, and is not a recorded option.
final class RecomputeCommandTests: TemporaryFolderTestCase {
  func vcoswin(_ arguments: [String]) throws -> CLIRun {
    try runVCoSwin(arguments, bundleOf: Self.self)
  }

  func testRecomputeTrainsToTheSameWeights() throws {
    let shapes = try String(contentsOfFile: clips("shapes_train.txt"), encoding: .utf8)
      .split(separator: "\n").prefix(8)
      .map { packageRoot.appendingPathComponent("Clips").path + "/" + $0 }.joined(separator: "\n")
    try shapes.write(toFile: path("shapes.txt"), atomically: true, encoding: .utf8)
    // nano with drop path on, so that the replayed draws matter.
    var config = try ModelConfig.preset("nano", dims: 2, classes: 6)
    config.dropPath = 0.3
    try config.jsonString().write(toFile: path("nano.json"), atomically: true, encoding: .utf8)
    func pretrain(_ out: String, _ extra: [String]) throws -> CLIRun {
      try vcoswin(
        [
          "pretrain", "--train", path("shapes.txt"), "--val", path("shapes.txt"), "--labels",
          clips("shape_labels.txt"), "--config", path("nano.json"), "--size", "32", "--epochs", "1",
          "--batch-size", "4", "--threads", "2", "--out", path(out), "--quiet",
        ] + extra)
    }
    var run = try pretrain("kept", [])
    XCTAssertEqual(run.status, 0, run.stderr)
    run = try pretrain("recomputed", ["--recompute-activations"])
    XCTAssertEqual(run.status, 0, run.stderr)
    let kept = try SafeTensorsFile.read(path: path("kept/last.safetensors"))
    let recomputed = try SafeTensorsFile.read(path: path("recomputed/last.safetensors"))
    let keys = kept.tensors.keys.sorted()
    XCTAssertEqual(keys, recomputed.tensors.keys.sorted())
    XCTAssertGreaterThan(keys.count, 10)
    for key in keys {
      XCTAssertEqual(try kept.floats(key).values, try recomputed.floats(key).values, key)
    }
    // Not recorded with the run: resuming with the other setting is accepted.
    run = try pretrain("kept", ["--resume", "--recompute-activations"])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertTrue(run.stderr.contains("resuming"), run.stderr)
  }
}
