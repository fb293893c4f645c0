import Foundation
import XCTest

/// `classify`, `eval`, `inflate`, `pretrain` and `finetune` run as a user runs them.
final class TrainingCommandsTests: XCTestCase {
  var folder = URL(fileURLWithPath: NSTemporaryDirectory())

  override func setUpWithError() throws {
    folder = FileManager.default.temporaryDirectory.appendingPathComponent("vcoswin-training-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

  func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
  func clips(_ name: String) -> String { packageRoot.appendingPathComponent("Clips/\(name)").path }
  func vcoswin(_ arguments: String...) throws -> CLIRun { try runVCoSwin(arguments, bundleOf: Self.self) }

  /// The shipped default model classifies a shipped clip; JSON lines are sorted by probability
  /// and sum to at most one; a bad file is an error line and the others still print.
  func testClassifyWithTheDefaultModel() throws {
    let run = try vcoswin("classify", clips("val/0000.mkv"), clips("val/0001.mkv"), "/no/such/clip.mp4",
                          "--json", "--top", "3", "--checkpoint", clips("default-model.safetensors"))
    XCTAssertFalse(run.crashed)
    XCTAssertEqual(run.status, 1)
    XCTAssertEqual(run.diagnostics.split(separator: "\n").first.map(String.init), "error: /no/such/clip.mp4: cannot open: No such file or directory")
    let labels = try String(contentsOfFile: clips("motion_labels.txt"), encoding: .utf8).split(separator: "\n").map(String.init)
    let lines = run.stdout.split(separator: "\n")
    XCTAssertEqual(lines.count, 2)
    for line in lines {
      let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      let top = try XCTUnwrap(object["top"] as? [[String: Any]])
      XCTAssertEqual(top.count, 3)
      let probs = top.compactMap { $0["prob"] as? Double }
      XCTAssertEqual(probs, probs.sorted(by: >))
      XCTAssertLessThanOrEqual(probs.reduce(0, +), 1 + 1e-6)
      for t in top {
        let index = try XCTUnwrap(t["index"] as? Int)
        XCTAssertEqual(t["label"] as? String, labels[index])
      }
    }
  }

  /// `eval --json` counts what it evaluated and what it skipped (a missing clip, a bad line).
  func testEvalJSONCountsSkippedEntries() throws {
    let list = try String(contentsOfFile: clips("val.txt"), encoding: .utf8).split(separator: "\n").prefix(12)
      .map { packageRoot.appendingPathComponent("Clips").path + "/" + $0 }.joined(separator: "\n")
    try (list + "\nmissing.mkv 2\nnot a valid line x\n").write(toFile: path("val.txt"), atomically: true, encoding: .utf8)
    let run = try vcoswin("eval", "--list", path("val.txt"), "--json", "--checkpoint", clips("default-model.safetensors"),
                          "--confusion", path("confusion.svg"))
    XCTAssertEqual(run.status, 0, run.stderr)
    let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    XCTAssertEqual(object["count"] as? Int, 12)
    XCTAssertEqual(object["skipped"] as? Int, 2)
    for key in ["top1", "top5", "mean_class_accuracy"] {
      let v = try XCTUnwrap(object[key] as? Double, key)
      XCTAssertTrue((0...1).contains(v), key)
    }
    XCTAssertTrue(run.stderr.contains("val.txt:13:"), run.stderr)
    XCTAssertTrue(run.stderr.contains("val.txt:14:"), run.stderr)
    XCTAssertTrue(try String(contentsOfFile: path("confusion.svg"), encoding: .utf8).hasPrefix("<svg"))
  }

  /// Image pretraining, inflation and fine-tuning from the command line, one short epoch each,
  /// then a resume that has nothing left to do; bad sources and options are one-line errors.
  func testPretrainInflateFinetune() throws {
    let shapes = try String(contentsOfFile: clips("shapes_train.txt"), encoding: .utf8).split(separator: "\n").prefix(16)
      .map { packageRoot.appendingPathComponent("Clips").path + "/" + $0 }.joined(separator: "\n")
    try shapes.write(toFile: path("shapes.txt"), atomically: true, encoding: .utf8)
    let motion = try String(contentsOfFile: clips("train.txt"), encoding: .utf8).split(separator: "\n").prefix(16)
      .map { packageRoot.appendingPathComponent("Clips").path + "/" + $0 }.joined(separator: "\n")
    try motion.write(toFile: path("motion.txt"), atomically: true, encoding: .utf8)
    var run = try vcoswin("pretrain", "--train", path("shapes.txt"), "--val", path("shapes.txt"), "--labels",
                          clips("shape_labels.txt"), "--preset", "nano", "--size", "32", "--epochs", "1",
                          "--out", path("image"), "--quiet")
    XCTAssertEqual(run.status, 0, run.stderr)
    for f in ["metrics.jsonl", "curves.svg", "last.safetensors", "best.safetensors"] {
      XCTAssertTrue(FileManager.default.fileExists(atPath: path("image/\(f)")), f)
    }
    run = try vcoswin("inflate", "--from", path("image/best.safetensors"), "--to", path("video.safetensors"), "--classes", "8")
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertTrue(run.stdout.contains("inflated"), run.stdout)
    run = try vcoswin("inflate", "--from", path("video.safetensors"), "--to", path("again.safetensors"))
    XCTAssertEqual(run.status, 1)
    XCTAssertTrue(run.stderr.hasPrefix("error: \(path("video.safetensors")): is a video checkpoint"), run.stderr)
    run = try vcoswin("inflate", "--from", path("image/best.safetensors"), "--to", path("x.safetensors"), "--window", "2,4")
    XCTAssertNotEqual(run.status, 0)
    XCTAssertTrue(run.stderr.hasPrefix("error: --window takes t,h,w"), run.stderr)
    run = try vcoswin("finetune", "--train", path("motion.txt"), "--val", path("motion.txt"), "--labels",
                      clips("motion_labels.txt"), "--init", path("video.safetensors"), "--size", "32", "--epochs", "1",
                      "--out", path("video"), "--quiet")
    XCTAssertEqual(run.status, 0, run.stderr)
    run = try vcoswin("finetune", "--train", path("motion.txt"), "--val", path("motion.txt"), "--labels",
                      clips("motion_labels.txt"), "--init", path("video.safetensors"), "--size", "32", "--epochs", "1",
                      "--out", path("video"), "--quiet", "--resume")
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertTrue(run.stderr.contains("resuming"), run.stderr)
    XCTAssertEqual(try String(contentsOfFile: path("video/metrics.jsonl"), encoding: .utf8).split(separator: "\n").count, 1)
    // Another epoch count cannot resume the run (the schedule spans its epochs).
    run = try vcoswin("finetune", "--train", path("motion.txt"), "--val", path("motion.txt"), "--labels",
                      clips("motion_labels.txt"), "--init", path("video.safetensors"), "--size", "32", "--epochs", "2",
                      "--out", path("video"), "--quiet", "--resume")
    XCTAssertEqual(run.status, 1)
    XCTAssertTrue(
      run.stderr.contains("error: --epochs 2 ≠ 1 recorded in \(path("video/last.safetensors")): "), run.stderr)
    // Provenance names files and their checksums, never the folders they were in.
    for file in ["image/best.safetensors", "video.safetensors", "video/best.safetensors", "video/last.safetensors"] {
      let provenance = try XCTUnwrap(try safetensorsMetadata(path(file))["provenance"], file)
      XCTAssertFalse(provenance.contains(folder.path), "\(file): \(provenance)")
      XCTAssertTrue(provenance.contains("sha256"), "\(file): \(provenance)")
    }
    // A validation list that cannot be read stops the run before any checkpoint.
    try "gone1.mkv 0\ngone2.mkv 1\n".write(toFile: path("gone.txt"), atomically: true, encoding: .utf8)
    try motion.split(separator: "\n").prefix(4).joined(separator: "\n").write(toFile: path("four.txt"), atomically: true, encoding: .utf8)
    run = try vcoswin("finetune", "--train", path("four.txt"), "--val", path("gone.txt"), "--labels",
                      clips("motion_labels.txt"), "--init", path("video.safetensors"), "--size", "32", "--epochs", "1",
                      "--out", path("noval"), "--quiet")
    XCTAssertEqual(run.status, 1)
    XCTAssertTrue(run.stderr.contains("error: \(path("gone.txt")): 2 of 2 validation entries could not be read"), run.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("noval/best.safetensors")))
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("noval/last.safetensors")))
    run = try vcoswin("finetune", "--train", path("motion.txt"), "--val", path("motion.txt"), "--labels",
                      clips("motion_labels.txt"), "--init", path("video.safetensors"), "--flip-map", "move_left=sideways",
                      "--out", path("flipped"), "--quiet")
    XCTAssertEqual(run.status, 1)
    XCTAssertTrue(run.stderr.hasPrefix("error: flip map: 'move_left=sideways': 'sideways' is not a class"), run.stderr)
    run = try vcoswin("finetune", "--train", path("motion.txt"), "--val", path("motion.txt"), "--init",
                      path("image/best.safetensors"), "--out", path("wrong"), "--quiet")
    XCTAssertEqual(run.status, 1)
    XCTAssertTrue(run.stderr.contains("is an image checkpoint"), run.stderr)
  }
}
