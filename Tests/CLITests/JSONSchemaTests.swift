import Foundation
import XCTest
import _TestSupport

import Training

@testable import VCoSwinCLI

/// Every JSON output `Docs/FORMATS.md` describes is valid under its schema in `Docs/schemas`:
/// the commands run on the shipped clips and default model, and their lines are checked with
/// Python's `jsonschema` (`Tools/json_schema_check.py`, in the environment `make pyenv`
/// creates). Lines that break a schema are refused, so the check can fail.
final class JSONSchemaTests: TemporaryFolderTestCase {
  var model: String { clips("default-model.safetensors") }

  func vcoswin(_ arguments: String...) throws -> CLIRun {
    try runVCoSwin(arguments, bundleOf: Self.self, seconds: 300)
  }

  /// The Python of `.build/pyenv`, with jsonschema.
  func python() throws -> String { try pyenvPython(with: "jsonschema") }

  /// Checks the JSON `lines` against `Docs/schemas/NAME.schema.json`: the checker's status
  /// (0: valid) and its report.
  func check(_ name: String, _ lines: String) throws -> (status: Int32, report: String) {
    let file = path("\(name)-\(UUID().uuidString).jsonl")
    try lines.write(toFile: file, atomically: true, encoding: .utf8)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try python())
    process.arguments = [
      packageRoot.appendingPathComponent("Tools/json_schema_check.py").path,
      packageRoot.appendingPathComponent("Docs/schemas/\(name).schema.json").path, file,
    ]
    let out = Pipe()
    process.standardOutput = out
    process.standardError = out
    try process.run()
    let report = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, report)
  }

  /// Asserts that `lines` are valid under schema `name`.
  func assertValid(
    _ name: String, _ lines: String, file: StaticString = #filePath, line: UInt = #line
  ) throws {
    XCTAssertFalse(lines.isEmpty, "no \(name) output", file: file, line: line)
    let (status, report) = try check(name, lines)
    XCTAssertEqual(status, 0, "\(name): \(report)\n\(lines)", file: file, line: line)
  }

  /// Asserts that `lines` break schema `name` (the checker says so, status 1).
  func assertInvalid(
    _ name: String, _ lines: String, file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let (status, report) = try check(name, lines)
    XCTAssertEqual(status, 1, "\(name) accepted \(lines): \(report)", file: file, line: line)
  }

  /// Lists the shipped validation clips `range` (paths made absolute) into `name`, with extra
  /// lines after them.
  func list(_ name: String, _ range: Range<Int>, extra: [String] = []) throws -> String {
    let lines = try String(contentsOfFile: clips("val.txt"), encoding: .utf8)
      .split(separator: "\n")[range]
      .map { packageRoot.appendingPathComponent("Clips").path + "/" + $0 }
    try (lines + extra).joined(separator: "\n").write(
      toFile: path(name), atomically: true, encoding: .utf8)
    return path(name)
  }

  /// classify --json: successes (with the truth of a list line) and failures.
  func testClassifyLines() throws {
    let list = try list("inputs.txt", 0..<2, extra: ["missing.mkv 1"])
    let run = try vcoswin(
      "classify", clips("val/0003.mkv"), "/dev/zero", "--list", list, "--checkpoint", model,
      "--json", "--top", "3")
    XCTAssertEqual(run.status, 1, run.stderr)
    XCTAssertEqual(run.stdout.split(separator: "\n").count, 5, run.stdout)
    XCTAssertTrue(run.stdout.contains("\"truth\":"), run.stdout)
    XCTAssertTrue(run.stdout.contains("\"error\":"), run.stdout)
    try assertValid("classify", run.stdout)
  }

  /// eval --json (with the confusion matrix) and the lines of --predictions.
  func testEvalAndPredictions() throws {
    let list = try list("val.txt", 0..<6, extra: ["missing.mkv 2"])
    let run = try vcoswin(
      "eval", "--list", list, "--checkpoint", model, "--json", "--predictions",
      path("p.jsonl"))
    XCTAssertEqual(run.status, 0, run.stderr)
    try assertValid("eval", run.stdout)
    let predictions = try String(contentsOfFile: path("p.jsonl"), encoding: .utf8)
    XCTAssertEqual(predictions.split(separator: "\n").count, 7)
    try assertValid("eval-predictions", predictions)
  }

  /// timeline --json of a file (windows and summary, with --truth) and of standard input read
  /// live (windows with latency, segments, a summary that says how the stream ended).
  func testTimelineLines() throws {
    let clip = clips("val/0003.mkv")
    try "0 0.3 0\n".write(toFile: path("truth.txt"), atomically: true, encoding: .utf8)
    let run = try vcoswin(
      "timeline", clip, "--checkpoint", model, "--json", "--stride-frames", "4", "--truth",
      path("truth.txt"))
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertTrue(run.stdout.contains("\"agreement\":"), run.stdout)
    try assertValid("timeline", run.stdout)

    let process = Process()
    process.executableURL = try vcoswinBinary(near: Bundle(for: Self.self).bundleURL)
    process.arguments = ["timeline", "-", "--checkpoint", model, "--json", "--stride-frames", "4"]
    process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: clip))
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let live = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 0)
    for key in ["\"latency\":", "\"type\":\"segment\"", "\"ended\":"] {
      XCTAssertTrue(live.contains(key), "\(key) in \(live)")
    }
    try assertValid("timeline", live)
  }

  /// probe --json, info --json (of the default model, an inflated model and a training run's
  /// checkpoint), inflate --json, and the run's metrics.jsonl.
  func testProbeInfoInflateAndTrainingMetrics() throws {
    var run = try vcoswin("probe", clips("val/0000.mkv"), clips("val/0001.mkv"), "--json")
    XCTAssertEqual(run.status, 0, run.stderr)
    try assertValid("probe", run.stdout)

    run = try vcoswin("info", model, "--json")
    XCTAssertEqual(run.status, 0, run.stderr)
    try assertValid("info", run.stdout)

    // A torchvision Swin3D state dict: its recorded recipe has a short side (`resize`).
    let foreign = packageRoot.appendingPathComponent("Tests/ModelsTests/Fixtures/foreign/tv3d.pth")
    run = try vcoswin("info", foreign.path, "--json")
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertTrue(run.stdout.contains("\"resize\":256"), run.stdout)
    try assertValid("info", run.stdout)

    run = try vcoswin(
      "init", "--preset", "nano", "--dims", "2", "--classes", "6", "--out",
      path("image.safetensors"))
    XCTAssertEqual(run.status, 0, run.stderr)
    run = try vcoswin(
      "inflate", "--from", path("image.safetensors"), "--to", path("video.safetensors"), "--json")
    XCTAssertEqual(run.status, 0, run.stderr)
    try assertValid("inflate", run.stdout)
    run = try vcoswin("info", path("video.safetensors"), "--json")
    XCTAssertEqual(run.status, 0, run.stderr)
    try assertValid("info", run.stdout)

    let shapes = try String(contentsOfFile: clips("shapes_train.txt"), encoding: .utf8)
      .split(separator: "\n").prefix(8)
      .map { packageRoot.appendingPathComponent("Clips").path + "/" + $0 }.joined(separator: "\n")
    try shapes.write(toFile: path("shapes.txt"), atomically: true, encoding: .utf8)
    run = try vcoswin(
      "pretrain", "--train", path("shapes.txt"), "--val", path("shapes.txt"), "--labels",
      clips("shape_labels.txt"), "--preset", "nano", "--size", "32", "--epochs", "2",
      "--out", path("run"), "--quiet")
    XCTAssertEqual(run.status, 0, run.stderr)
    let metrics = try String(contentsOfFile: path("run/metrics.jsonl"), encoding: .utf8)
    XCTAssertEqual(metrics.split(separator: "\n").count, 2)
    try assertValid("metrics", metrics)
    run = try vcoswin("info", path("run/last.safetensors"), "--json")
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertTrue(run.stdout.contains("\"training\":"), run.stdout)
    try assertValid("info", run.stdout)
  }

  /// demo --json's object, for one seed and for several, as `DemoCommand` prints it (the demo
  /// itself trains for minutes).
  func testDemoObject() throws {
    let command = try DemoCommand.parse(["--json"])
    func epochs(_ tops: [Double]) -> [EpochMetrics] {
      tops.enumerated().map {
        EpochMetrics(
          epoch: $0.offset + 1, trainLoss: 1, valTop1: $0.element, valTop5: 1, lr: 1e-3,
          seconds: 1)
      }
    }
    let tasks = DemoTask.standard(mainEpochs: 2, motionEpochs: 2)
    func result(_ seed: UInt64) -> DemoSeedResult {
      DemoSeedResult(
        seed: seed, imageTop1: 0.9, framesAveragedTop1: 0.4,
        tasks: tasks.map {
          DemoTaskResult(
            task: $0, classes: 12, inflated: epochs([0.5, 0.75]), random: epochs([0.25, 0.5]))
        }, times: [("image", 1)], mainFolder: folder)
    }
    for results in [[result(0)], [result(0), result(1), result(2)]] {
      try assertValid("demo", try jsonLine(command.jsonObject(results)))
    }
  }

  /// Lines that miss a key, add an unknown one or hold a wrong type or value are refused.
  func testSchemasRefuseBrokenLines() throws {
    let top = #"[{"label":"a","index":0,"prob":0.5}]"#
    try assertValid("classify", #"{"path":"a.mp4","top":\#(top)}"#)
    for line in [
      #"{"path":"a.mp4"}"#, #"{"path":"a.mp4","top":[]}"#,
      #"{"path":"a.mp4","top":\#(top),"error":"x"}"#, #"{"path":"a.mp4","error":""}"#,
      #"{"path":"a.mp4","top":[{"label":"a","index":0,"prob":1.5}]}"#,
    ] {
      try assertInvalid("classify", line)
    }
    try assertInvalid("timeline", #"{"type":"window","path":"a","window":0}"#)
    try assertInvalid("timeline", #"{"type":"frame","path":"a"}"#)
    try assertInvalid(
      "eval", #"{"top1":0.5,"top5":1,"mean_class_accuracy":0.5,"count":2,"skipped":0}"#)
    try assertInvalid("probe", #"{"path":"a","rotation":45}"#)
  }

  /// FORMATS.md links every schema file, and every schema file is one FORMATS.md links.
  func testFormatsLinksEverySchema() throws {
    let formats = try String(
      contentsOfFile: packageRoot.appendingPathComponent("Docs/FORMATS.md").path, encoding: .utf8)
    let names = try FileManager.default.contentsOfDirectory(
      atPath: packageRoot.appendingPathComponent("Docs/schemas").path
    ).filter { $0.hasSuffix(".schema.json") }
    XCTAssertEqual(names.count, 9, "\(names)")
    for name in names {
      XCTAssertTrue(formats.contains("(schemas/\(name))"), "FORMATS.md does not link \(name)")
    }
  }
}
