import Foundation
import XCTest
import _TestSupport

/// `classify` over many inputs: folders, `--list`, a JSON line for each input (failures
/// included), and progress on stderr.
final class ClassifyInputsTests: TemporaryFolderTestCase {
  var model: String { clips("default-model.safetensors") }

  func vcoswin(_ arguments: [String]) throws -> CLIRun {
    try runVCoSwin(arguments + ["--checkpoint", model], bundleOf: Self.self, seconds: 300)
  }

  /// The JSON objects of `run`'s stdout, one per line.
  func objects(_ run: CLIRun) throws -> [[String: Any]] {
    try run.stdout.split(separator: "\n").map {
      try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "\($0)")
    }
  }

  func copy(_ clip: String, to name: String) throws {
    try FileManager.default.copyItem(atPath: clips(clip), toPath: path(name))
  }

  /// A folder: its videos by name (byte order), a video without a known extension found by
  /// its first bytes, a damaged `.mp4` reported, text, a FIFO, hidden files and subfolders
  /// passed over. An empty folder is an error naming it.
  func testFolderOfVideos() throws {
    try FileManager.default.createDirectory(
      atPath: path("videos/sub"), withIntermediateDirectories: true)
    try copy("val/0001.mkv", to: "videos/b.mkv")
    try copy("val/0000.mkv", to: "videos/a.mkv")
    try copy("val/0002.mkv", to: "videos/c.bin")
    try copy("val/0003.mkv", to: "videos/.hidden.mkv")
    try copy("val/0004.mkv", to: "videos/sub/d.mkv")
    try "notes\n".write(toFile: path("videos/notes.txt"), atomically: true, encoding: .utf8)
    try Data(repeating: 7, count: 5000).write(to: URL(fileURLWithPath: path("videos/broken.mp4")))
    // A FIFO named as a video would block a reader: not a regular file, so passed over.
    XCTAssertEqual(mkfifo(path("videos/pipe.mp4"), 0o600), 0)
    let run = try vcoswin(["classify", path("videos"), "--json", "--top", "1"])
    XCTAssertEqual(run.status, 1, run.stderr)
    let lines = try objects(run)
    XCTAssertEqual(
      lines.map { $0["path"] as? String },
      ["a.mkv", "b.mkv", "broken.mp4", "c.bin"].map { path("videos/\($0)") })
    XCTAssertNotNil(lines[2]["error"] as? String)
    XCTAssertNil(lines[2]["top"])
    XCTAssertEqual(lines.filter { $0["top"] != nil }.count, 3)
    XCTAssertTrue(run.stderr.contains("error: \(path("videos/broken.mp4"))"), run.stderr)
    XCTAssertTrue(run.stderr.contains("1 of 4 files could not be classified"), run.stderr)

    // The same files given one by one print the same lines.
    let files = try vcoswin(
      ["classify"] + ["a.mkv", "b.mkv", "broken.mp4", "c.bin"].map { path("videos/\($0)") }
        + ["--json", "--top", "1"])
    XCTAssertEqual(files.stdout, run.stdout)

    try FileManager.default.createDirectory(
      atPath: path("empty"), withIntermediateDirectories: true)
    try "x\n".write(toFile: path("empty/readme.txt"), atomically: true, encoding: .utf8)
    let empty = try vcoswin(["classify", path("empty")])
    XCTAssertEqual(empty.status, 1)
    XCTAssertTrue(
      empty.diagnostics.hasPrefix("error: \(path("empty")): no videos in this folder"),
      empty.diagnostics)
  }

  /// `--list`: `path label`, bare paths, class names, a path with a space; the label comes
  /// back as `truth`. A bad line is one error naming the list and the line, before any work.
  func testList() throws {
    try copy("val/0000.mkv", to: "my clip.mkv")
    let labels = try String(contentsOfFile: clips("motion_labels.txt"), encoding: .utf8)
      .split(separator: "\n").map(String.init)
    try """
    # inputs to classify
    \(clips("val/0001.mkv")) 2
    my clip.mkv

    \(clips("val/0002.mkv")) \(labels[5])
    """.write(toFile: path("list.txt"), atomically: true, encoding: .utf8)
    let run = try vcoswin(
      ["classify", clips("val/0003.mkv"), "--list", path("list.txt"), "--json"])
    XCTAssertEqual(run.status, 0, run.stderr)
    let lines = try objects(run)
    XCTAssertEqual(
      lines.map { $0["path"] as? String },
      [clips("val/0003.mkv"), clips("val/0001.mkv"), path("my clip.mkv"), clips("val/0002.mkv")])
    XCTAssertEqual(
      lines.map { ($0["truth"] as? [String: Any])?["index"] as? Int }, [nil, 2, nil, 5])
    XCTAssertEqual((lines[1]["truth"] as? [String: Any])?["label"] as? String, labels[2])

    try "\(clips("val/0001.mkv")) 0\n\(clips("val/0002.mkv")) 99\n".write(
      toFile: path("bad.txt"), atomically: true, encoding: .utf8)
    for (list, message) in [
      (path("bad.txt"), "error: \(path("bad.txt")):2: label 99 out of range 0..<8"),
      (path("none.txt"), "error: \(path("none.txt")): cannot read the list: no such file"),
      (folder.path, "error: \(folder.path): cannot read the list: it is a folder"),
    ] {
      let bad = try vcoswin(["classify", "--list", list])
      XCTAssertEqual(bad.status, 1, bad.stderr)
      XCTAssertEqual(bad.stdout, "")
      XCTAssertEqual(bad.diagnostics, message + "\n")
    }
    try "# nothing\n\n".write(toFile: path("comments.txt"), atomically: true, encoding: .utf8)
    let none = try vcoswin(["classify", "--list", path("comments.txt")])
    XCTAssertEqual(none.status, 1)
    XCTAssertTrue(none.diagnostics.contains("no entries"), none.diagnostics)
    let nothing = try runVCoSwin(["classify"], bundleOf: Self.self, seconds: 60)
    XCTAssertEqual(nothing.status, 64, nothing.stderr)
  }

  /// Off a terminal, progress lines count the inputs (videos), or the views when each input
  /// has several (here 12 views in forward passes of 4, as --full-protocol's 4 × 3): counts,
  /// then a rate and an ETA once warmed up; stdout holds only the results.
  func testProgressLinesOffATerminal() throws {
    let videos = ["val/0000.mkv", "val/0001.mkv", "val/0002.mkv"].map(clips)
    var run = try vcoswin(["classify"] + videos + ["--json", "--progress-interval", "0.001"])
    XCTAssertEqual(run.status, 0, run.stderr)
    var progress = run.diagnostics.split(separator: "\n").filter { $0.hasPrefix("classify: ") }
    XCTAssertEqual(
      progress.map { $0.split(separator: ",")[0] },
      ["classify: 1/3 videos", "classify: 2/3 videos", "classify: 3/3 videos"], run.stderr)
    XCTAssertEqual(try objects(run).count, 3)

    run = try vcoswin(
      [
        "classify", videos[0], "--clips", "4", "--crops", "3", "--batch", "4",
        "--progress-interval", "0.001",
      ])
    XCTAssertEqual(run.status, 0, run.stderr)
    progress = run.diagnostics.split(separator: "\n").filter { $0.hasPrefix("classify: ") }
    XCTAssertEqual(
      progress.map { $0.split(separator: ",")[0] },
      ["classify: 4/12 views", "classify: 8/12 views", "classify: 12/12 views"], run.stderr)
    XCTAssertFalse(run.stdout.contains("views"), run.stdout)

    // One input in one forward pass: nothing to follow, no progress.
    run = try vcoswin(["classify", videos[0], "--progress-interval", "0.001"])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertFalse(run.stderr.contains("classify: "), run.stderr)
  }

  /// A failing input gets a JSON line too; its `error:` line stays on stderr.
  func testJSONLineOfAFailingInput() throws {
    let run = try vcoswin(["classify", "/dev/zero", "--json"])
    XCTAssertEqual(run.status, 1, run.stderr)
    let lines = try objects(run)
    XCTAssertEqual(lines.count, 1)
    XCTAssertEqual(lines[0]["path"] as? String, "/dev/zero")
    let error = try XCTUnwrap(lines[0]["error"] as? String)
    XCTAssertEqual(run.diagnostics, "error: \(error)\n")
    XCTAssertEqual(Set(lines[0].keys), ["path", "error"])
  }
}
