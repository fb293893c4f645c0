import Foundation
import SafeTensors
import Synth
import XCTest
import _TestSupport

@testable import Models

/// `--labels FILE|kinetics400` on the commands that take a checkpoint, the recipe each foreign
/// layout records on import, and the one rule for output files (`--overwrite`).
final class CheckpointFilesCommandsTests: TemporaryFolderTestCase {
  func vcoswin(_ arguments: [String]) throws -> CLIRun {
    try runVCoSwin(arguments, bundleOf: Self.self, seconds: 300)
  }

  func foreign(_ name: String) -> String {
    packageRoot.appendingPathComponent("Tests/ModelsTests/Fixtures/foreign/\(name)").path
  }

  /// The `label` values of `classify --json` lines.
  func labels(in stdout: String) -> [String] {
    stdout.components(separatedBy: "\"label\":\"").dropFirst().map {
      String($0.prefix(while: { $0 != "\"" }))
    }
  }

  /// A 400-class checkpoint classifies with the names of a labels file or the shipped
  /// Kinetics-400 names; a `.pth` given straight to classify takes them too; a file of the wrong
  /// length is one error naming the file and both counts.
  func testClassifyTakesLabels() throws {
    let model = path("k400.safetensors")
    let made = try vcoswin([
      "init", "--preset", "nano", "--classes", "400", "--dims", "3", "--out", model,
    ])
    XCTAssertEqual(made.status, 0, made.stderr)
    let clip = clips("val/0003.mkv")
    let small = ["--size", "32", "--clip-len", "8", "--threads", "1", "--json", "--top", "3"]
    let plain = try vcoswin(["classify", clip, "--checkpoint", model] + small)
    XCTAssertEqual(plain.status, 0, plain.stderr)
    XCTAssertTrue(labels(in: plain.stdout).allSatisfy { $0.hasPrefix("class_") }, plain.stdout)

    let kinetics = try String(contentsOfFile: clips("kinetics400_labels.txt"), encoding: .utf8)
      .split(separator: "\n").map(String.init)
    let named = try vcoswin(
      ["classify", clip, "--checkpoint", model, "--labels", "kinetics400"] + small)
    XCTAssertEqual(named.status, 0, named.stderr)
    XCTAssertEqual(labels(in: named.stdout).count, 3, named.stdout)
    // The same classes as without names, now called by their Kinetics names.
    XCTAssertEqual(
      labels(in: named.stdout),
      labels(in: plain.stdout).map { kinetics[Int($0.dropFirst("class_".count)) ?? -1] })

    let file = path("names.txt")
    try (0..<400).map { "name \($0)\n" }.joined().write(
      toFile: file, atomically: true, encoding: .utf8)
    let fromFile = try vcoswin(["classify", clip, "--checkpoint", model, "--labels", file] + small)
    XCTAssertEqual(fromFile.status, 0, fromFile.stderr)
    XCTAssertEqual(
      labels(in: fromFile.stdout),
      labels(in: plain.stdout).map { "name " + $0.dropFirst("class_".count) })

    // A .pth state dict (5 classes) given straight to classify, named by a labels file.
    let five = path("five.txt")
    try "alpha\nbeta\ngamma\ndelta\nepsilon\n".write(
      toFile: five, atomically: true, encoding: .utf8)
    let pth = try vcoswin(
      ["classify", clip, "--checkpoint", foreign("videoswin_bf16.pth"), "--labels", five] + small)
    XCTAssertEqual(pth.status, 0, pth.stderr)
    XCTAssertEqual(Set(labels(in: pth.stdout)).count, 3, pth.stdout)
    XCTAssertTrue(
      Set(labels(in: pth.stdout)).isSubset(of: ["alpha", "beta", "gamma", "delta", "epsilon"]),
      pth.stdout)

    // Wrong count: one line naming the file and both counts, for classify and for import.
    let tvClasses = try Checkpoint.open(path: foreign("tv3d.pth")).info.config.classes
    for arguments in [
      ["classify", clip, "--checkpoint", model, "--labels", five] + small,
      ["import", "--from", foreign("tv3d.pth"), "--out", path("x.safetensors"), "--labels", file],
    ] {
      let r = try vcoswin(arguments)
      XCTAssertEqual(r.status, 1, r.stderr)
      XCTAssertEqual(r.diagnostics.split(separator: "\n").count, 1, r.stderr)
      XCTAssertTrue(r.diagnostics.hasPrefix("error: "), r.stderr)
      XCTAssertTrue(r.stderr.contains(arguments[0] == "import" ? file : five), r.stderr)
      XCTAssertTrue(
        r.stderr.contains(arguments[0] == "import" ? "400 labels" : "5 labels"), r.stderr)
      XCTAssertTrue(
        r.stderr.contains(arguments[0] == "import" ? "\(tvClasses) classes" : "400 classes"),
        r.stderr)
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.safetensors")))
  }

  /// Import records and prints each layout's own evaluation recipe: torchvision Swin3D at
  /// short side 256 and crop 224 with 12 clips; official Video Swin at short side 224 with
  /// 4 clips × 3 crops.
  func testImportRecordsTheLayoutsRecipe() throws {
    let cases: [(pth: String, resize: Int, views: String, printed: String)] = [
      ("tv3d.pth", 256, "{\"clips\":12,\"crops\":1}", "short side 256, crop 224"),
      ("videoswin_bf16.pth", 224, "{\"clips\":4,\"crops\":3}", "short side 224, crop 224"),
      ("tv2d_ddp.pth", 256, "{\"clips\":1,\"crops\":1}", "short side 256, crop 224"),
    ]
    for c in cases {
      let out = path(c.pth + ".safetensors")
      let r = try vcoswin(["import", "--from", foreign(c.pth), "--out", out])
      XCTAssertEqual(r.status, 0, r.stderr)
      XCTAssertTrue(r.stdout.contains("\nrecipe ("), r.stdout)
      XCTAssertTrue(r.stdout.contains(c.printed), r.stdout)
      let file = try SafeTensorsFile.read(path: out)
      let recipe = try XCTUnwrap(file.metadata[Checkpoint.recipeKey])
      XCTAssertTrue(recipe.contains("\"resize\":\(c.resize)"), recipe)
      XCTAssertTrue(recipe.contains("\"size\":224"), recipe)
      XCTAssertEqual(file.metadata[Checkpoint.viewsKey], c.views)
    }
  }

  /// `import` reads and checks the recipe a checkpoint records before it writes anything: a
  /// hostile short side is one error naming the file and key, and no `--out` is left behind.
  func testImportChecksTheRecordedRecipeBeforeWriting() throws {
    var run = try vcoswin(
      ["init", "--preset", "nano", "--classes", "4", "--out", path("a.safetensors")])
    XCTAssertEqual(run.status, 0, run.stderr)
    let opened = try Checkpoint.open(path: path("a.safetensors"))
    let recipe =
      #"{"kind":"video","clip_length":8,"frame_interval":2,"size":16,"resize":99999,"#
      + #""flip":false,"min_area":1,"normalize":true}"#
    try Checkpoint.write(
      to: path("hostile.safetensors"), info: opened.info, tensors: try opened.floatTensors(),
      extraMetadata: [Checkpoint.recipeKey: recipe])
    run = try vcoswin(
      ["import", "--from", path("hostile.safetensors"), "--out", path("out.safetensors")])
    XCTAssertEqual(run.status, 1, run.stderr)
    XCTAssertTrue(
      run.stderr.contains("__metadata__ 'data': resize 99999 is outside 16…4096"), run.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("out.safetensors")))
  }

  /// Every command that writes a file refuses an existing one, naming it, before any work,
  /// and replaces it with --overwrite.
  func testOutputsAreRefusedUnlessOverwrite() throws {
    let image = path("image.safetensors")
    let model = clips("default-model.safetensors")
    let clip = clips("val/0003.mkv")
    var video = SynthLongVideo(motions: [.moveRight], clipsPerSegment: [2])
    video.seed = 2
    try video.render(to: path("long.mkv"))
    let existing = path("existing.bin")
    let cases: [(arguments: [String], option: String)] = [
      (["init", "--preset", "nano", "--classes", "3", "--dims", "2", "--out", existing], "--out"),
      (["import", "--from", foreign("tv3d.pth"), "--out", existing], "--out"),
      (["inflate", "--from", image, "--to", existing], "--to"),
      (["export", model, "--onnx", existing], "--onnx"),
      (
        ["features", clip, "--checkpoint", model, "--output", existing, "--threads", "1"],
        "--output"
      ),
      (["timeline", path("long.mkv"), "--checkpoint", model, "--png", existing], "--png"),
      (["timeline", path("long.mkv"), "--checkpoint", model, "--svg", existing], "--svg"),
      (
        [
          "sample", clip, "--clip-len", "4", "--interval", "2", "--size", "32", "--output",
          existing,
        ],
        "--output"
      ),
    ]
    let made = try vcoswin([
      "init", "--preset", "nano", "--classes", "3", "--dims", "2", "--out", image,
    ])
    XCTAssertEqual(made.status, 0, made.stderr)
    for c in cases {
      try "keep".write(toFile: existing, atomically: true, encoding: .utf8)
      let refused = try vcoswin(c.arguments)
      XCTAssertEqual(refused.status, 1, "\(c.arguments): \(refused.stderr)")
      XCTAssertEqual(
        refused.stderr, "error: \(c.option) \(existing) exists; give --overwrite to replace it\n",
        "\(c.arguments)")
      XCTAssertEqual(try String(contentsOfFile: existing, encoding: .utf8), "keep")
      let replaced = try vcoswin(c.arguments + ["--overwrite"])
      XCTAssertEqual(replaced.status, 0, "\(c.arguments): \(replaced.stderr)")
      XCTAssertNotEqual(try String(contentsOfFile: existing, encoding: .isoLatin1), "keep")
    }
    // No temporary is left beside the outputs.
    XCTAssertFalse(
      try FileManager.default.contentsOfDirectory(atPath: path(".")).contains {
        $0.hasPrefix(".")
      })

    // A folder given as the output file, and a missing folder, are refused before any work.
    try FileManager.default.createDirectory(atPath: path("sub"), withIntermediateDirectories: true)
    let asFolder = try vcoswin(["import", "--from", foreign("tv3d.pth"), "--out", path("sub")])
    XCTAssertEqual(
      asFolder.stderr,
      "error: \(path("sub")): cannot write file: is a folder (--out takes a file name)\n")
    let missing = try vcoswin(["import", "--from", foreign("tv3d.pth"), "--out", path("no/x")])
    XCTAssertTrue(missing.stderr.contains("no folder \(path("no"))"), missing.stderr)

    // Folders: synth refuses a folder that holds a dataset.
    let synth = ["synth", "--out", path("data"), "--train", "1", "--val", "0", "--frames", "2"]
    XCTAssertEqual(try vcoswin(synth).status, 0)
    let again = try vcoswin(synth)
    XCTAssertEqual(again.status, 1)
    XCTAssertTrue(
      again.stderr.hasPrefix("error: --out \(path("data")): holds ")
        && again.stderr.contains(
          "give --overwrite"),
      again.stderr)
    XCTAssertEqual(try vcoswin(synth + ["--overwrite"]).status, 0)
  }
}
