import Foundation
import SafeTensors
import Synth
import XCTest
import _TestSupport

/// `vcoswin timeline` as a user runs it: output, pictures, option bounds, bad files.
final class TimelineCommandTests: TemporaryFolderTestCase {
  func vcoswin(_ arguments: String...) throws -> CLIRun {
    try runVCoSwin(arguments, bundleOf: Self.self)
  }
  var model: String { clips("default-model.safetensors") }

  func testTimelineCommandJSONTablePicturesAndTruth() throws {
    var video = SynthLongVideo(motions: [.moveRight, .grow], clipsPerSegment: [2, 2])
    video.seed = 5
    try video.render(to: path("long.mkv"))
    try video.truthText.write(toFile: path("truth.txt"), atomically: true, encoding: .utf8)
    let run = try vcoswin(
      "timeline", path("long.mkv"), "--checkpoint", model, "--json", "--top", "2", "--truth",
      path("truth.txt"),
      "--png", path("t.png"), "--svg", path("t.svg"))
    XCTAssertEqual(run.status, 0, run.stderr)
    let lines = run.stdout.split(separator: "\n").map {
      try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }
    XCTAssertEqual(lines.count, 8)  // (64 − 16) / 8 + 1 = 7 windows, then the segments
    guard lines.count == 8 else { return }
    let first = try XCTUnwrap(lines[0])
    XCTAssertEqual(first["frames"] as? [Int], [0, 14])
    XCTAssertEqual(first["start"] as? Double, 0)
    XCTAssertEqual(first["end"] as? Double, 0.64)
    XCTAssertEqual((first["top"] as? [[String: Any]])?.count, 2)
    let last = try XCTUnwrap(lines[7])
    XCTAssertEqual(last["decoded_frames"] as? Int, 64)
    XCTAssertEqual(last["windows"] as? Int, 7)
    let segments = try XCTUnwrap(last["segments"] as? [[String: Any]])
    XCTAssertEqual(segments.first?["start"] as? Double, 0)
    XCTAssertEqual(segments.last?["end"] as? Double, 2.56)
    XCTAssertNotNil(last["agreement"] as? Double)
    XCTAssertTrue(FileManager.default.fileExists(atPath: path("t.png")))
    XCTAssertTrue(try String(contentsOfFile: path("t.svg"), encoding: .utf8).contains("<svg"))

    let table = try vcoswin(
      "timeline", path("long.mkv"), "--checkpoint", model, "--smooth", "3", "--min-segment", "0.5")
    XCTAssertEqual(table.status, 0, table.stderr)
    XCTAssertTrue(
      table.stdout.contains(
        "7 windows of 8 frames every 2 (16 frames), stride 8 frames; 64 frames decoded"),
      table.stdout)
  }

  func testTimelineCommandShortVideoIsOneWindow() throws {
    let clip = clips("val/0000.mkv")  // 16 frames
    let run = try vcoswin(
      "timeline", clip, "--checkpoint", model, "--window-frames", "32", "--json")
    XCTAssertEqual(run.status, 0, run.stderr)
    let lines = run.stdout.split(separator: "\n")
    XCTAssertEqual(lines.count, 2)
    // Frames j·4 mod 16 for j = 0..<8: 0, 4, 8, 12, 0, 4, 8, 12.
    let first = try XCTUnwrap(lines.first)
    XCTAssertTrue(first.contains("\"frames\":[0,12]"), String(first))
  }

  func testTimelineCommandBoundsAndBadFiles() throws {
    try "not a video\n".write(toFile: path("notes.txt"), atomically: true, encoding: .utf8)
    try "0 1 jump\n".write(toFile: path("truth.txt"), atomically: true, encoding: .utf8)
    let clip = clips("val/0000.mkv")
    let cases: [([String], String)] = [
      ([path("missing.mkv")], "missing.mkv"),
      ([path("notes.txt")], "notes.txt"),
      ([clip, "--truth", path("truth.txt")], "truth.txt:1: unknown label 'jump'"),
      ([clip, "--truth", path("none.txt")], "none.txt"),
      ([clip, "--stride-frames", "0"], "--stride-frames must be in"),
      ([clip, "--stride-frames", "99999999999999"], "--stride-frames must be in"),
      ([clip, "--stride", "nan"], "--stride must be"),
      ([clip, "--stride=-1"], "--stride must be"),
      ([clip, "--stride", "1e300"], "--stride must be"),
      ([clip, "--stride", "1", "--stride-frames", "4"], "not both"),
      ([clip, "--smooth", "0"], "--smooth must be"),
      ([clip, "--smooth", "9223372036854775807"], "--smooth must be"),
      ([clip, "--top", "0"], "--top must be"),
      ([clip, "--min-segment", "inf"], "--min-segment must be"),
      ([clip, "--window-frames", "0"], "--window-frames must be"),
      ([clip, "--window-frames", "12"], "not a multiple of the clip length 8"),
      ([clip, "--clips", "2"], "drop --clips"),
      ([clip, "--size", "2048", "--batch", "1024"], "needs about"),
      ([clip, clip, "--png", path("x.png")], "take one video"),
      ([clip, "--png", path("no/such/dir/x.png")], "x.png"),
    ]
    for (arguments, needle) in cases {
      let run = try runVCoSwin(
        ["timeline", "--checkpoint", model] + arguments, bundleOf: Self.self)
      XCTAssertFalse(run.crashed, "\(arguments)")
      XCTAssertNotEqual(run.status, 0, "\(arguments)")
      XCTAssertTrue(run.diagnostics.hasPrefix("error:"), "\(arguments): \(run.stderr)")
      XCTAssertTrue(run.stderr.contains(needle), "\(arguments): \(run.stderr)")
    }
    // Huge but valid values are fine: a stride longer than the video is one window.
    let run = try vcoswin(
      "timeline", clip, "--checkpoint", model, "--stride-frames", "10000000", "--smooth", "10001")
    XCTAssertEqual(run.status, 0, run.stderr)
  }

  /// `features --every`: one row per timeline window, with its times and frames.
  func testFeaturesEveryWritesPerWindowRows() throws {
    var video = SynthLongVideo(motions: [.moveLeft, .shrink], clipsPerSegment: [2, 2])
    video.seed = 8
    try video.render(to: path("long.mkv"))
    let clip = clips("val/0000.mkv")
    let run = try vcoswin(
      "features", path("long.mkv"), clip, "--every", "0.32", "--checkpoint", model, "--output",
      path("f.safetensors"))
    XCTAssertEqual(run.status, 0, run.stderr)
    let file = try SafeTensorsFile.read(path: path("f.safetensors"))
    let (fshape, _) = try file.floats("features")
    let (lshape, _) = try file.floats("logits")
    let (tshape, times) = try file.floats("times")
    XCTAssertEqual(fshape[0], 8)  // 7 windows of the long video, 1 of the 16-frame clip
    XCTAssertEqual(lshape, [8, 8])
    XCTAssertEqual(tshape, [8, 2])
    XCTAssertEqual(Array(times.prefix(4)), [0, 0.64, 0.32, 0.96])
    let bad = try vcoswin(
      "features", clip, "--every", "0", "--checkpoint", model, "--output", path("g.safetensors"))
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.stderr.contains("--every must be"), bad.stderr)
  }

  /// `-` reads standard input (copied to a temporary file first); garbage on it is an error.
  func testTimelineCommandReadsStandardInput() throws {
    let clip = clips("val/0003.mkv")
    try Data(repeating: 7, count: 3000).write(to: URL(fileURLWithPath: path("junk.bin")))
    for (input, ok) in [(clip, true), (path("junk.bin"), false)] {
      let process = Process()
      process.executableURL = try vcoswinBinary(near: Bundle(for: Self.self).bundleURL)
      process.arguments = ["timeline", "-", "--checkpoint", model, "--json"]
      process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: input))
      let out = Pipe()
      let err = Pipe()
      process.standardOutput = out
      process.standardError = err
      try process.run()
      let o = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      process.waitUntilExit()
      if ok {
        XCTAssertEqual(process.terminationStatus, 0, e)
        XCTAssertTrue(o.contains("\"path\":\"-\""), o)
        XCTAssertTrue(o.contains("\"decoded_frames\":16"), o)
      } else {
        XCTAssertNotEqual(process.terminationStatus, 0)
        let diagnostics = e.split(separator: "\n").filter { !$0.hasPrefix("checkpoint: ") }
        XCTAssertTrue(diagnostics.first?.hasPrefix("error: - (standard input)") ?? false, e)
        XCTAssertFalse(e.contains("vcoswin-stdin-"), e)
        XCTAssertFalse(e.contains("/proc/self/fd/"), e)
      }
    }
  }
}
