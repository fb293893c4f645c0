import Compute
import Foundation
import SafeTensors
import XCTest
import _TestSupport

@testable import VCoSwinCLI

/// `vcoswin export`: the graphs run in ONNX Runtime and give the logits of `vcoswin features`
/// (Tools/onnx_check.py, in the Python environment `make pyenv` creates), and bad input gets
/// one-line errors.
final class ExportCommandTests: TemporaryFolderTestCase {

  func run(_ arguments: [String]) throws {
    var command = try VCoSwin.parseAsRoot(arguments)
    try command.run()
  }

  /// A fixture checkpoint of the Models tests (foreign state dicts).
  func foreign(_ name: String) -> String {
    packageRoot.appendingPathComponent("Tests/ModelsTests/Fixtures/foreign/\(name)").path
  }

  /// The Python of `.build/pyenv`, with onnx and onnxruntime.
  func python() throws -> String { try pyenvPython(with: "onnx and onnxruntime") }

  /// Writes tensor `input` of `shape` (normal values, seeded) to `path`.
  func writeInput(_ shape: [Int], to path: String, seed: UInt64) throws {
    var rng = SeededRandom(seed: seed)
    var w = SafeTensorsWriter()
    try w.add("input", shape: shape, floats: (0..<shape.reduce(1, *)).map { _ in rng.normal() })
    try w.write(to: path)
  }

  /// A checkpoint of `config` (JSON) initialised by `vcoswin init`.
  func initialised(_ name: String, config: String) throws -> String {
    let (json, out) = (path("\(name).json"), path("\(name).safetensors"))
    try config.write(toFile: json, atomically: true, encoding: .utf8)
    try run(["init", "--config", json, "--classes", "4", "--out", out])
    return out
  }

  /// Every variant (CoSwin and Swin, 2D and 3D), sizes that are not multiples of the patches
  /// and windows (padding, clamped windows), imported torchvision layouts (a plain state dict
  /// and a DDP-wrapped reference-script checkpoint), two operator sets: exported, run in ONNX
  /// Runtime (whole batch and one entry at a time), compared with `vcoswin features`.
  func testExportedGraphsGiveTheLogitsOfFeaturesInONNXRuntime() throws {
    let python = try python()
    // CoSwin with shifted blocks in every stage, windows that pad, shift and clamp: 3D at
    // 7×26×26 (grids 4×13×13, 4×7×7, 4×4×4 against windows 2×3×3, 3×4×4, 2×5×5) and 2D at
    // 29×29 (grids 15×15, 8×8 against windows 3×3, 5×5).
    let video = try initialised(
      "coswin3d",
      config:
        #"{"variant":"coswin","dims":3,"embed_dim":8,"depths":[2,2,2],"heads":[1,2,4],"windows":[[2,3,3],[3,4,4],[2,5,5]],"embed_kernel":[3,5,5],"embed_stride":[2,2,2],"embed_padding":[1,2,2],"merge_kernel":[3,3,3],"merge_stride":[1,2,2],"merge_padding":[1,1,1],"classes":4}"#
    )
    let image = try initialised(
      "coswin2d",
      config:
        #"{"variant":"coswin","dims":2,"embed_dim":8,"depths":[2,2],"heads":[1,2],"windows":[[3,3],[5,5]],"embed_kernel":[5,5],"embed_stride":[2,2],"embed_padding":[2,2],"merge_kernel":[3,3],"merge_stride":[2,2],"merge_padding":[1,1],"classes":6}"#
    )
    let cases: [(name: String, checkpoint: String, options: [String], input: [Int])] = [
      ("default", clips("default-model.safetensors"), [], [2, 3, 8, 32, 32]),
      (
        "default-padded", clips("default-model.safetensors"),
        ["--frames", "6", "--size", "27", "--opset", "21"],
        [2, 3, 6, 27, 27]
      ),
      ("coswin3d", video, ["--frames", "7", "--size", "26"], [2, 3, 7, 26, 26]),
      ("coswin2d", image, ["--size", "29", "--opset", "18"], [2, 3, 29, 29]),
      ("tv3d", foreign("tv3d.pth"), ["--frames", "5", "--size", "18"], [2, 3, 5, 18, 18]),
      ("tv2d", foreign("tv2d_ddp.pth"), ["--size", "30", "--opset", "20"], [2, 3, 30, 30]),
    ]
    var triples: [String] = []
    for (i, c) in cases.enumerated() {
      let (model, input, features) = (
        path("\(c.name).onnx"), path("\(c.name)-in.safetensors"),
        path("\(c.name)-features.safetensors")
      )
      try run(["export", c.checkpoint, "--onnx", model] + c.options)
      try writeInput(c.input, to: input, seed: UInt64(10 + i))
      try run([
        "features", "--input", input, "--checkpoint", c.checkpoint, "--output", features,
        "--threads", "1",
      ])
      triples += [model, input, features]
    }
    let check = Process()
    check.executableURL = URL(fileURLWithPath: python)
    check.arguments = [packageRoot.appendingPathComponent("Tools/onnx_check.py").path] + triples
    let out = Pipe()
    check.standardOutput = out
    check.standardError = out
    try check.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    check.waitUntilExit()
    print(text, terminator: "")
    XCTAssertEqual(check.terminationStatus, 0, text)
    XCTAssertEqual(
      text.split(separator: "\n").filter { $0.hasPrefix("ok ") }.count, cases.count, text)
  }

  /// Bad input: one line naming the file and what is wrong, a non-zero status, no file written.
  func testRefusals() throws {
    let model = clips("default-model.safetensors")
    let out = path("m.onnx")
    try run(["export", model, "--onnx", out])
    let written = try Data(contentsOf: URL(fileURLWithPath: out))
    let cases: [(arguments: [String], status: Int32, message: String)] = [
      (["export", model, "--onnx", out], 1, "\(out) exists; give --overwrite to replace it"),
      (["export", model, "--onnx", out + "2", "--size", "4"], 1, "too small for this model's"),
      (["export", model, "--onnx", out + "2", "--opset", "16"], 64, "--opset must be in 17…21"),
      (["export", model, "--onnx", out + "2", "--frames", "0"], 64, "--frames must be in"),
      (
        ["export", foreign("tv2d_ddp.pth"), "--onnx", out + "2", "--frames", "8"], 1,
        "an image model takes no --frames"
      ),
      (["export", clips("motion_labels.txt"), "--onnx", out + "2"], 1, "motion_labels.txt"),
      (["export", path("none.pth"), "--onnx", out + "2"], 1, "none.pth"),
      (
        [
          "export",
          packageRoot.appendingPathComponent(
            "Tests/ModelsTests/Fixtures/swin3d_io.safetensors"
          ).path, "--onnx", out + "2",
        ], 1, "no known state-dict layout"
      ),
      (["export", model, "--onnx", path("no/m.onnx")], 1, "no folder \(path("no"))"),
    ]
    for c in cases {
      let r = try runVCoSwin(c.arguments, bundleOf: Self.self, seconds: 120)
      XCTAssertEqual(r.status, c.status, "\(c.arguments): \(r.stderr)")
      XCTAssertFalse(r.crashed, "\(c.arguments)")
      XCTAssertTrue(r.stderr.hasPrefix("error:"), "\(c.arguments): \(r.stderr)")
      XCTAssertTrue(r.stderr.contains(c.message), "\(c.arguments): \(r.stderr)")
      if c.status == 1 {
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(c.arguments): \(r.stderr)")
      }
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: out + "2"))
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), written)
    // --overwrite replaces the file (atomically: no temporary is left beside it).
    let r = try runVCoSwin(
      ["export", model, "--onnx", out, "--overwrite", "--size", "40"], bundleOf: Self.self,
      seconds: 120)
    XCTAssertEqual(r.status, 0, r.stderr)
    XCTAssertTrue(r.stdout.contains("[batch, 3, 8, 40, 40]"), r.stdout)
    XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: out)), written)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["m.onnx"])
  }
}
