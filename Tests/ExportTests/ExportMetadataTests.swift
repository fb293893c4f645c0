// What `vcoswin export` writes into `metadata_props`, read back with the tests' own reader:
// labels, the test recipe, the source checkpoint's name and SHA-256.

import Foundation
import XCTest

@testable import VCoSwinCLI

final class ExportMetadataTests: XCTestCase {
  /// The package root (for `Clips/` and the test fixtures).
  let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  /// `sha256sum`'s digest of `path` (an implementation independent of the package's).
  func sha256sum(_ path: String) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["sha256sum", path]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return String(text.prefix(64))
  }

  func export(_ checkpoint: String, _ options: [String] = []) throws -> ReadModel {
    let out = NSTemporaryDirectory() + "export-metadata-\(UUID().uuidString).onnx"
    defer { try? FileManager.default.removeItem(atPath: out) }
    var command = try VCoSwin.parseAsRoot(["export", checkpoint, "--onnx", out] + options)
    try command.run()
    return try ReadModel(Array(try Data(contentsOf: URL(fileURLWithPath: out))))
  }

  func testRecipeLabelsAndSourceOfTheShippedModel() throws {
    let path = root.appendingPathComponent("Clips/default-model.safetensors").path
    let read = try export(path)
    let m = read.metadata
    XCTAssertEqual(
      m["labels"],
      #"["move_left","move_right","move_up","move_down","rotate_clockwise","rotate_anticlockwise","grow","shrink"]"#
    )
    XCTAssertEqual(m["mean"], "[0.485,0.456,0.406]")
    XCTAssertEqual(m["std"], "[0.229,0.224,0.225]")
    // The recipe the model was trained with (training.data): 8 frames, interval 2, 32 pixels.
    XCTAssertEqual(m["size"], "32")
    XCTAssertEqual(m["clip_length"], "8")
    XCTAssertEqual(m["frame_interval"], "2")
    XCTAssertEqual(m["views"], #"{"clips":1,"crops":1}"#)
    XCTAssertEqual(m["source"], "default-model.safetensors")
    XCTAssertEqual(m["source_sha256"], try sha256sum(path))
    XCTAssertEqual(m["kind"], "video")
    XCTAssertNil(m["layout"])
    XCTAssertEqual(read.inputs.first?.dims, ["batch", "3", "8", "32", "32"])
    XCTAssertEqual(read.outputs.first?.dims, ["batch", "8"])
  }

  /// An imported torchvision state dict records torchvision's own recipe for its Swin3D weights
  /// (32 frames at interval 2, short side 256, crop 224, 12 clips × 1 crop) and its layout;
  /// --frames and --size set the input and the recorded sizes, the short side in ratio
  /// (16 · 256/224 = 18.3 → 18). An official Video Swin state dict records 4 clips × 3 crops.
  func testImportedStateDictRecordsTheReleasedRecipe() throws {
    let videoSwin = try export(
      root.appendingPathComponent("Tests/ModelsTests/Fixtures/foreign/videoswin_bf16.pth").path,
      ["--frames", "4", "--size", "16"])
    XCTAssertEqual(videoSwin.metadata["views"], #"{"clips":4,"crops":3}"#)
    XCTAssertEqual(videoSwin.metadata["layout"], "video-swin")
    XCTAssertTrue(videoSwin.metadata["resize"]?.hasPrefix("short side 16,") ?? false)
    let path = root.appendingPathComponent("Tests/ModelsTests/Fixtures/foreign/tv3d.pth").path
    let read = try export(path, ["--frames", "4", "--size", "16"])
    let m = read.metadata
    XCTAssertEqual(m["views"], #"{"clips":12,"crops":1}"#)
    XCTAssertTrue(m["resize"]?.hasPrefix("short side 18,") ?? false, m["resize"] ?? "")
    XCTAssertEqual(m["frame_interval"], "2")
    XCTAssertEqual(m["clip_length"], "4")
    XCTAssertEqual(m["size"], "16")
    XCTAssertEqual(m["layout"], "torchvision")
    XCTAssertEqual(m["labels"], #"["class_0","class_1","class_2","class_3","class_4"]"#)
    XCTAssertEqual(m["source_sha256"], try sha256sum(path))
    XCTAssertEqual(read.inputs.first?.dims, ["batch", "3", "4", "16", "16"])
  }
}
