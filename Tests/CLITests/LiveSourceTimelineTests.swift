import Foundation
import Synth
import XCTest
import _TestSupport

/// `vcoswin timeline` on a capture device through `--input-format` (FFmpeg's `lavfi` virtual
/// device, present wherever libavdevice is), an unknown input format, and a live source's
/// picture drawn from the streaming path.
final class LiveSourceTimelineTests: TemporaryFolderTestCase {
  var model: String { clips("default-model.safetensors") }

  func jsonLines(_ text: String) -> [[String: Any]] {
    text.split(separator: "\n").compactMap {
      try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }
  }

  /// Thumbnails embedded in an SVG timeline.
  func thumbnailCount(_ svgPath: String) throws -> Int {
    try String(contentsOfFile: svgPath, encoding: .utf8)
      .components(separatedBy: "data:image/png;base64,").count - 1
  }

  /// A 6-second test pattern at 8 fps from the `lavfi` device: 48 frames, windows of 16
  /// frames every 8: (48 − 16) / 8 + 1 = 5 windows, then the stream's end.
  func testLavfiDeviceThroughInputFormat() throws {
    let graph = "testsrc=size=64x64:rate=8:duration=6"
    let run = try runVCoSwin(
      [
        "timeline", graph, "--input-format", "lavfi", "--checkpoint", model, "--json", "--svg",
        path("t.svg"),
      ], bundleOf: Self.self, seconds: 60)
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertEqual(run.diagnostics.trimmingCharacters(in: .whitespacesAndNewlines), "")
    let lines = jsonLines(run.stdout)
    let windows = lines.filter { $0["type"] as? String == "window" }
    XCTAssertEqual(windows.map { $0["window"] as? Int }, [0, 1, 2, 3, 4])
    XCTAssertEqual(windows.first?["frames"] as? [Int], [0, 14])
    XCTAssertEqual(windows.first?["end"] as? Double, 2)  // frame 14 at 1.75 s, plus 2 frames
    for w in windows {
      XCTAssertEqual(w["path"] as? String, graph)
      XCTAssertNotNil(w["latency"] as? Double)
    }
    let summary = try XCTUnwrap(lines.last)
    XCTAssertEqual(summary["type"] as? String, "summary")
    XCTAssertEqual(summary["ended"] as? String, "end of stream")
    XCTAssertEqual(summary["decoded_frames"] as? Int, 48)
    XCTAssertEqual(summary["dropped"] as? Int, 0)
    XCTAssertEqual(summary["duration"] as? Double, 6)
    XCTAssertFalse((summary["segments"] as? [Any])?.isEmpty ?? true)
    XCTAssertGreaterThan(try thumbnailCount(path("t.svg")), 1)

    let table = try runVCoSwin(
      ["timeline", graph, "--input-format", "lavfi", "--checkpoint", model],
      bundleOf: Self.self, seconds: 60)
    XCTAssertEqual(table.status, 0, table.stderr)
    XCTAssertTrue(
      table.stdout.contains("5 windows classified, 0 dropped; 48 frames decoded; end of stream"),
      table.stdout)
  }

  /// An input format FFmpeg does not have is one error line naming it (and the source).
  func testUnknownInputFormatIsOneErrorLine() throws {
    let run = try runVCoSwin(
      ["timeline", "/dev/video9", "--input-format", "nosuchdevice", "--checkpoint", model],
      bundleOf: Self.self, seconds: 60)
    XCTAssertNotEqual(run.status, 0, run.stderr)
    XCTAssertFalse(run.crashed)
    XCTAssertEqual(
      run.diagnostics.trimmingCharacters(in: .whitespacesAndNewlines),
      "error: /dev/video9: cannot open: no input format (demuxer or device) named"
        + " 'nosuchdevice' in this FFmpeg")
    XCTAssertEqual(run.stdout, "")
  }

  /// Two summaries' `segments` are the same: labels, indices, start and end exactly, and mean
  /// probabilities within 1e-5 (a stream batches its windows as they arrive, a file in fixed
  /// groups, so the GEMMs round differently in the last digits).
  func assertSameSegments(_ live: Any?, _ file: Any?, line: UInt = #line) throws {
    let a = try XCTUnwrap(live as? [[String: Any]], line: line)
    let b = try XCTUnwrap(file as? [[String: Any]], line: line)
    XCTAssertEqual(a.count, b.count, line: line)
    for (x, y) in zip(a, b) {
      for key in ["label", "index", "start", "end"] {
        XCTAssertEqual("\(x[key] ?? "nil")", "\(y[key] ?? "nil")", key, line: line)
      }
      let (p, q) = (try XCTUnwrap(x["prob"] as? Double), try XCTUnwrap(y["prob"] as? Double))
      XCTAssertEqual(p, q, accuracy: 1e-5, line: line)
    }
  }

  /// `-` with a picture streams (no copy of standard input first): the first window's line
  /// comes before the writer ends, and the picture has the file's windows and as many
  /// thumbnails as the file's.
  func testStandardInputWithAPictureStreams() throws {
    var video = SynthLongVideo(
      motions: [.moveRight, .grow, .moveLeft, .shrink], clipsPerSegment: [2, 2, 2, 2])
    video.seed = 11
    try video.render(to: path("long.mkv"))
    let data = try Data(contentsOf: URL(fileURLWithPath: path("long.mkv")))
    let file = try runVCoSwin(
      ["timeline", path("long.mkv"), "--checkpoint", model, "--json", "--svg", path("file.svg")],
      bundleOf: Self.self, seconds: 60)
    XCTAssertEqual(file.status, 0, file.stderr)
    let live = try LiveRun(
      [
        "timeline", "-", "--checkpoint", model, "--json", "--svg", path("live.svg"), "--png",
        path("live.png"),
      ], anchor: Self.self)
    let writerEnd = live.write(data, chunks: 12, every: 0.25)
    live.closeInput()
    XCTAssertEqual(live.wait(seconds: 30), 0, live.stderr)
    let first = try XCTUnwrap(live.arrivals.first { $0.line["type"] as? String == "window" })
    XCTAssertLessThan(first.time, writerEnd, "the first window came after the writer ended")
    try assertSameSegments(
      live.lines.last?["segments"], jsonLines(file.stdout).last?["segments"])
    let thumbnails = try thumbnailCount(path("live.svg"))
    XCTAssertGreaterThan(thumbnails, 1)
    XCTAssertEqual(thumbnails, try thumbnailCount(path("file.svg")))
    let svg = try String(contentsOfFile: path("live.svg"), encoding: .utf8)
    XCTAssertTrue(svg.contains("-: 15 windows"), String(svg.prefix(2000)))
    XCTAssertGreaterThan(
      (try FileManager.default.attributesOfItem(atPath: path("live.png"))[.size] as? Int) ?? 0,
      1000)
  }
}
