import Foundation
import XCTest
import _TestSupport

/// `eval`, `classify` and `features` under `mpirun -np 2` print and write exactly what one
/// process does: same output, same order, same numbers, bad entries reported once.
final class ShardedInferenceTests: TemporaryFolderTestCase {
  var model: String { clips("default-model.safetensors") }

  /// `vcoswin arguments…` in one process.
  func single(_ arguments: [String]) throws -> CLIRun {
    try run(vcoswinBinary(near: Bundle(for: Self.self).bundleURL).path, arguments)
  }

  /// `mpirun -np 2 vcoswin arguments…`; fails when `mpirun` is not installed.
  func sharded(_ arguments: [String]) throws -> CLIRun {
    let mpirun = try mpirunPath()
    let binary = try vcoswinBinary(near: Bundle(for: Self.self).bundleURL).path
    return try run(
      mpirun,
      [
        "--allow-run-as-root", "--oversubscribe", "-np", "2", "--mca",
        "btl_vader_single_copy_mechanism", "none",
        binary,
      ] + arguments)
  }

  /// Runs `executable arguments…`, its stdout and stderr captured in files (no pipe to fill).
  func run(_ executable: String, _ arguments: [String]) throws -> CLIRun {
    let id = UUID().uuidString
    let (outPath, errPath) = (path("\(id).out"), path("\(id).err"))
    for p in [outPath, errPath] { FileManager.default.createFile(atPath: p, contents: nil) }
    let (out, err) = (
      try FileHandle(forWritingTo: URL(fileURLWithPath: outPath)),
      try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    )
    defer { try? out.close(); try? err.close() }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // A run that hangs (a rank waiting on one that left) fails the test instead of hanging it;
    // mpirun ends its processes on SIGTERM.
    let deadline = Date().addingTimeInterval(120)
    while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
    if process.isRunning {
      process.terminate()
      process.waitUntilExit()
      XCTFail("\(executable) \(arguments.joined(separator: " ")) did not end within 120 s")
    }
    process.waitUntilExit()
    return CLIRun(
      status: process.terminationStatus,
      stdout: try String(contentsOfFile: outPath, encoding: .utf8),
      stderr: try String(contentsOfFile: errPath, encoding: .utf8),
      crashed: process.terminationReason != .exit)
  }

  /// Twelve shipped clips, a missing one in the second half (rank 1 meets it), a line without
  /// a label: batches of 4 put entries 0…7 on rank 0 and 8…12 on rank 1. The predictions file
  /// rank 0 writes is the one process's, byte for byte.
  func testShardedEvalEqualsOneProcess() throws {
    var lines = try String(contentsOfFile: clips("val.txt"), encoding: .utf8).split(separator: "\n")
      .prefix(12)
      .map { packageRoot.appendingPathComponent("Clips").path + "/" + $0 }
    lines.insert("missing.mkv 2", at: 10)
    lines.insert("no-label.mkv", at: 3)
    try lines.joined(separator: "\n").write(
      toFile: path("val.txt"), atomically: true, encoding: .utf8)
    func args(_ picture: String) -> [String] {
      [
        "eval", "--list", path("val.txt"), "--checkpoint", model, "--batch", "4", "--threads", "1",
        "--json",
        "--confusion", path(picture), "--predictions", path(picture + ".jsonl"),
      ]
    }
    let one = try single(args("one.svg"))
    let two = try sharded(args("two.svg"))
    XCTAssertEqual(one.status, 0, one.stderr)
    XCTAssertEqual(two.status, 0, two.stderr)
    XCTAssertEqual(two.stdout, one.stdout)
    XCTAssertEqual(two.stderr, one.stderr)
    XCTAssertEqual(two.stderr.components(separatedBy: "missing.mkv").count, 2, two.stderr)
    XCTAssertEqual(two.stderr.components(separatedBy: "checkpoint: ").count, 2, two.stderr)
    let object = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(two.stdout.utf8)) as? [String: Any])
    XCTAssertEqual(object["count"] as? Int, 12)
    XCTAssertEqual(object["skipped"] as? Int, 2)
    XCTAssertEqual(
      try String(contentsOfFile: path("two.svg"), encoding: .utf8),
      try String(contentsOfFile: path("one.svg"), encoding: .utf8))
    let predictions = try String(contentsOfFile: path("one.svg.jsonl"), encoding: .utf8)
    XCTAssertEqual(predictions.split(separator: "\n").count, 13)
    XCTAssertEqual(
      try String(contentsOfFile: path("two.svg.jsonl"), encoding: .utf8), predictions)
  }

  /// Runs `arguments` (a classify with a missing input) in one process and under mpirun: both
  /// fail, with the same stdout and the one process's stderr first (then mpirun's own note that
  /// a process ended with a non-zero status). Returns the one process's run.
  func assertShardedClassifyFailsAsOneProcess(
    _ arguments: [String], line: UInt = #line
  ) throws -> CLIRun {
    let one = try single(arguments)
    let two = try sharded(arguments)
    XCTAssertEqual(one.status, 1, one.stderr, line: line)
    XCTAssertNotEqual(two.status, 0, two.stderr, line: line)
    XCTAssertEqual(two.stdout, one.stdout, line: line)
    XCTAssertTrue(two.stderr.hasPrefix(one.stderr), two.stderr, line: line)
    return one
  }

  /// Five videos, the fourth missing (rank 1's block): the same lines (with --json, the
  /// missing one's `{"path", "error"}` line in its place), the same error line.
  func testShardedClassifyEqualsOneProcess() throws {
    let videos = ["val/0000.mkv", "val/0001.mkv", "val/0002.mkv", "missing.mkv", "val/0005.mkv"]
      .map(clips)
    for mode in [["--json"], []] {
      let args =
        ["classify"] + videos + [
          "--checkpoint", model, "--top", "3", "--threads", "1", "--progress-interval", "86400",
        ] + mode
      let one = try assertShardedClassifyFailsAsOneProcess(args)
      XCTAssertEqual(one.stdout.split(separator: "\n").count, mode.isEmpty ? 16 : 5)
      if !mode.isEmpty {
        XCTAssertTrue(
          one.stdout.split(separator: "\n")[3].hasPrefix(#"{"error":"#), one.stdout)
      }
    }
  }

  /// A folder and a list (a missing entry among them): under mpirun the same JSON lines in
  /// the same order, the folder's files by name, then the list's.
  func testShardedClassifyOfAFolderAndAList() throws {
    try FileManager.default.createDirectory(
      atPath: path("videos"), withIntermediateDirectories: true)
    for (clip, name) in [("val/0004.mkv", "b.mkv"), ("val/0005.mkv", "a.mkv")] {
      try FileManager.default.copyItem(atPath: clips(clip), toPath: path("videos/\(name)"))
    }
    try "\(clips("val/0000.mkv")) 0\nmissing.mkv\n\(clips("val/0001.mkv"))\n".write(
      toFile: path("list.txt"), atomically: true, encoding: .utf8)
    let args = [
      "classify", path("videos"), "--list", path("list.txt"), "--checkpoint", model, "--json",
      "--threads", "1", "--progress-interval", "86400",
    ]
    let one = try assertShardedClassifyFailsAsOneProcess(args)
    let paths = try one.stdout.split(separator: "\n").map {
      try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])["path"]
        as? String
    }
    XCTAssertEqual(
      paths,
      [
        path("videos/a.mkv"), path("videos/b.mkv"), clips("val/0000.mkv"), path("missing.mkv"),
        clips("val/0001.mkv"),
      ])
  }

  /// Videos, and an --input tensor of nine rows in batches of 2 (rows 0…3 on rank 0, 4…8 on
  /// rank 1): the same file, byte for byte; an unreadable video is the same error.
  func testShardedFeaturesEqualsOneProcess() throws {
    let videos = ["val/0000.mkv", "val/0003.mkv", "val/0006.mkv"].map(clips)
    let common = ["--checkpoint", model, "--threads", "1", "--batch", "2"]
    var one = try single(
      ["features"] + videos + common + ["--clips", "2", "--output", path("one.safetensors")])
    var two = try sharded(
      ["features"] + videos + common + ["--clips", "2", "--output", path("two.safetensors")])
    XCTAssertEqual(one.status, 0, one.stderr)
    XCTAssertEqual(two.status, 0, two.stderr)
    XCTAssertEqual(
      two.stdout, one.stdout.replacingOccurrences(of: "one.safetensors", with: "two.safetensors"))
    XCTAssertEqual(
      try Data(contentsOf: URL(fileURLWithPath: path("two.safetensors"))),
      try Data(contentsOf: URL(fileURLWithPath: path("one.safetensors"))))

    let sample = try single(
      [
        "sample", clips("val/0004.mkv"), "--clips", "3", "--crop", "three", "--clip-len", "8",
        "--interval", "2",
        "--size", "32", "--output", path("input.safetensors"),
      ])
    XCTAssertEqual(sample.status, 0, sample.stderr)
    one = try single(
      ["features", "--input", path("input.safetensors")] + common + [
        "--output", path("in1.safetensors"),
      ])
    two = try sharded(
      ["features", "--input", path("input.safetensors")] + common + [
        "--output", path("in2.safetensors"),
      ])
    XCTAssertEqual(one.status, 0, one.stderr)
    XCTAssertEqual(two.status, 0, two.stderr)
    XCTAssertTrue(one.stdout.contains("features [9, "), one.stdout)
    XCTAssertEqual(
      try Data(contentsOf: URL(fileURLWithPath: path("in2.safetensors"))),
      try Data(contentsOf: URL(fileURLWithPath: path("in1.safetensors"))))

    let bad = videos + [clips("missing.mkv")]
    one = try single(["features"] + bad + common + ["--output", path("bad1.safetensors")])
    two = try sharded(["features"] + bad + common + ["--output", path("bad2.safetensors")])
    XCTAssertEqual(one.status, 1)
    XCTAssertNotEqual(two.status, 0)
    XCTAssertTrue(two.stderr.hasPrefix(one.stderr), two.stderr)
    XCTAssertTrue(one.stderr.contains("error: \(clips("missing.mkv")): cannot open"), one.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("bad2.safetensors")))
  }
}
