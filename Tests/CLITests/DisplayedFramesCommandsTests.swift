import Foundation
import VideoIO
import XCTest
import _TestSupport

/// `probe` and `sample` on what users bring: portrait phone videos (a display matrix) and
/// JPEG stills, including the JPEG contact sheet `sample --sheet` writes.
final class DisplayedFramesCommandsTests: TemporaryFolderTestCase {
  func vcoswin(_ arguments: [String]) throws -> CLIRun {
    try runVCoSwin(arguments, bundleOf: Self.self)
  }

  private func probeSize(_ file: String) throws -> [Int] {
    let run = try vcoswin(["probe", file, "--json"])
    XCTAssertEqual(run.status, 0, run.stderr)
    let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
    return [
      object?["width"] as? Int ?? -1, object?["height"] as? Int ?? -1,
      object?["rotation"] as? Int ?? -1,
    ]
  }

  func testProbeReportsTheDisplayedSizeOfARotatedVideo() throws {
    let video = path("portrait.mp4")
    let writer = try VideoWriter(path: video, width: 64, height: 48, codec: .mpeg4, rotation: 90)
    for i in 0..<4 {
      try writer.append(RGBImage(width: 64, height: 48, fill: (UInt8(i * 40), 90, 30)))
    }
    try writer.finish()
    XCTAssertEqual(try probeSize(video), [48, 64, 90])
  }

  func testSampleSheetAsJPEGReadsBack() throws {
    let video = path("v.mkv")
    let writer = try VideoWriter(path: video, width: 96, height: 80, codec: .ffv1)
    var random = SplitMix64(seed: 2)
    for _ in 0..<8 {
      try writer.append(
        RGBImage(
          width: 96, height: 80, pixels: (0..<(96 * 80 * 3)).map { _ in UInt8(random.below(256)) }))
    }
    try writer.finish()
    let sheet = path("sheet.jpg")
    let run = try vcoswin([
      "sample", video, "--clip-len", "4", "--interval", "2", "--clips", "2", "--size", "80",
      "--output", path("x.safetensors"), "--sheet", sheet,
    ])
    XCTAssertEqual(run.status, 0, run.stderr)
    let size = try probeSize(sheet)
    XCTAssertGreaterThan(size[0], 224)
    let again = try vcoswin([
      "sample", sheet, "--clip-len", "1", "--interval", "1", "--size", "64",
      "--output", path("y.safetensors"),
    ])
    XCTAssertEqual(again.status, 0, again.stderr)
  }
}
