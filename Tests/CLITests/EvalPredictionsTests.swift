import Foundation
import XCTest
import _TestSupport

/// `eval --predictions FILE.jsonl` and the confusion matrix of `eval --json`: every entry's
/// line in list order, agreeing with the accuracies and the matrix; an existing file refused
/// unless `--overwrite`.
final class EvalPredictionsTests: TemporaryFolderTestCase {
  var model: String { clips("default-model.safetensors") }

  func vcoswin(_ arguments: [String]) throws -> CLIRun {
    try runVCoSwin(arguments, bundleOf: Self.self, seconds: 300)
  }

  /// Ten shipped clips, a missing file (line 4) and a malformed line (line 7).
  func writeList() throws -> String {
    var lines = try String(contentsOfFile: clips("val.txt"), encoding: .utf8).split(separator: "\n")
      .prefix(10).map { packageRoot.appendingPathComponent("Clips").path + "/" + $0 }
    lines.insert("missing.mkv 3", at: 3)
    lines.insert("no-label.mkv", at: 6)
    try lines.joined(separator: "\n").write(
      toFile: path("val.txt"), atomically: true, encoding: .utf8)
    return path("val.txt")
  }

  func testPredictionsAgreeWithTheAccuraciesAndTheMatrix() throws {
    let list = try writeList()
    let run = try vcoswin(
      [
        "eval", "--list", list, "--checkpoint", model, "--json", "--predictions",
        path("p.jsonl"),
      ])
    XCTAssertEqual(run.status, 0, run.stderr)
    let summary = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    let lines = try String(contentsOfFile: path("p.jsonl"), encoding: .utf8)
      .split(separator: "\n").map {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
      }
    // Eleven well-formed entries in list order (the malformed line 7 has none).
    XCTAssertEqual(lines.map { $0["line"] as? Int }, [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12])
    XCTAssertEqual(lines[3]["path"] as? String, path("missing.mkv"))
    XCTAssertTrue((lines[3]["error"] as? String)?.contains("missing.mkv") ?? false, "\(lines[3])")
    XCTAssertNil(lines[3]["predicted"])
    let evaluated = lines.filter { $0["error"] == nil }
    XCTAssertEqual(evaluated.count, summary["count"] as? Int)

    let confusion = try XCTUnwrap(summary["confusion"] as? [String: Any])
    let labels = try XCTUnwrap(confusion["labels"] as? [String])
    let counts = try XCTUnwrap(confusion["counts"] as? [[Int]])
    XCTAssertEqual(labels.count, 8)
    XCTAssertEqual(counts.count, 8)
    XCTAssertTrue(counts.allSatisfy { $0.count == 8 })
    var tally = Array(repeating: Array(repeating: 0, count: 8), count: 8)
    var correct = 0
    for line in evaluated {
      let truth = try XCTUnwrap(line["truth"] as? [String: Any])
      let predicted = try XCTUnwrap(line["predicted"] as? [String: Any])
      let top = try XCTUnwrap(line["top"] as? [[String: Any]])
      let (t, p) = (
        try XCTUnwrap(truth["index"] as? Int), try XCTUnwrap(predicted["index"] as? Int)
      )
      XCTAssertEqual(truth["label"] as? String, labels[t])
      XCTAssertEqual(predicted["label"] as? String, labels[p])
      XCTAssertEqual(top.count, 5)
      XCTAssertEqual(top[0]["index"] as? Int, p)
      XCTAssertEqual(top[0]["prob"] as? Double, predicted["prob"] as? Double)
      let probs = top.compactMap { $0["prob"] as? Double }
      XCTAssertEqual(probs, probs.sorted(by: >))
      XCTAssertEqual(line["correct"] as? Bool, t == p)
      tally[t][p] += 1
      if t == p { correct += 1 }
    }
    XCTAssertEqual(tally, counts)
    let top1 = try XCTUnwrap(summary["top1"] as? Double)
    XCTAssertEqual(top1, Double(correct) / Double(evaluated.count), accuracy: 1e-12)
  }

  func testAnExistingFileIsRefusedUnlessOverwrite() throws {
    let list = try writeList()
    try "keep\n".write(toFile: path("p.jsonl"), atomically: true, encoding: .utf8)
    let args = ["eval", "--list", list, "--checkpoint", model, "--predictions", path("p.jsonl")]
    var run = try vcoswin(args)
    XCTAssertEqual(run.status, 1)
    XCTAssertEqual(
      run.stderr, "error: --predictions \(path("p.jsonl")) exists; give --overwrite to replace it\n"
    )
    XCTAssertEqual(try String(contentsOfFile: path("p.jsonl"), encoding: .utf8), "keep\n")
    run = try vcoswin(args + ["--overwrite"])
    XCTAssertEqual(run.status, 0, run.stderr)
    let text = try String(contentsOfFile: path("p.jsonl"), encoding: .utf8)
    XCTAssertEqual(text.split(separator: "\n").count, 11)
    // No temporary left beside it.
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: folder.path).filter {
        $0.hasPrefix(".")
      }, [])

    try "notes\n".write(toFile: path("notes.txt"), atomically: true, encoding: .utf8)
    for (target, message) in [
      (
        folder.path,
        "error: \(folder.path): cannot write file: is a folder (--predictions takes a file name)"
      ),
      (
        path("no/such/p.jsonl"),
        "error: \(path("no/such/p.jsonl")): cannot write file: no folder \(path("no/such")) to write it in"
      ),
      (
        path("notes.txt/p.jsonl"),
        "error: \(path("notes.txt/p.jsonl")): cannot write file: \(path("notes.txt")) is not a folder"
      ),
    ] {
      run = try vcoswin(["eval", "--list", list, "--checkpoint", model, "--predictions", target])
      XCTAssertEqual(run.status, 1)
      XCTAssertEqual(run.stderr, message + "\n")
    }
  }
}
